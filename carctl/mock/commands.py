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

from carctl.mock.car import MAX_TEMP, MIN_TEMP, SEATS, WINDOWS, SimVehicle

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


def _distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6_371_000 * math.asin(math.sqrt(a))


def _climate_on(car: SimVehicle, params: Params, now: float) -> tuple[bool, str]:
    car.is_climate_on = True
    return True, ""


def _climate_off(car: SimVehicle, params: Params, now: float) -> tuple[bool, str]:
    car.is_climate_on = False
    car.defrost_max = False
    return True, ""


def _apply_temps(car: SimVehicle, params: Params, now: float) -> tuple[bool, str]:
    car.driver_temp_setting = params["driver_temp"]
    car.passenger_temp_setting = params["passenger_temp"]
    return True, ""


def _apply_windows(car: SimVehicle, params: Params, now: float) -> tuple[bool, str]:
    if params["command"] == "close":
        distance = _distance_m(params["lat"], params["lon"], car.latitude, car.longitude)
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
}
