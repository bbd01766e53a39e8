"""Arming, listing and removing the car's own schedules (`carctl schedule`).

Every routine reads what the car holds first, so that arming is cheap and
safe to repeat: a schedule the car already holds is not sent again, and with
`if_missing` a different one (changed in the app, say) is reported, never
overwritten. Arming goes through the same `perform` as every command, so an
outage queues it — with an expiry at the first ready time, after which arming
it no longer helps that morning.
"""

from __future__ import annotations

from dataclasses import field, replace
from datetime import datetime, tzinfo
from typing import Any

from carctl.errors import (
    CarctlError,
    RefusedError,
    TemporaryError,
    UsageError,
    VehicleUnavailableError,
)
from carctl.records import record
from carctl.timefmt import iso
from carctl.vehicle import fields
from carctl.vehicle import schedules as plans
from carctl.vehicle.commands import Command
from carctl.vehicle.model import Vehicle
from carctl.vehicle.routines import temps
from carctl.vehicle.schedules import CarSchedule
from carctl.vehicle.service import VehicleService, quoted
from carctl.vehicle.steps import Steps, awaken, perform

SECTIONS = [
    "preconditioning_schedule_data",
    "vehicle_config",
    "charge_state",
    "climate_state",
    "drive_state",
    "location_data",
]
READ_BACK = ["preconditioning_schedule_data", "vehicle_config", "charge_state", "climate_state"]


@record
class Holding:
    """What the car holds, read from `vehicle_data`."""

    vehicle: Vehicle
    zone: tzinfo
    zone_name: str
    zone_known: bool  # False: the car did not name its zone; the owner's is assumed
    keeps_schedules: bool  # False: the car keeps only a scheduled departure
    schedules: list[CarSchedule] = field(default_factory=list)
    limit: int | None = None
    temp: float | None = None
    position: tuple[float, float] | None = None

    @classmethod
    def from_data(cls, vehicle: Vehicle, data: dict[str, Any]) -> Holding:
        named = fields.text(fields.section(data, "vehicle_config"), "timezone", "vehicle_config")
        car_zone = plans.zone_named(named)
        zone, zone_name = (car_zone, str(named)) if car_zone is not None else plans.local_zone()
        section = fields.section(data, "preconditioning_schedule_data")
        schedules: list[CarSchedule] = []
        limit = None
        if section is not None:
            for item in fields.items(
                section, "precondition_schedules", "preconditioning_schedule_data"
            ):
                found = CarSchedule.from_api(item) if isinstance(item, dict) else None
                if found is not None:
                    schedules.append(found)
            limit = fields.integer(
                section,
                "max_num_precondition_schedules",
                "preconditioning_schedule_data",
                low=0,
                high=10_000,
            )
        departure = plans.departure_from(data.get("charge_state"))
        if departure is not None:
            schedules.append(departure)
        climate = fields.section(data, "climate_state")
        temp = fields.number(climate, "driver_temp_setting", "climate_state")
        drive = fields.section(data, "drive_state")
        lat = fields.number(drive, "latitude", "drive_state")
        lon = fields.number(drive, "longitude", "drive_state")
        position = (lat, lon) if lat is not None and lon is not None else None
        return cls(
            vehicle=vehicle,
            zone=zone,
            zone_name=zone_name,
            zone_known=car_zone is not None,
            keeps_schedules=section is not None,
            schedules=schedules,
            limit=limit or None,
            temp=temp,
            position=position,
        )

    def still_held(self, read_at: float, now: float) -> Holding:
        """What a reading taken at `read_at` says the car holds at `now`: one-time schedules
        that have run since are gone."""
        kept = [
            s
            for s in self.schedules
            if not s.one_time or (plans.next_ready(s, self.zone, read_at) or now + 1) > now
        ]
        return replace(self, schedules=kept)

    def upcoming(self, now: float) -> list[tuple[CarSchedule, float | None]]:
        """Each schedule with its next ready time, soonest first."""
        rows = [(s, plans.next_ready(s, self.zone, now)) for s in self.schedules]
        return sorted(rows, key=lambda row: (row[1] is None, row[1] or 0.0, row[0].id))

    def next_run(self, now: float) -> tuple[CarSchedule, float] | None:
        for schedule, ready in self.upcoming(now):
            if ready is not None:
                return schedule, ready
        return None

    def local_iso(self, moment: float | None) -> str | None:
        """A moment in the car's local time, e.g. 2021-11-20T06:30+09:00 (scripts read the date)."""
        if moment is None:
            return None
        return datetime.fromtimestamp(moment, self.zone).isoformat(timespec="minutes")

    def zone_json(self) -> dict[str, Any]:
        return {"time_zone": self.zone_name, "time_zone_from_car": self.zone_known}


