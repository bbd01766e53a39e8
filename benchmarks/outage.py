"""Load during an outage, and delivery after it, against the served mock.

    python benchmarks/outage.py [--outage 120] [--every 3] [--seed 2021] [--svg FILE]

The mock is served over real HTTP on 127.0.0.1 with a manual clock; carctl's
own code (guard, budget, breaker, queue, worker passes) runs in this process
on the same simulated time, so two minutes of outage take a few seconds. A
scripted owner issues a command every `--every` seconds (cycling through
climate, temperature and windows on two cars; every fifth with a one-minute
expiry) while a worker makes a pass every second. The outage is the `outage`
scenario: every API request answers 500 until it ends.

Reported: API requests per user command during the outage, the delivery
delay after recovery (median, max), executions per idempotency key, and how
many commands were delivered, superseded and expired. Targets: <= 1.3
requests per command; every unexpired command delivered within 60 s of
recovery; each executed once. `--svg FILE` draws the run as a timeline (service
state, commands, queue depth, deliveries): docs/images/outage-timeline.svg is one.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
from pathlib import Path
from typing import Any

import httpx
from charts import Timeline, timeline_svg

from carctl.api.signin import login_with_password
from carctl.errors import CarctlError
from carctl.mock import create_app
from carctl.mock.clock import ManualClock
from carctl.mock.seed import load_seed
from carctl.mock.server import RunningServer
from carctl.paths import resolve_paths
from carctl.settings import load_settings
from carctl.stack import Queueing, Stack
from carctl.vehicle import routines

CARS = ("Model 3", "Model Y")


class LinkedClock:
    """carctl's clock on the mock's simulated time: sleeping moves both."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock

    def now(self) -> float:
        return self.clock.now()

    def sleep(self, seconds: float) -> None:
        self.clock.advance(seconds)


def run(outage_s: int, every_s: int, seed: int) -> dict[str, Any]:
    import dataclasses

    base = load_seed()
    mock_seed = dataclasses.replace(
        base, settings=dataclasses.replace(base.settings, wake_delay=0.0, idle_sleep=86400.0)
    )
    mock_clock = ManualClock()
    app = create_app(seed=mock_seed, clock=mock_clock, admin=True, rng=random.Random(seed))
    with RunningServer(app) as server:
        home = tempfile.mkdtemp(prefix="carctl-outage-")
        env = {**os.environ, "CARCTL_HOME": home, "CARCTL_API_URL": server.url, "CI": "1"}
        return simulate(server.url, env, LinkedClock(mock_clock), outage_s, every_s, seed)


def admin(url: str, method: str, path: str, body: Any = None) -> Any:
    with httpx.Client(base_url=url) as client:
        response = client.request(method, path, json=body)
        response.raise_for_status()
        return response.json()


