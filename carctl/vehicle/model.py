"""A car as the vehicle API describes it, reduced to what carctl needs."""

from __future__ import annotations

from dataclasses import field
from typing import Any

from carctl.errors import ProtocolError
from carctl.records import record
from carctl.text import literal
from carctl.vehicle import fields

_ID_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def _identifier(data: dict[str, Any], key: str) -> str | None:
    """An id or VIN: it goes into request paths, the queue and the cache, so it is a
    short word of letters, digits, '-' and '_' (a number is taken as its digits)."""
    value = data.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 10**20:
        return str(value)
    if isinstance(value, str) and 0 < len(value) <= 64 and set(value) <= _ID_CHARS:
        return value
    raise fields.bad_field(f"vehicle.{key}", value, "an id (letters and digits)")


@record(frozen=True)
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
        raw_id = _identifier(data, "id_s") or _identifier(data, "id")
        vin = _identifier(data, "vin") or ""
        if by_vin:
            if not vin:
                raise ProtocolError("the vehicle API described a car without its VIN")
            raw_id = vin
        if raw_id is None:
            raise ProtocolError("the vehicle API described a car without an id")
        signing = fields.text(data, "command_signing", "vehicle")
        name = fields.text(data, "display_name", "vehicle")
        return cls(
            id=raw_id,
            vin=vin,
            display_name=name or vin or raw_id,
            state=fields.text(data, "state", "vehicle", most=32) or "unknown",
            in_service=bool(fields.flag(data, "in_service", "vehicle")),
            command_signing=signing or "",
        )

    @property
    def label(self) -> str:
        """The name to show a person: control characters (a newline that would draw a
        line of the server's own) escaped. `display_name` stays exact, for JSON."""
        return literal(self.display_name)

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
