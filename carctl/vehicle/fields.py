"""Fields read from the vehicle API's answers, each checked for the type carctl uses.

Everything carctl reads from a car's description or its `vehicle_data` goes
through these readers. A field that is absent or null is unknown (None) — the
service leaves out what a car does not have. A field that is present with a
shape carctl cannot use (a temperature as a string, NaN in a number, a list
where an object belongs, a name 100 kB long) is a `ProtocolError` (exit 69)
that names the field: never a crash, never a guess. Callers that read after
a command was executed (the read-back) catch it and still report the command.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from carctl.errors import ProtocolError

MAX_TEXT = 200  # a name, a state, a zone: longer is not something a car sends


def _shown(value: Any) -> str:
    """The offending value, short and with control characters escaped."""
    if isinstance(value, str):
        kind = "text"
    elif isinstance(value, bool):
        kind = "true/false"
    elif isinstance(value, int | float):
        kind = "a number"
    elif isinstance(value, list):
        kind = "a list"
    elif isinstance(value, dict):
        kind = "an object"
    else:
        kind = type(value).__name__
    text = repr(value)
    if len(text) > 24:
        text = text[:20] + "…"
    return f"{kind} ({text.encode('unicode_escape').decode('ascii')})"


def bad_field(where: str, value: Any, wanted: str) -> ProtocolError:
    return ProtocolError(
        f"the vehicle API sent {where} as {_shown(value)}, not {wanted}",
        hint="carctl does not use what it cannot read; this is a fault of the service "
        "(or of something between you and it): try again later",
    )


def section(data: Mapping[str, Any], name: str) -> Mapping[str, Any] | None:
    """One section of `vehicle_data` (`climate_state`, …): an object, or absent."""
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise bad_field(name, value, "an object")
    return value


def number(part: Mapping[str, Any] | None, key: str, where: str) -> float | None:
    """A finite number (not true/false)."""
    value = None if part is None else part.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise bad_field(f"{where}.{key}", value, "a number")
    if not math.isfinite(value) or abs(value) > 1e15:
        raise bad_field(f"{where}.{key}", value, "a finite number")
    return value


def integer(
    part: Mapping[str, Any] | None, key: str, where: str, *, low: int, high: int
) -> int | None:
    """A whole number from `low` to `high`."""
    value = number(part, key, where)
    if value is None:
        return None
    if value != int(value) or not low <= value <= high:
        raise bad_field(f"{where}.{key}", part[key] if part else value, f"{low} to {high}")
    return int(value)


def flag(part: Mapping[str, Any] | None, key: str, where: str) -> bool | None:
    """true or false."""
    value = None if part is None else part.get(key)
    if value is None:
        return None
    if not isinstance(value, bool):
        raise bad_field(f"{where}.{key}", value, "true or false")
    return value


def text(
    part: Mapping[str, Any] | None, key: str, where: str, *, most: int = MAX_TEXT
) -> str | None:
    """A string of at most `most` characters (control characters are the printer's job)."""
    value = None if part is None else part.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise bad_field(f"{where}.{key}", value, "text")
    if len(value) > most:
        raise bad_field(f"{where}.{key}", value, f"text of at most {most} characters")
    return value


def items(part: Mapping[str, Any] | None, key: str, where: str) -> list[Any]:
    """A list (absent: empty)."""
    value = None if part is None else part.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise bad_field(f"{where}.{key}", value, "a list")
    return value
