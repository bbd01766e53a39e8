"""A queue for years of mornings: old history pruned, listing and draining that stay flat.

Speed is measured in `benchmarks/queue_scale.py`; what is asserted here is the
cause of the slowness it found: rows read or written that the work does not
need, counted on the real SQLite connection.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from carctl.delivery.leases import RENEW_EVERY_S
from carctl.delivery.queue import Queue
from carctl.state import StateDB
from tests.conftest import invoke
from tests.delivery.conftest import Monotonic, cmd
from tests.delivery.test_queue import LIVE, T0, add, statuses

DAY = 86400.0


def test_finished_entries_older_than_the_retention_go_and_pending_ones_stay(
    queue: Queue, mono: Monotonic
) -> None:
    old_done, old_cancelled = (
        add(queue, cmd("auto_conditioning_start", f"s{n}", f"k{n}"))[0] for n in (1, 2)
    )
    queue.claim(owner=LIVE, now=T0)
    queue.delivered(old_done, now=T0)
    queue.cancel(old_cancelled, now=T0)
    waiting = add(queue, cmd("auto_conditioning_start", "climate", "k3"), now=T0 + 29 * DAY)[0]
    recent = add(queue, cmd("auto_conditioning_stop", "lights", "k4"), now=T0 + 29 * DAY)[0]
    queue.cancel(recent, now=T0 + 29 * DAY)
    mono.value += 31 * DAY  # a month passes, as the since-boot clock confirms

    fresh = Queue(queue.db, retention_s=30 * DAY, monotonic=mono, boot=lambda: "boot-1")
    entries, problems = fresh.listing(now=T0 + 31 * DAY, include_finished=True)

    assert [e.id for e in entries] == [waiting, recent] and problems == []
    assert statuses(fresh) == {waiting: "pending", recent: "cancelled"}


def test_a_clock_a_month_fast_does_not_take_the_history(queue: Queue) -> None:
    done = add(queue, cmd("auto_conditioning_start", "horn", "k1"))[0]
    queue.claim(owner=LIVE, now=T0)
    queue.delivered(done, now=T0)
    fast = Queue(queue.db, retention_s=30 * DAY, monotonic=lambda: 1000.0, boot=lambda: "boot-1")
    fast.listing(now=T0 + 40 * DAY)  # the wall clock says 40 days; nothing confirms it
    assert statuses(queue) == {done: "delivered"}


def damage(db: StateDB, entry_id: int) -> None:
    db.connection().execute("UPDATE queue SET params = 'not json' WHERE id = ?", (entry_id,))
    db.connection().commit()


def test_listing_reads_the_page_and_the_pending_rows_not_the_whole_history(
    queue: Queue,
) -> None:
    ids = [add(queue, cmd("auto_conditioning_start", f"s{n}", f"k{n}"))[0] for n in range(6)]
    for entry_id in ids[:5]:
        queue.cancel(entry_id, now=T0)
    damage(queue.db, ids[0])  # an old finished row, beyond the page
    damage(queue.db, ids[5])  # a pending one: it would be sent, so it is always checked
    damage(queue.db, ids[4])  # a finished one on the page
    read: list[str] = []
    queue.db.connection().set_trace_callback(read.append)

    entries, problems = queue.listing(now=T0, include_finished=True, limit=3)

    queue.db.connection().set_trace_callback(None)
    assert [e.id for e in entries] == ids[3:4]
    assert [p.entry_id for p in problems] == [ids[4], ids[5]]
    assert not any(
        "ORDER BY id" in sql and "LIMIT" not in sql and "pending" not in sql for sql in read
    )  # no statement reads every row
    assert [p.entry_id for p in queue.unreadable()] == [ids[0], ids[4], ids[5]]  # doctor's


def rows_written(db: StateDB) -> int:
    return db.connection().total_changes


def drain(queue: Queue, count: int, at: float) -> int:
    """Queue `count` entries for one car and deliver them as the worker does (two checks and
    a request each, a sign of life with every request); the rows written meanwhile."""
    add(
        queue,
        *(cmd("auto_conditioning_start", f"slot-{at}-{n}", f"k{n}") for n in range(count)),
        now=at,
    )
    before = rows_written(queue.db)
    batch = queue.claim(owner=LIVE, now=at)
    assert len(batch) == count
    for step, entry in enumerate(batch):
        now = at + step * 0.05  # twenty requests a second
        assert queue.begin_send(entry.id, owner=LIVE, now=now) is not None
        queue.renew(batch, owner=LIVE, now=now)
        assert queue.begin_send(entry.id, owner=LIVE, now=now) is not None
        queue.renew(batch, owner=LIVE, now=now)
        queue.delivered(entry.id, now=now)
    return rows_written(queue.db) - before


def test_draining_writes_each_entry_a_fixed_number_of_times(tmp_path: Path) -> None:
    small = Queue(StateDB(tmp_path / "a.db"), is_alive=lambda pid, identity: True)
    large = Queue(StateDB(tmp_path / "b.db"), is_alive=lambda pid, identity: True)
    per_entry_small = drain(small, 40, T0) / 40
    per_entry_large = drain(large, 160, T0) / 160
    # renewing every id of the batch on every request made this grow with the batch: O(N²)
    assert per_entry_large <= per_entry_small * 1.1, (per_entry_small, per_entry_large)
    assert statuses(large) == dict.fromkeys(statuses(large), "delivered")


def test_a_holder_renews_its_leases_at_most_every_few_seconds(queue: Queue) -> None:
    add(queue, *(cmd("auto_conditioning_start", f"s{n}", f"k{n}") for n in range(3)))
    batch = queue.claim(owner=LIVE, now=T0)
    connection = queue.db.connection()
    writes: list[str] = []
    connection.set_trace_callback(lambda sql: writes.append(sql) if "lease_until" in sql else None)
    for tick in range(20):
        queue.renew(batch, owner=LIVE, now=T0 + tick * 0.5)  # ten seconds of requests
    queue.renew(batch, owner=LIVE, now=T0 + RENEW_EVERY_S + 1)
    connection.set_trace_callback(None)
    assert len(writes) == 2
    (until,) = {row[0] for row in connection.execute("SELECT lease_until FROM queue")}
    assert until > T0 + RENEW_EVERY_S + 1


def test_pruning_finds_old_rows_by_an_index(queue: Queue) -> None:
    add(queue, cmd("auto_conditioning_start", "horn", "k1"))
    plan = " ".join(
        str(row[-1])
        for row in queue.db.connection().execute(
            "EXPLAIN QUERY PLAN DELETE FROM queue WHERE status != 'pending' AND finished_at < ?",
            (T0,),
        )
    )
    assert "queue_finished" in plan, plan
    expiry = " ".join(
        str(row[-1])
        for row in queue.db.connection().execute(
            "EXPLAIN QUERY PLAN SELECT id FROM queue WHERE status = 'pending' AND expires_at <= ?",
            (T0,),
        )
    )
    assert "queue_expiry" in expiry, expiry
    assert isinstance(queue.db.connection(), sqlite3.Connection)


def test_the_full_listing_says_how_far_back_it_goes() -> None:
    assert invoke("config", "set", "queue.retention", "90d").code == 0
    listed = invoke("--json", "queue", "list", "--all")
    assert listed.code == 0, listed.stderr
    history = listed.json()["data"]["history"]
    assert history["retention"] == "90d" and history["kept_s"] == 90 * DAY
    assert history["since"].endswith("Z")
    shown = invoke("queue", "list", "--all")
    assert "history: finished entries are kept 90d (setting queue.retention)" in shown.stdout


@pytest.mark.parametrize(
    ("value", "why"),
    [("10m", "at least 1h"), ("forever", "a duration such as 30d"), ("4000d", "at most 3650d")],
)
def test_a_retention_carctl_cannot_keep_is_refused(value: str, why: str) -> None:
    refused = invoke("config", "set", "queue.retention", value)
    assert refused.code == 2
    assert why in refused.stderr and "queue.retention" in refused.stderr
    assert "\n" not in refused.stderr.strip()
    assert invoke("config", "get", "queue.retention").stdout.strip() == "30d"
