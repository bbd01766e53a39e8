"""The rest of the command surface: charging, openings, security modes, media and the like.

The names and parameters are those of the Owner API as timdorr/tesla-api
documents them (`docs/vehicle/commands/*.md`) and as TeslaPy's
`endpoints.json`, tesla-fleet-api and teslajsonpy send them. Each effect is
visible in `vehicle_data` where the service shows it; commands whose effect
nothing shows (horn, media keys, navigation) answer `result: true` and are
recorded in the stats like any other. Refusals use the car's own reasons.
"""

from __future__ import annotations

from carctl.mock.car import SEATS, SimVehicle
from carctl.mock.params import (
    OK,
    Command,
    Effect,
    InvalidField,
    Params,
    flag,
    given,
    ignore,
    keep,
    location_labels,
    no_params,
    number,
    whole,
)

HAS_SUNROOF = ("models", "modelx")
KEEPER_MODES = {0: "off", 1: "on", 2: "dog", 3: "camp"}
COP_LEVELS = {0: "Low", 1: "Medium", 2: "High"}
Result = tuple[bool, str]


# -- charging -----------------------------------------------------------------------


def _percent(params: Params) -> Params:
    return {"percent": whole(params, "percent", low=50, high=100, clamp=True)}


def _set_limit(car: SimVehicle, params: Params, now: float) -> Result:
    if car.charge_limit_soc == params["percent"]:
        return False, "already_set"
    car.charge_limit_soc = params["percent"]
    return OK


def _limit_to(percent: int) -> Effect:
    def effect(car: SimVehicle, params: Params, now: float) -> Result:
        if car.charge_limit_soc == percent:
            return False, "already_set"
        car.charge_limit_soc = percent
        return OK

    return effect


def _charge_start(car: SimVehicle, params: Params, now: float) -> Result:
    if not car.plugged_in:
        return False, "disconnected"
    if car.charging:
        return False, "is_charging"
    if car.battery_level >= car.charge_limit_soc:
        return False, "complete"
    car.charging = True
    return OK


def _charge_stop(car: SimVehicle, params: Params, now: float) -> Result:
    if not car.charging:
        return False, "not_charging"
    car.charging = False
    return OK


def _amps(params: Params) -> Params:
    return {"charging_amps": whole(params, "charging_amps", low=0, high=48, clamp=True)}


def _set_amps(car: SimVehicle, params: Params, now: float) -> Result:
    car.charge_amps = params["charging_amps"]
    return OK


NOT_IN_PARK = "vehicle_not_in_park"  # the car's word (VCSEC's generic error) for a car driven


def _driven(car: SimVehicle) -> bool:
    return car.shift_state in ("D", "R", "N")


def _port(open_: bool) -> Effect:
    def effect(car: SimVehicle, params: Params, now: float) -> Result:
        if open_ and _driven(car):
            return False, NOT_IN_PARK
        if not open_ and car.plugged_in:
            return False, "cable connected"
        car.charge_port_door_open = open_
        return OK

    return effect


def _scheduled_charging(params: Params) -> Params:
    enable = flag(params, "enable", False)
    checked: Params = {"enable": enable}
    if enable:
        checked["time"] = whole(params, "time", low=0, high=1439)
    return checked


def _apply_scheduled_charging(car: SimVehicle, params: Params, now: float) -> Result:
    car.scheduled_charging = {"enabled": params["enable"], "time": params.get("time", 0)}
    return OK


# -- doors, trunks, windows above -------------------------------------------------------


def _trunk(params: Params) -> Params:
    which = params.get("which_trunk")
    if which not in ("front", "rear"):
        raise InvalidField(f"which_trunk must be front or rear, got {which!r}")
    return {"which_trunk": which}


def _actuate_trunk(car: SimVehicle, params: Params, now: float) -> Result:
    """The frunk only opens remotely; the rear trunk toggles (a powered liftgate)."""
    if _driven(car):
        return False, NOT_IN_PARK
    if params["which_trunk"] == "rear" and car.doors.get("rt") and car.car_type == "model3":
        return False, "no_powered_tailgate"  # a Model 3's trunk opens remotely, closes by hand
    key = "ft" if params["which_trunk"] == "front" else "rt"
    car.doors[key] = 1 if key == "ft" else 1 - car.doors.get(key, 0)
    return OK


