"""The queue with years of mornings in it: listing and draining as it grows.

    python benchmarks/queue_scale.py [--history 1000,10000,100000] [--drain 1000,10000]

Listing: a home whose queue holds N finished entries (delivered, cancelled,
expired, superseded: a history inside the retention period, so none of it is
pruned) and three pending ones; `carctl queue` runs as an owner's shell runs
it, a fresh process each time, its wall time and peak RSS measured (median of
seven). Its time at the largest history should be within 1.2x of its time at
the smallest, its memory flat.

Draining: N pending entries for one car (one climate command queued during an
outage, copied with a slot and an idempotency key of their own, as if the
owner had queued that many different commands), then one `carctl queue run`
against `carctl mock serve` (a seed without rate limits, the car awake) until
the queue is empty. Time per entry should stay flat as N grows (linear), and
10,000 entries should drain within 30 s.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from harness import CARCTL, OWNER, PASSWORD, Runs, admin, measure, run_once

HERE = Path(__file__).resolve().parent
SEED = f"""
[settings]
idle_sleep = "24h"
[settings.rate_limits]
data_per_minute = 1000000
commands_per_minute = 1000000
wakes_per_minute = 1000000

[[accounts]]
email = "{OWNER}"
password = "{PASSWORD}"

[[vehicles]]
owner = "{OWNER}"
display_name = "Model 3"
vin = "5YJ3E1EA7KF000131"
state = "online"
"""
FINISHED = ("delivered", "cancelled", "expired", "superseded")


def home_env(home: str, url: str | None = None) -> dict[str, str]:
    env = {**os.environ, "CARCTL_HOME": home, "CI": "1"}
    env.pop("CARCTL_API_URL", None)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if url:
        env["CARCTL_API_URL"] = url
    return env


def copy_rows(db_path: Path, template_id: int, count: int, status: str | None) -> None:
    """`count` copies of one real queue row: finished ones spread over 20 days, or pending."""
    now = time.time()
    with sqlite3.connect(db_path) as db:
        columns = [c[1] for c in db.execute("PRAGMA table_info(queue)") if c[1] != "id"]
        row = dict(
            zip(
                columns,
                db.execute(
                    f"SELECT {', '.join(columns)} FROM queue WHERE id = ?",  # noqa: S608 - its own
                    (template_id,),
                ).fetchone(),
                strict=True,
            )
        )
        rows = []
        for n in range(count):
            copy = dict(row)
            copy["slot"] = f"bench-{n}"
            copy["idempotency_key"] = uuid.uuid4().hex
            if status is None:
                copy.update(status="pending", next_attempt_at=now, expires_at=now + 3600)
            else:
                finished = now - 20 * 86400 * (count - n) / count
                copy.update(
                    status=FINISHED[n % len(FINISHED)],
                    created_at=finished - 60,
                    finished_at=finished,
                    expires_at=finished + 1800,
                )
            rows.append(tuple(copy[c] for c in columns))
        marks = ", ".join("?" * len(columns))
        insert = f"INSERT INTO queue ({', '.join(columns)}) VALUES ({marks})"  # noqa: S608
        db.executemany(insert, rows)
        if status is None:  # the template itself is one of the N
            db.execute("DELETE FROM queue WHERE id = ?", (template_id,))


@contextmanager
def served(home: str) -> Iterator[str]:
    """`carctl mock serve` with the seed above, for as long as the block runs; its URL."""
    seed = Path(home) / "seed.toml"
    seed.write_text(SEED)
    server = subprocess.Popen(
        [CARCTL, "mock", "serve", "--port", "0", "--admin", "--seed", str(seed)],
        env=home_env(home),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None
    line = server.stdout.readline()
    if "http://" not in line:
        raise SystemExit(f"the mock did not start: {line}")
    try:
        yield line.rsplit(" ", 1)[1].strip()
    finally:
        server.terminate()
        server.wait(timeout=10)


def one_queued(home: str, url: str) -> int:
    """Sign in, then queue one `climate on` during a made-up outage; its id."""
    env = home_env(home, url)
    subprocess.run(
        [CARCTL, "auth", "login", "--email", OWNER, "--password-stdin"],
        input=PASSWORD,
        env=env,
        text=True,
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [CARCTL, "config", "set", "vehicle", "Model 3"], env=env, check=True, capture_output=True
    )
    subprocess.run([CARCTL, "vehicles"], env=env, check=True, capture_output=True)
    admin(
        url, "POST", "/__mock__/faults", {"rules": ["status=503 path=/api/1/vehicles/*/command/*"]}
    )
    queued = subprocess.run(
        [CARCTL, "--json", "--no-worker", "climate", "on", "--timeout", "2"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    admin(url, "DELETE", "/__mock__/faults")
    document = json.loads(queued.stdout)
    if not document.get("queued"):
        raise SystemExit(f"nothing was queued: {queued.stdout}{queued.stderr}")
    # the outage opened the breaker: this benchmark is about the queue, not about waiting
    with sqlite3.connect(Path(home) / "state" / "state.db") as db:
        db.execute("DELETE FROM api_health")
    return int(document["queued"]["ids"][0])


def listing(sizes: list[int]) -> dict[int, Runs]:
    results = {}
    for size in sizes:
        home = tempfile.mkdtemp(prefix="carctl-queue-")
        with served(home) as url:
            template = one_queued(home, url)
        copy_rows(Path(home) / "state" / "state.db", template, size, status="history")
        env = home_env(home)
        run_once([CARCTL, "queue"], env, Runs())  # the page cache, and proof that it works
        results[size] = measure([CARCTL, "queue"], env, 7)
        print(f"  listed with {size:>7,} entries in history", file=sys.stderr)
    return results


def draining(sizes: list[int]) -> dict[int, float]:
    results = {}
    for size in sizes:
        home = tempfile.mkdtemp(prefix="carctl-drain-")
        with served(home) as url:
            template = one_queued(home, url)
            db_path = Path(home) / "state" / "state.db"
            copy_rows(db_path, template, size, status=None)
            started = time.perf_counter()
            subprocess.run(
                [CARCTL, "queue", "run"], env=home_env(home, url), check=True, capture_output=True
            )
            results[size] = time.perf_counter() - started
            with sqlite3.connect(db_path) as db:
                counts = dict(db.execute("SELECT status, count(*) FROM queue GROUP BY status"))
            stats = admin(url, "GET", "/__mock__/stats")
            executed = sum(stats["executed"].values())  # type: ignore[index]
        if counts.get("delivered") != size or executed != size:
            raise SystemExit(f"{size} entries: {counts}, {executed} executed by the car")
        print(f"  drained {size:>7,} entries", file=sys.stderr)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--history", default="1000,10000,100000")
    parser.add_argument("--drain", default="1000,10000")
    args = parser.parse_args()
    history = [int(n) for n in args.history.split(",")]
    drain = [int(n) for n in args.drain.split(",")]
    listed = listing(history)
    drained = draining(drain)
    print(f"Python {sys.version.split()[0]} on {os.cpu_count()} cores\n")
    print(f"{'carctl queue':<28} {'median ms':>9} {'min–max':>9} {'RSS MiB':>8}")
    for size, runs in listed.items():
        print(
            f"{f'{size:,} in history':<28} {runs.median_ms:>9.1f} {runs.spread:>9}"
            f" {runs.median_rss:>8.1f}"
        )
    print(f"\n{'carctl queue run':<28} {'s':>9} {'ms/entry':>9}")
    for size, seconds in drained.items():
        print(f"{f'{size:,} pending':<28} {seconds:>9.1f} {seconds * 1000 / size:>9.2f}")
    small, large = min(listed), max(listed)
    time_growth = listed[large].median_ms / listed[small].median_ms
    rss_growth = listed[large].median_rss / listed[small].median_rss
    few, many = min(drained), max(drained)
    per_entry_growth = (drained[many] / many) / (drained[few] / few)
    targets = [
        (f"queue at {large:,} / at {small:,}: time", time_growth, 1.2, "x"),
        (f"queue at {large:,} / at {small:,}: peak RSS", rss_growth, 1.2, "x"),
        (f"queue run: ms/entry at {many:,} / at {few:,}", per_entry_growth, 1.2, "x"),
    ]
    if 10_000 in drained:
        targets.append(("queue run of 10,000 pending", drained[10_000], 30, " s"))
    print(f"\n{'target':<44} {'value':>7}   {'limit':<9} verdict")
    for name, value, limit, unit in targets:
        verdict = "holds" if value <= limit else "MISSED"
        shown = f"{value:.2f}{unit}" if unit == "x" else f"{value:.1f}{unit}"
        print(f"{name:<44} {shown:>7}   <= {limit:g}{unit:<4} {verdict}")


if __name__ == "__main__":
    main()
