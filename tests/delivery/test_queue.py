"""The queue on a real SQLite file: supersession, expiry, order, leases, cancelling."""

from __future__ import annotations

from pathlib import Path

import pytest

from carctl.delivery.queue import NewCommand, Queue
from carctl.errors import ServiceError, UsageError

T0 = 1_637_355_600.0
SCOPE = "default@builtin"


def cmd(name: str, slot: str, key: str, **params: object) -> NewCommand:
    return NewCommand(name, dict(params), slot, key)


@pytest.fixture
def queue(tmp_path: Path) -> Queue:
    return Queue(tmp_path / "state.db", is_alive=lambda pid: pid == 111)


def add(queue: Queue, *commands: NewCommand, vehicle: str = "v1", now: float = T0) -> list[int]:
    entries = queue.add(
        scope=SCOPE,
        origin="builtin",
        vehicle_id=vehicle,
        vehicle_name=vehicle.upper(),
        commands=commands,
        expires_at=now + 1800,
        now=now,
    )
    return [e.id for e in entries]


def statuses(queue: Queue) -> dict[int, str]:
    return {e.id: e.status for e in queue.entries(include_finished=True)}


def test_a_newer_command_in_the_same_slot_supersedes(queue: Queue) -> None:
    (first,) = add(queue, cmd("auto_conditioning_start", "climate", "k1"))
    (temps,) = add(queue, cmd("set_temps", "temperature", "k2", driver_temp=21))
    (second,) = add(queue, cmd("auto_conditioning_stop", "climate", "k3"))
    assert statuses(queue) == {first: "superseded", temps: "pending", second: "pending"}
    assert queue.get(first).last_error == f"superseded by #{second}"  # type: ignore[union-attr]
    assert add(queue, cmd("auto_conditioning_start", "climate", "k4"), vehicle="v2")
    assert statuses(queue)[second] == "pending"  # another car's slot is its own


def test_a_direct_success_supersedes(queue: Queue) -> None:
    (entry,) = add(queue, cmd("window_control", "windows", "k1", command="vent"))
    assert queue.supersede(scope=SCOPE, vehicle_id="v1", slot="windows", now=T0, by="x") == 1
    assert statuses(queue) == {entry: "superseded"}


def test_claims_take_a_cars_entries_in_order_and_only_once(queue: Queue) -> None:
    ids = add(
        queue,
        cmd("set_temps", "temperature", "a", driver_temp=21),
        cmd("auto_conditioning_start", "climate", "b"),
    )
    other = add(queue, cmd("honk_horn", "honk_horn", "c"), vehicle="v2")
    batch = queue.claim(owner=111, now=T0)
    assert [e.id for e in batch] == ids
    again = queue.claim(owner=111, now=T0)
    assert [e.id for e in again] == other  # the first car is leased: the next car comes
    assert queue.claim(owner=111, now=T0) == []


def test_a_dead_holders_lease_is_released_at_once(queue: Queue) -> None:
    (entry,) = add(queue, cmd("auto_conditioning_start", "climate", "k"))
    assert queue.claim(owner=222, now=T0)  # 222 is not alive (a crashed worker)
    batch = queue.claim(owner=111, now=T0 + 1)  # long before the lease would expire
    assert [e.id for e in batch] == [entry]


def test_a_live_holders_lease_is_respected(queue: Queue) -> None:
    add(queue, cmd("auto_conditioning_start", "climate", "k"))
    assert queue.claim(owner=111, now=T0)
    other = Queue(queue.db_path, is_alive=lambda pid: True)
    assert other.claim(owner=333, now=T0 + 1) == []
    assert other.claim(owner=333, now=T0 + 200)  # the lease (120 s) ran out


def test_waiting_entries_hold_back_the_ones_after_them(queue: Queue) -> None:
    ids = add(
        queue,
        cmd("set_temps", "temperature", "a", driver_temp=21),
        cmd("auto_conditioning_start", "climate", "b"),
    )
    batch = queue.claim(owner=111, now=T0)
    queue.retry_later(batch, ServiceError("500"), now=T0, at=T0 + 60, tried=True)
    assert queue.claim(owner=111, now=T0 + 30) == []
    assert [e.id for e in queue.claim(owner=111, now=T0 + 30, due_only=False)] == ids
    assert queue.get(ids[0]).attempts == 1  # type: ignore[union-attr]
    assert queue.get(ids[1]).attempts == 0  # type: ignore[union-attr]


def test_expired_entries_are_never_handed_out(queue: Queue) -> None:
    (entry,) = add(queue, cmd("auto_conditioning_start", "climate", "k"))
    assert queue.claim(owner=111, now=T0 + 1801) == []
    stored = queue.get(entry)
    assert stored is not None and stored.status == "expired"
    assert "expired before it could be sent" in (stored.last_error or "")


def test_begin_send_sees_supersession_and_expiry(queue: Queue) -> None:
    (entry,) = add(queue, cmd("auto_conditioning_start", "climate", "k"))
    assert queue.claim(owner=111, now=T0)
    assert queue.begin_send(entry, owner=111, now=T0) is not None
    assert queue.begin_send(entry, owner=999, now=T0) is None  # not ours
    assert queue.begin_send(entry, owner=111, now=T0 + 5000) is None  # expired meanwhile
    assert statuses(queue) == {entry: "expired"}


def test_cancel(queue: Queue) -> None:
    one, two = add(
        queue, cmd("set_temps", "temperature", "a", driver_temp=21), cmd("honk_horn", "h", "b")
    )
    assert queue.cancel(one, now=T0) == [one]
    with pytest.raises(UsageError, match=f"entry #{one} is already cancelled"):
        queue.cancel(one, now=T0)
    with pytest.raises(UsageError, match="there is no queue entry #99"):
        queue.cancel(99, now=T0)
    assert queue.cancel(None, now=T0) == [two]
    assert queue.pending() == 0


def test_idempotency_keys_are_unique(queue: Queue) -> None:
    import sqlite3

    add(queue, cmd("honk_horn", "h", "same"))
    with pytest.raises(sqlite3.IntegrityError):
        add(queue, cmd("flash_lights", "f", "same"))
    assert queue.pending() == 1  # the failed add left nothing half-written
