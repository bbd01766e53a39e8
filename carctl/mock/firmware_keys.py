"""The keys a car on current firmware adds to `vehicle_data`, beside the documented ones.

The set is the one Home Assistant's own `tesla_fleet` tests read from a Model
3 on firmware 2023.44 (`tests/components/tesla_fleet/fixtures/vehicle_data.json`
in home-assistant/core): battery module temperatures and energy, the active
route, dashcam and service mode, tyre-pressure warnings and recommended
pressures, what is playing, the car's trim. Keys that are state follow the
simulated car (the heated wheel's level, the battery's energy and module
temperatures, the energy used over the odometer, the zone's offset, the
sunroof); the rest are constants of a plausible car. `car_data.section`
merges them into each section.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from carctl.mock.car import SimVehicle

PACK_KWH = 75.0  # a Long Range pack: what `energy_remaining` is a share of
WHEELS = ("fl", "fr", "rl", "rr")


def top(car: SimVehicle) -> dict[str, Any]:
    return {"granular_access": {"hide_private": False}, "ble_autopair_enrolled": False}


def charge_state(car: SimVehicle, now: float) -> dict[str, Any]:
    return {
        "module_temp_min": round(car.inside_temp - 1.0, 1),
        "module_temp_max": round(car.inside_temp + 0.5, 1),
        "energy_remaining": round(PACK_KWH * car.battery_level / 100, 2),
        "lifetime_energy_used": round(car.odometer * 0.16, 3),
        "charging_schedule_override": False,
    }


def climate_state(car: SimVehicle, now: float) -> dict[str, Any]:
    return {"steering_wheel_heat_level": 1 if car.steering_wheel_heater else 0}


def drive_state(car: SimVehicle, now: float) -> dict[str, Any]:
    """No route is being navigated: the route keys are there, and empty."""
    return {
        "active_route_destination": None,
        "active_route_latitude": None,
        "active_route_longitude": None,
        "active_route_miles_to_arrival": None,
        "active_route_minutes_to_arrival": None,
        "active_route_traffic_minutes_delay": None,
    }


def gui_settings(car: SimVehicle, now: float) -> dict[str, Any]:
    return {"gui_tirepressure_units": "Bar"}


def vehicle_config(car: SimVehicle, now: float) -> dict[str, Any]:
    offset = datetime.fromtimestamp(now, car.zone).utcoffset()
    return {
        "aux_park_lamps": "NaPremium",
        "badge_version": 1,
        "cop_user_set_temp_supported": True,
        "dashcam_clip_save_supported": True,
        "driver_assist": "TeslaAP3",
        "efficiency_package": "M32021",
        "exterior_trim": "Black",
        "exterior_trim_override": "",
        "has_seat_cooling": False,
        "headlamp_type": "Global",
        "interior_trim_type": "Black2",
        "key_version": 2,
        "paint_color_override": "",
        "performance_package": "Base",
        "pws": True,
        "rear_drive_unit": "PM216MOSFET",
        "supports_qr_pairing": False,
        "utc_offset": int(offset.total_seconds()) if offset is not None else 0,
        "webcam_selfie_supported": True,
        "webcam_supported": True,
    }


def vehicle_state(car: SimVehicle, now: float) -> dict[str, Any]:
    """A car answers only when awake: its dashcam records then. `service_mode` is the mode
    a technician turns on in the car, not being at a service centre (`in_service`)."""
    seen = int(now) - 600  # the tyres last reported ten minutes ago
    tyres: dict[str, Any] = {}
    for wheel in WHEELS:
        tyres[f"tpms_hard_warning_{wheel}"] = False
        tyres[f"tpms_soft_warning_{wheel}"] = False
        tyres[f"tpms_last_seen_pressure_time_{wheel}"] = seen
    return {
        **tyres,
        "tpms_rcp_front_value": 2.9,
        "tpms_rcp_rear_value": 2.9,
        "dashcam_clip_save_available": True,
        "dashcam_state": "Recording",
        "feature_bitmask": "fbdffbff,187f",
        "santa_mode": 0,
        "service_mode": False,
        "service_mode_plus": False,
        "vehicle_state_sun_roof_percent_open": car.sun_roof_percent_open,
        "vehicle_self_test_progress": 0,
        "vehicle_self_test_requested": False,
        "webcam_available": True,
    }


def media_info(car: SimVehicle) -> dict[str, Any]:
    """Nothing is playing: the fields of what would be are there, and empty."""
    return {
        "a2dp_source_name": "",
        "now_playing_album": "",
        "now_playing_artist": "",
        "now_playing_duration": 0,
        "now_playing_elapsed": 0,
        "now_playing_station": "",
        "now_playing_title": "",
    }


SECTIONS = {
    "charge_state": charge_state,
    "climate_state": climate_state,
    "drive_state": drive_state,
    "gui_settings": gui_settings,
    "vehicle_config": vehicle_config,
    "vehicle_state": vehicle_state,
}