def _schedule_json(schedule: CarSchedule, ready: float | None) -> dict[str, Any]:
    return {**schedule.to_json(), "next_ready": iso(ready)}


def read(service: VehicleService, selector: str | None, *, timeout: float) -> tuple[Steps, Holding]:
    """Find the car, wake it if needed, and read its schedules (one `vehicle_data`)."""
    steps = Steps(service)
    vehicle = awaken(steps, service.locate(selector), timeout)
    try:
        data = service.data(vehicle, SECTIONS)
    except VehicleUnavailableError:  # asleep since it was last seen awake
        vehicle = awaken(steps, service.current(vehicle), timeout)
        data = service.data(vehicle, SECTIONS)
    return steps, Holding.from_data(vehicle, data)


@record
class Listing:
    holding: Holding
    steps: Steps
    now: float
    # the vehicle API failed: the schedules as the car last reported them, and why
    failure: CarctlError | None = None
    as_of: float | None = None

    @property
    def vehicle(self) -> Vehicle:
        return self.holding.vehicle

    def to_json(self) -> dict[str, Any]:
        upcoming = self.holding.upcoming(self.now)
        following = self.holding.next_run(self.now)
        return {
            **self.holding.zone_json(),
            "keeps_schedules": self.holding.keeps_schedules,
            "limit": self.holding.limit,
            "temp": self.holding.temp,
            "schedules": [_schedule_json(s, ready) for s, ready in upcoming],
            "next_ready": iso(following[1]) if following else None,
            "next_ready_local": self.holding.local_iso(following[1]) if following else None,
            "steps": self.steps.to_json(),
            "stale": self.failure is not None,
            "age_s": None if self.as_of is None else round(max(0.0, self.now - self.as_of)),
        }


def listing(service: VehicleService, selector: str | None, *, timeout: float) -> Listing:
    """What the car holds; while the vehicle API fails, what it held when last read (the
    vehicle cache), without a request when the breaker already knows."""
    try:
        steps, holding = read(service, selector, timeout=timeout)
    except TemporaryError as exc:
        known = service.known(selector)
        snapshot = service.cache.snapshot(known.id) if known is not None else None
        if known is None or snapshot is None or SECTIONS[0] not in snapshot.data:
            raise
        stale = Holding.from_data(known, snapshot.data)
        return Listing(stale, Steps(service), service.clock.now(), failure=exc, as_of=snapshot.at)
    return Listing(holding, steps, service.clock.now())


@record
class Armed:
    """What `schedule set` found and did."""

    holding: Holding
    steps: Steps
    wanted: CarSchedule
    state: str  # "armed" | "already" | "differs"
    temp: float | None
    now: float
    schedule: CarSchedule | None = None  # as the car reports it afterwards
    confirmed: bool | None = None
    differs: list[CarSchedule] = field(default_factory=list)
    replaced: CarSchedule | None = None  # a scheduled departure this one replaced

    @property
    def vehicle(self) -> Vehicle:
        return self.holding.vehicle

    @property
    def next_ready(self) -> float | None:
        """When the cabin is next ready: by what was armed — or, when a different schedule
        was left in place, by that one (it is what the car will run)."""
        if self.state == "differs" and self.differs:
            times = [plans.next_ready(s, self.holding.zone, self.now) for s in self.differs]
            known = [t for t in times if t is not None]
            return min(known) if known else None
        target = self.schedule or self.wanted
        return plans.next_ready(target, self.holding.zone, self.now)

    def replace_command(self) -> str:
        """The commands that would replace what differs with what was asked for."""
        car = quoted(self.vehicle.display_name)
        off = " ".join(str(s.id) for s in self.differs)
        off = f"carctl --vehicle {car} schedule off {off}" if off else ""
        wanted = self.wanted
        days = "" if wanted.one_time else f" --days {plans.api_days(wanted.days).lower()}"
        temp = f" --temp {self.temp:g}" if self.temp is not None else ""
        once = " --once" if wanted.one_time else ""
        arm = f"carctl --vehicle {car} schedule set {wanted.ready}{days}{temp}{once}"
        return f"{off} && {arm}" if off else arm

    def to_json(self) -> dict[str, Any]:
        return {
            "state": self.state,
            **self.holding.zone_json(),
            "schedule": _schedule_json(self.schedule, self.next_ready) if self.schedule else None,
            "wanted": {k: v for k, v in self.wanted.to_json().items() if k != "id"}
            | {"temp": self.temp},
            "temp": self.holding.temp,
            "next_ready": iso(self.next_ready),
            "next_ready_local": self.holding.local_iso(self.next_ready),
            "confirmed": self.confirmed,
            "differs": [s.to_json() for s in self.differs],
            "replace_with": self.replace_command() if self.state == "differs" else None,
            "replaced": self.replaced.to_json() if self.replaced else None,
            "steps": self.steps.to_json(),
        }


