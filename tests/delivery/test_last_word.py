"""The car ends as the owner asked last; expired means never sent; a live lease is never taken.

Real `carctl` processes against the served mock where the item is about
processes; the mock's stats prove each event (a claim, a slow lookup, a 408,
a wake) really happened before the outcome is judged.
"""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import FastClock, Served, invoke
from tests.delivery.test_processes import carctl, start_outage, stats
from tests.delivery.test_processes import recover as recover_at

M3, MY = "1492931337131", "1492931337242"


@pytest.fixture
def outage(served: Served, monkeypatch: pytest.MonkeyPatch, carctl_home: Path) -> Served:
    """Signed in to the served mock; both cars awake; every API request answers 500."""
    return start_outage(served, monkeypatch)


@pytest.fixture
def real_latency(served: Served) -> Iterator[None]:
    """Fault latency waits in real time (the mock's clock stands still otherwise)."""

    async def real_sleep(seconds: float) -> None:  # the mock's clock: the server is async
        await asyncio.sleep(seconds)

    served.clock.sleep = real_sleep  # type: ignore[method-assign]
    yield
    del served.clock.sleep  # type: ignore[attr-defined]


def db(carctl_home: Path) -> sqlite3.Connection:
    return sqlite3.connect(carctl_home / "state" / "state.db")


def recover(served: Served, carctl_home: Path) -> None:
    """The outage ends, and the breaker's cool-down is over."""
    recover_at(served, carctl_home / "state" / "state.db")


def executed(served: Served, car: str) -> list[str]:
    return [c["name"] for c in stats(served)["commands"] if c["vehicle"] == car]


def entry_row(carctl_home: Path, entry_id: int) -> dict[str, Any]:
    with db(carctl_home) as conn:
        conn.row_factory = sqlite3.Row
        return dict(conn.execute("SELECT * FROM queue WHERE id = ?", (entry_id,)).fetchone())


