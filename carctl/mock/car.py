"""The simulated car, computed lazily from timestamps.

There are no background tasks: every request first calls `settle(now)`, which
moves the car from the moment it was last looked at to `now` — completing a
wake, falling asleep after the idle period, moving the cabin temperature and
draining the battery. The physics is deliberately simple and monotone so that
tests can predict it:

    cabin(t) = target + (cabin(t0) - target) * exp(-(t - t0) / tau)

with `target` the driver set point and `tau` = 6 min while the climate runs,
and `target` the outside temperature and `tau` = 40 min when it is off.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from functools import cached_property
from typing import Any
from zoneinfo import ZoneInfo

from carctl.mock import drive as road
from carctl.mock import schedules as plans
from carctl.mock.geo import distance_m
from carctl.mock.seed import SeedVehicle

CLIMATE_TAU = 360.0
DRIFT_TAU = 2400.0
CLIMATE_DRAIN_PER_HOUR = 4.0  # % of battery an hour with the climate running
WINDOWS = ("fd_window", "fp_window", "rd_window", "rp_window")
DOORS = ("df", "dr", "pf", "pr", "ft", "rt")  # doors, then the front and rear trunks
# `heater` / `seat_position` 0-8, as the Fleet API documents remote_seat_heater_request
SEATS = {
    0: "driver",
    1: "passenger",
    2: "rear_left",
    3: "rear_left_back",
    4: "rear_center",
    5: "rear_right",
    6: "rear_right_back",
    7: "third_row_left",
    8: "third_row_right",
}
CHARGE_PER_HOUR = 15.0  # % of battery an hour on the seeded 11 kW home charger
MIN_TEMP, MAX_TEMP = 15.0, 28.0


@dataclass
class SimVehicle:
    """One car's state at `updated_at`; mutable, serialised with the world."""

    owner: str
    id: int
    vehicle_id: int
    vin: str
    display_name: str
    car_type: str
    state: str
    in_service: bool
    latitude: float
    longitude: float
    outside_temp: float
    inside_temp: float
    driver_temp_setting: float
    passenger_temp_setting: float
    battery_level: float
    odometer: float
    wake_delay: float
    idle_sleep: float
    updated_at: float
    last_activity: float
    wake_at: float | None = None
    is_climate_on: bool = False
    defrost_max: bool = False
    windows: dict[str, int] = field(default_factory=lambda: dict.fromkeys(WINDOWS, 0))
    seat_heaters: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SEATS.values(), 0))
    locked: bool = True
    refusal: str = ""  # set by the admin API: every command answers result false with it
    time_zone: str = "Asia/Seoul"
    schedule_support: str = "precondition"  # or "departure": only `set_scheduled_departure`
    schedules: list[dict[str, Any]] = field(default_factory=list)
    next_schedule_id: int = 1
    departure: dict[str, Any] = field(default_factory=dict)
    # when charging starts or ends (`add_charge_schedule`), read back as charge_schedule_data
    charge_schedules: list[dict[str, Any]] = field(default_factory=list)
    next_charge_schedule_id: int = 1
    scheduled_until: float | None = None  # the climate is on for a schedule until then
    runs: list[dict[str, Any]] = field(default_factory=list)  # what the schedules did, latest last
    # the rest of what a client can set and read back (vehicle_data's documented keys)
    plugged_in: bool = False
    charging: bool = False
    charge_limit_soc: int = 80
    charge_amps: int = 16
    charge_port_door_open: bool = False
    scheduled_charging: dict[str, Any] = field(default_factory=dict)
    doors: dict[str, int] = field(default_factory=lambda: dict.fromkeys(DOORS, 0))
    sentry_mode: bool = False
    valet_mode: bool = False
    valet_pin: str = ""
    speed_limit: dict[str, Any] = field(
        default_factory=lambda: {"active": False, "current_limit_mph": 85.0, "pin": ""}
    )
    sun_roof_percent_open: int = 0
    steering_wheel_heater: bool = False
    climate_keeper_mode: str = "off"
    cabin_overheat_protection: str = "On"
    cop_activation_temperature: str = "High"
    bioweapon_mode: bool = False
    remote_start_until: float | None = None
    seat_coolers: dict[str, int] = field(default_factory=dict)
    auto_seat_climate: dict[str, bool] = field(default_factory=dict)
    media_volume: float = 3.0
    software_update: dict[str, Any] = field(default_factory=dict)
    command_signing: str = "off"  # "required": plain REST commands are refused (403)
    # through the signing-proxy stand-in: whether the proxy's own key is paired with the car
    proxy_key_paired: bool = True
    shift_state: str | None = None  # "D", "R", "N" while driven; None or "P" when parked
    # on the road (carctl.mock.drive): what is left of the route, the speed, since when
    drive: dict[str, Any] = field(default_factory=dict)
    heading: float = 90.0  # degrees from north
    # the Vehicle Command Protocol's state: paired keys, per-domain keys, epochs and
    # counters (carctl.mock.signed_car)
    signing: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_seed(
        cls, seed: SeedVehicle, *, now: float, wake_delay: float, idle_sleep: float
    ) -> SimVehicle:
        return cls(
            owner=seed.owner,
            id=seed.id,
            vehicle_id=seed.vehicle_id,
            vin=seed.vin,
            display_name=seed.display_name,
            car_type=seed.car_type,
            state=seed.state,
            in_service=seed.in_service,
            latitude=seed.latitude,
            longitude=seed.longitude,
            outside_temp=seed.outside_temp,
            inside_temp=seed.inside_temp,
            driver_temp_setting=seed.driver_temp_setting,
            passenger_temp_setting=seed.passenger_temp_setting,
            battery_level=seed.battery_level,
            odometer=seed.odometer,
            wake_delay=seed.wake_delay if seed.wake_delay is not None else wake_delay,
            idle_sleep=idle_sleep,
            updated_at=now,
            last_activity=now,
            time_zone=seed.time_zone,
            schedule_support=seed.schedule_support,
            plugged_in=seed.plugged_in,
            charge_limit_soc=seed.charge_limit_soc,
            command_signing=seed.command_signing,
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SimVehicle:
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @cached_property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    @property
    def id_s(self) -> str:
        return str(self.id)

    def matches(self, key: str) -> bool:
        """`{v}` in a path may be the numeric id, the string id or the VIN."""
        return key == self.id_s or key.upper() == self.vin

    # -- time ---------------------------------------------------------------

    def settle(self, now: float) -> None:
        """Bring the car forward to `now`, running its schedules on the way.

        A clock that went backwards changes nothing.
        """
        while True:
            event = self._next_event(now)
            if event is None:
                break
            at, run = event
            self._advance(at)
            if run is None:
                self._end_schedule(at)
            else:
                self._start_schedule(run, at)
        self._advance(now)

    def _advance(self, now: float) -> None:
        elapsed = now - self.updated_at
        if elapsed <= 0:
            return
        if self.drive:
            road.advance(self, self.updated_at, now)
        target, tau = (
            (self.driver_temp_setting, CLIMATE_TAU)
            if self.is_climate_on
            else (self.outside_temp, DRIFT_TAU)
        )
        self.inside_temp = target + (self.inside_temp - target) * math.exp(-elapsed / tau)
        if self.is_climate_on:
            drained = CLIMATE_DRAIN_PER_HOUR * elapsed / 3600.0
            self.battery_level = max(0.0, self.battery_level - drained)
        if self.charging:
            if not self.plugged_in:
                self.charging = False
            else:
                added = CHARGE_PER_HOUR * self.charge_amps / 16 * elapsed / 3600.0
                self.battery_level = min(float(self.charge_limit_soc), self.battery_level + added)
                self.charging = self.battery_level < self.charge_limit_soc
        if self.remote_start_until is not None and now >= self.remote_start_until:
            self.remote_start_until = None
        if self.wake_at is not None and now >= self.wake_at and self.state == "asleep":
            self.state = "online"
            self.last_activity = self.wake_at
            self.wake_at = None
        if (
            self.state == "online"
            and not self.is_climate_on
            and not self.charging
            and not self.sentry_mode
            and now - self.last_activity >= self.idle_sleep
        ):
            self.state = "asleep"
        self.updated_at = now

    # -- schedules ----------------------------------------------------------

    def active_schedules(self) -> list[dict[str, Any]]:
        """The schedules the car runs: its precondition schedules and its departure."""
        active = [s for s in self.schedules if s.get("enabled")]
        departure = plans.departure_schedule(self.departure)
        return [*active, departure] if departure is not None else active

    def _next_event(self, until: float) -> tuple[float, plans.Run | None] | None:
        """The first schedule start or end in (updated_at, until]; None for an end."""
        best: tuple[float, plans.Run | None] | None = None
        if self.scheduled_until is not None and self.updated_at < self.scheduled_until <= until:
            best = (self.scheduled_until, None)
        for schedule in self.active_schedules():
            run = plans.next_run(schedule, self.zone, self.updated_at)
            if run is not None and run.start <= until and (best is None or run.start < best[0]):
                best = (run.start, run)
        return best

    def start_due(self, now: float, schedule: dict[str, Any]) -> None:
        """A schedule armed inside its own warming window starts at once."""
        run = plans.current_run(schedule, self.zone, now)
        if run is not None:
            self._start_schedule(run, now)

    def _start_schedule(self, run: plans.Run, at: float) -> None:
        schedule = next((s for s in self.active_schedules() if s["id"] == run.schedule_id), None)
        record: dict[str, Any] = {
            "schedule": run.schedule_id,
            "started_at": at,
            "ready_at": run.ready,
        }
        if schedule is not None and schedule.get("one_time"):
            self.schedules = [s for s in self.schedules if s["id"] != run.schedule_id]
        if self.battery_level < plans.MIN_BATTERY:
            record["skipped"] = f"battery below {plans.MIN_BATTERY:g} %"
        elif schedule is not None and not self._near(schedule):
            record["skipped"] = "the car is away from where the schedule was set"
        else:
            self.is_climate_on = True
            self.wake_at = None
            self.state = "online"
            self.last_activity = max(self.last_activity, at)
            self.scheduled_until = max(self.scheduled_until or 0.0, run.ready + plans.HOLD_S)
        self.runs.append(record)
        del self.runs[:-20]

    def _end_schedule(self, at: float) -> None:
        self.scheduled_until = None
        self.is_climate_on = False
        self.defrost_max = False
        self.last_activity = max(self.last_activity, at)

    def _near(self, schedule: dict[str, Any]) -> bool:
        lat, lon = schedule.get("latitude"), schedule.get("longitude")
        if not isinstance(lat, int | float) or not isinstance(lon, int | float):
            return True
        return distance_m(lat, lon, self.latitude, self.longitude) <= plans.SCHEDULE_RADIUS_M

    def touch(self, now: float) -> None:
        """Activity keeps an awake car awake for another idle period."""
        self.last_activity = max(self.last_activity, now)

    def wake(self, now: float) -> None:
        """Start a wake; it completes `wake_delay` later. An offline car never wakes."""
        if self.state == "asleep" and self.wake_at is None:
            if self.wake_delay <= 0:
                self.state, self.last_activity = "online", now
            else:
                self.wake_at = now + self.wake_delay
        elif self.state == "online":
            self.touch(now)


# What the admin API may change on a car for a test set-up, with the accepted types.
NUMBER = (int, float)
# What the admin API may change on a car for a test set-up: the accepted types, and for
# numbers the range, so that a set-up the car could never be in is a 400 naming the field.
VEHICLE_FIELDS: dict[str, tuple[type | tuple[type, ...], tuple[float, float] | None]] = {
    "display_name": (str, None),
    "car_type": (str, None),
    "state": (str, None),
    "in_service": (bool, None),
    "outside_temp": (NUMBER, (-50.0, 60.0)),
    "inside_temp": (NUMBER, (-50.0, 80.0)),
    "battery_level": (NUMBER, (0.0, 100.0)),
    "latitude": (NUMBER, (-90.0, 90.0)),
    "longitude": (NUMBER, (-180.0, 180.0)),
    "wake_delay": (NUMBER, (0.0, 3600.0)),
    "idle_sleep": (NUMBER, (0.0, 1e7)),  # up to months: a car that never sleeps in a test
    "refusal": (str, None),
    "schedule_support": (str, None),
    "time_zone": (str, None),
    "plugged_in": (bool, None),
    "charge_limit_soc": (int, (50.0, 100.0)),
    "command_signing": (str, None),
    "proxy_key_paired": (bool, None),
    "shift_state": (str, None),
    "locked": (bool, None),
    "sentry_mode": (bool, None),
}
