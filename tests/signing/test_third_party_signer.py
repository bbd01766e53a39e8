"""A third party's signer against the mock car: tesla-fleet-api's `VehicleSigned`, unchanged.

It pairs (through the mock's key-card stand-in), handshakes and executes climate,
windows and a lock command over `POST …/signed_command`; an unpaired key gets the
car's fault as tesla-fleet-api's own exception. This proves the mock speaks the
protocol as another implementation reads it, not only as carctl does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from carctl.api.keys import public_pem
from tests.conftest import Served, login

VIN = "5YJ3E7EA1MF000621"  # Model 3, which takes only signed commands
TOKEN = ""


@pytest.fixture
def fleet(served: Served) -> Iterator[Served]:
    """The served mock as the Fleet API (signed in first: its sign-in is the browser's)."""
    global TOKEN
    with served.client() as client:
        TOKEN = login(client)["access_token"]
    api = served.app.state.api  # type: ignore[attr-defined]
    api.flavor = "fleet"
    setup = {"command_signing": "required", "state": "online"}
    served.admin("PATCH", f"/__mock__/vehicles/{VIN}", json=setup)
    try:
        yield served
    finally:
        api.flavor = "owner"


def _drive(fleet: Served, key: ec.EllipticCurvePrivateKey, work: Any) -> Any:
    import aiohttp
    from tesla_fleet_api import TeslaFleetApi

    token = TOKEN

    async def run() -> Any:
        async with aiohttp.ClientSession() as session:
            api = TeslaFleetApi(session=session, access_token=token, server=fleet.url)
            api.private_key = key
            return await work(api.vehicles.createSigned(VIN))

    return asyncio.run(run())


def _stats(fleet: Served) -> dict[str, Any]:
    stats: dict[str, Any] = fleet.admin("GET", "/__mock__/stats")
    return stats


def test_tesla_fleet_api_signs_and_the_mock_car_executes(fleet: Served) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    fleet.admin("POST", f"/__mock__/vehicles/{VIN}/keys", json={"public_key": public_pem(key)})

    async def work(car: Any) -> list[Any]:
        return [
            await car.auto_conditioning_start(),
            await car.window_control("vent"),
            await car.door_lock(),
            await car.auto_conditioning_stop(),
            await car.window_control("close"),
            await car.set_temps(21.5, 20.0),
        ]

    answers = _drive(fleet, key, work)
    assert [a["response"]["result"] for a in answers] == [True] * 6
    stats = _stats(fleet)
    executed = [(c["name"], c["signed"]) for c in stats["commands"]]
    assert executed == [
        ("auto_conditioning_start", True),
        ("window_control", True),
        ("door_lock", True),
        ("auto_conditioning_stop", True),
        ("window_control", True),
        ("set_temps", True),
    ]
    assert stats["executed"] == {"signed": 6, "unsigned": 0}
    assert stats["commands"][-1]["params"] == {"driver_temp": 21.5, "passenger_temp": 20.0}
    handshakes = fleet.admin("GET", f"/__mock__/vehicles/{VIN}/keys")
    assert handshakes["domains"]["infotainment"]["counters"]  # it kept a counter per key
    car = next(c for c in fleet.admin("GET", "/__mock__/vehicles")["vehicles"] if c["vin"] == VIN)
    assert car["is_climate_on"] is False and set(car["windows"].values()) == {0}
    assert car["driver_temp_setting"] == 21.5


def test_an_unpaired_key_gets_the_cars_fault_as_tesla_fleet_apis_exception(
    fleet: Served,
) -> None:
    from tesla_fleet_api.exceptions import TeslaFleetMessageFaultUnknownKeyId

    key = ec.generate_private_key(ec.SECP256R1())

    async def work(car: Any) -> Any:
        return await car.auto_conditioning_start()

    with pytest.raises(TeslaFleetMessageFaultUnknownKeyId):
        _drive(fleet, key, work)
    assert _stats(fleet)["commands"] == []


def test_after_a_reboot_tesla_fleet_api_recovers_from_the_cars_session_info(
    fleet: Served,
) -> None:
    """A new epoch: the car's fault carries fresh session info, which the client uses."""
    key = ec.generate_private_key(ec.SECP256R1())
    fleet.admin("POST", f"/__mock__/vehicles/{VIN}/keys", json={"public_key": public_pem(key)})

    async def work(car: Any) -> list[Any]:
        first = await car.auto_conditioning_start()
        fleet.admin("POST", f"/__mock__/vehicles/{VIN}/reboot")
        second = await car.auto_conditioning_stop()
        return [first, second]

    answers = _drive(fleet, key, work)
    assert [a["response"]["result"] for a in answers] == [True, True]
    names = [c["name"] for c in _stats(fleet)["commands"]]
    assert names == ["auto_conditioning_start", "auto_conditioning_stop"]  # each once


def test_encrypted_commands_and_answers_read_the_same_on_both_sides(fleet: Served) -> None:
    """tesla-fleet-api's AES-GCM mode (its BLE way) encrypts the command and asks for an
    encrypted answer: the mock decrypts the one, and tesla-fleet-api decrypts the other
    with its own response metadata — an outside check of the answer's encryption."""
    from tesla_fleet_api.tesla.vehicle.signed import VehicleSigned

    class Encrypted(VehicleSigned):  # type: ignore[type-arg,misc]
        _auth_method = "aes"

    key = ec.generate_private_key(ec.SECP256R1())
    fleet.admin("POST", f"/__mock__/vehicles/{VIN}/keys", json={"public_key": public_pem(key)})
    seen: list[Any] = []

    async def work(car: Any) -> Any:
        encrypted = Encrypted(car.parent, VIN)
        original = encrypted._send

        async def spy(msg: Any, requires: str) -> Any:
            answer = await original(msg, requires)
            seen.append(answer)
            return answer

        encrypted._send = spy
        return await encrypted.auto_conditioning_start()

    answer = _drive(fleet, key, work)
    assert answer["response"] == {"result": True, "reason": ""}
    assert seen[-1].signature_data.HasField("AES_GCM_Response_data")  # it was encrypted
    assert [(c["name"], c["signed"]) for c in _stats(fleet)["commands"]] == [
        ("auto_conditioning_start", True)
    ]


def test_a_replayed_command_is_refused_over_http_and_runs_once(fleet: Served) -> None:
    """The exact bytes tesla-fleet-api sent, posted again: the car's counter fault, with
    fresh session info; the command ran once."""
    import base64

    from carctl.signing import messages as m

    key = ec.generate_private_key(ec.SECP256R1())
    fleet.admin("POST", f"/__mock__/vehicles/{VIN}/keys", json={"public_key": public_pem(key)})
    sent: list[str] = []

    async def work(car: Any) -> Any:
        original = car.signed_command

        async def spy(routable_message: str) -> Any:
            sent.append(routable_message)
            return await original(routable_message)

        car.signed_command = spy
        return await car.auto_conditioning_start()

    assert _drive(fleet, key, work)["response"]["result"] is True
    with fleet.client() as client:
        replayed = client.post(
            f"/api/1/vehicles/{VIN}/signed_command",
            json={"routable_message": sent[-1]},
            headers={"authorization": f"Bearer {TOKEN}"},
        )
    assert replayed.status_code == 200
    answer = m.RoutableMessage.decode(base64.b64decode(replayed.json()["response"]))
    assert answer.fault == m.FAULT_INVALID_TOKEN_OR_COUNTER and answer.session_info
    assert [c["name"] for c in _stats(fleet)["commands"]] == ["auto_conditioning_start"]