def _sun_roof(params: Params) -> Params:
    state = params.get("state")
    if state not in ("vent", "close", "open", "comfort", "stop", "move"):
        raise InvalidField(f"state must be vent or close, got {state!r}")
    return {"state": state, **({"percent": params["percent"]} if "percent" in params else {})}


def _apply_sun_roof(car: SimVehicle, params: Params, now: float) -> Result:
    if car.car_type not in HAS_SUNROOF:
        return False, "sunroof_not_installed"
    car.sun_roof_percent_open = 0 if params["state"] == "close" else 15
    return OK


def _homelink(params: Params) -> Params:
    if not given(params, "lat"):
        return {}
    return {
        "lat": number(params, "lat", low=-90, high=90),
        "lon": number(params, "lon" if given(params, "lon") else "long", low=-180, high=180),
    }


# -- security and driving modes ----------------------------------------------------------


def _on(params: Params) -> Params:
    if not given(params, "on"):
        raise InvalidField("on is required")
    checked: Params = {"on": flag(params, "on")}
    if given(params, "password"):
        checked["password"] = str(params["password"])
    return checked


def _sentry(car: SimVehicle, params: Params, now: float) -> Result:
    car.sentry_mode = params["on"]
    return OK


def _valet(car: SimVehicle, params: Params, now: float) -> Result:
    pin = str(params.get("password") or "")
    if params["on"]:
        if not car.valet_pin and not pin:
            return False, "missing_pin"
        car.valet_pin = car.valet_pin or pin
    elif car.valet_pin and pin and pin != car.valet_pin:
        return False, "invalid_pin"
    car.valet_mode = params["on"]
    return OK


def _reset_valet_pin(car: SimVehicle, params: Params, now: float) -> Result:
    if car.valet_mode:
        return False, "valet_mode_active"
    car.valet_pin = ""
    return OK


def _pin(params: Params) -> Params:
    pin = str(params.get("pin") or "")
    if pin and (not pin.isdigit() or len(pin) != 4):
        raise InvalidField(f"pin must be four digits, got {params.get('pin')!r}")
    return {"pin": pin}


def _speed_limit(active: bool) -> Effect:
    def effect(car: SimVehicle, params: Params, now: float) -> Result:
        limit = car.speed_limit
        pin = params.get("pin") or ""
        if limit.get("pin") and pin != limit["pin"]:
            return False, "invalid_pin"
        if active and not (limit.get("pin") or pin):
            return False, "missing_pin"
        limit["pin"] = limit.get("pin") or pin
        limit["active"] = active
        return OK

    return effect


def _limit_mph(params: Params) -> Params:
    return {"limit_mph": number(params, "limit_mph", low=50, high=90, clamp=True)}


def _set_limit_mph(car: SimVehicle, params: Params, now: float) -> Result:
    car.speed_limit["current_limit_mph"] = params["limit_mph"]
    return OK


def _clear_pin(car: SimVehicle, params: Params, now: float) -> Result:
    if car.speed_limit.get("pin") and params.get("pin") != car.speed_limit["pin"]:
        return False, "invalid_pin"
    car.speed_limit.update({"pin": "", "active": False})
    return OK


def _remote_start(car: SimVehicle, params: Params, now: float) -> Result:
    car.remote_start_until = now + 120.0  # two minutes to drive off, as the car allows
    return OK


def _name(params: Params) -> Params:
    name = params.get("vehicle_name")
    if not isinstance(name, str) or not name.strip():
        raise InvalidField("vehicle_name is required")
    return {"vehicle_name": name.strip()[:40]}


def _rename(car: SimVehicle, params: Params, now: float) -> Result:
    car.display_name = params["vehicle_name"]
    return OK


# -- climate extras ---------------------------------------------------------------------


def _keeper(params: Params) -> Params:
    mode = whole(params, "climate_keeper_mode", low=0, high=3)
    return {"climate_keeper_mode": mode}


