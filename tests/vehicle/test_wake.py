"""Waking with growing poll intervals, on the served mock's simulated time (no waiting)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from carctl.api.signin import login_with_password
from carctl.errors import UnreachableError
from carctl.paths import resolve_paths
from carctl.settings import load_settings
from carctl.stack import Stack
from carctl.vehicle.service import VehicleService
from tests.conftest import OWNER, PASSWORD, Served

M3 = "1492931337131"


class LinkedClock:
    """carctl's clock on the mock's simulated time: sleeping moves both."""

    def __init__(self, served: Served) -> None:
        self.served = served
        self.slept: list[float] = []

    def now(self) -> float:
        return self.served.clock.now()

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.served.clock.advance(seconds)


@pytest.fixture
def service(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[VehicleService, LinkedClock]]:
    monkeypatch.setenv("CARCTL_API_URL", served.url)
    env = dict(os.environ)
    paths = resolve_paths(env)
    clock = LinkedClock(served)
    settings = load_settings(paths.config_file, env=env)
    stack = Stack(settings=settings, paths=paths, env=env, clock=clock)
    with stack.car_run() as run:
        assert run.client.session is not None
        credentials = run.client.session.credentials  # type: ignore[attr-defined]
        login_with_password(
            run.client, credentials, email=OWNER, password=PASSWORD, login_command=""
        )
        yield run.service, clock


def wake_ups(served: Served) -> int:
    rows: list[dict[str, Any]] = served.admin("GET", "/__mock__/stats")["requests"]
    return sum(r["count"] for r in rows if r["path"] == f"/api/1/vehicles/{M3}/wake_up")


def test_wake_polls_with_growing_intervals(
    served: Served, service: tuple[VehicleService, LinkedClock]
) -> None:
    vehicles, clock = service
    served.admin("PATCH", f"/__mock__/vehicles/{M3}", json={"wake_delay": 4})
    car = vehicles.locate("Model 3")
    assert car.state == "asleep"
    woke = vehicles.wake(car, timeout=60)
    assert woke.woke and woke.vehicle.state == "online"
    assert 4 <= woke.waited_s < 6
    assert clock.slept == sorted(clock.slept) and clock.slept[0] == 0.5
    assert all(b > a for a, b in zip(clock.slept, clock.slept[1:], strict=False))
    assert wake_ups(served) == 1


def test_a_slow_car_is_asked_again_and_polls_are_capped(
    served: Served, service: tuple[VehicleService, LinkedClock]
) -> None:
    vehicles, clock = service
    served.admin("PATCH", f"/__mock__/vehicles/{M3}", json={"wake_delay": 45})
    woke = vehicles.wake(vehicles.locate("Model 3"), timeout=120)
    assert woke.vehicle.state == "online"
    assert max(clock.slept) == 5.0  # never more than 5 s between two looks
    assert wake_ups(served) >= 2  # the wake is repeated while the car still sleeps


def test_a_car_that_stays_offline_times_out(
    served: Served, service: tuple[VehicleService, LinkedClock]
) -> None:
    vehicles, clock = service
    served.admin("PATCH", f"/__mock__/vehicles/{M3}", json={"state": "offline"})
    with pytest.raises(UnreachableError, match=r"within 30 s \(last state: offline\)"):
        vehicles.wake(vehicles.locate("Model 3"), timeout=30)
    assert sum(clock.slept) == pytest.approx(30)