def queue_run() -> subprocess.CompletedProcess[str]:
    """`carctl --json queue run` as cron runs it: a process of its own, to the end."""
    return subprocess.run(
        [sys.executable, "-m", "carctl", "--json", "queue", "run"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def wait_for(condition: Any, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    raise AssertionError(f"never happened: {what}")


def rules_fired(served: Served) -> bool:
    """Every fault rule has met its request: the slow request is under way at the mock."""
    return all(rule["fired"] >= (rule["count"] or 1) for rule in _rules(served))


def claimed_during_a_slow_lookup(
    outage: Served, carctl_home: Path, words: tuple[str, ...]
) -> tuple[int, subprocess.Popen[str]]:
    """Queue `words` for the Model Y, then start `queue run` and return once it holds the
    entry and its car lookup (2 s, real time) is under way: the owner acts meanwhile."""
    queued = invoke("--json", "--vehicle", "Model Y", *words)
    assert queued.code == 75, queued.output
    (entry_id,) = queued.json()["queued"]["ids"]
    recover(outage, carctl_home)
    slow = {"method": "GET", "path": "/api/1/vehicles/*", "latency": 2, "count": 1}
    outage.admin("PUT", "/__mock__/faults", json={"rules": [slow]})
    worker = carctl("queue", "run")
    wait_for(lambda: entry_row(carctl_home, entry_id)["lease_owner"] == worker.pid, "the claim")
    wait_for(lambda: rules_fired(outage), "the slow lookup began")
    return entry_id, worker


@pytest.mark.parametrize(
    ("queued_words", "direct_words", "older", "newer"),
    [
        (
            ("climate", "on"),
            ("climate", "off"),
            "auto_conditioning_start",
            "auto_conditioning_stop",
        ),
        (("vent",), ("vent", "--close"), "vent", "close"),
    ],
)
def test_a_direct_command_supersedes_an_entry_a_worker_has_claimed(
    outage: Served,
    carctl_home: Path,
    real_latency: None,
    queued_words: tuple[str, ...],
    direct_words: tuple[str, ...],
    older: str,
    newer: str,
) -> None:
    entry_id, worker = claimed_during_a_slow_lookup(outage, carctl_home, queued_words)
    direct = invoke("--vehicle", "Model Y", *direct_words)
    assert direct.code == 0, direct.output
    out, err = worker.communicate(timeout=60)
    assert worker.returncode == 0, out + err
    row = entry_row(carctl_home, entry_id)
    assert row["status"] == "superseded", row
    names = [(c["name"], (c.get("params") or {}).get("command")) for c in stats(outage)["commands"]]
    sent = [name if name != "window_control" else word for name, word in names]
    assert sent == [newer], f"executed on the car: {sent}"  # the queued one never ran


def test_an_entry_cancelled_after_its_claim_is_not_sent(
    outage: Served, carctl_home: Path, real_latency: None
) -> None:
    """The owner cancels while the worker holds the entry (its car lookup is slow)."""
    entry_id, worker = claimed_during_a_slow_lookup(outage, carctl_home, ("climate", "on"))
    cancelled = invoke("queue", "cancel", str(entry_id))
    assert cancelled.code == 0, cancelled.output
    out, err = worker.communicate(timeout=60)
    assert worker.returncode == 0, out + err
    assert entry_row(carctl_home, entry_id)["status"] == "cancelled"
    assert stats(outage)["commands"] == []  # nothing reached the car


def _rules(served: Served) -> list[dict[str, Any]]:
    shown = served.admin("GET", "/__mock__/faults")
    return list(shown["rules"] if isinstance(shown, dict) else shown)


def test_an_entry_queued_by_name_is_superseded_by_a_direct_command(
    outage: Served, carctl_home: Path
) -> None:
    with db(carctl_home) as conn:
        conn.execute("DELETE FROM vehicle_cache")  # a first run: carctl never saw the cars
    queued = invoke("--json", "--vehicle", "Model Y", "climate", "on")
    assert queued.code == 75, queued.output
    (entry_id,) = queued.json()["queued"]["ids"]
    assert entry_row(carctl_home, entry_id)["vehicle_id"] == "name:model y"
    recover(outage, carctl_home)
    direct = invoke("--vehicle", "Model Y", "climate", "off")
    assert direct.code == 0, direct.output
    row = entry_row(carctl_home, entry_id)
    assert (row["status"], row["vehicle_id"]) == ("superseded", MY), row
    run = queue_run()
    assert run.returncode == 0, run.stderr
    assert executed(outage, MY) == ["auto_conditioning_stop"]


def test_an_entry_queued_by_name_is_adopted_by_any_lookup(
    outage: Served, carctl_home: Path
) -> None:
    with db(carctl_home) as conn:
        conn.execute("DELETE FROM vehicle_cache")
    queued = invoke("--json", "--vehicle", "model y", "vent")
    assert queued.code == 75, queued.output
    (entry_id,) = queued.json()["queued"]["ids"]
    recover(outage, carctl_home)
    assert invoke("vehicles").code == 0  # a lookup that sends nothing to the car
    row = entry_row(carctl_home, entry_id)
    assert (row["status"], row["vehicle_id"], row["vehicle_name"]) == ("pending", MY, "Model Y")


def test_a_command_that_expires_during_a_wake_is_not_sent(
    outage: Served, carctl_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    queued = invoke("--json", "--vehicle", "Model Y", "vent", "--expires-in", "6s")
    assert queued.code == 75, queued.output
    (entry_id,) = queued.json()["queued"]["ids"]
    recover(outage, carctl_home)
    # the car is awake when looked up, but falls asleep before the send: the command
    # answers 408 after 10 s (the car's idle time is 5 s), and the wake takes 40 s
    outage.admin("PATCH", f"/__mock__/vehicles/{MY}", json={"idle_sleep": 5, "wake_delay": 40})
    rule = {"path": "/api/1/vehicles/*/command/*", "status": 408, "latency": 10, "count": 1}
    outage.admin("PUT", "/__mock__/faults", json={"rules": [rule]})

    original = FastClock.sleep

    def both_clocks(self: FastClock, seconds: float) -> None:
        outage.clock.advance(seconds)  # carctl's waiting is the car's time passing
        original(self, seconds)

    monkeypatch.setattr(FastClock, "sleep", both_clocks)
    run = invoke("--json", "queue", "run")
    assert run.code == 0, run.output
    seen = stats(outage)
    by_path = {(r["method"], r["path"], r["status"]) for r in seen["requests"]}
    assert ("POST", f"/api/1/vehicles/{MY}/command/window_control", 408) in by_path
    assert ("POST", f"/api/1/vehicles/{MY}/wake_up", 200) in by_path  # the wake happened
    assert executed(outage, MY) == []  # ... and the vent was never sent after its expiry
    row = entry_row(carctl_home, entry_id)
    assert row["status"] == "expired", row


def test_a_clock_that_was_fast_cannot_send_an_expired_command(
    outage: Served, carctl_home: Path
) -> None:
    """Queued by a process whose clock is an hour fast; sent later by one with the true time."""
    fast = (
        "import time, runpy, sys\n"
        "real = time.time\n"
        "time.time = lambda: real() + 3600\n"
        "sys.argv = ['carctl', *sys.argv[1:]]\n"
        "runpy.run_module('carctl', run_name='__main__')\n"
    )
    queued = subprocess.run(
        [
            sys.executable,
            "-c",
            fast,
            "--json",
            "--vehicle",
            "Model Y",
            "vent",
            "--expires-in",
            "1s",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert queued.returncode == 75, queued.stderr
    (entry_id,) = __import__("json").loads(queued.stdout)["queued"]["ids"]
    row = entry_row(carctl_home, entry_id)
    # the process's clock was an hour fast; the queue counted the second from confirmed time
    assert abs(row["created_at"] - time.time()) < 60
    recover(outage, carctl_home)
    time.sleep(1.2)  # its one second passes, for real
    run = queue_run()
    assert run.returncode == 0, run.stderr
    assert executed(outage, MY) == []
    assert entry_row(carctl_home, entry_id)["status"] == "expired"


def command_requests(served: Served) -> int:
    """Requests that reached the Model Y's climate-on endpoint, whatever the answer."""
    return sum(
        r["count"]
        for r in stats(served)["requests"]
        if r["path"] == f"/api/1/vehicles/{MY}/command/auto_conditioning_start"
    )


def test_a_live_holders_lease_is_not_taken_when_it_runs_out(
    outage: Served, carctl_home: Path, real_latency: None
) -> None:
    queued = invoke("--json", "--vehicle", "Model Y", "climate", "on")
    assert queued.code == 75, queued.output
    (entry_id,) = queued.json()["queued"]["ids"]
    recover(outage, carctl_home)
    tried = command_requests(outage)  # the attempts that met the outage
    slow = {"path": "/api/1/vehicles/*/command/*", "latency": 2.5, "count": 1}
    outage.admin("PUT", "/__mock__/faults", json={"rules": [slow]})
    first = carctl("queue", "run")
    wait_for(lambda: entry_row(carctl_home, entry_id)["lease_owner"] == first.pid, "the claim")
    wait_for(lambda: rules_fired(outage), "the command is on the wire")
    with db(carctl_home) as conn:  # the lease runs out (a suspended laptop, a long wake)
        conn.execute("UPDATE queue SET lease_until = 0 WHERE id = ?", (entry_id,))
    second = queue_run()
    # 75: something is still pending (the first runner's entry), and it sent nothing
    assert second.returncode == 75, second.stderr
    assert "Traceback" not in second.stderr
    assert first.poll() is None, "the first runner had already finished: no overlap was tested"
    out, err = first.communicate(timeout=60)
    assert first.returncode == 0, out + err
    seen = stats(outage)
    sends = command_requests(outage) - tried
    assert sends == 1, seen["requests"]  # not even a replay: the second runner sent nothing
    assert executed(outage, MY) == ["auto_conditioning_start"]
    assert entry_row(carctl_home, entry_id)["status"] == "delivered"
