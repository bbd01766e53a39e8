"""A car as the vehicle API describes it, reduced to what carctl needs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from carctl.errors import ProtocolError


@dataclass(frozen=True)
class Vehicle:
    id: str  # the string id (`id_s`): what carctl puts in paths
    vin: str
    display_name: str
    state: str  # online | asleep | offline | unknown
    in_service: bool = False
    # "required": only signed commands (the Fleet API's listing says so); "" when not told
    command_signing: str = field(default="", compare=False)

    @property
    def needs_signing(self) -> bool:
        return self.command_signing == "required"

    @classmethod
    def from_api(cls, data: Any, *, by_vin: bool = False) -> Vehicle:
        """`by_vin`: the provider addresses cars by VIN (the Fleet API, the signing
        proxy), so the VIN is the id carctl puts in paths and the queue."""
        if not isinstance(data, dict):
            raise ProtocolError("the vehicle API described a car without its fields")
        raw_id = data.get("id_s") or data.get("id")
        vin = str(data.get("vin") or "")
        if by_vin:
            if not vin:
                raise ProtocolError("the vehicle API described a car without its VIN")
            raw_id = vin
        if raw_id is None:
            raise ProtocolError("the vehicle API described a car without an id")
        signing = data.get("command_signing")
        return cls(
            id=str(raw_id),
            vin=vin,
            display_name=str(data.get("display_name") or data.get("vin") or raw_id),
            state=str(data.get("state") or "unknown"),
            in_service=bool(data.get("in_service")),
            command_signing=signing if isinstance(signing, str) else "",
        )

    @property
    def label(self) -> str:
        return self.display_name

    def ref(self) -> dict[str, Any]:
        """The envelope's `vehicle` member."""
        return {"id": self.id, "vin": self.vin, "display_name": self.display_name}

    def to_json(self) -> dict[str, Any]:
        return {
            **self.ref(),
            "state": self.state,
            "in_service": self.in_service,
            "command_signing": self.command_signing or None,  # "required": signed only
        }
