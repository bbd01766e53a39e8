"""What an owner reads during an outage, at 80 columns: the queued message in three lines
whatever failed, a queue whose "Last" column moves with the outage, and a breaker that
never promises a time already past."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

from tests.conftest import Endpoint, FastClock, invoke

ESCAPES = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def screen_lines(text: str) -> list[str]:
    return [line for line in ESCAPES.sub("", text).splitlines() if line.strip()]


@pytest.mark.parametrize(
    "rules",
    [
        [{"status": 502, "path": "/api/1/*", "body": "html"}],  # a gateway's error pages
        [{"status": 504, "path": "/api/1/*", "body": "html"}],
        [{"status": 500, "path": "/api/1/*"}],
        [{"status": 503, "path": "/api/1/*", "count": 1}, {"status": 500, "path": "/api/1/*"}],
        [{"drop": True, "path": "/api/1/*"}],  # no answer at all
    ],
)
def test_the_queued_message_is_three_lines_at_80_columns(
    car: Endpoint,
    carctl_home: Path,
    rules: list[dict[str, object]],
) -> None:
    car.faults(*rules)
    with sqlite3.connect(carctl_home / "state" / "state.db") as db:  # ids of two digits
        db.execute(
            "INSERT INTO queue (id, scope, api_url, vehicle_id, vehicle_name, command, params,"
            " slot, idempotency_key, batch, created_at, expires_at, attempts, next_attempt_at,"
            " status) VALUES (41, 's@x', 'x', 'v', 'V', 'auto_conditioning_start', '{}', 'c',"
            " 'k41', 'b', 0, 0, 0, 0, 'cancelled')"
        )
    try:
        for worker in (["--no-worker"], []):  # the second starts a real background worker
            words = (*worker, "--vehicle", "Model 3", "vent")
            result = invoke(*words, terminal=True, env={"CI": ""})
            assert result.code == 75, result.output
            lines = screen_lines(result.stderr)
            queued = [line for line in lines if not line.startswith(("warning:", "  "))]
            assert [line.split(":", 1)[0] for line in queued] == ["queued", "why", "next"], lines
            assert all(len(line) <= 80 for line in queued), queued
    finally:  # nothing left pending: the worker stops, and leaves the shared mock alone
        invoke("queue", "cancel", "--all")


def test_the_last_column_moves_with_the_outage(
    car: Endpoint,
    carctl_home: Path,
) -> None:
    car.faults({"status": 500, "path": "/api/1/*"})
    assert invoke("--no-worker", "--vehicle", "Model 3", "vent").code == 75
    first = invoke("queue", terminal=True)
    FastClock.offset += 3 * 3600  # three hours of outage later (the entry's ttl allows it)
    with sqlite3.connect(carctl_home / "state" / "state.db") as db:
        db.execute("UPDATE queue SET expires_at = expires_at + 86400")
        db.execute("DELETE FROM api_health")
    assert invoke("--json", "queue", "retry", "--all").code == 75  # it fails again, now
    later = invoke("queue", terminal=True)
    last = [re.search(r"500 · (\d\d:\d\d)", ESCAPES.sub("", r.stdout)) for r in (first, later)]
    assert last[0] and last[1], (first.stdout, later.stdout)
    assert last[0].group(1) != last[1].group(1)  # the newest failure, not the first


def test_the_breaker_never_shows_a_next_try_already_past(
    car: Endpoint,
    carctl_home: Path,
) -> None:
    car.faults({"status": 500, "path": "/api/1/*"})
    for _ in range(3):
        invoke("--no-worker", "--vehicle", "Model 3", "vent")
    opened = screen_lines(invoke("queue", terminal=True).stdout)
    assert any(": breaker open" in line for line in opened), opened
    FastClock.offset += 600  # the cool-down is over; nobody has probed yet
    shown = screen_lines(invoke("queue", terminal=True).stdout)
    footer = next(line for line in shown if ": breaker " in line)
    assert "next try at" not in footer, footer
    assert "breaker half-open (the next try probes)" in footer, footer
    assert len(footer) <= 80


def test_queue_show_speaks_as_the_listing_does(
    car: Endpoint,
    carctl_home: Path,
) -> None:
    car.faults({"status": 500, "path": "/api/1/*"})
    queued = invoke(
        "--json", "--no-worker", "--vehicle", "Model 3", "climate", "set", "--temp", "21"
    )
    (entry_id,) = queued.json()["queued"]["ids"]
    shown = ESCAPES.sub("", invoke("queue", "show", str(entry_id), terminal=True).stdout)
    assert "{" not in shown and "'" not in shown, shown  # no Python dict
    assert "driver 21.0 °C" in shown, shown
    assert not re.search(r"\d{4}-\d\d-\d\dT", shown), shown  # local HH:MM, as the list
    assert re.search(r"queued +\d\d:\d\d \(", shown), shown
    assert re.search(r"expires +\d\d:\d\d", shown), shown