def _apply_keeper(car: SimVehicle, params: Params, now: float) -> Result:
    car.climate_keeper_mode = KEEPER_MODES[params["climate_keeper_mode"]]
    if params["climate_keeper_mode"]:
        car.is_climate_on = True
        car.scheduled_until = None
    return OK


def _overheat(params: Params) -> Params:
    return {"on": flag(params, "on", False), "fan_only": flag(params, "fan_only", False)}


def _apply_overheat(car: SimVehicle, params: Params, now: float) -> Result:
    car.cabin_overheat_protection = (
        "Off" if not params["on"] else "FanOnly" if params["fan_only"] else "On"
    )
    return OK


def _cop(params: Params) -> Params:
    return {"cop_temp": whole(params, "cop_temp", low=0, high=2, clamp=True)}


def _apply_cop(car: SimVehicle, params: Params, now: float) -> Result:
    car.cop_activation_temperature = COP_LEVELS[params["cop_temp"]]
    return OK


def _bioweapon(car: SimVehicle, params: Params, now: float) -> Result:
    car.bioweapon_mode = params["on"]
    if params["on"]:
        car.is_climate_on = True
    return OK


def _wheel(car: SimVehicle, params: Params, now: float) -> Result:
    car.steering_wheel_heater = params["on"]
    return OK


def _wheel_level(params: Params) -> Params:
    return {"level": whole(params, "level", low=0, high=3, clamp=True)}


def _apply_wheel_level(car: SimVehicle, params: Params, now: float) -> Result:
    car.steering_wheel_heater = params["level"] > 0
    return OK


def _seat_cooler(params: Params) -> Params:
    return {
        "seat_position": whole(params, "seat_position", low=0, high=8),
        "seat_cooler_level": whole(params, "seat_cooler_level", low=0, high=3, clamp=True),
    }


def _apply_seat_cooler(car: SimVehicle, params: Params, now: float) -> Result:
    car.seat_coolers[SEATS[params["seat_position"]]] = params["seat_cooler_level"]
    return OK


def _auto_seat(params: Params) -> Params:
    return {
        "auto_seat_position": whole(params, "auto_seat_position", low=0, high=8),
        "auto_climate_on": flag(params, "auto_climate_on", False),
    }


def _apply_auto_seat(car: SimVehicle, params: Params, now: float) -> Result:
    # 1 and 2 are the front seats in this command (0 is unused by the app)
    seat = {1: "driver", 2: "passenger"}.get(params["auto_seat_position"])
    if seat is not None:
        car.auto_seat_climate[seat] = params["auto_climate_on"]
    return OK


# -- media and software ------------------------------------------------------------------


def _volume(params: Params) -> Params:
    return {"volume": number(params, "volume", low=0, high=11, clamp=True)}


def _apply_volume(car: SimVehicle, params: Params, now: float) -> Result:
    car.media_volume = params["volume"]
    return OK


def _offset(params: Params) -> Params:
    return {"offset_sec": whole(params, "offset_sec", low=0, high=86_400 * 7, clamp=True)}


def _schedule_update(car: SimVehicle, params: Params, now: float) -> Result:
    car.software_update = {
        "status": "scheduled",
        "scheduled_time_ms": int((now + params["offset_sec"]) * 1000),
    }
    return OK


def _cancel_update(car: SimVehicle, params: Params, now: float) -> Result:
    car.software_update = {}
    return OK


def _clear_pin_admin(car: SimVehicle, params: Params, now: float) -> Result:
    car.speed_limit.update({"pin": "", "active": False})
    return OK


def _batch_remove_schedules(car: SimVehicle, params: Params, now: float) -> Result:
    """`batch_remove_precondition_schedules {home, work, other}`: the mock's cars keep no
    location labels, so any of the three removes them all."""
    if any(flag(params, key, False) for key in ("home", "work", "other")):
        car.schedules = []
    return OK


