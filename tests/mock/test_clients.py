"""Three independent clients drive their whole vehicle-command surface against the mock.

TeslaPy, teslajsonpy and tesla-fleet-api, unchanged, with only their base URLs
pointed at the served mock. Each client's surface is read from the client
itself (TeslaPy's and teslajsonpy's `endpoints.json`, tesla-fleet-api's
`VehicleFleet` methods), so a command a new version adds is driven too. The
docs/mock.md's table (client x command) is checked against what these runs found.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import re
import time
from pathlib import Path
from typing import Any

import pytest

from carctl.mock.seed import RateLimits
from tests.conftest import login, make_seed, serve

M3, VIN = "1492931337131", "5YJ3E7EA1MF000621"
HERE = (37.5665, 126.978)
MOCK_DOC = Path(__file__).resolve().parents[2] / "docs" / "mock.md"

# The order commands are sent in, so that each finds the car in a state it accepts (a
# charge limit that changes, a valet PIN to check against, a schedule to remove).
ORDER = [
    "auto_conditioning_start", "set_temps", "set_preconditioning_max", "auto_conditioning_stop",
    "set_climate_keeper_mode", "set_bioweapon_mode", "set_cabin_overheat_protection",
    "set_cop_temp", "remote_seat_heater_request", "remote_seat_cooler_request",
    "remote_auto_seat_climate_request", "remote_steering_wheel_heater_request",
    "remote_steering_wheel_heat_level_request", "remote_auto_steering_wheel_heat_climate_request",
    "window_control", "door_unlock", "door_lock", "honk_horn", "flash_lights", "remote_boombox",
    "actuate_trunk", "sun_roof_control", "charge_port_door_open", "charge_port_door_close",
    "(plug in)", "set_charge_limit", "charge_max_range", "charge_standard", "set_charging_amps",
    "charge_start", "charge_stop", "set_scheduled_charging", "set_scheduled_departure",
    "add_precondition_schedule", "remove_precondition_schedule",
    "batch_remove_precondition_schedules", "add_charge_schedule", "remove_charge_schedule",
    "batch_remove_charge_schedules", "set_sentry_mode", "reset_valet_pin", "set_valet_mode",
    "speed_limit_set_limit", "speed_limit_activate", "speed_limit_deactivate",
    "speed_limit_clear_pin", "speed_limit_clear_pin_admin", "set_pin_to_drive",
    "reset_pin_to_drive_pin", "clear_pin_to_drive_admin", "guest_mode", "remote_start_drive",
    "set_vehicle_name", "adjust_volume", "media_toggle_playback", "media_next_track",
    "media_prev_track", "media_next_fav", "media_prev_fav", "media_volume_up",
    "media_volume_down", "schedule_software_update", "cancel_software_update", "share",
    "navigation_request", "navigation_gps_request", "navigation_sc_request",
    "navigation_waypoints_request", "trigger_homelink", "upcoming_calendar_entries",
    "dashcam_save_clip", "take_drivenote", "add_managed_charging_site",
    "remove_managed_charging_site", "get_managed_charging_sites", "get_active_route",
    "get_charge_on_solar_feature", "update_charge_on_solar_feature", "erase_user_data",
]  # fmt: skip

# What an Owner API client sends with each command (timdorr/tesla-api's parameters).
BODIES: dict[str, dict[str, Any]] = {
    "set_temps": {"driver_temp": 21, "passenger_temp": 21},
    "set_preconditioning_max": {"on": True, "manual_override": False},
    "set_climate_keeper_mode": {"climate_keeper_mode": 0},
    "set_bioweapon_mode": {"on": False, "manual_override": False},
    "set_cabin_overheat_protection": {"on": True, "fan_only": False},
    "set_cop_temp": {"cop_temp": 1},
    "remote_seat_heater_request": {"heater": 0, "level": 2},
    "remote_seat_cooler_request": {"seat_position": 1, "seat_cooler_level": 1},
    "remote_auto_seat_climate_request": {"auto_seat_position": 1, "auto_climate_on": True},
    "remote_steering_wheel_heater_request": {"on": True},
    "remote_steering_wheel_heat_level_request": {"level": 1},
    "remote_auto_steering_wheel_heat_climate_request": {"on": True},
    "window_control": {"command": "close", "lat": HERE[0], "lon": HERE[1]},
    "remote_boombox": {"sound": 2000},
    "actuate_trunk": {"which_trunk": "rear"},
    "sun_roof_control": {"state": "vent"},
    "set_charge_limit": {"percent": 90},
    "set_charging_amps": {"charging_amps": 16},
    "set_scheduled_charging": {"enable": True, "time": 120},
    "set_scheduled_departure": {
        "enable": True, "departure_time": 420, "preconditioning_enabled": True,
        "preconditioning_weekdays_only": False, "off_peak_charging_enabled": False,
    },
    "add_precondition_schedule": {
        "days_of_week": "All", "enabled": True, "lat": HERE[0], "lon": HERE[1],
        "precondition_time": 390,
    },
    "remove_precondition_schedule": {"id": 1},
    "batch_remove_precondition_schedules": {"home": True, "work": False, "other": False},
    "add_charge_schedule": {"days_of_week": "All", "enabled": True, "lat": HERE[0],
                            "lon": HERE[1], "start_time": 0, "end_time": 360},
    "remove_charge_schedule": {"id": 1},
    "batch_remove_charge_schedules": {"home": True, "work": False, "other": False},
    "set_sentry_mode": {"on": True},
    "set_valet_mode": {"on": True, "password": "1234"},
    "speed_limit_set_limit": {"limit_mph": 65},
    "speed_limit_activate": {"pin": "1234"},
    "speed_limit_deactivate": {"pin": "1234"},
    "speed_limit_clear_pin": {"pin": "1234"},
    "set_pin_to_drive": {"on": True, "password": "1234"},
    "guest_mode": {"enable": True},
    "set_vehicle_name": {"vehicle_name": "Model 3"},
    "adjust_volume": {"volume": 5},
    "schedule_software_update": {"offset_sec": 60},
    "share": {"type": "share_ext_content_raw", "value": {"android.intent.extra.TEXT": "Seoul"},
              "locale": "en-US", "timestamp_ms": 0},
    "navigation_request": {"type": "share_ext_content_raw", "value": "Seoul", "locale": "en-US",
                           "timestamp_ms": 0},
    "navigation_gps_request": {"lat": HERE[0], "lon": HERE[1], "order": 0},
    "navigation_sc_request": {"id": 1, "order": 0},
    "navigation_waypoints_request": {"waypoints": "refId:ChIJ"},
    "trigger_homelink": {"lat": HERE[0], "lon": HERE[1]},
    "upcoming_calendar_entries": {"calendar_data": ""},
    "take_drivenote": {"note": "a note"},
    "add_managed_charging_site": {"lat": HERE[0], "lon": HERE[1]},
    "remove_managed_charging_site": {"id": 1},
    "update_charge_on_solar_feature": {"enabled": False},
}  # fmt: skip


@pytest.fixture
def mock() -> Any:
    """A served mock whose Model 3 is a Model S at home (a sunroof; plugged in half-way
    through the run), awake, with rate limits a whole command surface fits in."""
    seed = make_seed(wake_delay=0.0, rate_limits=RateLimits(1000, 1000, 100))
    with serve(seed) as server:
        server.clock.set(time.time())  # the clients check token expiry on the real clock
        with server_client(server) as client:
            client.patch(
                f"/__mock__/vehicles/{M3}",
                json={"state": "online", "car_type": "models"},
            ).raise_for_status()
        yield server


def server_client(server: Any) -> Any:
    import httpx

    return httpx.Client(base_url=server.url, timeout=10)


def executed(server: Any) -> list[str]:
    with server_client(server) as client:
        return [c["name"] for c in client.get("/__mock__/stats").json()["commands"]]


def plug_in(server: Any) -> None:
    with server_client(server) as client:
        client.patch(f"/__mock__/vehicles/{M3}", json={"plugged_in": True}).raise_for_status()


def sequence(surface: Any) -> list[str]:
    """The surface in ORDER, with the moment the cable goes in."""
    unknown = sorted(set(surface) - set(ORDER))
    assert not unknown, f"commands without a place in ORDER: {unknown}"
    return [n for n in ORDER if n in surface or n == "(plug in)"]


def drive(surface: list[str], send: Any, server: Any) -> dict[str, str]:
    """Send each command of a surface in ORDER; 'works' or what went wrong."""
    outcome = {}
    for name in sequence(surface):
        if name == "(plug in)":
            plug_in(server)
            continue
        try:
            result = send(name, dict(BODIES.get(name, {})))
            outcome[name] = "works" if result else "refused"
        except Exception as exc:  # the client's own error class says what failed
            outcome[name] = f"{type(exc).__name__}: {exc}"[:120]
    return outcome


async def drive_async(surface: Any, send: Any, server: Any) -> dict[str, str]:
    """`drive` for the asynchronous clients, whose calls return the response document."""
    outcome = {}
    for name in sequence(surface):
        if name == "(plug in)":
            plug_in(server)
            continue
        try:
            answer = await send(name, dict(BODIES.get(name, {})))
            outcome[name] = "works" if answer["response"]["result"] else "refused"
        except Exception as exc:  # the client's own error class says what failed
            outcome[name] = f"{type(exc).__name__}: {exc}"[:120]
    return outcome


def test_teslapy(mock: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import teslapy

    monkeypatch.setattr(teslapy, "BASE_URL", mock.url + "/")
    with server_client(mock) as client:
        tokens = login(client)
    tokens["expires_at"] = time.time() + 3600
    cache = {"owner@example.com": {"sso": tokens}}
    tesla = teslapy.Tesla(
        "owner@example.com",
        cache_loader=lambda: cache,
        cache_dumper=lambda data: None,
        sso_base_url=mock.url + "/",
    )
    endpoints = json.loads((Path(teslapy.__file__).parent / "endpoints.json").read_text())
    keys = {
        v["URI"].rsplit("/", 1)[1]: k
        for k, v in endpoints.items()
        if v["URI"].startswith("api/1/vehicles/{vehicle_id}/command/")
    }
    vehicle = next(v for v in tesla.vehicle_list() if v["id_s"] == M3)
    outcome = drive(list(keys), lambda name, body: vehicle.command(keys[name], **body), mock)
    tesla.close()
    assert {k: v for k, v in outcome.items() if v != "works"} == {}
    assert executed(mock) == [n for n in ORDER if n in keys]


def test_teslajsonpy(mock: Any) -> None:
    import httpx
    import teslajsonpy
    from teslajsonpy.controller import Controller

    endpoints = json.loads((Path(teslajsonpy.__file__).parent / "endpoints.json").read_text())
    keys = {
        v["URI"].rsplit("/", 1)[1]: k
        for k, v in endpoints.items()
        if v["URI"].startswith("api/1/vehicles/{vehicle_id}/command/")
    }
    with server_client(mock) as client:
        tokens = login(client)

    async def run() -> dict[str, str]:
        async with httpx.AsyncClient() as session:
            controller = Controller(
                websession=session,
                access_token=tokens["access_token"],
                refresh_token=tokens["refresh_token"],
                expiration=int(time.time()) + 3600,
                api_proxy_url=mock.url,
            )
            return await drive_async(
                keys,
                lambda name, body: controller.api(keys[name], path_vars={"vehicle_id": M3}, **body),
                mock,
            )

    outcome = asyncio.run(run())
    assert {k: v for k, v in outcome.items() if v != "works"} == {}
    assert executed(mock) == [n for n in ORDER if n in keys]


def test_tesla_fleet_api(mock: Any) -> None:
    import aiohttp
    from tesla_fleet_api import TeslaFleetApi
    from tesla_fleet_api.tesla.vehicle.fleet import VehicleFleet

    methods = {}
    for name, method in inspect.getmembers(VehicleFleet, inspect.iscoroutinefunction):
        found = re.search(r"command/([a-z_]+)", inspect.getsource(method))
        if found:
            methods[found.group(1)] = name
    with server_client(mock) as client:
        tokens = login(client)

    def arguments(command: str) -> dict[str, Any]:
        """The method's own parameter names, filled from the Owner API's values."""
        body = BODIES.get(command, {})
        signature = inspect.signature(getattr(VehicleFleet, methods[command]))
        values = {**body, "seat_heater_level": body.get("level"), "token": None}
        if command == "remote_seat_heater_request":
            values = {"seat_position": 0, "seat_heater_level": 2}
        return {p: values[p] for p in list(signature.parameters)[1:] if p in values}

    async def run() -> dict[str, str]:
        async with aiohttp.ClientSession() as session:
            api = TeslaFleetApi(
                session=session, access_token=tokens["access_token"], server=mock.url
            )
            vehicle = api.vehicles.createFleet(VIN)
            return await drive_async(
                methods,
                lambda name, body: getattr(vehicle, methods[name])(**arguments(name)),
                mock,
            )

    outcome = asyncio.run(run())
    assert {k: v for k, v in outcome.items() if v != "works"} == {}
    assert executed(mock) == [n for n in ORDER if n in methods]


def surfaces() -> dict[str, set[str]]:
    """Each client's vehicle-command surface, read from the client."""
    import teslajsonpy
    import teslapy
    from tescmd.api.command import CommandAPI
    from tesla_fleet_api.tesla.vehicle.fleet import VehicleFleet

    def owner(module: Any) -> set[str]:
        endpoints = json.loads((Path(module.__file__).parent / "endpoints.json").read_text())
        return {
            v["URI"].rsplit("/", 1)[1]
            for v in endpoints.values()
            if v["URI"].startswith("api/1/vehicles/{vehicle_id}/command/")
        }

    def sent(cls: type) -> set[str]:
        names = set()
        for _, method in inspect.getmembers(cls, inspect.iscoroutinefunction):
            found = re.search(
                r'_command\(\s*vin,\s*"([a-z_]+)"|command/([a-z_]+)', inspect.getsource(method)
            )
            if found:
                names.add(found.group(1) or found.group(2))
        return names

    return {
        "TeslaPy": owner(teslapy),
        "teslajsonpy": owner(teslajsonpy),
        "tesla-fleet-api": sent(VehicleFleet),
        "tescmd": sent(CommandAPI),
    }


