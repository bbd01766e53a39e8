"""What the API shows of a car: the vehicle object and every `vehicle_data` section.

Every key the community documentation lists is present, with a value of the
documented JSON type (timdorr/tesla-api, `docs/vehicle/state/*.md`; the
test suite compares the sets with a fixture of those documents). Keys that are
state are driven by the simulated car — climate, charge, doors and trunks,
locks, windows, sentry, valet, speed limit, schedules; the rest are plausible
constants. Ranges are in miles, as on the real API.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from carctl.mock import drive as road
from carctl.mock import schedules as plans
from carctl.mock.car import MAX_TEMP, MIN_TEMP, SimVehicle

CAR_VERSION = "2021.36.5.2 0d5e5f8a9c41"  # the firmware the simulated cars run

DEFAULT_SECTIONS = (
    "charge_state",
    "climate_state",
    "drive_state",
    "gui_settings",
    "vehicle_config",
    "vehicle_state",
)
# Only when asked for by name (`?endpoints=`), as on the real API; and only from a car
# whose software keeps precondition schedules.
DATA_SECTIONS = (*DEFAULT_SECTIONS, "preconditioning_schedule_data", "charge_schedule_data")
MILES_PER_PERCENT = 3.1
HAS_SUNROOF = ("models", "modelx")


def summary(car: SimVehicle) -> dict[str, Any]:
    """The vehicle object of `/vehicles` and `/products`."""
    return {
        "id": car.id,
        "vehicle_id": car.vehicle_id,
        "vin": car.vin,
        "display_name": car.display_name,
        "option_codes": None,
        "color": None,
        "access_type": "OWNER",
        "tokens": [],
        "state": car.state,
        "in_service": car.in_service,
        "id_s": car.id_s,
        "calendar_enabled": True,
        "api_version": 71,
        "backseat_token": None,
        "backseat_token_updated_at": None,
        "command_signing": car.command_signing,
    }


def charging_state(car: SimVehicle) -> str:
    if not car.plugged_in:
        return "Disconnected"
    if car.charging:
        return "Charging"
    return "Complete" if car.battery_level >= car.charge_limit_soc else "Stopped"


def charge_state(car: SimVehicle, now: float) -> dict[str, Any]:
    level = round(car.battery_level)
    charging = car.charging and car.plugged_in
    rate = 44.0 * car.charge_amps / 16 if charging else 0.0  # miles of range an hour
    to_full = max(0.0, car.charge_limit_soc - car.battery_level) / 15.0 if charging else 0.0
    scheduled = car.scheduled_charging
    return {
        "battery_heater_on": False,
        "battery_level": level,
        "battery_range": round(car.battery_level * MILES_PER_PERCENT, 2),
        "charge_amps": car.charge_amps,
        "charge_current_request": car.charge_amps,
        "charge_current_request_max": 48,
        "charge_enable_request": charging,
        "charge_energy_added": 0.0,
        "charge_limit_soc": car.charge_limit_soc,
        "charge_limit_soc_max": 100,
        "charge_limit_soc_min": 50,
        "charge_limit_soc_std": 80,
        "charge_miles_added_ideal": 0.0,
        "charge_miles_added_rated": 0.0,
        "charge_port_cold_weather_mode": None,
        "charge_port_color": "Off",
        "charge_port_door_open": car.charge_port_door_open or car.plugged_in,
        "charge_port_latch": "Engaged" if car.plugged_in else "Disengaged",
        "charge_rate": round(rate, 1),
        "charge_to_max_range": car.charge_limit_soc >= 100,
        "charger_actual_current": car.charge_amps if charging else 0,
        "charger_phases": 1 if charging else None,
        "charger_pilot_current": 48 if car.plugged_in else 0,
        "charger_power": round(car.charge_amps * 0.23) if charging else 0,
        "charger_voltage": 230 if charging else 2,
        "charging_state": charging_state(car),
        "conn_charge_cable": "IEC" if car.plugged_in else "<invalid>",
        "est_battery_range": round(car.battery_level * 2.6, 2),
        "fast_charger_brand": "<invalid>",
        "fast_charger_present": False,
        "fast_charger_type": "<invalid>",
        "ideal_battery_range": round(car.battery_level * MILES_PER_PERCENT, 2),
        "managed_charging_active": False,
        "managed_charging_start_time": None,
        "managed_charging_user_canceled": False,
        "max_range_charge_counter": 0,
        "minutes_to_full_charge": round(to_full * 60),
        "not_enough_power_to_heat": False,
        "off_peak_charging_enabled": bool(car.departure.get("off_peak_charging_enabled")),
        "off_peak_charging_times": "all_week",
        "off_peak_hours_end_time": 360,
        **_departure_fields(car, now),
        "scheduled_charging_pending": bool(scheduled.get("enabled")) and not charging,
        "scheduled_charging_start_time": None,
        "scheduled_charging_start_time_app": int(scheduled.get("time", 0)),
        "supercharger_session_trip_planner": False,
        "time_to_full_charge": round(to_full, 2),
        "timestamp": int(now * 1000),
        "trip_charging": False,
        "usable_battery_level": level,
        "user_charge_enable_request": None,
    }


def _departure_fields(car: SimVehicle, now: float) -> dict[str, Any]:
    """The scheduled departure as `charge_state` reports it (timdorr/tesla-api's fields)."""
    departure = car.departure
    enabled = bool(departure.get("enabled"))
    # the next time the departure time comes round, set or not (the field is always a number)
    every_day = {"enabled": True, "preconditioning_enabled": True, **departure}
    schedule = plans.departure_schedule({**every_day, "enabled": True})
    run = plans.next_run(schedule, car.zone, now) if schedule is not None else None
    mode = "DepartBy" if enabled else "StartAt" if car.scheduled_charging.get("enabled") else "Off"
    return {
        "scheduled_charging_mode": mode,
        "scheduled_departure_time": int(run.ready) if run is not None else 0,
        "scheduled_departure_time_minutes": int(departure.get("departure_time", 0)),
        "preconditioning_enabled": bool(departure.get("preconditioning_enabled")),
        "preconditioning_times": "weekdays"
        if departure.get("preconditioning_weekdays_only")
        else "all_week",
    }


def climate_state(car: SimVehicle, now: float) -> dict[str, Any]:
    heaters = car.seat_heaters
    direction = (
        0 if not car.is_climate_on else (1 if car.inside_temp < car.driver_temp_setting else -1)
    )
    return {
        "allow_cabin_overheat_protection": car.cabin_overheat_protection != "Off",
        "auto_seat_climate_left": car.auto_seat_climate.get("driver", False),
        "auto_seat_climate_right": car.auto_seat_climate.get("passenger", False),
        "auto_steering_wheel_heat": False,
        "battery_heater": False,
        "battery_heater_no_power": False,
        "bioweapon_mode": car.bioweapon_mode,
        "cabin_overheat_protection": car.cabin_overheat_protection,
        "cabin_overheat_protection_actively_cooling": False,
        "climate_keeper_mode": car.climate_keeper_mode,
        "cop_activation_temperature": car.cop_activation_temperature,
        "defrost_mode": 2 if car.defrost_max else 0,
        "driver_temp_setting": car.driver_temp_setting,
        "fan_status": 4 if car.is_climate_on else 0,
        "hvac_auto_request": "On",
        "inside_temp": round(car.inside_temp, 1),
        "is_auto_conditioning_on": car.is_climate_on,
        "is_climate_on": car.is_climate_on,
        "is_front_defroster_on": car.defrost_max,
        "is_preconditioning": car.is_climate_on
        and abs(car.inside_temp - car.driver_temp_setting) > 1,
        "is_rear_defroster_on": car.defrost_max,
        "left_temp_direction": direction * 100,
        "max_avail_temp": MAX_TEMP,
        "min_avail_temp": MIN_TEMP,
        "outside_temp": round(car.outside_temp, 1),
        "passenger_temp_setting": car.passenger_temp_setting,
        "remote_heater_control_enabled": car.is_climate_on,
        "right_temp_direction": direction * 100,
        "seat_heater_left": heaters.get("driver", 0),
        "seat_heater_rear_center": heaters.get("rear_center", 0),
        "seat_heater_rear_left": heaters.get("rear_left", 0),
        "seat_heater_rear_right": heaters.get("rear_right", 0),
        "seat_heater_right": heaters.get("passenger", 0),
        "side_mirror_heaters": car.defrost_max,
        "steering_wheel_heater": car.steering_wheel_heater,
        "supports_fan_only_cabin_overheat_protection": True,
        "timestamp": int(now * 1000),
        "wiper_blade_heater": car.defrost_max,
    }


def vehicle_state(car: SimVehicle, now: float) -> dict[str, Any]:
    return {
        **car.windows,
        **car.doors,
        "api_version": 71,
        "autopark_state_v2": "standby",
        "autopark_style": "dead_man",
        "calendar_supported": True,
        "car_version": CAR_VERSION,
        "center_display_state": 2 if car.is_climate_on or car.state == "online" else 0,
        "homelink_device_count": 1,
        "homelink_nearby": True,
        "is_user_present": False,
        "last_autopark_error": "no_error",
        "locked": car.locked,
        "media_state": {"remote_control_enabled": True},
        # the Fleet API's newer media section: where `adjust_volume` shows
        "media_info": {
            "audio_volume": car.media_volume,
            "audio_volume_increment": 0.333,
            "audio_volume_max": 11.0,
            "media_playback_status": "Stopped",
            "now_playing_source": "Off",
        },
        "notifications_supported": True,
        "odometer": round(car.odometer, 1),
        "parsed_calendar_supported": True,
        "remote_start": car.remote_start_until is not None,
        "remote_start_enabled": True,
        "remote_start_supported": True,
        "sentry_mode": car.sentry_mode,
        "sentry_mode_available": True,
        "smart_summon_available": True,
        "software_update": _software_update(car),
        "speed_limit_mode": _speed_limit(car),
        "summon_standby_mode_enabled": False,
        "sun_roof_percent_open": car.sun_roof_percent_open,
        "sun_roof_state": "vent" if car.sun_roof_percent_open else "closed",
        "timestamp": int(now * 1000),
        "tpms_pressure_fl": 2.9,
        "tpms_pressure_fr": 2.9,
        "tpms_pressure_rl": 2.9,
        "tpms_pressure_rr": 2.9,
        "valet_mode": car.valet_mode,
        "valet_pin_needed": not car.valet_pin,
        "vehicle_name": car.display_name,
    }


def _software_update(car: SimVehicle) -> dict[str, Any]:
    return {
        "download_perc": 0,
        "expected_duration_sec": 2700,
        "install_perc": 1,
        "status": "",
        "version": " ",
        **car.software_update,
    }


def _speed_limit(car: SimVehicle) -> dict[str, Any]:
    limit = car.speed_limit
    return {
        "active": bool(limit.get("active")),
        "current_limit_mph": float(limit.get("current_limit_mph", 85.0)),
        "max_limit_mph": 90,
        "min_limit_mph": 50,
        "pin_code_set": bool(limit.get("pin")),
    }


def drive_state(car: SimVehicle, now: float, *, with_location: bool) -> dict[str, Any]:
    """Position only with `location_data` (the Fleet API's rule since firmware 2023.38)."""
    state: dict[str, Any] = {
        "power": road.power_kw(car),
        "shift_state": car.shift_state,
        "speed": road.speed_mph(car),
        "timestamp": int(now * 1000),
    }
    if with_location:
        state.update(
            {
                "gps_as_of": int(now),
                "heading": round(car.heading),
                "latitude": car.latitude,
                "longitude": car.longitude,
                "native_latitude": car.latitude,
                "native_location_supported": 1,
                "native_longitude": car.longitude,
                "native_type": "wgs",
            }
        )
    return state


def vehicle_config(car: SimVehicle, now: float) -> dict[str, Any]:
    return {
        "can_accept_navigation_requests": True,
        "can_actuate_trunks": True,
        "car_special_type": "base",
        "car_type": car.car_type,
        "charge_port_type": "CCS",
        "default_charge_to_max": False,
        "ece_restrictions": False,
        "eu_vehicle": False,
        "exterior_color": "MidnightSilver",
        "has_air_suspension": car.car_type in HAS_SUNROOF,
        "has_ludicrous_mode": False,
        "motorized_charge_port": True,
        "plg": True,
        "rear_seat_heaters": 1,
        "rear_seat_type": 0,
        "rhd": False,
        "roof_color": "Glass",
        "seat_type": 0,
        "spoiler_type": "None",
        "sun_roof_installed": 2 if car.car_type in HAS_SUNROOF else 0,
        "third_row_seats": "None",
        # Not in the Owner API: the mock names the car's zone so that clients can
        # show a schedule's time in the owner's zone too.
        "timezone": car.time_zone,
        "timestamp": int(now * 1000),
        "trim_badging": "74d",
        "use_range_badging": True,
        "wheel_type": "Pinwheel18",
    }


def gui_settings(car: SimVehicle, now: float) -> dict[str, Any]:
    return {
        "gui_24_hour_time": True,
        "gui_charge_rate_units": "km/hr",
        "gui_distance_units": "km/hr",
        "gui_range_display": "Rated",
        "gui_temperature_units": "C",
        "show_range_units": False,
        "timestamp": int(now * 1000),
    }


def schedule_data(car: SimVehicle, now: float) -> dict[str, Any]:
    """`preconditioning_schedule_data` (the Fleet API's `PreconditioningScheduleState`)."""
    runs = [plans.next_run(s, car.zone, now) for s in car.schedules if s.get("enabled")]
    return {
        "precondition_schedules": [dict(s) for s in car.schedules],
        "max_num_precondition_schedules": plans.MAX_SCHEDULES,
        "next_schedule": any(run is not None for run in runs),
        "timestamp": int(now * 1000),
    }


def section(car: SimVehicle, name: str, now: float, *, with_location: bool) -> dict[str, Any]:
    """One section of `vehicle_data` by name, with what current firmware adds to it."""
    from carctl.mock import firmware_keys, fleet_commands

    current = firmware_keys.SECTIONS.get(name)
    added = current(car, now) if current is not None else {}
    if name == "drive_state":
        return {**drive_state(car, now, with_location=with_location), **added}
    build: dict[str, Callable[[SimVehicle, float], dict[str, Any]]] = {
        "charge_state": charge_state,
        "climate_state": climate_state,
        "gui_settings": gui_settings,
        "vehicle_config": vehicle_config,
        "vehicle_state": vehicle_state,
        "preconditioning_schedule_data": schedule_data,
        "charge_schedule_data": fleet_commands.charge_schedule_data,
    }
    shown = {**build[name](car, now), **added}
    if name == "vehicle_state":
        shown["media_info"] = {**shown["media_info"], **firmware_keys.media_info(car)}
    return shown
