"""A state.db changed by hand: clear words, no crash, and the readable entries kept."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.conftest import Endpoint, invoke
from tests.support.car import executed

OUTAGE = {"status": 500, "path": "/api/1/*"}


@pytest.fixture
def three_queued(car: Endpoint, carctl_home: Path) -> Endpoint:
    car.faults(OUTAGE)
    assert invoke("--vehicle", "Model 3", "climate", "on").code == 75
    assert invoke("--vehicle", "Model Y", "vent").code == 75
    assert invoke("--vehicle", "Model Y", "climate", "on").code == 75
    return car


def tamper(carctl_home: Path, *statements: str) -> None:
    with sqlite3.connect(carctl_home / "state" / "state.db") as db:
        for statement in statements:
            db.execute(statement)


def test_garbage_in_the_breaker_row(three_queued: Endpoint, carctl_home: Path) -> None:
    tamper(
        carctl_home,
        "UPDATE api_health SET tokens = 'lots', state = 'ajar', failures = -3",
    )
    doctor = invoke("--json", "doctor", "--offline", "state").json()
    check = next(c for c in doctor["data"]["checks"] if c["id"] == "state")
    assert check["status"] == "warn", check
    assert "the breaker row for" in check["detail"] and "tokens is not a number" in check["detail"]
    three_queued.faults()
    listing = invoke("queue")
    assert listing.code == 0, listing.output
    direct = invoke("--vehicle", "Model 3", "climate", "off")
    assert direct.code == 0, direct.output  # a fresh breaker: the command goes out


def test_a_queue_entry_with_unreadable_parameters(
    three_queued: Endpoint, carctl_home: Path
) -> None:
    tamper(carctl_home, "UPDATE queue SET params = '{not json' WHERE id = 2")
    listing = invoke("--json", "queue")
    assert listing.code == 0, listing.output
    document = listing.json()
    assert [e["id"] for e in document["data"]["entries"]] == [1, 3]  # the readable ones
    state_db = carctl_home / "state" / "state.db"
    assert any(
        f"queue entry #2: its parameters are not a JSON object in {state_db}" in w
        and "`carctl queue cancel 2` drops it" in w
        for w in document["warnings"]
    ), document["warnings"]
    shown = invoke("queue", "show", "2")
    assert shown.code == 78, shown.output
    assert f"queue entry #2: its parameters are not a JSON object in {state_db}" in shown.stderr
    assert "Traceback" not in shown.output

    doctor = invoke("--json", "doctor", "--offline", "state").json()
    check = next(c for c in doctor["data"]["checks"] if c["id"] == "state")
    assert check["status"] == "warn" and "queue entry #2" in check["detail"], check
    assert "carctl queue cancel 2" in check["remediation"]

    three_queued.faults()
    with sqlite3.connect(state_db) as db:
        db.execute("DELETE FROM api_health")
        db.execute("UPDATE queue SET next_attempt_at = 0")
    run = invoke("--json", "queue", "run")
    assert run.code in (0, 1), run.output
    statuses = {
        e["id"]: e["status"]
        for e in invoke("--json", "queue", "list", "--all").json()["data"]["entries"]
    }
    assert statuses[1] == "delivered" and statuses[3] == "delivered", statuses
    assert sorted(c["name"] for c in executed(three_queued)) == [
        "auto_conditioning_start",
        "auto_conditioning_start",
    ]  # the unreadable vent was never sent
    failed = invoke("--json", "queue", "show", "2")  # the pass failed it, with the reason
    assert failed.code == 78 and "its parameters are not a JSON object" in failed.stdout
    cancelled = invoke("queue", "cancel", "2")
    assert cancelled.code == 1
    assert cancelled.stderr.startswith("error: entry #2 is already failed; nothing to cancel")


def test_a_dropped_column(three_queued: Endpoint, carctl_home: Path) -> None:
    tamper(carctl_home, "ALTER TABLE queue DROP COLUMN last_txid")
    doctor = invoke("--json", "doctor", "--offline", "state").json()
    check = next(c for c in doctor["data"]["checks"] if c["id"] == "state")
    assert check["status"] == "warn", check
    assert "queue.last_txid was missing (restored, empty)" in check["detail"]
    listing = invoke("--json", "queue")
    assert listing.code == 0, listing.output
    assert [e["id"] for e in listing.json()["data"]["entries"]] == [1, 2, 3]
    assert invoke("--vehicle", "Model 3", "climate", "on").code == 75  # queues as before


def test_a_dropped_required_column_keeps_the_rest(
    three_queued: Endpoint, carctl_home: Path
) -> None:
    tamper(carctl_home, "ALTER TABLE queue DROP COLUMN command")
    listing = invoke("--json", "queue")
    assert listing.code == 0, listing.output
    # restored empty: every old row lacks its command, so each is reported, none is lost
    assert listing.json()["data"]["entries"] == []
    assert len(listing.json()["warnings"]) == 3
    assert invoke("--vehicle", "Model 3", "climate", "on").code == 75
    assert [e["id"] for e in invoke("--json", "queue").json()["data"]["entries"]] == [4]
    assert json.loads(invoke("--json", "queue", "cancel", "2").stdout)["ok"] is True


CONNECT = (
    "import sys; from pathlib import Path; from carctl import state; "
    "state.connect(Path(sys.argv[1])).close(); "
    "print(state.reference_schema.cache_info().misses)"
)


def compared_in_a_new_process(db: Path) -> bool:
    """Did a fresh process compare the whole schema with the migrations' on opening `db`?"""
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-c", CONNECT, str(db)],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    return result.stdout.strip() == "1"


def test_the_schema_is_compared_again_only_after_a_change(carctl_home: Path) -> None:
    db = carctl_home / "state" / "state.db"
    assert compared_in_a_new_process(db)  # created, then compared once
    assert not compared_in_a_new_process(db)  # unchanged since: nothing to compare
    tamper(carctl_home, "ALTER TABLE queue DROP COLUMN last_txid")
    assert compared_in_a_new_process(db)  # a change by hand is noticed, and repaired
    with sqlite3.connect(db) as conn:
        assert "last_txid" in {row[1] for row in conn.execute("PRAGMA table_info(queue)")}
    assert not compared_in_a_new_process(db)
    tamper(carctl_home, "DROP TABLE schema_checked")  # even the record of the check
    assert compared_in_a_new_process(db)
    assert not compared_in_a_new_process(db)