def _first_ready(wanted: CarSchedule, zone: tzinfo, now: float) -> float | None:
    return plans.next_ready(wanted, zone, now)


def _once_day(minutes: int, zone: tzinfo, now: float) -> int:
    """The day mask of a one-time schedule: today if the time is still ahead, else tomorrow."""
    today = datetime.fromtimestamp(now, zone)
    later = today.hour * 60 + today.minute < minutes
    weekday = today.weekday() if later else (today.weekday() + 1) % 7
    return 1 << weekday


def _arming_plan(holding: Holding, wanted: CarSchedule, temp: float | None) -> list[Command]:
    plan = [temps(temp)] if temp is not None and holding.temp != temp else []
    if not any(s.kind == wanted.kind and s.same_as(wanted) for s in holding.schedules):
        plan.append(arming_command(wanted, holding.position))
    return plan


def arming_command(wanted: CarSchedule, position: tuple[float, float] | None) -> Command:
    if wanted.kind == "departure":
        return Command(
            "set_scheduled_departure",
            {
                "enable": True,
                "departure_time": wanted.minutes,
                "preconditioning_enabled": True,
                "preconditioning_weekdays_only": wanted.days == plans.WEEKDAYS,
                "off_peak_charging_enabled": False,
            },
        )
    params: dict[str, Any] = {
        "days_of_week": plans.api_days(wanted.days),
        "precondition_time": wanted.minutes,
        "one_time": wanted.one_time,
        "enabled": True,
    }
    if position is not None:  # else the car's own position is asked for on delivery
        params["lat"], params["lon"] = position
    return Command("add_precondition_schedule", params)


def arm(
    service: VehicleService,
    selector: str | None,
    *,
    minutes: int,
    days: int,
    temp: float | None,
    once: bool,
    timeout: float,
    if_missing: bool = False,
) -> Armed:
    """Arm a schedule on the car so the cabin is ready at `minutes` (the car's local time)."""
    try:
        steps, holding = read(service, selector, timeout=timeout)
    except CarctlError as exc:
        _queue_unread(service, selector, exc, minutes=minutes, days=days, temp=temp, once=once)
        raise
    now = service.clock.now()
    wanted = _wanted(holding, minutes=minutes, days=days, once=once, now=now)
    same = [s for s in holding.schedules if s.kind == wanted.kind and s.same_as(wanted)]
    temp_held = temp is None or holding.temp == temp
    armed = Armed(holding, steps, wanted, "already", temp, now, schedule=same[0] if same else None)
    if same and temp_held:
        armed.confirmed = True
        return armed
    if if_missing:
        armed.differs = [
            s
            for s in holding.schedules
            if s.enabled and s.days & wanted.days and not s.same_as(wanted)
        ]
        if armed.differs or (same and not temp_held):
            armed.state = "differs"
            return armed
    _check_room(holding, wanted, same)
    if wanted.kind == "departure":
        armed.replaced = next((s for s in holding.schedules if s.kind == "departure"), None)
    plan = _arming_plan(holding, wanted, temp)
    try:
        perform(
            steps,
            holding.vehicle.id,
            plan,
            timeout=timeout,
            expires_at=_first_ready(wanted, holding.zone, now),
        )
    except CarctlError as exc:
        if exc.queued is None:  # not half-armed without saying so
            note = "the schedule was not armed; `carctl schedule` shows what the car holds"
            exc.hint = f"{exc.hint}; {note}" if exc.hint else note
        raise
    armed.state = "armed"
    _read_back(service, armed)
    return armed


def _wanted(holding: Holding, *, minutes: int, days: int, once: bool, now: float) -> CarSchedule:
    if once:
        days = _once_day(minutes, holding.zone, now)
    plans.check_time_exists(
        minutes, days, holding.zone, now, once=once, zone_name=holding.zone_name
    )
    if holding.keeps_schedules:
        return CarSchedule(0, days, minutes, one_time=once)
    label = holding.vehicle.label
    if once or days not in (plans.ALL_DAYS, plans.WEEKDAYS):
        raise UsageError(
            f"{label} keeps only a scheduled departure, every day or on weekdays",
            hint="arm it with --days all or --days weekdays (no --once, no --at)",
        )
    return CarSchedule(plans.DEPARTURE_ID, days, minutes, kind="departure")


