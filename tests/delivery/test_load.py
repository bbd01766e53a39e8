"""Load during an outage, simulated on the served mock's clock (no waiting).

A script issues a command every 2 s through a 60 s hard outage while the
worker makes its passes; afterwards the worker delivers. The design's targets:
at most 1.3 API requests per user command during the outage, every unexpired
command delivered within 60 s of recovery, each executed once.
"""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import pytest

from carctl.api.signin import login_with_password
from carctl.errors import CarctlError
from carctl.paths import resolve_paths
from carctl.settings import load_settings
from carctl.stack import Queueing, Stack
from carctl.vehicle import routines
from tests.conftest import OWNER, PASSWORD, Served
from tests.vehicle.test_wake import LinkedClock

M3 = "1492931337131"
OUTAGE_S = 60
EVERY_S = 2


def api_requests(served: Served) -> int:
    rows = served.admin("GET", "/__mock__/stats")["requests"]
    return sum(r["count"] for r in rows if r["path"].startswith(("/api/", "/oauth2/")))


def test_outage_load_and_recovery(
    served: Served, monkeypatch: pytest.MonkeyPatch, carctl_home: Path
) -> None:
    monkeypatch.setenv("CARCTL_API_URL", served.url)
    served.admin("PATCH", f"/__mock__/vehicles/{M3}", json={"state": "online", "idle_sleep": 86400})
    env = dict(os.environ)
    paths = resolve_paths(env)
    settings = load_settings(paths.config_file, env=env)
    clock = LinkedClock(served)
    rng = random.Random(2021)
    stack = Stack(settings=settings, paths=paths, env=env, clock=clock)
    queue = stack.queue
    runner = stack.queue_runner(rng=rng)

    def command(temp: float) -> str:
        """One `carctl climate set` as the CLI builds it: the stack, with the queue."""
        with stack.car_run(rng=rng, queueing=Queueing(ttl_s=30 * 60)) as run:
            try:
                routines.set_temperature(run.service, "Model 3", temp=temp)
            except CarctlError as exc:
                return "queued" if exc.queued else exc.code
        return "sent"

    with stack.car_run() as run:
        assert run.client.session is not None
        credentials = run.client.session.credentials  # type: ignore[attr-defined]
        login_with_password(
            run.client, credentials, email=OWNER, password=PASSWORD, login_command=""
        )
        run.service.vehicles()

    start = clock.now()
    served.admin(
        "PUT",
        "/__mock__/faults",
        json={"rules": [{"status": 500, "path": "/api/1/*", "for": OUTAGE_S}]},
    )
    before = api_requests(served)
    outcomes: list[str] = []
    for i in range(OUTAGE_S // EVERY_S):
        target = start + i * EVERY_S
        if clock.now() < target:
            served.clock.advance(target - clock.now())
        runner.one_pass(due_only=True)  # the worker's pass
        outcomes.append(command(16.0 + i % 12))
    during = api_requests(served) - before
    recovered_at = start + OUTAGE_S
    if clock.now() < recovered_at:
        served.clock.advance(recovered_at - clock.now())
    last_delivery = None
    while queue.pending() and clock.now() - recovered_at < 300:
        result = runner.one_pass(due_only=True)
        if result.delivered:
            last_delivery = clock.now()
        served.clock.advance(1.0)
    stack.close()

    stats: dict[str, Any] = served.admin("GET", "/__mock__/stats")
    per_command = during / len(outcomes)
    delay = (last_delivery or clock.now()) - recovered_at
    print(
        f"\noutage load: {len(outcomes)} commands, {during} requests during the outage "
        f"({per_command:.2f} per command); delivered {delay:.0f} s after recovery; "
        f"executions {sorted(set(stats['executions'].values()))}"
    )
    assert outcomes.count("queued") == len(outcomes)
    assert per_command <= 1.3
    assert queue_empty(paths.state_db)
    assert last_delivery is not None and delay <= 60
    assert set(stats["executions"].values()) == {1}
    # supersession: only the newest temperature was worth sending
    assert [c["params"]["driver_temp"] for c in stats["commands"]] == [16.0 + 29 % 12]


def queue_empty(db: Path) -> bool:
    import sqlite3

    with sqlite3.connect(db) as conn:
        (pending,) = conn.execute("SELECT count(*) FROM queue WHERE status = 'pending'").fetchone()
    return int(pending) == 0
