"""Vehicle commands: parameter checks and their effect on the simulated car.

Each command is a checker (raises `InvalidField` for a bad parameter, which
the API answers with 400 `invalid_field`) and an effect returning the car's
`(result, reason)`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from carctl.mock import schedules as plans
from carctl.mock.car import MAX_TEMP, MIN_TEMP, SEATS, WINDOWS, SimVehicle, distance_m

CLOSE_RADIUS_M = 1000.0


class InvalidField(ValueError):
    """A command parameter is missing or out of range."""


Params = dict[str, Any]
Effect = Callable[[SimVehicle, Params, float], tuple[bool, str]]


@dataclass(frozen=True)
class Command:
    check: Callable[[Params], Params]
    effect: Effect


def _number(params: Params, key: str, *, low: float, high: float, unit: str = "") -> float:
    value = params.get(key)
    if value is None or value == "":
        raise InvalidField(f"{key} is required")
    if isinstance(value, bool):
        raise InvalidField(f"{key} must be a number")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidField(f"{key} must be a number, got {value!r}") from None
    if not math.isfinite(number) or not low <= number <= high:
        raise InvalidField(f"{key} must be between {low:g} and {high:g}{unit}, got {value!r}")
    return number


def _flag(params: Params, key: str) -> bool:
    value = params.get(key)
    if isinstance(value, bool):
        return value
    if str(value).lower() in ("true", "1"):
        return True
    if str(value).lower() in ("false", "0"):
        return False
    raise InvalidField(f"{key} must be true or false, got {value!r}")


def _no_params(params: Params) -> Params:
    return {}


def _set_temps(params: Params) -> Params:
    driver = _number(params, "driver_temp", low=MIN_TEMP, high=MAX_TEMP, unit=" °C")
    passenger = (
        driver
        if params.get("passenger_temp") in (None, "")
        else _number(params, "passenger_temp", low=MIN_TEMP, high=MAX_TEMP, unit=" °C")
    )
    return {"driver_temp": driver, "passenger_temp": passenger}


def _window_control(params: Params) -> Params:
    command = params.get("command")
    if command not in ("vent", "close"):
        raise InvalidField(f"command must be vent or close, got {command!r}")
    checked: Params = {"command": command}
    lon_key = "lon" if params.get("lon") not in (None, "") else "long"
    if params.get("lat") not in (None, "") or params.get(lon_key) not in (None, ""):
        checked["lat"] = _number(params, "lat", low=-90, high=90)
        checked["lon"] = _number(params, lon_key, low=-180, high=180)
    elif command == "close":
        raise InvalidField("lat and lon (the phone's position) are required to close the windows")
    return checked


def _seat_heater(params: Params) -> Params:
    key = "heater" if params.get("heater") not in (None, "") else "seat_position"
    seat = int(_number(params, key, low=0, high=5))
    if seat not in SEATS:
        raise InvalidField(f"{key} must be one of {', '.join(map(str, SEATS))}, got {seat}")
    level = _number(params, "level", low=0, high=3)
    if level != int(level):
        raise InvalidField(f"level must be a whole number from 0 to 3, got {params.get('level')!r}")
    return {"heater": seat, "level": int(level)}


def _preconditioning_max(params: Params) -> Params:
    if params.get("on") in (None, ""):
        raise InvalidField("on is required")
    return {"on": _flag(params, "on")}


def _climate_on(car: SimVehicle, params: Params, now: float) -> tuple[bool, str]:
    car.is_climate_on = True
    car.scheduled_until = None  # the owner's word now, not a schedule's
    return True, ""


def _climate_off(car: SimVehicle, params: Params, now: float) -> tuple[bool, str]:
    car.is_climate_on = False
    car.defrost_max = False
    car.scheduled_until = None
    return True, ""


def _minutes(params: Params, key: str) -> int:
    value = _number(params, key, low=0, high=1439)
    if value != int(value):
        raise InvalidField(f"{key} must be whole minutes after midnight, got {params.get(key)!r}")
    return int(value)


def _optional_flag(params: Params, key: str, default: bool) -> bool:
    return default if params.get(key) in (None, "") else _flag(params, key)


def _add_schedule(params: Params) -> Params:
    """`add_precondition_schedule`, with the fields tesla-fleet-api and Tessie send."""
    if params.get("days_of_week") in (None, ""):
        raise InvalidField("days_of_week is required")
    try:
        days = plans.days_mask(params["days_of_week"])
    except plans.DaysError as exc:
        raise InvalidField(str(exc)) from None
    lon_key = "lon" if params.get("lon") not in (None, "") else "long"
    checked: Params = {
        "days_of_week": days,
        "precondition_time": _minutes(params, "precondition_time"),
        "lat": _number(params, "lat", low=-90, high=90),
        "lon": _number(params, lon_key, low=-180, high=180),
        "one_time": _optional_flag(params, "one_time", False),
        "enabled": _optional_flag(params, "enabled", True),
    }
    if params.get("id") not in (None, "", 0):
        checked["id"] = int(_number(params, "id", low=1, high=2**31))
    if isinstance(params.get("name"), str):
        checked["name"] = params["name"][:40]
    return checked


def _remove_schedule(params: Params) -> Params:
    return {"id": int(_number(params, "id", low=1, high=2**31))}


def _departure(params: Params) -> Params:
    """`set_scheduled_departure`: one departure time, every day or weekdays only."""
    if params.get("enable") in (None, ""):
        raise InvalidField("enable is required")
    enable = _flag(params, "enable")
    checked: Params = {
        "enable": enable,
        "departure_time": _minutes(params, "departure_time") if enable else 0,
        "preconditioning_enabled": _optional_flag(params, "preconditioning_enabled", False),
        "preconditioning_weekdays_only": _optional_flag(
            params, "preconditioning_weekdays_only", False
        ),
        "off_peak_charging_enabled": _optional_flag(params, "off_peak_charging_enabled", False),
    }
    return checked


def _apply_add_schedule(car: SimVehicle, params: Params, now: float) -> tuple[bool, str]:
    if car.schedule_support != "precondition":
        return False, "not_supported"
    schedule = {
        "id": params.get("id") or car.next_schedule_id,
        "name": params.get("name", ""),
        "days_of_week": params["days_of_week"],
        "precondition_time": params["precondition_time"],
        "one_time": params["one_time"],
        "enabled": params["enabled"],
        "latitude": params["lat"],
        "longitude": params["lon"],
    }
    others = [s for s in car.schedules if s["id"] != schedule["id"]]
    if "id" in params and len(others) == len(car.schedules):
        return False, "schedule_not_found"
    if len(others) >= plans.MAX_SCHEDULES:
        return False, "schedule_limit_reached"
    if "id" not in params:
        car.next_schedule_id += 1
    car.schedules = sorted([*others, schedule], key=lambda s: s["id"])
    car.start_due(now, schedule)
    return True, ""


def _apply_remove_schedule(car: SimVehicle, params: Params, now: float) -> tuple[bool, str]:
    if car.schedule_support != "precondition":
        return False, "not_supported"
    kept = [s for s in car.schedules if s["id"] != params["id"]]
    if len(kept) == len(car.schedules):
        return False, "schedule_not_found"
    car.schedules = kept
    return True, ""


def _apply_departure(car: SimVehicle, params: Params, now: float) -> tuple[bool, str]:
    car.departure = {
        "enabled": params["enable"],
        "departure_time": params["departure_time"],
        "preconditioning_enabled": params["preconditioning_enabled"],
        "preconditioning_weekdays_only": params["preconditioning_weekdays_only"],
        "off_peak_charging_enabled": params["off_peak_charging_enabled"],
    }
    schedule = plans.departure_schedule(car.departure)
    if schedule is not None:
        car.start_due(now, schedule)
    return True, ""


def _apply_temps(car: SimVehicle, params: Params, now: float) -> tuple[bool, str]:
    car.driver_temp_setting = params["driver_temp"]
    car.passenger_temp_setting = params["passenger_temp"]
    return True, ""


def _apply_windows(car: SimVehicle, params: Params, now: float) -> tuple[bool, str]:
    if params["command"] == "close":
        distance = distance_m(params["lat"], params["lon"], car.latitude, car.longitude)
        if distance > CLOSE_RADIUS_M:
            return False, "user_too_far"
    position = 1 if params["command"] == "vent" else 0
    car.windows = dict.fromkeys(WINDOWS, position)
    return True, ""


def _apply_seat(car: SimVehicle, params: Params, now: float) -> tuple[bool, str]:
    car.seat_heaters[SEATS[params["heater"]]] = params["level"]
    return True, ""


def _apply_max(car: SimVehicle, params: Params, now: float) -> tuple[bool, str]:
    car.defrost_max = params["on"]
    if params["on"]:
        car.is_climate_on = True
    return True, ""


def _lock(locked: bool) -> Effect:
    def effect(car: SimVehicle, params: Params, now: float) -> tuple[bool, str]:
        car.locked = locked
        return True, ""

    return effect


def _noop(car: SimVehicle, params: Params, now: float) -> tuple[bool, str]:
    return True, ""


COMMANDS: dict[str, Command] = {
    "auto_conditioning_start": Command(_no_params, _climate_on),
    "auto_conditioning_stop": Command(_no_params, _climate_off),
    "set_temps": Command(_set_temps, _apply_temps),
    "window_control": Command(_window_control, _apply_windows),
    "remote_seat_heater_request": Command(_seat_heater, _apply_seat),
    "set_preconditioning_max": Command(_preconditioning_max, _apply_max),
    "honk_horn": Command(_no_params, _noop),
    "flash_lights": Command(_no_params, _noop),
    "door_lock": Command(_no_params, _lock(True)),
    "door_unlock": Command(_no_params, _lock(False)),
    "add_precondition_schedule": Command(_add_schedule, _apply_add_schedule),
    "remove_precondition_schedule": Command(_remove_schedule, _apply_remove_schedule),
    "set_scheduled_departure": Command(_departure, _apply_departure),
}