COMMANDS: dict[str, Command] = {
    "set_charge_limit": Command(_percent, _set_limit),
    "charge_standard": Command(no_params, _limit_to(80)),
    "charge_max_range": Command(no_params, _limit_to(100)),
    "charge_start": Command(no_params, _charge_start),
    "charge_stop": Command(no_params, _charge_stop),
    "set_charging_amps": Command(_amps, _set_amps),
    "charge_port_door_open": Command(no_params, _port(True)),
    "charge_port_door_close": Command(no_params, _port(False)),
    "set_scheduled_charging": Command(_scheduled_charging, _apply_scheduled_charging),
    "actuate_trunk": Command(_trunk, _actuate_trunk),
    "sun_roof_control": Command(_sun_roof, _apply_sun_roof),
    "trigger_homelink": Command(_homelink, ignore),
    "set_sentry_mode": Command(_on, _sentry),
    "set_valet_mode": Command(_on, _valet),
    "reset_valet_pin": Command(no_params, _reset_valet_pin),
    "speed_limit_activate": Command(_pin, _speed_limit(True)),
    "speed_limit_deactivate": Command(_pin, _speed_limit(False)),
    "speed_limit_set_limit": Command(_limit_mph, _set_limit_mph),
    "speed_limit_clear_pin": Command(_pin, _clear_pin),
    "remote_start_drive": Command(no_params, _remote_start),
    "set_vehicle_name": Command(_name, _rename),
    "set_climate_keeper_mode": Command(_keeper, _apply_keeper),
    "set_cabin_overheat_protection": Command(_overheat, _apply_overheat),
    "set_cop_temp": Command(_cop, _apply_cop),
    "set_bioweapon_mode": Command(_on, _bioweapon),
    "remote_steering_wheel_heater_request": Command(_on, _wheel),
    "remote_steering_wheel_heat_level_request": Command(_wheel_level, _apply_wheel_level),
    "remote_auto_steering_wheel_heat_climate_request": Command(keep("on"), ignore),
    "remote_seat_cooler_request": Command(_seat_cooler, _apply_seat_cooler),
    "remote_auto_seat_climate_request": Command(_auto_seat, _apply_auto_seat),
    "adjust_volume": Command(_volume, _apply_volume),
    "media_toggle_playback": Command(no_params, ignore),
    "media_next_track": Command(no_params, ignore),
    "media_prev_track": Command(no_params, ignore),
    "media_next_fav": Command(no_params, ignore),
    "media_prev_fav": Command(no_params, ignore),
    "media_volume_up": Command(no_params, ignore),
    "media_volume_down": Command(no_params, ignore),
    "schedule_software_update": Command(_offset, _schedule_update),
    "cancel_software_update": Command(no_params, _cancel_update),
    "remote_boombox": Command(keep("sound"), ignore),
    "share": Command(keep("type", "value", "locale", "timestamp_ms"), ignore),
    "navigation_request": Command(keep("type", "value", "locale", "timestamp_ms"), ignore),
    "navigation_gps_request": Command(keep("lat", "lon", "order"), ignore),
    "navigation_sc_request": Command(keep("id", "order"), ignore),
    "navigation_waypoints_request": Command(keep("waypoints"), ignore),
    "upcoming_calendar_entries": Command(keep("calendar_data"), ignore),
    "dashcam_save_clip": Command(no_params, ignore),
    "take_drivenote": Command(keep("note"), ignore),
    # the Fleet API's additions (tesla-fleet-api sends them)
    "guest_mode": Command(keep("enable"), ignore),
    "set_pin_to_drive": Command(keep("on", "password"), ignore),
    "reset_pin_to_drive_pin": Command(no_params, ignore),
    "clear_pin_to_drive_admin": Command(no_params, ignore),
    "speed_limit_clear_pin_admin": Command(no_params, _clear_pin_admin),
    "erase_user_data": Command(no_params, ignore),
    "batch_remove_precondition_schedules": Command(location_labels, _batch_remove_schedules),
    # teslajsonpy's (the app's) managed-charging and solar commands
    "add_managed_charging_site": Command(keep("lat", "lon", "name"), ignore),
    "remove_managed_charging_site": Command(keep("id"), ignore),
    "get_managed_charging_sites": Command(no_params, ignore),
    "get_active_route": Command(no_params, ignore),
    "get_charge_on_solar_feature": Command(no_params, ignore),
    "update_charge_on_solar_feature": Command(
        keep("enabled", "lower_charge_limit", "upper_charge_limit"), ignore
    ),
}
