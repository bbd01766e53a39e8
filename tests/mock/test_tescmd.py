"""tescmd, unchanged, against the served mock: its whole command surface and its readers.

tescmd reads its base URL from `TESLA_API_BASE_URL` once, at import; the test sets
the module's copy of it, which is all that variable does. Every command method
of `CommandAPI` is in the table below: a tescmd release that adds one fails
`test_the_table_covers_every_command` until the mock answers it too.
"""

from __future__ import annotations

import asyncio
import inspect
import random
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from tescmd.api import client as tescmd_client
from tescmd.api.charging import ChargingAPI
from tescmd.api.command import CommandAPI
from tescmd.api.errors import TeslaAPIError
from tescmd.api.partner import PartnerAPI
from tescmd.api.sharing import SharingAPI
from tescmd.api.user import UserAPI
from tescmd.api.vehicle import VehicleAPI

from carctl.mock import create_app
from carctl.mock.clock import ManualClock
from carctl.mock.server import RunningServer
from tests.conftest import Served, login, make_seed
from tests.support.car import M3

HOME = {"lat": 37.5665, "lon": 126.978}
# In the order sent: what is added is then changed and removed.
BODIES: dict[str, dict[str, Any]] = {
    "auto_conditioning_start": {},
    "set_temps": {"driver_temp": 21.5, "passenger_temp": 21.0},
    "set_preconditioning_max": {"on": True},
    "auto_conditioning_stop": {},
    "remote_seat_heater_request": {"seat_position": 0, "level": 2},
    "remote_seat_cooler_request": {"seat_position": 1, "seat_cooler_level": 1},
    "remote_steering_wheel_heater_request": {"on": True},
    "remote_steering_wheel_heat_level_request": {"level": 1},
    "remote_auto_steering_wheel_heat_climate_request": {"on": True},
    "remote_auto_seat_climate_request": {"auto_seat_position": 1, "auto_climate_on": True},
    "set_cabin_overheat_protection": {"on": True, "fan_only": False},
    "set_cop_temp": {"cop_temp": 1},
    "set_climate_keeper_mode": {"climate_keeper_mode": 2},
    "set_bioweapon_mode": {"on": True},
    "add_precondition_schedule": {**HOME, "precondition_time": 420, "days_of_week": "Weekdays"},
    "remove_precondition_schedule": {"id": 1},
    "batch_remove_precondition_schedules": {"home": True, "work": False, "other": False},
    "set_scheduled_departure": {"enable": True, "departure_time": 450},
    "charge_port_door_open": {},
    "charge_start": {},
    "set_charging_amps": {"charging_amps": 12},
    "charge_stop": {},
    "set_charge_limit": {"percent": 90},
    "charge_standard": {},
    "charge_max_range": {},
    "charge_port_door_close": {},
    "set_scheduled_charging": {"enable": True, "time": 120},
    "add_charge_schedule": {**HOME, "start_time": 60, "end_time": 360, "days_of_week": "All"},
    "remove_charge_schedule": {"id": 1},
    "batch_remove_charge_schedules": {"home": True, "work": False, "other": False},
    "set_managed_charge_current_request": {"charging_amps": 16},
    "set_managed_charger_location": {"location": HOME},
    "set_managed_scheduled_charging_time": {"time": 120},
    "set_low_power_mode": {"enable": True},
    "keep_accessory_power_mode": {"enable": False},
    "door_unlock": {},
    "door_lock": {},
    "auto_secure_vehicle": {},
    "set_sentry_mode": {"on": True},
    "reset_valet_pin": {},
    "set_valet_mode": {"on": True, "password": "1234"},
    "speed_limit_set_limit": {"limit_mph": 65.0},
    "speed_limit_activate": {"pin": "4321"},
    "speed_limit_deactivate": {"pin": "4321"},
    "speed_limit_clear_pin": {"pin": "4321"},
    "speed_limit_clear_pin_admin": {},
    "set_pin_to_drive": {"on": True, "password": "1234"},
    "reset_pin_to_drive_pin": {},
    "clear_pin_to_drive_admin": {},
    "guest_mode": {"enable": True},
    "remote_start_drive": {},
    "flash_lights": {},
    "honk_horn": {},
    "remote_boombox": {"sound": 2000},
    "actuate_trunk": {"which_trunk": "front"},
    "window_control": {"command": "vent"},
    "sun_roof_control": {"state": "vent"},
    "open_tonneau": {},
    "close_tonneau": {},
    "stop_tonneau": {},
    "media_toggle_playback": {},
    "media_next_track": {},
    "media_prev_track": {},
    "media_next_fav": {},
    "media_prev_fav": {},
    "media_volume_up": {},
    "media_volume_down": {},
    "adjust_volume": {"volume": 5.0},
    "share": {"address": "1 Sejong-daero, Seoul"},
    "navigation_request": {"value": {"android.intent.extra.TEXT": "Seoul Station"}},
    "navigation_gps_request": {**HOME, "order": 1},
    "navigation_sc_request": {"id": 1, "order": 1},
    "navigation_waypoints_request": {"waypoints": "refId:ChIJzWXFYYuifDUR64Pq5LTtioU"},
    "trigger_homelink": HOME,
    "upcoming_calendar_entries": {"calendar_data": "{}"},
    "schedule_software_update": {"offset_sec": 3600},
    "cancel_software_update": {},
    "set_vehicle_name": {"vehicle_name": "Zed"},
    "erase_user_data": {},
}
# What a Model 3 lacks, in its own words: the only refusals the target allows.
HARDWARE_REFUSALS = {
    "auto_secure_vehicle": "falcon_wing_doors_not_installed",
    "sun_roof_control": "sunroof_not_installed",
    "open_tonneau": "tonneau_not_installed",
    "close_tonneau": "tonneau_not_installed",
    "stop_tonneau": "tonneau_not_installed",
}