TESCMD_ORDER = (  # tescmd's commands that none of the three others sends (test_tescmd.py)
    "auto_secure_vehicle",
    "set_low_power_mode",
    "keep_accessory_power_mode",
    "set_managed_charge_current_request",
    "set_managed_charger_location",
    "set_managed_scheduled_charging_time",
    "open_tonneau",
    "close_tonneau",
    "stop_tonneau",
)


def test_the_readme_table_is_what_the_clients_send() -> None:
    """docs/mock.md: client x command. A mark is a command the client sends, which the tests
    above drive against the mock and require to work; a dash, one it does not have."""
    rows = {}
    for line in MOCK_DOC.read_text().splitlines():
        found = re.fullmatch(r"\| `([a-z_]+)` \| (.) \| (.) \| (.) \| (.) \|", line)
        if found:
            rows[found.group(1)] = [mark == "✓" for mark in found.groups()[1:]]
    found = surfaces()
    clients = ("TeslaPy", "teslajsonpy", "tesla-fleet-api", "tescmd")
    names = [n for n in ORDER if not n.startswith("(")]
    names += sorted(found["tescmd"] - set(names), key=list(TESCMD_ORDER).index)
    expected = {name: [name in found[client] for client in clients] for name in names}
    assert rows == expected
    assert list(rows) == names  # in the order the tests send them
