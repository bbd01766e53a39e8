"""Vehicle commands: parameter checks and their effect on the simulated car.

Each command is a checker (raises `InvalidField` for a bad parameter, which
the API answers with 400 `invalid_field`) and an effect returning the car's
`(result, reason)`.
"""

from __future__ import annotations

from carctl.mock import car_commands, fleet_commands
from carctl.mock import schedules as plans
from carctl.mock.car import MAX_TEMP, MIN_TEMP, SEATS, WINDOWS, SimVehicle
from carctl.mock.geo import distance_m
from carctl.mock.params import (
    OK,
    Command,
    Effect,
    InvalidField,
    Params,
    days_of_week,
    flag,
    given,
    ignore,
    minutes,
    no_params,
    number,
    whole,
)

CLOSE_RADIUS_M = 1000.0
POSITION_IGNORED = ("model3", "modely")  # closing windows: these cars ignore lat/lon


def _set_temps(params: Params) -> Params:
    """No temperature: nothing changes; out of range: clamped to what the car takes
    (`min_avail_temp`/`max_avail_temp`). Both answer 200 on the service."""
    checked: Params = {}
    if given(params, "driver_temp"):
        checked["driver_temp"] = number(
            params, "driver_temp", low=MIN_TEMP, high=MAX_TEMP, clamp=True
        )
    if given(params, "passenger_temp"):
        checked["passenger_temp"] = number(
            params, "passenger_temp", low=MIN_TEMP, high=MAX_TEMP, clamp=True
        )
    elif "driver_temp" in checked:
        checked["passenger_temp"] = checked["driver_temp"]
    return checked


def _window_control(params: Params) -> Params:
    command = params.get("command")
    if command not in ("vent", "close"):
        raise InvalidField(f"command must be vent or close, got {command!r}")
    checked: Params = {"command": command}
    lon_key = "lon" if given(params, "lon") else "long"
    if given(params, "lat") or given(params, lon_key):
        checked["lat"] = number(params, "lat", low=-90, high=90)
        checked["lon"] = number(params, lon_key, low=-180, high=180)
    return checked


def _seat_heater(params: Params) -> Params:
    """`heater` or `seat_position` 0-8 (the Fleet API's seats); `level` clamped to 0-3."""
    key = "heater" if given(params, "heater") else "seat_position"
    seat = whole(params, key, low=0, high=8)
    level_key = "level" if given(params, "level") else "seat_heater_level"  # tesla-fleet-api's
    return {"heater": seat, "level": whole(params, level_key, low=0, high=3, clamp=True)}


def _preconditioning_max(params: Params) -> Params:
    """`on` as its truth (clients send 2 as well as true); `manual_override` is accepted."""
    if not given(params, "on"):
        raise InvalidField("on is required")
    return {"on": flag(params, "on")}


def _climate_on(car: SimVehicle, params: Params, now: float) -> tuple[bool, str]:
    car.is_climate_on = True
    car.scheduled_until = None  # the owner's word now, not a schedule's
    return True, ""


def _climate_off(car: SimVehicle, params: Params, now: float) -> tuple[bool, str]:
    car.is_climate_on = False
    car.defrost_max = False
    car.scheduled_until = None
    return True, ""


def _add_schedule(params: Params) -> Params:
    """`add_precondition_schedule`, with the fields tesla-fleet-api and Tessie send."""
    days = days_of_week(params)
    lon_key = "lon" if params.get("lon") not in (None, "") else "long"
    checked: Params = {
        "days_of_week": days,
        "precondition_time": minutes(params, "precondition_time"),
        "lat": number(params, "lat", low=-90, high=90),
        "lon": number(params, lon_key, low=-180, high=180),
        "one_time": flag(params, "one_time", False),
        "enabled": flag(params, "enabled", True),
    }
    if params.get("id") not in (None, "", 0):
        checked["id"] = int(number(params, "id", low=1, high=2**31))
    if isinstance(params.get("name"), str):
        checked["name"] = params["name"][:40]
    return checked


def _remove_schedule(params: Params) -> Params:
    return {"id": int(number(params, "id", low=1, high=2**31))}


def _departure(params: Params) -> Params:
    """`set_scheduled_departure`: one departure time, every day or weekdays only."""
    if params.get("enable") in (None, ""):
        raise InvalidField("enable is required")
    enable = flag(params, "enable")
    checked: Params = {
        "enable": enable,
        "departure_time": minutes(params, "departure_time") if enable else 0,
        "preconditioning_enabled": flag(params, "preconditioning_enabled", False),
        "preconditioning_weekdays_only": flag(params, "preconditioning_weekdays_only", False),
        "off_peak_charging_enabled": flag(params, "off_peak_charging_enabled", False),
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
    schedules = plans.placed(
        car.schedules, schedule, replacing="id" in params, limit=plans.MAX_SCHEDULES
    )
    if isinstance(schedules, str):
        return False, schedules
    if "id" not in params:
        car.next_schedule_id += 1
    car.schedules = schedules
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
    car.driver_temp_setting = params.get("driver_temp", car.driver_temp_setting)
    car.passenger_temp_setting = params.get("passenger_temp", car.passenger_temp_setting)
    return OK


def _apply_windows(car: SimVehicle, params: Params, now: float) -> tuple[bool, str]:
    if params["command"] == "close" and car.car_type not in POSITION_IGNORED:
        if "lat" not in params:
            return False, "missing_location"
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


COMMANDS: dict[str, Command] = {
    "auto_conditioning_start": Command(no_params, _climate_on),
    "auto_conditioning_stop": Command(no_params, _climate_off),
    "set_temps": Command(_set_temps, _apply_temps),
    "window_control": Command(_window_control, _apply_windows),
    "remote_seat_heater_request": Command(_seat_heater, _apply_seat),
    "set_preconditioning_max": Command(_preconditioning_max, _apply_max),
    "honk_horn": Command(no_params, ignore),
    "flash_lights": Command(no_params, ignore),
    "door_lock": Command(no_params, _lock(True)),
    "door_unlock": Command(no_params, _lock(False)),
    "add_precondition_schedule": Command(_add_schedule, _apply_add_schedule),
    "remove_precondition_schedule": Command(_remove_schedule, _apply_remove_schedule),
    "set_scheduled_departure": Command(_departure, _apply_departure),
    **car_commands.COMMANDS,
    **fleet_commands.COMMANDS,
}