def simulate(
    url: str, env: dict[str, str], clock: LinkedClock, outage_s: int, every_s: int, seed: int
) -> dict[str, Any]:
    paths = resolve_paths(env)
    settings = load_settings(paths.config_file, env=env)
    rng = random.Random(seed)
    stack = Stack(settings=settings, paths=paths, env=env, clock=clock)
    queue = stack.queue
    runner = stack.queue_runner(rng=rng)
    for car in ("1492931337131", "1492931337242"):
        admin(url, "PATCH", f"/__mock__/vehicles/{car}", {"state": "online"})
    with stack.car_run() as run:
        assert run.client.session is not None
        login_with_password(
            run.client,
            run.client.session.credentials,  # type: ignore[attr-defined]
            email="owner@example.com",
            password="ventilate-0600",  # noqa: S106 - the mock's seed account
            login_command="",
        )
        run.service.vehicles()

    def command(index: int) -> str:
        car = CARS[index % 2]
        kind = (index // 2) % 3
        expires = clock.now() + 60 if index % 5 == 4 else None
        with stack.car_run(rng=rng, queueing=Queueing(ttl_s=30 * 60)) as run:
            service = run.service
            try:
                if kind == 0:
                    routines.climate(service, car, on=index % 4 < 2, expires_at=expires)
                elif kind == 1:
                    temp = 16.0 + index % 12
                    routines.set_temperature(service, car, temp=temp, expires_at=expires)
                else:
                    routines.windows(service, car, close=False, expires_at=expires)
            except CarctlError as exc:
                return "queued" if exc.queued else exc.code
        return "sent"

    def requests() -> int:
        rows = (admin(url, "GET", "/__mock__/stats"))["requests"]
        return sum(r["count"] for r in rows if r["path"].startswith(("/api/", "/oauth2/")))

    start = clock.now()
    timeline = Timeline(outage_s=outage_s, end_s=outage_s)
    rules = [{"status": 500, "path": "/api/1/*", "for": outage_s}]
    admin(url, "PUT", "/__mock__/faults", {"rules": rules})
    before = requests()
    outcomes: list[str] = []
    index = 0
    while clock.now() < start + outage_s:
        due = start + index * every_s
        if due >= start + outage_s:
            break
        while clock.now() < due:  # the worker's passes, once a simulated second
            runner.one_pass(due_only=True)
            timeline.depth.append((clock.now() - start, queue.pending()))
            clock.clock.advance(min(1.0, due - clock.now()))
        outcomes.append(command(index))
        timeline.commands.append((clock.now() - start, outcomes[-1]))
        index += 1
    recovered = start + outage_s
    while clock.now() < recovered:
        runner.one_pass(due_only=True)
        timeline.depth.append((clock.now() - start, queue.pending()))
        clock.clock.advance(min(1.0, recovered - clock.now()))
    during = requests() - before
    delays: list[float] = []
    while queue.pending() and clock.now() - recovered < 600:
        runner.one_pass(due_only=True)
        timeline.depth.append((clock.now() - start, queue.pending()))
        clock.clock.advance(1.0)
    for _ in range(max(5, outage_s // 10)):  # a quiet tail after the last delivery
        timeline.depth.append((clock.now() - start, queue.pending()))
        clock.clock.advance(1.0)
    timeline.end_s = clock.now() - start
    for entry in queue.entries(include_finished=True, limit=10_000):
        if entry.status == "delivered" and entry.finished_at is not None:
            delays.append(max(0.0, entry.finished_at - recovered))
            timeline.deliveries.append(entry.finished_at - start)
    stats = admin(url, "GET", "/__mock__/stats")
    finished = queue.entries(include_finished=True, limit=10_000)
    timeline.superseded = sum(1 for e in finished if e.status == "superseded")
    stack.close()
    return {
        "commands": len(outcomes),
        "queued": outcomes.count("queued"),
        "requests_during": during,
        "per_command": during / max(1, len(outcomes)),
        "delivered": sum(1 for e in finished if e.status == "delivered"),
        "superseded": sum(1 for e in finished if e.status == "superseded"),
        "expired": sum(1 for e in finished if e.status == "expired"),
        "pending": sum(1 for e in finished if e.status == "pending"),
        "delay_median": statistics.median(delays) if delays else None,
        "delay_max": max(delays) if delays else None,
        "executions": sorted(set(stats["executions"].values())),
        "timeline": timeline,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--outage", type=int, default=120, help="outage length, seconds")
    parser.add_argument("--every", type=int, default=3, help="a command every N seconds")
    parser.add_argument("--seed", type=int, default=2021)
    parser.add_argument("--svg", metavar="FILE", help="also draw the run as a timeline (SVG)")
    args = parser.parse_args()
    r = run(args.outage, args.every, args.seed)
    if args.svg:
        title = f"An outage of {args.outage} s, a command every {args.every} s"
        Path(args.svg).write_text(timeline_svg(r["timeline"], title), encoding="utf-8")
    print(f"outage {args.outage} s, a command every {args.every} s, seed {args.seed}\n")
    print(f"user commands during the outage      {r['commands']} ({r['queued']} queued)")
    print(f"API requests during the outage       {r['requests_during']}")
    print(f"requests per user command            {r['per_command']:.2f}   (target <= 1.3)")
    print(
        f"queue entries                        {r['delivered']} delivered, "
        f"{r['superseded']} superseded, {r['expired']} expired, {r['pending']} pending"
    )
    if r["delay_median"] is not None:
        print(
            f"delivery after recovery              median {r['delay_median']:.0f} s, "
            f"max {r['delay_max']:.0f} s   (target <= 60 s)"
        )
    print(f"executions per idempotency key       {r['executions']}   (target [1])")
    ok = (
        r["per_command"] <= 1.3
        and r["pending"] == 0
        and (r["delay_max"] or 0) <= 60
        and r["executions"] in ([1], [])
    )
    print(f"\n{'all targets hold' if ok else 'a target is missed'}")
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
