"""Crash safety: kill -9 a delivering carctl at a random moment, 200 times.

Each trial queues a command during an outage, lets the service recover, starts
`carctl queue run` as a real process and kills it after a random delay —
before it sends, while the command is on the wire (the command endpoint
answers slowly in half the trials), after the answer, before the queue is
updated. The next pass must deliver the entry: none lost, none executed twice
(executions per idempotency key, counted by the mock), and the queue left
consistent (nothing pending, no lease held by a dead process).
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

    async def real_sleep(seconds: float) -> None:
        await asyncio.sleep(seconds)

    served.clock.sleep = real_sleep  # type: ignore[method-assign]
    rng = random.Random(20211120)
    lost = duplicated = killed = 0
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
            rules = (
                [{"path": "/api/1/vehicles/*/command/*", "latency": rng.uniform(0.05, 0.4)}]
                if slow
                else []
            )
            served.admin("PUT", "/__mock__/faults", json={"rules": rules})
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
            lost=lost,
            duplicated=duplicated,
        )
    assert (lost, duplicated) == (0, 0)
