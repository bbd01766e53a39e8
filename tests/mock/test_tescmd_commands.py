"""The Fleet commands tescmd sends that the mock answered `invalid_command`, with tescmd's
own bodies (tescmd `src/tescmd/api/command.py`): each is executed, or refused by the car for
a stated reason."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Served, login
from tests.support.car import M3

TESCMD_BODIES: dict[str, dict[str, Any] | None] = {
    "set_low_power_mode": {"enable": True},
    "keep_accessory_power_mode": {"enable": False},
    "set_managed_charge_current_request": {"charging_amps": 16},
    "set_managed_charger_location": {"location": {"lat": 37.56, "lon": 126.97}},
    "set_managed_scheduled_charging_time": {"time": 120},
    "open_tonneau": None,
    "close_tonneau": None,
    "stop_tonneau": None,
}


@pytest.fixture
def send(served: Served) -> Any:
    served.admin("PATCH", f"/__mock__/vehicles/{M3}", json={"state": "online"})
    client = served.client()
    headers = {"authorization": f"Bearer {login(client)['access_token']}"}

    def post(name: str, body: dict[str, Any] | None) -> Any:
        answer = client.post(f"/api/1/vehicles/{M3}/command/{name}", json=body, headers=headers)
        return answer.status_code, answer.json()

    return post


def test_each_is_executed_or_refused_with_a_reason(served: Served, send: Any) -> None:
    outcomes = {name: send(name, body) for name, body in TESCMD_BODIES.items()}
    for name, (status, body) in outcomes.items():
        assert status == 200, (name, body)
    refused = {
        n: b["response"]["reason"] for n, (_, b) in outcomes.items() if not b["response"]["result"]
    }
    assert refused == dict.fromkeys(
        ("open_tonneau", "close_tonneau", "stop_tonneau"), "tonneau_not_installed"
    )  # a Model 3 has none
    executed = [c["name"] for c in served.admin("GET", "/__mock__/stats")["commands"]]
    assert executed == list(TESCMD_BODIES)


def test_a_cybertruck_moves_its_tonneau_and_bad_amps_are_refused(served: Served, send: Any) -> None:
    served.admin("PATCH", f"/__mock__/vehicles/{M3}", json={"car_type": "cybertruck"})
    status, body = send("open_tonneau", None)
    assert status == 200 and body["response"]["result"] is True
    status, body = send("set_managed_charge_current_request", {"charging_amps": 99})
    assert status == 400 and body["error"] == "invalid_field"
