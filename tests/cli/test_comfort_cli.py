"""Seat heat, wheel heat and defrost: each read back from the served mock's car, queued
like climate when the API fails, and bad input refused before anything is sent."""

from __future__ import annotations

import pytest

from tests.conftest import Endpoint, invoke
from tests.support.car import OUTAGE, executed, queue_rows


@pytest.fixture
def car(awake_car: Endpoint) -> Endpoint:
    """Here the car is awake (and locked, as seeded)."""
    return awake_car


@pytest.mark.parametrize("endpoint", ["served"], indirect=True)
def test_seat_wheel_and_defrost_are_confirmed_by_the_car(car: Endpoint) -> None:
    seat = invoke("--json", "seat", "heat", "driver", "3")
    assert seat.code == 0, seat.output
    assert seat.json()["data"]["confirmed"] is True
    assert invoke("seat", "heat", "rear-left", "2").stdout.endswith(
        "Confirmed by the car: rear-left seat heat at 2.\n"
    )
    wheel = invoke("wheel", "heat", "on")
    assert wheel.code == 0 and "Confirmed by the car: steering wheel heat on." in wheel.stdout
    defrost = invoke("defrost", "on")
    assert defrost.code == 0 and "Confirmed by the car: defrost on (the most heat)." in (
        defrost.stdout
    )
    assert [(c["name"], c["params"]) for c in executed(car)] == [
        ("remote_seat_heater_request", {"heater": 0, "level": 3}),
        ("remote_seat_heater_request", {"heater": 2, "level": 2}),
        ("remote_steering_wheel_heater_request", {"on": True}),
        ("set_preconditioning_max", {"on": True}),
    ]


@pytest.mark.parametrize("endpoint", ["served"], indirect=True)
def test_bad_seats_and_levels_are_refused_before_anything_is_sent(
    car: Endpoint,
) -> None:
    for args, words in (
        (("seat", "heat", "trunk", "2"), "there is no seat 'trunk'"),
        (("seat", "heat", "driver", "4"), "a seat heats at level 0–3 (0 is off), got 4"),
        (("wheel", "heat", "warm"), "on|off"),
    ):
        refused = invoke(*args)
        assert refused.code == 2, refused.output
        assert words in refused.stderr and "Traceback" not in refused.stderr
    assert executed(car) == []


@pytest.mark.parametrize("endpoint", ["served"], indirect=True)
def test_during_an_outage_they_are_queued_like_climate(car: Endpoint) -> None:
    car.faults(OUTAGE)
    for args in (("seat", "heat", "driver", "3"), ("seat", "heat", "passenger", "1")):
        assert invoke("--json", *args).code == 75
    assert invoke("--json", "defrost", "on").json()["queued"]["commands"] == [
        "set_preconditioning_max"
    ]
    # one slot per seat: the passenger's does not supersede the driver's
    assert sorted(queue_rows(car)) == [
        ("remote_seat_heater_request", "pending"),
        ("remote_seat_heater_request", "pending"),
        ("set_preconditioning_max", "pending"),
    ]
