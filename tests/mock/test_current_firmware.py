"""`vehicle_data` as a car on current firmware answers it, key for key.

The key sets are those of Home Assistant's own `tesla_fleet` test fixture, a
Model 3 on firmware 2023.44 (home-assistant/core,
`tests/components/tesla_fleet/fixtures/vehicle_data.json`): the names only,
section by section. Every one must be in the mock's answer; the ones that are
state must follow the simulated car.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import Served, login
from tests.support.car import M3

HA_FIXTURE_KEYS = {
    "": (
        "id user_id vehicle_id vin color access_type granular_access tokens state in_service "
        "id_s calendar_enabled api_version backseat_token backseat_token_updated_at "
        "ble_autopair_enrolled charge_state climate_state drive_state gui_settings "
        "vehicle_config vehicle_state"
    ),
    "charge_state": (
        "battery_heater_on battery_level battery_range charge_amps charge_current_request "
        "charge_current_request_max charge_enable_request charge_energy_added "
        "charge_limit_soc charge_limit_soc_max charge_limit_soc_min charge_limit_soc_std "
        "charge_miles_added_ideal charge_miles_added_rated charge_port_cold_weather_mode "
        "charge_port_color charge_port_door_open charge_port_latch charge_rate "
        "charger_actual_current charger_phases charger_pilot_current charger_power "
        "charger_voltage charging_state conn_charge_cable est_battery_range "
        "fast_charger_brand fast_charger_present fast_charger_type ideal_battery_range "
        "max_range_charge_counter minutes_to_full_charge not_enough_power_to_heat "
        "off_peak_charging_enabled off_peak_charging_times off_peak_hours_end_time "
        "preconditioning_enabled preconditioning_times scheduled_charging_mode "
        "scheduled_charging_pending scheduled_charging_start_time "
        "scheduled_charging_start_time_app scheduled_departure_time "
        "scheduled_departure_time_minutes supercharger_session_trip_planner "
        "time_to_full_charge timestamp trip_charging usable_battery_level "
        "user_charge_enable_request module_temp_min module_temp_max energy_remaining "
        "lifetime_energy_used charging_schedule_override"
    ),
    "climate_state": (
        "allow_cabin_overheat_protection auto_seat_climate_left auto_seat_climate_right "
        "auto_steering_wheel_heat battery_heater battery_heater_no_power "
        "cabin_overheat_protection cabin_overheat_protection_actively_cooling "
        "climate_keeper_mode cop_activation_temperature defrost_mode driver_temp_setting "
        "fan_status hvac_auto_request inside_temp is_auto_conditioning_on is_climate_on "
        "is_front_defroster_on is_preconditioning is_rear_defroster_on left_temp_direction "
        "max_avail_temp min_avail_temp outside_temp passenger_temp_setting "
        "remote_heater_control_enabled right_temp_direction seat_heater_left "
        "seat_heater_rear_center seat_heater_rear_left seat_heater_rear_right "
        "seat_heater_right side_mirror_heaters steering_wheel_heat_level "
        "steering_wheel_heater supports_fan_only_cabin_overheat_protection timestamp "
        "wiper_blade_heater"
    ),
    "drive_state": (
        "active_route_destination active_route_latitude active_route_longitude "
        "active_route_miles_to_arrival active_route_minutes_to_arrival "
        "active_route_traffic_minutes_delay gps_as_of heading latitude longitude "
        "native_latitude native_location_supported native_longitude native_type power "
        "shift_state speed timestamp"
    ),
    "gui_settings": (
        "gui_24_hour_time gui_charge_rate_units gui_distance_units gui_range_display "
        "gui_temperature_units gui_tirepressure_units show_range_units timestamp"
    ),
    "vehicle_config": (
        "aux_park_lamps badge_version can_accept_navigation_requests can_actuate_trunks "
        "car_special_type car_type charge_port_type cop_user_set_temp_supported "
        "dashcam_clip_save_supported default_charge_to_max driver_assist ece_restrictions "
        "efficiency_package eu_vehicle exterior_color exterior_trim exterior_trim_override "
        "has_air_suspension has_ludicrous_mode has_seat_cooling headlamp_type "
        "interior_trim_type key_version motorized_charge_port paint_color_override "
        "performance_package plg pws rear_drive_unit rear_seat_heaters rear_seat_type rhd "
        "roof_color seat_type spoiler_type sun_roof_installed supports_qr_pairing "
        "third_row_seats timestamp trim_badging use_range_badging utc_offset "
        "webcam_selfie_supported webcam_supported wheel_type"
    ),
    "vehicle_state": (
        "api_version autopark_state_v2 calendar_supported car_version center_display_state "
        "dashcam_clip_save_available dashcam_state df dr fd_window feature_bitmask fp_window "
        "ft is_user_present locked media_info media_state notifications_supported odometer "
        "parsed_calendar_supported pf pr rd_window remote_start remote_start_enabled "
        "remote_start_supported rp_window rt santa_mode sentry_mode sentry_mode_available "
        "service_mode service_mode_plus software_update speed_limit_mode sun_roof_state "
        "vehicle_state_sun_roof_percent_open timestamp tpms_hard_warning_fl "
        "tpms_hard_warning_fr tpms_hard_warning_rl tpms_hard_warning_rr "
        "tpms_last_seen_pressure_time_fl tpms_last_seen_pressure_time_fr "
        "tpms_last_seen_pressure_time_rl tpms_last_seen_pressure_time_rr tpms_pressure_fl "
        "tpms_pressure_fr tpms_pressure_rl tpms_pressure_rr tpms_rcp_front_value "
        "tpms_rcp_rear_value tpms_soft_warning_fl tpms_soft_warning_fr tpms_soft_warning_rl "
        "tpms_soft_warning_rr valet_mode valet_pin_needed vehicle_name "
        "vehicle_self_test_progress vehicle_self_test_requested webcam_available"
    ),
    "vehicle_state.media_info": (
        "a2dp_source_name audio_volume audio_volume_increment audio_volume_max "
        "media_playback_status now_playing_album now_playing_artist now_playing_duration "
        "now_playing_elapsed now_playing_source now_playing_station now_playing_title"
    ),
}

EVERY_SECTION = (
    "charge_state;climate_state;drive_state;gui_settings;vehicle_config;vehicle_state;"
    "location_data"  # the position, as the fixture has it: asked for by name since 2023.38
)


@pytest.fixture
def car(served: Served) -> tuple[httpx.Client, Served]:
    """The seeded Model 3, awake, and a signed-in client of the served mock."""
    served.admin("PATCH", f"/__mock__/vehicles/{M3}", json={"state": "online"})
    client = served.client()
    client.headers["authorization"] = f"Bearer {login(client)['access_token']}"
    return client, served


def data(client: httpx.Client) -> dict[str, Any]:
    answer = client.get(f"/api/1/vehicles/{M3}/vehicle_data", params={"endpoints": EVERY_SECTION})
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()["response"]
    return found


def test_every_key_a_current_car_answers_is_there(car: tuple[httpx.Client, Served]) -> None:
    answer = data(car[0])
    missing = {}
    for section, names in HA_FIXTURE_KEYS.items():
        part = answer
        for step in [s for s in section.split(".") if s]:
            part = part[step]
        absent = [name for name in names.split() if name not in part]
        if absent:
            missing[section or "(top)"] = absent
    assert missing == {}


def test_the_new_keys_that_are_state_follow_the_car(car: tuple[httpx.Client, Served]) -> None:
    client, _ = car
    before = data(client)
    assert before["climate_state"]["steering_wheel_heat_level"] == 0
    assert before["vehicle_state"]["service_mode"] is False
    assert before["vehicle_config"]["utc_offset"] == 9 * 3600  # the car is in Seoul
    level = before["charge_state"]["battery_level"]
    assert abs(before["charge_state"]["energy_remaining"] - 75.0 * level / 100) < 0.5
    heated = client.post(
        f"/api/1/vehicles/{M3}/command/remote_steering_wheel_heater_request", json={"on": True}
    )
    assert heated.json()["response"]["result"] is True
    after = data(client)
    assert after["climate_state"]["steering_wheel_heat_level"] == 1
    assert after["charge_state"]["module_temp_max"] == round(
        after["climate_state"]["inside_temp"] + 0.5, 1
    )