def _check_room(holding: Holding, wanted: CarSchedule, same: list[CarSchedule]) -> None:
    held = [s for s in holding.schedules if s.kind == "precondition"]
    if wanted.kind != "precondition" or same or holding.limit is None:
        return
    if len(held) >= holding.limit:
        ids = ", ".join(str(s.id) for s in held)
        raise RefusedError(
            f"{holding.vehicle.label} already holds {len(held)} schedules, its limit",
            hint=f"remove one first: carctl schedule off ID (it holds {ids})",
        )


def _read_back(service: VehicleService, armed: Armed) -> None:
    try:
        data = service.data(armed.vehicle, READ_BACK)
    except CarctlError:
        return  # armed, not confirmed: `confirmed` stays None
    after = Holding.from_data(armed.vehicle, data)
    armed.holding = replace(after, position=armed.holding.position)
    found = [s for s in after.schedules if s.kind == armed.wanted.kind and s.same_as(armed.wanted)]
    armed.schedule = found[0] if found else None
    armed.confirmed = bool(found) and (armed.temp is None or after.temp == armed.temp)


def _queue_unread(
    service: VehicleService,
    selector: str | None,
    error: CarctlError,
    *,
    minutes: int,
    days: int,
    temp: float | None,
    once: bool,
) -> None:
    """The car could not be read (an outage): queue the arming as the car was last seen.

    The zone comes from the last snapshot (or the owner's), the position is
    asked for on delivery, and the entry expires at the first ready time.
    """
    if service.delivery is None or not isinstance(error, TemporaryError):
        return
    known = service.known(selector)
    snapshot = service.cache.snapshot(known.id) if known is not None else None
    holding = Holding.from_data(
        known or Vehicle("", "", "", "unknown"), snapshot.data if snapshot else {}
    )
    holding.keeps_schedules = True
    now = service.clock.now()
    wanted = _wanted(holding, minutes=minutes, days=days, once=once, now=now)
    plan = [temps(temp)] if temp is not None else []
    plan.append(arming_command(wanted, None))
    kept = service.delivery.keep_for_later(
        error,
        known,
        plan,
        expires_at=_first_ready(wanted, holding.zone, now),
        selector=selector,
    )
    if kept is not None:
        error.kept(kept)


@record
class Removed:
    holding: Holding
    steps: Steps
    removed: list[CarSchedule]
    now: float
    confirmed: bool | None = None

    @property
    def vehicle(self) -> Vehicle:
        return self.holding.vehicle

    def to_json(self) -> dict[str, Any]:
        return {
            **self.holding.zone_json(),
            "removed": [s.to_json() for s in self.removed],
            "schedules": [_schedule_json(s, r) for s, r in self.holding.upcoming(self.now)],
            "confirmed": self.confirmed,
            "steps": self.steps.to_json(),
        }


def _removal(schedule: CarSchedule) -> Command:
    if schedule.kind == "departure":
        return Command("set_scheduled_departure", {"enable": False})
    return Command("remove_precondition_schedule", {"id": schedule.id})


def remove(
    service: VehicleService, selector: str | None, *, ids: list[int] | None, timeout: float
) -> Removed:
    """Remove the schedules `ids` (None: all of them) from the car."""
    steps, holding = read(service, selector, timeout=timeout)
    by_id = {s.id: s for s in holding.schedules}
    if ids is None:
        chosen = list(holding.schedules)
    else:
        unknown = [i for i in ids if i not in by_id]
        if unknown:
            held = ", ".join(str(i) for i in sorted(by_id)) or "none"
            raise CarctlError(  # like `queue cancel 99`: a fact about the car, not a typo (1)
                f"{holding.vehicle.label} holds no schedule {unknown[0]} (it holds: {held})",
                hint="`carctl schedule` lists them",
            )
        chosen = [by_id[i] for i in dict.fromkeys(ids)]
    result = Removed(holding, steps, chosen, service.clock.now())
    if not chosen:
        result.confirmed = True
        return result
    perform(steps, holding.vehicle.id, [_removal(s) for s in chosen], timeout=timeout)
    try:
        data = service.data(holding.vehicle, READ_BACK)
    except CarctlError:
        return result
    result.holding = Holding.from_data(holding.vehicle, data)
    left = {(s.kind, s.id) for s in result.holding.schedules}
    result.confirmed = not any((s.kind, s.id) in left for s in chosen)
    return result
