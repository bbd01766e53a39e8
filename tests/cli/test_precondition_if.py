"""`precondition --if-below` and `--defrost`: the car's own outside reading decides."""

from __future__ import annotations

import pytest

from tests.conftest import Endpoint, invoke
from tests.support.car import M3, OUTAGE, executed, queue_rows


@pytest.fixture
def car(awake_car: Endpoint) -> Endpoint:
    """Here the car is awake (and locked, as seeded)."""
    return awake_car


@pytest.mark.parametrize("endpoint", ["served"], indirect=True)
def test_above_the_threshold_nothing_is_sent(car: Endpoint) -> None:
    car.admin("PATCH", f"/__mock__/vehicles/{M3}", {"outside_temp": 9.0})
    result = invoke("--json", "precondition", "--temp", "21", "--if-below", "5")
    assert result.code == 0, result.output
    data = result.json()["data"]
    assert data["skipped"] == {"outside_temp": 9.0, "if_below": 5.0}
    assert [s["step"] for s in data["steps"]] == ["outside"]
    assert executed(car) == []  # not one command reached the car
    shown = invoke("precondition", "--if-below", "41F")
    assert shown.code == 0
    assert "Skipped: 9.0 °C outside, not below 5.0 °C; nothing was sent." in shown.stdout


@pytest.mark.parametrize("endpoint", ["served"], indirect=True)
def test_below_it_the_routine_runs_and_defrost_below_freezing(car: Endpoint) -> None:
    car.admin("PATCH", f"/__mock__/vehicles/{M3}", {"outside_temp": -4.0})
    result = invoke("--json", "precondition", "--temp", "21", "--if-below", "5", "--defrost")
    assert result.code == 0, result.output
    assert [c["name"] for c in executed(car)] == [
        "set_temps",
        "auto_conditioning_start",
        "set_preconditioning_max",
    ]
    assert executed(car)[-1]["params"] == {"on": True}
    steps = [s["detail"] for s in result.json()["data"]["steps"]]
    assert steps[0] == "outside -4.0 °C" and "defrost on (the most heat)" in steps
    car.admin("PATCH", f"/__mock__/vehicles/{M3}", {"outside_temp": 2.0})
    mild = invoke("--json", "precondition", "--defrost")  # cold, not freezing: no defrost
    assert mild.code == 0
    assert executed(car)[-1]["name"] == "auto_conditioning_start"


@pytest.mark.parametrize("endpoint", ["served"], indirect=True)
def test_bad_thresholds_and_what_cannot_be_decided(car: Endpoint) -> None:
    for value, words in (("warm", "is not a temperature"), ("60", "not an outside temperature")):
        refused = invoke("precondition", "--if-below", value)
        assert refused.code == 2 and words in refused.stderr
    armed = invoke("precondition", "--at", "06:30", "--if-below", "5")
    assert armed.code == 2 and "runs whatever the weather" in armed.stderr
    car.faults(OUTAGE)
    failing = invoke("--json", "precondition", "--if-below", "5")
    assert failing.code == 75  # the reading failed: nothing decided, nothing queued
    assert failing.json()["queued"] is None and queue_rows(car) == []
    assert failing.json()["error"]["hint"].startswith("not queued: whether to warm the car")
    assert executed(car) == []