def _public(cls: type) -> list[str]:
    return [
        name
        for name, _ in inspect.getmembers(cls, inspect.iscoroutinefunction)
        if not name.startswith("_")
    ]


@pytest.fixture
def base_url(monkeypatch: pytest.MonkeyPatch) -> Any:
    def point(url: str) -> None:
        monkeypatch.setattr(tescmd_client, "_API_BASE_OVERRIDE", url)

    return point


def _token(served: Served) -> str:
    served.admin("PATCH", f"/__mock__/vehicles/{M3}", json={"state": "online", "plugged_in": True})
    with served.client() as client:
        return str(login(client)["access_token"])


def test_the_table_covers_every_command() -> None:
    assert sorted(BODIES) == sorted(_public(CommandAPI))


def test_every_command_is_executed_or_refused_for_what_the_car_lacks(
    served: Served, base_url: Any
) -> None:
    base_url(served.url)
    token = _token(served)

    async def send_all() -> dict[str, tuple[bool, str]]:
        outcomes = {}
        async with tescmd_client.TeslaFleetClient(token, timeout=5) as client:
            commands = CommandAPI(client)
            for name, body in BODIES.items():
                served.clock.advance(2.5)  # within the car's 30 commands a minute
                if name == "charge_port_door_close":  # the owner unplugs: the port may close
                    served.admin("PATCH", f"/__mock__/vehicles/{M3}", json={"plugged_in": False})
                answer = await getattr(commands, name)(M3, **body)
                outcomes[name] = (answer.response.result, answer.response.reason or "")
        return outcomes

    outcomes = asyncio.run(send_all())
    refused = {name: reason for name, (done, reason) in outcomes.items() if not done}
    assert refused == HARDWARE_REFUSALS
    executed = [c["name"] for c in served.admin("GET", "/__mock__/stats")["commands"]]
    assert executed == list(BODIES)  # each reached the car once, in order
    print(
        f"tescmd: {len(BODIES)} commands, {len(BODIES) - len(refused)} executed, "
        f"{len(refused)} refused by a Model 3 for hardware it lacks"
    )


def test_a_model_x_secures_itself_and_charge_schedules_read_back(
    served: Served, base_url: Any
) -> None:
    base_url(served.url)
    token = _token(served)
    served.admin("PATCH", f"/__mock__/vehicles/{M3}", json={"car_type": "modelx", "locked": False})

    async def run() -> tuple[Any, Any, Any]:
        async with tescmd_client.TeslaFleetClient(token, timeout=5) as client:
            commands, vehicles = CommandAPI(client), VehicleAPI(client)
            secured = await commands.auto_secure_vehicle(M3)
            await commands.add_charge_schedule(
                M3, **HOME, start_time=60, end_time=360, days_of_week="Weekdays"
            )
            await commands.add_charge_schedule(M3, **HOME, end_time=420, days_of_week="All")
            await commands.remove_charge_schedule(M3, id=1)
            data = await vehicles.get_vehicle_data(M3, endpoints=["charge_schedule_data"])
            return secured, data, await vehicles.get_vehicle_data(M3)

    secured, data, everything = asyncio.run(run())
    assert secured.response.result is True
    assert everything.vehicle_state.locked is True
    (schedule,) = data.model_extra["charge_schedule_data"]["charge_schedules"]
    assert schedule["id"] == 2 and schedule["days_of_week"] == 127
    assert (schedule["start_enabled"], schedule["end_enabled"], schedule["end_time"]) == (
        False,
        True,
        420,
    )
    assert "charge_schedule_data" not in (everything.model_extra or {})  # only when asked


def test_a_charge_schedule_without_a_time_is_refused_as_the_service_does(
    served: Served, base_url: Any
) -> None:
    base_url(served.url)
    token = _token(served)

    async def run() -> None:
        async with tescmd_client.TeslaFleetClient(token, timeout=5) as client:
            await CommandAPI(client).add_charge_schedule(M3, **HOME, days_of_week="All")

    with pytest.raises(TeslaAPIError) as caught:
        asyncio.run(run())
    assert caught.value.status_code == 400
    assert "needs a start_time or an end_time" in str(caught.value)
    assert served.admin("GET", "/__mock__/stats")["commands"] == []


