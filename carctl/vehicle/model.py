"""A car as the vehicle API describes it, reduced to what carctl needs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from carctl.errors import ProtocolError


@dataclass(frozen=True)
class Vehicle:
    id: str  # the string id (`id_s`): what carctl puts in paths
    vin: str
    display_name: str
    state: str  # online | asleep | offline | unknown
    in_service: bool = False

    @classmethod
    def from_api(cls, data: Any) -> Vehicle:
        if not isinstance(data, dict):
            raise ProtocolError("the vehicle API described a car without its fields")
        raw_id = data.get("id_s") or data.get("id")
        if raw_id is None:
            raise ProtocolError("the vehicle API described a car without an id")
        return cls(
            id=str(raw_id),
            vin=str(data.get("vin") or ""),
            display_name=str(data.get("display_name") or data.get("vin") or raw_id),
            state=str(data.get("state") or "unknown"),
            in_service=bool(data.get("in_service")),
        )

    @property
    def label(self) -> str:
        return self.display_name

    def ref(self) -> dict[str, Any]:
        """The envelope's `vehicle` member."""
        return {"id": self.id, "vin": self.vin, "display_name": self.display_name}

    def to_json(self) -> dict[str, Any]:
        return {**self.ref(), "state": self.state, "in_service": self.in_service}
