"""Eight carctl processes at once for a minute, against the served mock.

Three owners' loops send direct commands, one cron loop runs `queue run`, two
foreground workers deliver, one loop asks `auth status`, one loop lists the
cars; the service fails now and then (503s), and every 15 s the access token
expires on the server, so everyone needs a refresh at once. Every command
must run exactly once, nobody may see "database is locked" or a traceback,
and an expiry must never cost more than one refresh on the wire.

That the processes really overlapped is read from the mock: every command takes
0.2 s there, and the mock counts the command requests that arrived while
another request was being answered.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import Served, invoke, sign_in
from tests.reliability.numbers import record

RUN_S = 60.0
EXPIRE_EVERY_S = 15.0


@pytest.mark.slow
def test_eight_processes_for_a_minute(
    served: Served, monkeypatch: pytest.MonkeyPatch, carctl_home: Path
) -> None:
    monkeypatch.setenv("CARCTL_API_URL", served.url)
    for car in ("1492931337131", "1492931337242"):
        served.admin(
            "PATCH", f"/__mock__/vehicles/{car}", json={"state": "online", "idle_sleep": 10**6}
        )
    sign_in()
    assert invoke("vehicles").code == 0
    # every command takes 0.2 s on the mock (real time), so the processes' sends overlap
    rules = [
        {"status": 503, "path": "/api/1/vehicles/*/command/*", "rate": 0.2, "latency": 0.2},
        {"path": "/api/1/vehicles/*/command/*", "latency": 0.2},
    ]
    served.admin("PUT", "/__mock__/faults", json={"rules": rules})

    async def real_sleep(seconds: float) -> None:  # the mock's clock: the server is async
        await asyncio.sleep(seconds)

    served.clock.sleep = real_sleep  # type: ignore[method-assign]

    deadline = time.monotonic() + RUN_S
    errors: list[str] = []
    runs: list[int] = []

    def loop(*commands: tuple[str, ...]) -> None:
        index = 0
        while time.monotonic() < deadline:
            args = commands[index % len(commands)]
            index += 1
            result = subprocess.run(
                [sys.executable, "-m", "carctl", "--no-worker", *args],
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            runs.append(result.returncode)
            if result.returncode not in (0, 1, 69, 75) or "locked" in result.stderr:
                errors.append(f"{args}: {result.returncode} {result.stderr.strip()[:300]}")
            if "Traceback" in result.stderr:
                errors.append(f"{args}: traceback")

    m3, my = ("--vehicle", "Model 3"), ("--vehicle", "Model Y")
    loops = [
        ((*m3, "climate", "on"), (*m3, "climate", "off")),
        ((*my, "climate", "set", "--temp", "21"), (*my, "climate", "set", "--temp", "22")),
        ((*m3, "vent"), (*my, "vent"), (*m3, "vent", "--close")),
        (("queue", "run"),),
        (("auth", "status"),),
        (("vehicles",),),
    ]
    threads = [threading.Thread(target=loop, args=commands) for commands in loops]
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "carctl", "queue", "worker"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    expiries = 0
    started = deadline - RUN_S
    while started + (expiries + 1) * EXPIRE_EVERY_S < deadline - 10:  # activity follows each
        time.sleep(max(0.0, started + (expiries + 1) * EXPIRE_EVERY_S - time.monotonic()))
        served.clock.advance(9 * 3600)  # every access token expires on the server
        expiries += 1
    for thread in threads:
        thread.join(timeout=180)
    for worker in workers:
        worker.send_signal(signal.SIGTERM)
    for worker in workers:
        _, stderr = worker.communicate(timeout=60)
        assert "locked" not in stderr and "Traceback" not in stderr, stderr
    del served.clock.sleep  # type: ignore[attr-defined]
    served.admin("DELETE", "/__mock__/faults")
    from tests.delivery.test_processes import recover

    # the mock's clock stands still between the expiries: the last runs may have filled the
    # minute's command rate (its 429s keep entries queued); that minute passes too
    served.clock.advance(61)
    recover(served, carctl_home / "state" / "state.db")
    assert invoke("queue", "run").code == 0  # everything left is delivered

    stats = served.admin("GET", "/__mock__/stats")
    executions = stats["executions"]
    refreshes = sum(
        r["count"]
        for r in stats["requests"]
        if r["path"] == "/oauth2/v3/token" and r["status"] == 200
    )
    duplicated = sum(1 for n in executions.values() if n > 1)
    overlaps = stats["concurrency"]
    record(
        "concurrency (8 processes, 60 s)",
        runs=len(runs),
        commands_executed=len(executions),
        duplicated=duplicated,
        refreshes=refreshes - 1,
        expiries=expiries,
        overlapping_commands=overlaps["overlapping_commands"],
        max_in_flight=overlaps["max_in_flight"],
    )
    # the event this suite is about: commands on the wire while others were being answered
    assert overlaps["overlapping_commands"] >= 10, overlaps
    assert errors == []
    assert duplicated == 0
    # one refresh on the wire per expiry, never two: a second refresh would have
    # spent a rotated token (400 invalid_grant) or shown up as an extra 200.
    # (Fewer is possible: an expiry that lands while a refresh is on its way is
    # covered by that refresh's new token.)
    spent_twice = sum(
        r["count"]
        for r in stats["requests"]
        if r["path"] == "/oauth2/v3/token" and r["status"] != 200
    )
    assert spent_twice == 0
    assert 1 <= refreshes - 1 <= expiries