READERS: dict[str, tuple[tuple[str, ...], dict[str, Any]]] = {  # name: (args, kwargs)
    **{
        f"VehicleAPI.{name}": ((M3,), {})
        for name in (
            *("get_vehicle", "get_vehicle_data", "wake", "mobile_enabled"),
            *("nearby_charging_sites", "recent_alerts", "release_notes", "service_data"),
            *("list_drivers", "eligible_subscriptions", "eligible_upgrades", "options"),
            *("specs", "fleet_telemetry_config", "fleet_telemetry_errors"),
        )
    },
    "VehicleAPI.list_vehicles": ((), {}),
    "VehicleAPI.warranty_details": ((), {}),
    **{f"UserAPI.{name}": ((), {}) for name in ("me", "region", "orders", "feature_config")},
    "ChargingAPI.charging_history": ((), {"vin": M3}),
    "ChargingAPI.charging_sessions": ((), {"vin": M3}),
    "SharingAPI.remove_driver": ((M3,), {"share_user_id": 1}),
}


def test_every_reader_is_answered(served: Served, base_url: Any) -> None:
    base_url(served.url)
    token = _token(served)
    classes = {c.__name__: c for c in (VehicleAPI, UserAPI, ChargingAPI, SharingAPI)}

    async def read_all() -> dict[str, Any]:
        answers = {}
        async with tescmd_client.TeslaFleetClient(token, timeout=5) as client:
            for name, (args, kwargs) in READERS.items():
                served.clock.advance(1.1)  # within 60 data requests a minute
                owner, method = name.split(".")
                answers[name] = await getattr(classes[owner](client), method)(*args, **kwargs)
        return answers

    answers = asyncio.run(read_all())
    assert answers["VehicleAPI.specs"]["vin"] == answers["VehicleAPI.get_vehicle"].vin
    assert answers["ChargingAPI.charging_history"]["totalResults"] == 1
    warranties = answers["VehicleAPI.warranty_details"]["activeWarranty"]
    assert {w["warrantyType"] for w in warranties} >= {"NEW_MFG_WARRANTY", "BATTERY_WARRANTY"}
    statuses = {r["status"] for r in served.admin("GET", "/__mock__/stats")["requests"]}
    assert statuses == {200}


@pytest.fixture
def fleet_server() -> Iterator[RunningServer]:
    app = create_app(
        seed=make_seed(), clock=ManualClock(), admin=True, rng=random.Random(3), flavor="fleet"
    )
    with RunningServer(app) as server:
        yield server


def test_the_partner_readers_with_a_partner_token(
    fleet_server: RunningServer, base_url: Any
) -> None:
    base_url(fleet_server.url)
    with httpx.Client(base_url=fleet_server.url) as http:
        token = http.post(
            "/oauth2/v3/token",
            data={
                "grant_type": "client_credentials",
                "client_id": "fleet-confidential",
                "client_secret": "mock-client-secret-5b1e",
            },
        ).json()["access_token"]
        http.post(
            "/api/1/partner_accounts",
            json={"domain": "app.example.com"},
            headers={"authorization": f"Bearer {token}"},
        ).raise_for_status()

    async def read() -> tuple[Any, Any, Any]:
        async with tescmd_client.TeslaFleetClient(token, timeout=5) as client:
            partner = PartnerAPI(client)
            return (
                await partner.public_key(domain="app.example.com"),
                await partner.fleet_telemetry_errors(),
                await partner.fleet_telemetry_error_vins(),
            )

    key, errors, vins = asyncio.run(read())
    assert bytes.fromhex(key["public_key"])[0] == 4 and len(key["public_key"]) == 130
    assert errors == {"fleet_telemetry_errors": []} and vins == {"vins": []}


def test_a_cybertruck_moves_its_tonneau_and_bad_amps_are_refused(
    served: Served, base_url: Any
) -> None:
    base_url(served.url)
    token = _token(served)
    served.admin("PATCH", f"/__mock__/vehicles/{M3}", json={"car_type": "cybertruck"})

    async def run() -> Any:
        async with tescmd_client.TeslaFleetClient(token, timeout=5) as client:
            commands = CommandAPI(client)
            opened = await commands.open_tonneau(M3)
            try:
                await commands.set_managed_charge_current_request(M3, charging_amps=99)
            except TeslaAPIError as exc:
                return opened, exc
            return opened, None

    opened, refused = asyncio.run(run())
    assert opened.response.result is True
    assert refused is not None and refused.status_code == 400 and "invalid_field" in str(refused)
    executed = [c["name"] for c in served.admin("GET", "/__mock__/stats")["commands"]]
    assert executed == ["open_tonneau"]
