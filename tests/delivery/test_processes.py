"""Real processes against the served mock: workers racing, and a worker killed mid-send."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Served, invoke, sign_in

M3, MY = "1492931337131", "1492931337242"


@pytest.fixture
def queued(served: Served, monkeypatch: pytest.MonkeyPatch, carctl_home: Path) -> Served:
    return start_outage(served, monkeypatch)


def start_outage(served: Served, monkeypatch: pytest.MonkeyPatch) -> Served:
    """Signed in to the served mock; both cars awake; an outage is under way."""
    monkeypatch.setenv("CARCTL_API_URL", served.url)
    for car in (M3, MY):
        served.admin("PATCH", f"/__mock__/vehicles/{car}", json={"state": "online"})
    sign_in()
    assert invoke("vehicles").code == 0
    served.admin("PUT", "/__mock__/faults", json={"rules": [{"status": 500, "path": "/api/1/*"}]})
    return served


def recover(served: Served, state_db: Path) -> None:
    """The outage ends, and the breaker's cool-down is over (time passing, for real processes)."""
    served.admin("DELETE", "/__mock__/faults")
    with sqlite3.connect(state_db) as db:
        db.execute("DELETE FROM api_health")


def stats(served: Served) -> dict[str, Any]:
    return served.admin("GET", "/__mock__/stats")  # type: ignore[no-any-return]


def carctl(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "carctl", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_workers_cron_runs_and_a_direct_command_at_once(queued: Served, carctl_home: Path) -> None:
    m3 = ("--vehicle", "Model 3")
    assert invoke(*m3, "climate", "on", "--temp", "21").code == 75
    assert invoke(*m3, "vent").code == 75
    assert invoke("--vehicle", "Model Y", "climate", "on").code == 75
    assert invoke(*m3, "climate", "off").code == 75  # supersedes the queued climate on
    recover(queued, carctl_home / "state" / "state.db")

    racers = [carctl("queue", "run") for _ in range(3)]
    racers += [carctl("queue", "worker", "--until-empty") for _ in range(2)]
    racers.append(carctl("--vehicle", "Model Y", "vent"))
    results = [(p.args[3:], *p.communicate(timeout=120), p.returncode) for p in racers]
    for args, out, err, code in results:
        assert code in (0, 75), (args, out, err)
        assert "locked" not in err and "Traceback" not in err, err

    done = stats(queued)
    assert set(done["executions"].values()) == {1}  # every key executed exactly once
    by_car: dict[str, list[str]] = {}
    for command in done["commands"]:
        by_car.setdefault(command["vehicle"], []).append(command["name"])
    assert by_car[M3] == ["set_temps", "window_control", "auto_conditioning_stop"]
    assert sorted(by_car[MY]) == ["auto_conditioning_start", "window_control"]
    assert invoke("queue", "run").code == 0  # nothing left


def sent_to_the_car(served: Served) -> int:
    rows = stats(served)["requests"]
    return sum(r["count"] for r in rows if r["path"].endswith("/command/window_control"))


def test_a_worker_killed_mid_send_loses_nothing_and_repeats_nothing(
    queued: Served, carctl_home: Path
) -> None:
    assert invoke("--vehicle", "Model 3", "vent").code == 75
    recover(queued, carctl_home / "state" / "state.db")
    tried = sent_to_the_car(queued)  # the attempts that met the outage
    # the command endpoint answers slowly, in real time, so the worker is caught mid-send
    rule = {"path": "/api/1/vehicles/*/command/*", "latency": 1.5, "count": 1}
    queued.admin("PUT", "/__mock__/faults", json={"rules": [rule]})

    async def real_sleep(seconds: float) -> None:  # the mock's clock: the server is async
        await asyncio.sleep(seconds)

    queued.clock.sleep = real_sleep  # type: ignore[method-assign]
    try:
        worker = carctl("queue", "run")
        db = carctl_home / "state" / "state.db"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with sqlite3.connect(db) as conn:
                (owner,) = conn.execute("SELECT lease_owner FROM queue").fetchone()
            if owner == worker.pid:
                break
            time.sleep(0.02)
        while time.monotonic() < deadline:  # until the command has reached the mock
            if queued.admin("GET", "/__mock__/faults")["rules"][0]["fired"]:
                break
            time.sleep(0.02)
        else:
            raise AssertionError("the command never reached the mock")
        assert worker.poll() is None, "the worker finished before it could be killed mid-send"
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
        # the next pass does not wait for the dead worker's lease
        again = invoke("--json", "queue", "run")
        assert again.code == 0, again.output
        assert again.json()["data"]["delivered"] == 1
        # the killed worker's slow request still reaches the car: wait until the mock saw both
        while time.monotonic() < deadline and sent_to_the_car(queued) - tried < 2:
            time.sleep(0.05)
    finally:
        del queued.clock.sleep  # type: ignore[attr-defined]
    assert sent_to_the_car(queued) - tried == 2  # the killed worker's send and the redelivery
    done = stats(queued)
    assert [c["name"] for c in done["commands"]] == ["window_control"]
    assert list(done["executions"].values()) == [1]
