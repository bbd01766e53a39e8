"""Reading command parameters the way the service does: strict where it is, lenient where not.

The service answers 400 `invalid_field` for a parameter it cannot read at all
(a word where a number belongs), but clamps or ignores many values a strict
reading would refuse; `number(..., clamp=True)` and `flag` follow it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from carctl.mock.car import SimVehicle


class InvalidField(ValueError):
    """A command parameter is missing or unreadable: 400 `invalid_field`."""


Params = dict[str, Any]
Effect = Callable[["SimVehicle", Params, float], tuple[bool, str]]
OK = (True, "")


@dataclass(frozen=True)
class Command:
    check: Callable[[Params], Params]
    effect: Effect


def given(params: Params, key: str) -> bool:
    return params.get(key) not in (None, "")


def number(
    params: Params, key: str, *, low: float, high: float, unit: str = "", clamp: bool = False
) -> float:
    """A number from `low` to `high`; out of range is refused, or clamped with `clamp`."""
    value = params.get(key)
    if value is None or value == "":
        raise InvalidField(f"{key} is required")
    if isinstance(value, bool):
        raise InvalidField(f"{key} must be a number")
    try:
        found = float(value)
    except (TypeError, ValueError):
        raise InvalidField(f"{key} must be a number, got {value!r}") from None
    if not math.isfinite(found):
        raise InvalidField(f"{key} must be a number, got {value!r}")
    if clamp:
        return min(high, max(low, found))
    if not low <= found <= high:
        raise InvalidField(f"{key} must be between {low:g} and {high:g}{unit}, got {value!r}")
    return found


def whole(params: Params, key: str, *, low: int, high: int, clamp: bool = False) -> int:
    return round(number(params, key, low=low, high=high, clamp=clamp))


def flag(params: Params, key: str, default: bool | None = None) -> bool:
    """true/false, 1/0 — and any other number as its truth, as the service reads it."""
    value = params.get(key)
    if value in (None, "") and default is not None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and math.isfinite(value):
        return value != 0
    if str(value).lower() in ("true", "1", "on"):
        return True
    if str(value).lower() in ("false", "0", "off"):
        return False
    raise InvalidField(f"{key} must be true or false, got {value!r}")


def keep(*keys: str) -> Callable[[Params], Params]:
    """A checker that passes the given parameters through unread (for commands that ignore
    them, such as navigation requests)."""

    def check(params: Params) -> Params:
        return {key: params[key] for key in keys if key in params}

    return check


def days_of_week(params: Params) -> int:
    """A schedule's `days_of_week` (a mask, or day names), as the car keeps it."""
    from carctl.mock import schedules as plans

    if params.get("days_of_week") in (None, ""):
        raise InvalidField("days_of_week is required")
    try:
        return plans.days_mask(params["days_of_week"])
    except plans.DaysError as exc:
        raise InvalidField(str(exc)) from None


def location_labels(params: Params) -> Params:
    """The batch removals' `{home, work, other}`: which of the car's places to clear."""
    return {key: flag(params, key, False) for key in ("home", "work", "other")}


def minutes(params: Params, key: str) -> int:
    value = number(params, key, low=0, high=1439)
    if value != int(value):
        raise InvalidField(f"{key} must be whole minutes after midnight, got {params.get(key)!r}")
    return int(value)


def no_params(params: Params) -> Params:
    return {}


def ignore(car: SimVehicle, params: Params, now: float) -> tuple[bool, str]:
    """Commands whose effect nothing in `vehicle_data` shows (horn, lights, media keys)."""
    return OK
