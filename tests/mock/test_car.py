"""The simulated car's physics, driven directly by timestamps."""

from __future__ import annotations

import math

from carctl.mock.car import CLIMATE_TAU, SimVehicle
from carctl.mock.seed import load_seed


def car(wake_delay: float = 4.0, idle: float = 900.0) -> SimVehicle:
    return SimVehicle.from_seed(
        load_seed().vehicles[0], now=0.0, wake_delay=wake_delay, idle_sleep=idle
    )


def test_wake_completes_after_the_delay() -> None:
    c = car()
    c.wake(10.0)
    c.settle(13.9)
    assert c.state == "asleep"
    c.settle(14.0)
    assert c.state == "online" and c.last_activity == 14.0


def test_a_second_wake_does_not_restart_the_delay() -> None:
    c = car()
    c.wake(0.0)
    c.wake(3.0)
    c.settle(4.0)
    assert c.state == "online"


def test_zero_delay_wakes_at_once_and_offline_never_wakes() -> None:
    c = car(wake_delay=0)
    c.wake(0.0)
    assert c.state == "online"
    off = car()
    off.state = "offline"
    off.wake(0.0)
    off.settle(100.0)
    assert off.state == "offline"


def test_falls_asleep_after_idle_unless_climate_runs() -> None:
    c = car(wake_delay=0)
    c.wake(0.0)
    c.settle(899.0)
    assert c.state == "online"
    c.settle(900.0)
    assert c.state == "asleep"
    warm = car(wake_delay=0)
    warm.wake(0.0)
    warm.is_climate_on = True
    warm.settle(5000.0)
    assert warm.state == "online"


def test_cabin_follows_the_exponential_law() -> None:
    c = car(wake_delay=0)
    c.is_climate_on = True
    c.settle(CLIMATE_TAU)
    expected = 21.0 + (4.0 - 21.0) * math.exp(-1)
    assert math.isclose(c.inside_temp, expected, rel_tol=1e-9)
    assert c.battery_level < 78.0


def test_settle_in_steps_equals_settle_at_once() -> None:
    one, many = car(), car()
    one.is_climate_on = many.is_climate_on = True
    one.settle(1200.0)
    for t in range(60, 1201, 60):
        many.settle(float(t))
    assert math.isclose(one.inside_temp, many.inside_temp, rel_tol=1e-9)
    assert math.isclose(one.battery_level, many.battery_level, rel_tol=1e-9)


def test_clock_going_backwards_changes_nothing() -> None:
    c = car()
    c.settle(100.0)
    before = c.to_dict()
    c.settle(50.0)
    assert c.to_dict() == before
