"""The car's own schedules, as carctl reads, compares and explains them.

A schedule on the car says when the cabin should be ready, in the car's local
time, on which days. The car runs it itself — which is the point: a morning
armed the evening before needs no request at 06:00, when the cloud may be
down. This module is pure (no I/O): the days and times owners type, the
schedules the API reports (`preconditioning_schedule_data`, or the older
scheduled departure in `charge_state`), and when each next runs.

Days travel as the API's bit mask, Monday as bit 0 (tesla-fleet-api's
protobuf; Teslemetry reads it the same way); carctl sends them in the string
form Tessie documents for `add_precondition_schedule` ("All", "Weekdays",
"Monday,Friday"), which the Fleet API also accepts.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from carctl.errors import UsageError
from carctl.records import record
from carctl.vehicle import fields
from carctl.vehicle.inputs import parse_time_of_day

DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
ALL_DAYS = 0b1111111
WEEKDAYS = 0b0011111
WEEKENDS = 0b1100000
DEPARTURE_ID = 0  # the scheduled departure, listed beside the schedules
LEAD_S = 30 * 60.0  # cars start warming about this long before the ready time
_NAMED = {
    "all": ALL_DAYS,
    "daily": ALL_DAYS,
    "everyday": ALL_DAYS,
    "weekdays": WEEKDAYS,
    "weekends": WEEKENDS,
}


def parse_days(text: str, *, option: str = "--days") -> int:
    """`weekdays`, `weekends`, `all`, or days such as `mon,wed,fri` (names or 3-letter forms)."""
    mask = 0
    for raw in text.split(","):
        part = raw.strip().casefold().replace(" ", "")
        if part in _NAMED:
            mask |= _NAMED[part]
            continue
        found = [
            i for i, day in enumerate(DAYS) if len(part) >= 2 and day.casefold().startswith(part)
        ]
        if len(found) != 1:
            raise UsageError(
                f"{option} {text!r}: {raw.strip()!r} is not a day of the week",
                hint="e.g. --days weekdays, --days all, or --days mon,wed,fri",
            )
        mask |= 1 << found[0]
    return mask


def days_text(mask: int) -> str:
    """What people read: "weekdays", "every day", "Mon, Wed, Fri"."""
    named = {ALL_DAYS: "every day", WEEKDAYS: "weekdays", WEEKENDS: "weekends"}
    if mask in named:
        return named[mask]
    return ", ".join(day[:3] for i, day in enumerate(DAYS) if mask & (1 << i))


def api_days(mask: int) -> str:
    """`days_of_week` as carctl sends it."""
    if mask == ALL_DAYS:
        return "All"
    if mask == WEEKDAYS:
        return "Weekdays"
    return ",".join(day for i, day in enumerate(DAYS) if mask & (1 << i))


def parse_ready_time(text: str, *, option: str = "TIME") -> int:
    """`06:30` as minutes after midnight (the API's `precondition_time`)."""
    found = parse_time_of_day(text, option=option)
    if found is None:
        raise UsageError(f"{option} {text!r} is not a time of day", hint="e.g. 06:30")
    return found[0] * 60 + found[1]


def clock_text(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def local_zone() -> tuple[tzinfo, str]:
    """The owner's zone (from TZ or /etc/localtime), else the machine's current offset."""
    for name in (os.environ.get("TZ", "").lstrip(":"), _localtime_key()):
        zone = zone_named(name)
        if zone is not None:
            return zone, name
    here = datetime.now().astimezone().tzinfo
    assert here is not None
    return here, datetime.now().astimezone().tzname() or "local time"


def _localtime_key() -> str:
    try:
        target = os.path.realpath("/etc/localtime")
    except OSError:
        return ""
    return target.split("zoneinfo/", 1)[1] if "zoneinfo/" in target else ""


def zone_named(name: Any) -> ZoneInfo | None:
    """The zone an IANA name names; None for anything else (a directory such as
    "America", a path, a name too long for the file system)."""
    if not isinstance(name, str) or not name or len(name) > 64:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


@record(frozen=True)
class CarSchedule:
    """One schedule the car holds; `kind` "departure" is the older scheduled departure."""

    id: int
    days: int
    minutes: int  # ready time, minutes after the car's local midnight
    one_time: bool = False
    enabled: bool = True
    kind: str = "precondition"

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> CarSchedule | None:
        """From `precondition_schedules[]`; None for an entry without the fields that matter.

        A field of a shape carctl cannot use is a `ProtocolError` naming it."""
        where = "precondition_schedules[]"
        ident = fields.integer(data, "id", where, low=0, high=2**63 - 1)
        days = fields.integer(data, "days_of_week", where, low=0, high=2**31 - 1)
        minutes = fields.integer(data, "precondition_time", where, low=0, high=2**31 - 1)
        if ident is None or days is None or minutes is None:
            return None
        one_time = fields.flag(data, "one_time", where)
        enabled = fields.flag(data, "enabled", where)
        return cls(
            id=ident,
            days=days & ALL_DAYS,
            minutes=minutes % 1440,
            one_time=bool(one_time),
            enabled=enabled is not False,
        )

    @property
    def ready(self) -> str:
        return clock_text(self.minutes)

    def describe(self) -> str:
        """ "weekdays, ready at 06:30" (and "once" for a one-time schedule)."""
        days = "once" if self.one_time else days_text(self.days)
        return f"{days}, ready at {self.ready}"

    def same_as(self, other: CarSchedule) -> bool:
        return (self.days, self.minutes, self.one_time, self.enabled) == (
            other.days,
            other.minutes,
            other.one_time,
            other.enabled,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "days": days_text(self.days),
            "days_of_week": self.days,
            "ready_at": self.ready,
            "one_time": self.one_time,
            "enabled": self.enabled,
        }


def departure_from(charge: Any) -> CarSchedule | None:
    """The scheduled departure from `charge_state`, when it preconditions the cabin."""
    if not isinstance(charge, dict):
        return None
    where = "charge_state"
    if fields.text(charge, "scheduled_charging_mode", where) != "DepartBy":
        return None
    if not fields.flag(charge, "preconditioning_enabled", where):
        return None
    minutes = fields.integer(
        charge, "scheduled_departure_time_minutes", where, low=0, high=2**31 - 1
    )
    if minutes is None:
        return None
    weekdays = fields.text(charge, "preconditioning_times", where) == "weekdays"
    return CarSchedule(
        DEPARTURE_ID, WEEKDAYS if weekdays else ALL_DAYS, minutes % 1440, kind="departure"
    )


def when_text(moment: float, zone: tzinfo) -> str:
    """ "Mon 22 Nov 06:30" in the car's time."""
    return datetime.fromtimestamp(moment, zone).strftime("%a %d %b %H:%M")


def _local(day: date, minutes: int, zone: tzinfo, fold: int = 0) -> datetime:
    return datetime(
        day.year, day.month, day.day, minutes // 60, minutes % 60, tzinfo=zone, fold=fold
    )


def next_ready(schedule: CarSchedule, zone: tzinfo, now: float) -> float | None:
    """When the cabin will next be ready (epoch), by the car's clock; None if never."""
    if not schedule.enabled or not schedule.days:
        return None
    today = datetime.fromtimestamp(now, zone).date()
    for offset in range(0, 9):
        day = today + timedelta(days=offset)
        if schedule.days & (1 << day.weekday()):
            ready = _local(day, schedule.minutes, zone).timestamp()
            if ready > now:
                return ready
    return None


def check_time_exists(
    minutes: int,
    days: int,
    zone: tzinfo,
    now: float,
    *,
    once: bool,
    zone_name: str,
) -> None:
    """Refuse a ready time that the car's clock skips or shows twice (a DST change).

    A one-time schedule is checked on its day; a repeating one on every day it
    would run within a year, because a car would run it at the wrong hour — or
    not at all — that morning.
    """
    today = datetime.fromtimestamp(now, zone).date()
    for offset in range(0, 8 if once else 367):
        day = today + timedelta(days=offset)
        if not days & (1 << day.weekday()):
            continue
        first, second = _local(day, minutes, zone), _local(day, minutes, zone, fold=1)
        if once and first.timestamp() <= now:
            continue
        wall = first.astimezone(UTC).astimezone(zone)
        if (wall.hour, wall.minute) != (first.hour, first.minute):
            raise UsageError(
                f"{clock_text(minutes)} does not exist in {zone_name} on "
                f"{day:%a %d %b %Y}: the clocks skip it",
                hint="choose a time outside the hour the clocks change",
            )
        if first.utcoffset() != second.utcoffset():
            raise UsageError(
                f"{clock_text(minutes)} happens twice in {zone_name} on "
                f"{day:%a %d %b %Y}: the clocks go back",
                hint="choose a time outside the hour the clocks change",
            )
        if once:
            return
