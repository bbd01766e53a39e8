"""Fleet Telemetry's configuration through tesla-fleet-api's own methods, unchanged."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

from tests.conftest import Served, login

M3_VIN = "5YJ3E7EA1MF000621"
CONFIG = {
    "hostname": "telemetry.example.com",
    "port": 4443,
    "ca": "-----BEGIN CERTIFICATE-----\n…\n-----END CERTIFICATE-----\n",
    "fields": {"VehicleSpeed": {"interval_seconds": 10}, "Location": {"interval_seconds": 30}},
    "alert_types": ["service"],
    "exp": 1_900_000_000,
}


def test_a_configuration_is_kept_read_back_and_removed(served: Served) -> None:
    import aiohttp
    from tesla_fleet_api import TeslaFleetApi

    with served.client() as client:
        token = login(client)["access_token"]

    async def story() -> dict[str, Any]:
        async with aiohttp.ClientSession() as session:
            api = TeslaFleetApi(session=session, access_token=token, server=served.url)
            car = api.vehicles.createFleet(M3_VIN)
            made = await car.fleet_telemetry_config_create({"vins": [M3_VIN], "config": CONFIG})
            read = await car.fleet_telemetry_config_get()
            removed = await car.fleet_telemetry_config_delete()
            after = await car.fleet_telemetry_config_get()
        return {"made": made, "read": read, "removed": removed, "after": after}

    seen = asyncio.run(story())
    assert seen["made"]["response"] == {
        "updated_vehicles": 1,
        "skipped_vehicles": {
            "missing_key": [],
            "unsupported_hardware": [],
            "unsupported_firmware": [],
        },
    }
    assert seen["read"]["response"]["synced"] is True
    assert seen["read"]["response"]["config"]["fields"]["VehicleSpeed"] == {"interval_seconds": 10}
    assert seen["removed"]["response"] == {"updated_vehicles": 1}
    assert (
        seen["after"]["response"]["config"] is None and seen["after"]["response"]["synced"] is False
    )


def test_a_signing_car_without_a_key_is_skipped_and_bad_bodies_are_refused(
    served: Served,
) -> None:
    served.admin("PATCH", f"/__mock__/vehicles/{M3_VIN}", json={"command_signing": "required"})
    with served.client() as client:
        headers = {"authorization": f"Bearer {login(client)['access_token']}"}
        skipped = client.post(
            "/api/1/vehicles/fleet_telemetry_config",
            json={"vins": [M3_VIN], "config": CONFIG},
            headers=headers,
        )
        payload = base64.urlsafe_b64encode(json.dumps(CONFIG).encode()).decode().rstrip("=")
        signed = client.post(
            "/api/1/vehicles/fleet_telemetry_config_jws",
            json={"vins": [M3_VIN], "token": f"e30.{payload}.c2ln"},
            headers=headers,
        )
        no_fields = client.post(
            "/api/1/vehicles/fleet_telemetry_config",
            json={"vins": [M3_VIN], "config": {"hostname": "h", "port": 1}},
            headers=headers,
        )
        not_a_jws = client.post(
            "/api/1/vehicles/fleet_telemetry_config_jws",
            json={"vins": [M3_VIN], "token": "nonsense"},
            headers=headers,
        )
    assert skipped.json()["response"]["skipped_vehicles"]["missing_key"] == [M3_VIN]
    assert skipped.json()["response"]["updated_vehicles"] == 0
    assert signed.json()["response"]["skipped_vehicles"]["missing_key"] == [M3_VIN]
    assert no_fields.status_code == 400 and "fields" in no_fields.json()["error_description"]
    assert not_a_jws.status_code == 400
