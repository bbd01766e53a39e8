"""The car's own preconditioning schedules: when each one runs, in the car's time zone.

A schedule says when the cabin should be *ready* (`precondition_time`,
minutes after local midnight) and on which days (`days_of_week`, a bit mask
with Monday as bit 0 — the shape of `preconditioning_schedule_data` in
`vehicle_data`, as tesla-fleet-api's protobuf and Teslemetry read it). The car
starts warming `LEAD_S` before that and keeps the climate on for `HOLD_S`
after, on its own clock: nothing here depends on the API being up.

The older "scheduled departure" (`set_scheduled_departure`, one departure
time, every day or weekdays only) runs the same way; it is represented here as
a schedule with the id `DEPARTURE_ID`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

LEAD_S = 30 * 60.0  # warming starts this long before the ready time
HOLD_S = 30 * 60.0  # and the cabin is held at temperature this long after it
MAX_SCHEDULES = 10  # `max_num_precondition_schedules`
MIN_BATTERY = 20.0  # below this (%), the car skips a scheduled run to keep its range
SCHEDULE_RADIUS_M = 1000.0  # a schedule runs only where it was set (its lat/lon)
DEPARTURE_ID = 0

ALL_DAYS = 0b1111111
WEEKDAYS = 0b0011111
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class DaysError(ValueError):
    """`days_of_week` that names no day."""


def days_mask(value: Any) -> int:
    """`days_of_week` as the API takes it: a bit mask, or "All", "Weekdays", "Monday,Friday".

    The string forms are those Tessie documents for the same command; the
    integer is what the signed protocol carries.
    """
    if isinstance(value, bool):
        raise DaysError(f"days_of_week must be a day mask or day names, got {value!r}")
    if isinstance(value, int):
        if not 1 <= value <= ALL_DAYS:
            raise DaysError(f"days_of_week must be a mask from 1 to 127, got {value}")
        return value
    text = str(value).strip()
    if text.isdigit():
        return days_mask(int(text))
    mask = 0
    for part in (p.strip().casefold() for p in text.split(",")):
        if part == "all":
            mask |= ALL_DAYS
        elif part == "weekdays":
            mask |= WEEKDAYS
        else:
            found = [i for i, name in enumerate(DAY_NAMES) if name.casefold().startswith(part)]
            if not part or len(found) != 1:
                raise DaysError(f"days_of_week: {part!r} is not a day of the week")
            mask |= 1 << found[0]
    return mask


@dataclass(frozen=True)
class Run:
    """One scheduled run: warming starts at `start`, the cabin is ready at `ready`."""

    schedule_id: int
    start: float
    ready: float


def _ready_on(day: date, minutes: int, zone: ZoneInfo) -> float:
    local = datetime(day.year, day.month, day.day, minutes // 60, minutes % 60, tzinfo=zone)
    return local.timestamp()


def next_run(schedule: dict[str, Any], zone: ZoneInfo, after: float) -> Run | None:
    """The first run of an enabled schedule whose warming starts after `after`."""
    if not schedule.get("enabled"):
        return None
    mask, minutes = int(schedule["days_of_week"]), int(schedule["precondition_time"])
    today = datetime.fromtimestamp(after, zone).date()
    for offset in range(-1, 9):
        day = today + timedelta(days=offset)
        if not mask & (1 << day.weekday()):
            continue
        ready = _ready_on(day, minutes, zone)
        if ready - LEAD_S > after:
            return Run(int(schedule["id"]), ready - LEAD_S, ready)
    return None


def current_run(schedule: dict[str, Any], zone: ZoneInfo, at: float) -> Run | None:
    """The run whose warming window [start, ready) contains `at`, if any."""
    run = next_run(schedule, zone, at - LEAD_S)
    return run if run is not None and run.start <= at < run.ready else None


def departure_schedule(departure: dict[str, Any]) -> dict[str, Any] | None:
    """The scheduled departure as a schedule, when it preconditions."""
    if not departure.get("enabled") or not departure.get("preconditioning_enabled"):
        return None
    return {
        "id": DEPARTURE_ID,
        "days_of_week": WEEKDAYS if departure.get("preconditioning_weekdays_only") else ALL_DAYS,
        "precondition_time": int(departure.get("departure_time", 0)),
        "enabled": True,
        "one_time": False,
        "latitude": departure.get("latitude"),
        "longitude": departure.get("longitude"),
    }


def placed(
    kept: list[dict[str, Any]], schedule: dict[str, Any], *, replacing: bool, limit: int
) -> list[dict[str, Any]] | str:
    """The car's schedules with `schedule` added, or put in place of the one with its id;
    or the car's refusal: an id it does not have, or no room for another."""
    others = [s for s in kept if s["id"] != schedule["id"]]
    if replacing and len(others) == len(kept):
        return "schedule_not_found"
    if len(others) >= limit:
        return "schedule_limit_reached"
    return sorted([*others, schedule], key=lambda s: s["id"])
