"""The mock as existing clients see it: documented shapes, commands and their read-back.

The documented key sets and types are `tests/fixtures/documented_vehicle_data.json`,
derived from timdorr/tesla-api's pages (its `source` names the commit and pages).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import Served, bearer, login
from tests.support.errors import error_body

M3 = "1492931337131"
DOCUMENTED = json.loads(
    (Path(__file__).resolve().parents[1] / "fixtures" / "documented_vehicle_data.json").read_text()
)
# Documented with a number from a charging car; a car that is not charging says null.
NULL_UNLESS_CHARGING = {"charger_phases"}


def matches(kinds: dict[str, Any], value: dict[str, Any], where: str) -> list[str]:
    problems = []
    for key, kind in kinds.items():
        if key not in value:
            problems.append(f"{where}.{key} is missing")
            continue
        found = value[key]
        if isinstance(kind, dict):
            if not isinstance(found, dict):
                problems.append(f"{where}.{key} is not an object")
            else:
                problems += matches(kind, found, f"{where}.{key}")
        elif kind == "boolean" and not isinstance(found, bool):
            problems.append(f"{where}.{key} is {found!r}, not a boolean")
        elif kind == "number" and (isinstance(found, bool) or not isinstance(found, int | float)):
            if not (found is None and key in NULL_UNLESS_CHARGING):
                problems.append(f"{where}.{key} is {found!r}, not a number")
        elif kind == "string" and not isinstance(found, str):
            problems.append(f"{where}.{key} is {found!r}, not a string")
    return problems


@pytest.fixture
def car(served: Served) -> tuple[httpx.Client, dict[str, str], Served]:
    served.admin("PATCH", f"/__mock__/vehicles/{M3}", json={"state": "online"})
    client = served.client()
    return client, bearer(login(client)), served


def data(client: httpx.Client, headers: dict[str, str], endpoints: str | None = None) -> Any:
    params = {"endpoints": endpoints} if endpoints else {}
    response = client.get(f"/api/1/vehicles/{M3}/vehicle_data", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["response"]


def test_vehicle_data_has_every_documented_key_with_its_type(car: Any) -> None:
    client, headers, _ = car
    every = ";".join([*DOCUMENTED["sections"], "location_data"])
    found = data(client, headers, every)
    problems = []
    for section, kinds in DOCUMENTED["sections"].items():
        problems += matches(kinds, found[section], section)
    assert problems == []
    assert found["vehicle_config"]["timestamp"] is not None
    counts = {section: len(kinds) for section, kinds in DOCUMENTED["sections"].items()}
    assert counts == {
        "charge_state": 55,
        "climate_state": 33,
        "vehicle_state": 44,
        "vehicle_config": 25,
        "gui_settings": 7,
        "drive_state": 12,
    }


def test_location_only_with_location_data(car: Any) -> None:
    client, headers, _ = car
    plain = data(client, headers)["drive_state"]
    assert not set(DOCUMENTED["location_keys"]) & set(plain)
    located = data(client, headers, "drive_state;location_data")["drive_state"]
    assert set(DOCUMENTED["location_keys"]) <= set(located)


def command(client: httpx.Client, headers: dict[str, str], name: str, **body: Any) -> Any:
    response = client.post(f"/api/1/vehicles/{M3}/command/{name}", json=body, headers=headers)
    assert response.status_code == 200, (name, response.text)
    return response.json()["response"]


# command, body, then where the effect shows: section, key, value
READ_BACK = [
    ("set_charge_limit", {"percent": 90}, "charge_state", "charge_limit_soc", 90),
    ("set_charge_limit", {"percent": 120}, "charge_state", "charge_limit_soc", 100),  # clamped
    ("charge_standard", {}, "charge_state", "charge_limit_soc", 80),
    ("charge_max_range", {}, "charge_state", "charge_limit_soc", 100),
    ("set_charging_amps", {"charging_amps": 12}, "charge_state", "charge_amps", 12),
    ("charge_port_door_open", {}, "charge_state", "charge_port_door_open", True),
    ("charge_port_door_close", {}, "charge_state", "charge_port_door_open", False),
    ("set_sentry_mode", {"on": True}, "vehicle_state", "sentry_mode", True),
    ("actuate_trunk", {"which_trunk": "rear"}, "vehicle_state", "rt", 1),
    ("actuate_trunk", {"which_trunk": "front"}, "vehicle_state", "ft", 1),
    ("remote_steering_wheel_heater_request", {"on": True}, "climate_state",
     "steering_wheel_heater", True),
    ("set_climate_keeper_mode", {"climate_keeper_mode": 2}, "climate_state",
     "climate_keeper_mode", "dog"),
    ("set_cabin_overheat_protection", {"on": True, "fan_only": True}, "climate_state",
     "cabin_overheat_protection", "FanOnly"),
    ("set_cop_temp", {"cop_temp": 0}, "climate_state", "cop_activation_temperature", "Low"),
    ("set_bioweapon_mode", {"on": True, "manual_override": True}, "climate_state",
     "bioweapon_mode", True),
    ("set_preconditioning_max", {"on": 2}, "climate_state", "is_front_defroster_on", True),
    ("set_temps", {"driver_temp": 40, "passenger_temp": 10}, "climate_state",
     "driver_temp_setting", 28.0),
    ("set_temps", {}, "climate_state", "driver_temp_setting", 28.0),  # nothing changes
    ("remote_seat_heater_request", {"heater": 3, "level": 2}, "climate_state",
     "seat_heater_left", 0),
    ("remote_seat_heater_request", {"seat_position": 0, "level": 8}, "climate_state",
     "seat_heater_left", 3),
    ("set_valet_mode", {"on": True, "password": "1234"}, "vehicle_state", "valet_mode", True),
    ("set_valet_mode", {"on": False, "password": "1234"}, "vehicle_state", "valet_mode", False),
    ("speed_limit_set_limit", {"limit_mph": 65}, "vehicle_state", "speed_limit_mode",
     {"active": False, "current_limit_mph": 65.0, "max_limit_mph": 90, "min_limit_mph": 50,
      "pin_code_set": False}),
    ("speed_limit_activate", {"pin": "4321"}, "vehicle_state", "speed_limit_mode",
     {"active": True, "current_limit_mph": 65.0, "max_limit_mph": 90, "min_limit_mph": 50,
      "pin_code_set": True}),
    ("speed_limit_deactivate", {"pin": "4321"}, "vehicle_state", "speed_limit_mode",
     {"active": False, "current_limit_mph": 65.0, "max_limit_mph": 90, "min_limit_mph": 50,
      "pin_code_set": True}),
    ("speed_limit_clear_pin", {"pin": "4321"}, "vehicle_state", "speed_limit_mode",
     {"active": False, "current_limit_mph": 65.0, "max_limit_mph": 90, "min_limit_mph": 50,
      "pin_code_set": False}),
    ("remote_start_drive", {}, "vehicle_state", "remote_start", True),
    ("set_vehicle_name", {"vehicle_name": "Blue"}, "vehicle_state", "vehicle_name", "Blue"),
    ("adjust_volume", {"volume": 6.5}, "vehicle_state", "media_info",
     {"audio_volume": 6.5, "audio_volume_increment": 0.333, "audio_volume_max": 11.0,
      "media_playback_status": "Stopped", "now_playing_source": "Off", "a2dp_source_name": "",
      "now_playing_album": "", "now_playing_artist": "", "now_playing_duration": 0,
      "now_playing_elapsed": 0, "now_playing_station": "", "now_playing_title": ""}),
    ("door_unlock", {}, "vehicle_state", "locked", False),
    ("set_scheduled_charging", {"enable": True, "time": 120}, "charge_state",
     "scheduled_charging_mode", "StartAt"),
    ("schedule_software_update", {"offset_sec": 60}, "vehicle_state", "software_update",
     None),
    ("window_control", {"command": "close"}, "vehicle_state", "fd_window", 0),
]  # fmt: skip


def test_every_command_is_read_back_where_the_service_shows_it(car: Any) -> None:
    client, headers, served = car
    for number, (name, body, section, key, value) in enumerate(READ_BACK):
        if number and number % 25 == 0:  # 30 commands a minute per car, as the service
            served.admin("POST", "/__mock__/clock", json={"advance": 61})
        answer = command(client, headers, name, **body)
        assert answer == {"result": True, "reason": ""}, (name, answer)
        shown = data(client, headers, section)[section][key]
        if value is not None:
            assert shown == value, (name, key, shown)
    executed = [c["name"] for c in served.admin("GET", "/__mock__/stats")["commands"]]
    assert executed == [name for name, *_ in READ_BACK]


def test_commands_whose_effect_nothing_shows_answer_true(car: Any) -> None:
    client, headers, served = car
    from carctl.mock.car_commands import COMMANDS
    from carctl.mock.params import ignore

    silent = [name for name, spec in COMMANDS.items() if spec.effect is ignore]
    assert len(silent) >= 15
    for number, name in enumerate(silent):
        if number and number % 25 == 0:  # 30 commands a minute per car
            served.admin("POST", "/__mock__/clock", json={"advance": 61})
        assert command(client, headers, name)["result"] is True, name


@pytest.mark.parametrize(
    ("name", "body", "reason"),
    [
        ("charge_start", {}, "disconnected"),  # the Model 3 is parked on the street
        ("charge_stop", {}, "not_charging"),
        ("sun_roof_control", {"state": "vent"}, "sunroof_not_installed"),
        ("charge_standard", {}, "already_set"),
        ("set_valet_mode", {"on": True}, "missing_pin"),
    ],
)
def test_refusals_are_the_cars_own(car: Any, name: str, body: dict[str, Any], reason: str) -> None:
    client, headers, _ = car
    assert command(client, headers, name, **body) == {"result": False, "reason": reason}


def test_charging_follows_the_charger(car: Any) -> None:
    client, headers, served = car
    served.admin(
        "PATCH", f"/__mock__/vehicles/{M3}", json={"plugged_in": True, "charge_limit_soc": 100}
    )
    assert command(client, headers, "charge_start") == {"result": True, "reason": ""}
    before = data(client, headers, "charge_state")["charge_state"]
    assert before["charging_state"] == "Charging" and before["charger_power"] > 0
    served.admin("POST", "/__mock__/clock", json={"advance": 1800})
    after = data(client, headers, "charge_state")["charge_state"]
    assert after["battery_level"] > before["battery_level"]  # charging keeps it awake
    served.admin("POST", "/__mock__/clock", json={"advance": 6 * 3600})
    assert client.get(f"/api/1/vehicles/{M3}", headers=headers).json()["response"]["state"] == (
        "asleep"  # done charging, then idle: asleep
    )
    served.admin("PATCH", f"/__mock__/vehicles/{M3}", json={"state": "online"})
    full = data(client, headers, "charge_state")["charge_state"]
    assert full["charging_state"] == "Complete" and full["battery_level"] == 100


def test_the_smaller_endpoints(car: Any) -> None:
    client, headers, served = car
    base = f"/api/1/vehicles/{M3}"
    assert client.get(f"{base}/mobile_enabled", headers=headers).json() == {"response": True}
    sites = client.get(f"{base}/nearby_charging_sites", headers=headers).json()["response"]
    assert sites["superchargers"] and sites["destination_charging"]
    service = client.get(f"{base}/service_data", headers=headers).json()["response"]
    assert service["service_status"] == "not_in_service"
    region = client.get("/api/1/users/region", headers=headers).json()["response"]
    assert region == {"region": "na", "fleet_api_base_url": served.url}
    status = client.post(
        "/api/1/vehicles/fleet_status", json={"vins": ["5YJ3E7EA1MF000621"]}, headers=headers
    ).json()["response"]
    assert status["vehicle_info"]["5YJ3E7EA1MF000621"]["vehicle_command_protocol_required"] is False
    bad = client.post("/api/1/vehicles/fleet_status", json={"vins": "x"}, headers=headers)
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_field"
    assert client.get("/oauth2/v3/logout", params={"client_id": "ownerapi"}).status_code == 200


def test_a_car_that_requires_signed_commands(car: Any) -> None:
    client, headers, served = car
    served.admin("PATCH", f"/__mock__/vehicles/{M3}", json={"command_signing": "required"})
    listed = client.get("/api/1/products", headers=headers).json()["response"]
    assert next(c for c in listed if c["id_s"] == M3)["command_signing"] == "required"
    refused = client.post(f"/api/1/vehicles/{M3}/command/honk_horn", headers=headers)
    assert refused.status_code == 403
    assert error_body(refused) == {
        "response": None,
        "error": "Tesla Vehicle Command Protocol required, please refer to the documentation "
        "here: https://developer.tesla.com/docs/fleet-api#2023-10-09-rest-api-vehicle-"
        "commands-endpoint-deprecation-warning",
        "error_description": "",
    }
    assert served.admin("GET", "/__mock__/stats")["commands"] == []
    assert data(client, headers, "climate_state")  # data still flows; only commands need signing


@pytest.mark.parametrize(
    ("rule", "says"),
    [
        ({"status": 500, "latency": [1]}, "latency must be a duration"),
        ({"status": 500, "after": {"s": 1}}, "after must be a duration"),
        ({"status": 500, "for": [60]}, "for must be a duration"),
        ({"status": 429, "retry_after": {}}, "retry_after must be a duration"),
        ({"drop": "yes"}, "drop must be true or false"),
        ({"status": 500, "path": 5}, "path must be a string"),
    ],
)
def test_admin_fault_rules_of_the_wrong_type_are_a_400(
    served: Served, rule: dict[str, Any], says: str
) -> None:
    with served.client() as client:
        response = client.put("/__mock__/faults", json={"rules": [rule]})
    assert response.status_code == 400 and says in response.json()["error_description"]


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("battery_level", -5, "battery_level: expected 0 to 100"),
        ("wake_delay", -1, "wake_delay: expected 0 to 3600"),
        ("battery_level", True, "battery_level: expected a number"),
        ("state", "dreaming", "state: expected one of online, asleep, offline"),
        ("charge_limit_soc", 80.5, "charge_limit_soc: expected a whole number"),
        ("command_signing", "maybe", "command_signing: expected one of off, required"),
    ],
)
def test_admin_vehicle_fields_are_checked_and_nothing_half_applied(
    served: Served, field: str, value: Any, says: str
) -> None:
    with served.client() as client:
        response = client.patch(
            f"/__mock__/vehicles/{M3}", json={"display_name": "Changed", field: value}
        )
    assert response.status_code == 400 and says in response.json()["error_description"]
    names = [c["display_name"] for c in served.admin("GET", "/__mock__/vehicles")["vehicles"]]
    assert "Changed" not in names
