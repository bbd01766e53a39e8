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
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import cached_property
from typing import Any
from zoneinfo import ZoneInfo

from carctl.mock import schedules as plans
from carctl.mock.seed import SeedVehicle

CLIMATE_TAU = 360.0
DRIFT_TAU = 2400.0
CLIMATE_DRAIN_PER_HOUR = 4.0  # % of battery an hour with the climate running
WINDOWS = ("fd_window", "fp_window", "rd_window", "rp_window")
SEATS = {0: "driver", 1: "passenger", 2: "rear_left", 4: "rear_center", 5: "rear_right"}
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
    scheduled_until: float | None = None  # the climate is on for a schedule until then
    runs: list[dict[str, Any]] = field(default_factory=list)  # what the schedules did, latest last

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
        target, tau = (
            (self.driver_temp_setting, CLIMATE_TAU)
            if self.is_climate_on
            else (self.outside_temp, DRIFT_TAU)
        )
        self.inside_temp = target + (self.inside_temp - target) * math.exp(-elapsed / tau)
        if self.is_climate_on:
            drained = CLIMATE_DRAIN_PER_HOUR * elapsed / 3600.0
            self.battery_level = max(0.0, self.battery_level - drained)
        if self.wake_at is not None and now >= self.wake_at and self.state == "asleep":
            self.state = "online"
            self.last_activity = self.wake_at
            self.wake_at = None
        if (
            self.state == "online"
            and not self.is_climate_on
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

    # -- what the API shows -------------------------------------------------

    def summary(self) -> dict[str, Any]:
        """The vehicle object of `/vehicles` and `/products`."""
        return {
            "id": self.id,
            "vehicle_id": self.vehicle_id,
            "vin": self.vin,
            "display_name": self.display_name,
            "option_codes": None,
            "color": None,
            "access_type": "OWNER",
            "tokens": [],
            "state": self.state,
            "in_service": self.in_service,
            "id_s": self.id_s,
            "calendar_enabled": True,
            "api_version": 71,
            "backseat_token": None,
            "backseat_token_updated_at": None,
        }

    def charge_state(self, now: float) -> dict[str, Any]:
        level = round(self.battery_level)
        return {
            "battery_level": level,
            "usable_battery_level": level,
            "battery_range": round(level * 3.1, 2),
            "est_battery_range": round(level * 2.6, 2),
            "ideal_battery_range": round(level * 3.1, 2),
            "charge_limit_soc": 80,
            "charging_state": "Disconnected",
            "charge_port_door_open": False,
            **self._departure_fields(now),
            "timestamp": int(now * 1000),
        }

    def _departure_fields(self, now: float) -> dict[str, Any]:
        """The scheduled departure as `charge_state` reports it (timdorr/tesla-api's fields)."""
        departure = self.departure
        enabled = bool(departure.get("enabled"))
        schedule = plans.departure_schedule(departure)
        run = plans.next_run(schedule, self.zone, now) if schedule is not None else None
        return {
            "scheduled_charging_mode": "DepartBy" if enabled else "Off",
            "scheduled_departure_time": int(run.ready) if run is not None else None,
            "scheduled_departure_time_minutes": int(departure.get("departure_time", 0)),
            "preconditioning_enabled": bool(departure.get("preconditioning_enabled")),
            "preconditioning_times": "weekdays"
            if departure.get("preconditioning_weekdays_only")
            else "all_week",
            "off_peak_charging_enabled": bool(departure.get("off_peak_charging_enabled")),
        }

    def schedule_data(self, now: float) -> dict[str, Any]:
        """`preconditioning_schedule_data` (the Fleet API's `PreconditioningScheduleState`)."""
        runs = [plans.next_run(s, self.zone, now) for s in self.schedules if s.get("enabled")]
        return {
            "precondition_schedules": [dict(s) for s in self.schedules],
            "max_num_precondition_schedules": plans.MAX_SCHEDULES,
            "next_schedule": any(run is not None for run in runs),
            "timestamp": int(now * 1000),
        }

    def climate_state(self, now: float) -> dict[str, Any]:
        return {
            "inside_temp": round(self.inside_temp, 1),
            "outside_temp": round(self.outside_temp, 1),
            "driver_temp_setting": self.driver_temp_setting,
            "passenger_temp_setting": self.passenger_temp_setting,
            "is_climate_on": self.is_climate_on,
            "is_auto_conditioning_on": self.is_climate_on,
            "is_preconditioning": self.is_climate_on
            and abs(self.inside_temp - self.driver_temp_setting) > 1,
            "is_front_defroster_on": self.defrost_max,
            "is_rear_defroster_on": self.defrost_max,
            "defrost_mode": 2 if self.defrost_max else 0,
            "fan_status": 4 if self.is_climate_on else 0,
            "climate_keeper_mode": "off",
            "min_avail_temp": MIN_TEMP,
            "max_avail_temp": MAX_TEMP,
            "seat_heater_left": self.seat_heaters["driver"],
            "seat_heater_right": self.seat_heaters["passenger"],
            "seat_heater_rear_left": self.seat_heaters["rear_left"],
            "seat_heater_rear_center": self.seat_heaters["rear_center"],
            "seat_heater_rear_right": self.seat_heaters["rear_right"],
            "timestamp": int(now * 1000),
        }

    def vehicle_state(self, now: float) -> dict[str, Any]:
        return {
            **self.windows,
            "locked": self.locked,
            "odometer": round(self.odometer, 1),
            "car_version": "2021.36.5.2 0d5e5f8a9c41",
            "api_version": 71,
            "is_user_present": False,
            "vehicle_name": self.display_name,
            "timestamp": int(now * 1000),
        }

    def drive_state(self, now: float, *, with_location: bool) -> dict[str, Any]:
        state: dict[str, Any] = {
            "shift_state": None,
            "speed": None,
            "power": 0,
            "timestamp": int(now * 1000),
        }
        if with_location:
            state.update(
                {
                    "latitude": self.latitude,
                    "longitude": self.longitude,
                    "heading": 90,
                    "gps_as_of": int(now),
                    "native_latitude": self.latitude,
                    "native_longitude": self.longitude,
                    "native_location_supported": 1,
                    "native_type": "wgs",
                }
            )
        return state

    def section(self, name: str, now: float, *, with_location: bool) -> dict[str, Any]:
        """One section of `vehicle_data` by name."""
        if name == "drive_state":
            return self.drive_state(now, with_location=with_location)
        if name == "vehicle_config":
            return self.vehicle_config()
        if name == "preconditioning_schedule_data":
            return self.schedule_data(now)
        build: dict[str, Callable[[float], dict[str, Any]]] = {
            "charge_state": self.charge_state,
            "climate_state": self.climate_state,
            "gui_settings": self.gui_settings,
            "vehicle_state": self.vehicle_state,
        }
        return build[name](now)

    def vehicle_config(self) -> dict[str, Any]:
        return {
            "car_type": self.car_type,
            "can_actuate_trunks": True,
            "rhd": False,
            # Not in the Owner API: the mock names the car's zone so that clients can
            # show a schedule's time in the owner's zone too.
            "timezone": self.time_zone,
            "timestamp": None,
        }

    def gui_settings(self, now: float) -> dict[str, Any]:
        return {
            "gui_temperature_units": "C",
            "gui_distance_units": "km/hr",
            "gui_24_hour_time": True,
            "timestamp": int(now * 1000),
        }


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6_371_000 * math.asin(math.sqrt(a))


# What the admin API may change on a car for a test set-up, with the accepted types.
VEHICLE_FIELDS: dict[str, type | tuple[type, ...]] = {
    "display_name": str,
    "state": str,
    "in_service": bool,
    "outside_temp": (int, float),
    "inside_temp": (int, float),
    "battery_level": (int, float),
    "latitude": (int, float),
    "longitude": (int, float),
    "wake_delay": (int, float),
    "idle_sleep": (int, float),
    "refusal": str,
    "schedule_support": str,
    "time_zone": str,
}
