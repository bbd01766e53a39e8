"""Crash safety: kill -9 a delivering carctl at a random moment, 200 times.

Each trial queues a command during an outage, lets the service recover, starts
`carctl queue run` as a real process and kills it after a random delay —
before it sends, while the command is on the wire (the command endpoint
answers slowly in half the trials), after the answer, before the queue is
updated. The next pass must deliver the entry: none lost, none executed twice
(executions per idempotency key, counted by the mock), and the queue left
consistent (nothing pending, no lease held by a dead process).

Where each kill landed is read from the mock, not guessed from the clock: the
command endpoint's fault rule counts the requests that reached it, and the
queue shows whether the delivery was recorded. A kill counts as "mid-send"
only when the command had reached the mock and its delivery was not yet
recorded; the suite fails unless enough trials met that moment.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from carctl.mock.seed import RateLimits
from carctl.mock.store import MemoryStore
from tests.conftest import Served, invoke, make_seed, sign_in
from tests.reliability.numbers import record

TRIALS = 200
MIN_MID_SEND = 15  # of 200 (about 30 are seen): the moment this suite is about must be met
M3 = "1492931337131"


@pytest.mark.slow
def test_kill_9_at_any_moment_loses_nothing_and_repeats_nothing(
    served: Served, monkeypatch: pytest.MonkeyPatch, carctl_home: Path
) -> None:
    seed = make_seed(wake_delay=0.0, idle_sleep=10**6)
    seed = dataclasses.replace(
        seed,
        settings=dataclasses.replace(
            seed.settings, rate_limits=RateLimits(commands_per_minute=10**6)
        ),
    )
    served.app.state.api.store = MemoryStore(seed)
    monkeypatch.setenv("CARCTL_API_URL", served.url)
    served.admin("PATCH", f"/__mock__/vehicles/{M3}", json={"state": "online"})
    sign_in()
    assert invoke("--vehicle", "Model 3", "vehicles").code == 0
    db = carctl_home / "state" / "state.db"

    async def real_sleep(seconds: float) -> None:  # the mock's clock: the server is async
        await asyncio.sleep(seconds)

    served.clock.sleep = real_sleep  # type: ignore[method-assign]
    rng = random.Random(20211120)
    lost = duplicated = killed = 0
    moments = {"before any request": 0, "before the command": 0, "mid-send": 0, "after": 0}
    try:
        for trial in range(TRIALS):
            served.admin(
                "PUT", "/__mock__/faults", json={"rules": [{"status": 500, "path": "/api/1/*"}]}
            )
            temp = str(15 + trial % 13)
            queued = invoke("--json", "--vehicle", "Model 3", "climate", "set", "--temp", temp)
            assert queued.code == 75, queued.output
            (entry_id,) = queued.json()["queued"]["ids"]
            slow = rng.random() < 0.5
            # a rule on the command endpoint in every trial: its `fired` count says whether
            # the command reached the mock; half the trials answer it slowly
            latency = rng.uniform(0.1, 0.6) if slow else 0.001
            rules = [{"path": "/api/1/vehicles/*/command/*", "latency": latency}]
            served.admin("PUT", "/__mock__/faults", json={"rules": rules})
            served.admin("DELETE", "/__mock__/stats")
            with sqlite3.connect(db) as conn:
                conn.execute("DELETE FROM api_health")  # the cool-down has passed
            worker = subprocess.Popen(
                [sys.executable, "-m", "carctl", "queue", "run"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            time.sleep(rng.uniform(0.0, 0.9))
            if worker.poll() is None:
                os.kill(worker.pid, signal.SIGKILL)
                killed += 1
                worker.wait(timeout=30)
                moments[_moment(served, db, entry_id)] += 1
            worker.wait(timeout=30)
            served.admin("DELETE", "/__mock__/faults")
            after = invoke("--json", "queue", "run")
            assert after.code == 0, after.output
            with sqlite3.connect(db) as conn:
                status, key, owner = conn.execute(
                    "SELECT status, idempotency_key, lease_owner FROM queue WHERE id = ?",
                    (entry_id,),
                ).fetchone()
                (pending,) = conn.execute(
                    "SELECT count(*) FROM queue WHERE status = 'pending'"
                ).fetchone()
            stats = served.admin("GET", "/__mock__/stats")
            executions = stats["executions"].get(key, 0)
            lost += int(status != "delivered" or executions == 0)
            duplicated += int(executions > 1)
            assert pending == 0 and owner is None
    finally:
        del served.clock.sleep  # type: ignore[attr-defined]
        record(
            "crash (kill -9 mid-delivery)",
            trials=TRIALS,
            killed=killed,
            **{f"killed {moment}": count for moment, count in moments.items()},
            lost=lost,
            duplicated=duplicated,
        )
    assert (lost, duplicated) == (0, 0)
    assert moments["mid-send"] >= MIN_MID_SEND, moments


def _moment(served: Served, db: Path, entry_id: int) -> str:
    """Where a kill landed, from the mock's counts and the queue (the killer is dead now)."""
    rules = served.admin("GET", "/__mock__/faults")["rules"]
    reached = sum(rule["fired"] for rule in rules)
    requests = sum(r["count"] for r in served.admin("GET", "/__mock__/stats")["requests"])
    with sqlite3.connect(db) as conn:
        (status,) = conn.execute("SELECT status FROM queue WHERE id = ?", (entry_id,)).fetchone()
    if reached == 0:
        return "before any request" if requests == 0 else "before the command"
    return "mid-send" if status == "pending" else "after"
