"""`carctl charge`: the state without waking the car, and each command read back from the
served mock's car, with its safety class when the API fails."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Endpoint, invoke
from tests.support.car import M3, OUTAGE, executed, queue_rows


@pytest.fixture
def car(awake_car: Endpoint) -> Endpoint:
    """Here the car is awake (and locked, as seeded)."""
    return awake_car


def charge_state(endpoint: Endpoint) -> dict[str, Any]:
    """`charge_state` as the car reports it (the mock's own vehicle_data, a woken car)."""
    result = invoke("--json", "charge")
    assert result.code == 0, result.output
    return result.json()["data"]["battery"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("endpoint", ["served"], indirect=True)
def test_charging_from_the_cable_to_the_limit(car: Endpoint) -> None:
    car.admin("PATCH", f"/__mock__/vehicles/{M3}", {"plugged_in": True})
    started = invoke("--json", "charge", "start")
    assert started.code == 0, started.output
    battery = started.json()["data"]["battery"]
    assert started.json()["data"]["confirmed"] is True
    assert battery["charging_state"] == "Charging" and battery["plugged_in"] is True
    assert battery["limit"] == 80 and battery["minutes_to_full"] > 0
    limit = invoke("charge", "limit", "90")
    assert limit.code == 0 and "of a 90 % limit" in limit.stdout
    amps = invoke("--json", "charge", "amps", "32")
    assert amps.code == 0 and amps.json()["data"]["battery"]["amps"] == 32
    shown = invoke("charge", terminal=True)
    assert shown.code == 0, shown.output
    assert "battery   charging at 7 kW (32 A), 78 % of a 90 % limit, full in" in shown.stdout
    stopped = invoke("charge", "stop")
    assert stopped.code == 0 and "Confirmed by the car: not charging (Stopped" in stopped.stdout
    port = invoke("charge", "port", "close")  # the cable is in
    assert port.code == 1, port.output
    assert "refused charge_port_door_close: cable connected" in port.stderr
    assert "unplug the cable first" in port.stderr
    assert [c["name"] for c in executed(car)] == [
        "charge_start",
        "set_charge_limit",
        "set_charging_amps",
        "charge_stop",
        "charge_port_door_close",  # it reached the car, which said no
    ]
    again = invoke("charge", "stop")  # "not_charging": as asked already, so done
    assert again.code == 0 and "Confirmed by the car: not charging (Stopped" in again.stdout


@pytest.mark.parametrize("endpoint", ["served"], indirect=True)
def test_limits_outside_the_cars_range_are_refused_before_anything_is_sent(
    car: Endpoint,
) -> None:
    for args, words in (
        (("charge", "limit", "40"), "a charge limit is 50–100 %, got 40"),
        (("charge", "amps", "0"), "charging current is 1–48 A"),
        (("charge", "amps", "64"), "charging current is 1–48 A"),
    ):
        refused = invoke(*args)
        assert refused.code == 2, refused.output
        assert words in refused.stderr and "Traceback" not in refused.stderr
    assert car.requests(f"/api/1/vehicles/{M3}/command/set_charge_limit") == 0
    assert car.requests(f"/api/1/vehicles/{M3}/command/set_charging_amps") == 0


@pytest.mark.parametrize("endpoint", ["served"], indirect=True)
def test_during_an_outage_each_charge_command_keeps_its_class(car: Endpoint) -> None:
    car.faults(OUTAGE)
    port = invoke("--json", "charge", "port", "open")
    assert port.code == 75 and port.json()["queued"] is None
    assert port.json()["error"]["hint"].startswith("not queued: opening the charge port later")
    stop = invoke("--json", "charge", "stop")
    assert stop.code == 75 and stop.json()["queued"]["commands"] == ["charge_stop"]
    start = invoke("--json", "charge", "start")  # the last word: supersedes the stop
    assert start.code == 75 and start.json()["queued"]["commands"] == ["charge_start"]
    assert sorted(queue_rows(car)) == [("charge_start", "pending"), ("charge_stop", "superseded")]
    assert executed(car) == []


@pytest.mark.parametrize("endpoint", ["served"], indirect=True)
def test_charge_of_a_sleeping_car_is_what_it_said_last(car: Endpoint) -> None:
    assert invoke("status").code == 0  # read while awake
    car.admin("PATCH", f"/__mock__/vehicles/{M3}", {"state": "asleep"})
    wakes = car.requests(f"/api/1/vehicles/{M3}/wake_up")
    shown = invoke("--json", "charge")
    assert shown.code == 0, shown.output
    data = shown.json()["data"]
    assert data["live"] is False and data["battery"]["level"] == 78
    assert car.requests(f"/api/1/vehicles/{M3}/wake_up") == wakes  # never wakes it


@pytest.mark.parametrize("endpoint", ["served"], indirect=True)
def test_a_driven_car_refuses_what_only_a_parked_one_does(car: Endpoint) -> None:
    car.admin("PATCH", f"/__mock__/vehicles/{M3}", {"shift_state": "D"})
    port = invoke("charge", "port", "open")
    assert port.code == 1, port.output
    assert "refused charge_port_door_open: vehicle_not_in_park" in port.stderr
    assert "the car is being driven: it does that only in park" in port.stderr
    frunk = invoke("frunk", "open", "--yes")
    assert frunk.code == 1 and "vehicle_not_in_park" in frunk.stderr
    unlocked = invoke("unlock", "--yes")  # unlocking while driven is fine
    assert unlocked.code == 0, unlocked.output
