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
from typing import Any

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
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SimVehicle:
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def id_s(self) -> str:
        return str(self.id)

    def matches(self, key: str) -> bool:
        """`{v}` in a path may be the numeric id, the string id or the VIN."""
        return key == self.id_s or key.upper() == self.vin

    # -- time ---------------------------------------------------------------

    def settle(self, now: float) -> None:
        """Bring the car forward to `now`. A clock that went backwards changes nothing."""
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
            "timestamp": None,
        }

    def gui_settings(self, now: float) -> dict[str, Any]:
        return {
            "gui_temperature_units": "C",
            "gui_distance_units": "km/hr",
            "gui_24_hour_time": True,
            "timestamp": int(now * 1000),
        }


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
}
