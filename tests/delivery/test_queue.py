"""The queue on a real SQLite file: supersession, expiry, order, leases, cancelling."""

from __future__ import annotations

from pathlib import Path

import pytest

from carctl.delivery.queue import NewCommand, Queue
from carctl.errors import CarctlError, ServiceError
from carctl.processes import Holder
from carctl.state import StateDB
from carctl.vehicle.model import Vehicle
from tests.delivery.conftest import Monotonic, cmd

T0 = 1_637_355_600.0
SCOPE = "default@builtin"
LIVE, DEAD, OTHER, NOBODY = (
    Holder(111, "b:1"),
    Holder(222, "b:2"),
    Holder(333, "b:3"),
    Holder(999, "b:9"),
)


def add(queue: Queue, *commands: NewCommand, vehicle: str = "v1", now: float = T0) -> list[int]:
    entries = queue.add(
        scope=SCOPE,
        api_url="builtin",
        vehicle_id=vehicle,
        vehicle_name=vehicle.upper(),
        commands=commands,
        ttl_s=1800,
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
    car = Vehicle("v1", "VIN1", "V1", "online")
    assert queue.supersede(scope=SCOPE, vehicle=car, slot="windows", now=T0, by="x") == 1
    assert statuses(queue) == {entry: "superseded"}


def test_claims_take_a_cars_entries_in_order_and_only_once(queue: Queue) -> None:
    ids = add(
        queue,
        cmd("set_temps", "temperature", "a", driver_temp=21),
        cmd("auto_conditioning_start", "climate", "b"),
    )
    other = add(queue, cmd("window_control", "windows", "c", command="vent"), vehicle="v2")
    batch = queue.claim(owner=LIVE, now=T0)
    assert [e.id for e in batch] == ids
    again = queue.claim(owner=LIVE, now=T0)
    assert [e.id for e in again] == other  # the first car is leased: the next car comes
    assert queue.claim(owner=LIVE, now=T0) == []


def test_a_dead_holders_lease_is_released_at_once(queue: Queue) -> None:
    (entry,) = add(queue, cmd("auto_conditioning_start", "climate", "k"))
    assert queue.claim(owner=DEAD, now=T0)  # 222 is not alive (a crashed worker)
    batch = queue.claim(owner=LIVE, now=T0 + 1)  # long before the lease would expire
    assert [e.id for e in batch] == [entry]


def test_a_live_holders_lease_is_never_taken_however_long_it_works(queue: Queue) -> None:
    add(queue, cmd("auto_conditioning_start", "climate", "k"))
    assert queue.claim(owner=LIVE, now=T0)
    assert queue.claim(owner=OTHER, now=T0 + 1) == []
    # a slow wake, or a laptop suspended for an hour: the holder is alive, so it keeps it
    assert queue.claim(owner=OTHER, now=T0 + 3600) == []


def test_a_reused_pid_is_not_the_holder(tmp_path: Path) -> None:
    """The real identity check: the same pid with another start time is another process."""
    import os

    from carctl.processes import identity_of, this_process

    queue = Queue(StateDB(tmp_path / "state.db"))
    add(queue, cmd("auto_conditioning_start", "climate", "k"))
    me = this_process()
    assert me.identity == identity_of(os.getpid()) and me.identity is not None
    impostor = Holder(me.pid, "another-boot:12345")  # a lease taken by an earlier process
    assert queue.claim(owner=impostor, now=T0)
    assert queue.claim(owner=me, now=T0 + 1)  # the impostor "holder" is gone: taken over


def test_waiting_entries_hold_back_the_ones_after_them(queue: Queue) -> None:
    ids = add(
        queue,
        cmd("set_temps", "temperature", "a", driver_temp=21),
        cmd("auto_conditioning_start", "climate", "b"),
    )
    batch = queue.claim(owner=LIVE, now=T0)
    queue.retry_later(batch, ServiceError("500"), now=T0, wait=60, tried=True)
    assert queue.claim(owner=LIVE, now=T0 + 30) == []
    assert [e.id for e in queue.claim(owner=LIVE, now=T0 + 30, due_only=False)] == ids
    assert queue.get(ids[0]).attempts == 1  # type: ignore[union-attr]
    assert queue.get(ids[1]).attempts == 0  # type: ignore[union-attr]


def test_expired_entries_are_never_handed_out(queue: Queue) -> None:
    (entry,) = add(queue, cmd("auto_conditioning_start", "climate", "k"))
    assert queue.claim(owner=LIVE, now=T0 + 1801) == []
    stored = queue.get(entry)
    assert stored is not None and stored.status == "expired"
    assert "expired before it could be sent" in (stored.last_error or "")


def test_begin_send_sees_supersession_and_expiry(queue: Queue) -> None:
    (entry,) = add(queue, cmd("auto_conditioning_start", "climate", "k"))
    assert queue.claim(owner=LIVE, now=T0)
    assert queue.begin_send(entry, owner=LIVE, now=T0) is not None
    assert queue.begin_send(entry, owner=NOBODY, now=T0) is None  # not ours
    assert queue.begin_send(entry, owner=LIVE, now=T0 + 5000) is None  # expired meanwhile
    assert statuses(queue) == {entry: "expired"}


def test_cancel(queue: Queue) -> None:
    one, two = add(
        queue,
        cmd("set_temps", "temperature", "a", driver_temp=21),
        cmd("window_control", "windows", "b", command="vent"),
    )
    assert queue.cancel(one, now=T0) == [one]
    with pytest.raises(CarctlError, match=f"entry #{one} is already cancelled") as done:
        queue.cancel(one, now=T0)
    assert done.value.exit_code == 1  # an answer about the queue, not a usage mistake
    with pytest.raises(CarctlError, match="there is no queue entry #99"):
        queue.cancel(99, now=T0)
    assert queue.cancel(None, now=T0) == [two]
    assert queue.pending() == 0


def test_idempotency_keys_are_unique(queue: Queue) -> None:
    import sqlite3

    add(queue, cmd("auto_conditioning_start", "climate", "same"))
    with pytest.raises(sqlite3.IntegrityError):
        add(queue, cmd("window_control", "windows", "same", command="vent"))
    assert queue.pending() == 1  # the failed add left nothing half-written


def test_expiry_survives_a_clock_stepped_back(queue: Queue, mono: Monotonic) -> None:
    """Queued while the wall clock was an hour fast; 20 real seconds later the clock is right."""
    entries = queue.add(
        scope=SCOPE,
        api_url="builtin",
        vehicle_id="v1",
        vehicle_name="V1",
        commands=[cmd("window_control", "windows", "k", command="vent")],
        ttl_s=10,
        now=T0 + 3600,
    )
    mono.value += 20  # real time passes: 20 s
    assert queue.claim(owner=LIVE, now=T0 + 20) == []  # its 10 s are over, whatever the wall says
    assert statuses(queue) == {entries[0].id: "expired"}


def test_the_trusted_clock_never_runs_backwards(queue: Queue, mono: Monotonic) -> None:
    assert queue.now(T0 + 100) == T0 + 100
    mono.value += 5
    assert queue.now(T0) == T0 + 105  # stepped back 100 s: the queue's time went on by 5 s
    mono.value += 5
    assert queue.now(T0 + 500) == T0 + 500  # this run judges by a forward jump ...
    mono.value += 5
    assert queue.now(T0 + 115) == T0 + 115  # ... which is not recorded: nothing confirmed it
    mono.value += 5
    assert queue.now(T0 + 150) == T0 + 150  # a jump within the slack is confirmed
    other_boot = Queue(StateDB(queue.db_path), monotonic=lambda: 1.0, boot=lambda: "boot-2")
    assert other_boot.now(T0) == T0 + 150  # after a reboot: never below the highest confirmed


def test_an_entry_queued_by_name_is_adopted_and_superseded(queue: Queue) -> None:
    (by_name,) = add(queue, cmd("auto_conditioning_start", "climate", "k1"), vehicle="name:model y")
    (other,) = add(queue, cmd("auto_conditioning_start", "climate", "k2"), vehicle="name:model 3")
    model_y = Vehicle("42", "VINY", "Model Y", "online")
    assert queue.adopt(scope=SCOPE, vehicles=[model_y], complete=False, now=T0) == 1
    adopted = queue.get(by_name)
    assert adopted is not None and (adopted.vehicle_id, adopted.vehicle_name) == ("42", "Model Y")
    assert queue.get(other).vehicle_id == "name:model 3"  # type: ignore[union-attr]
    assert queue.supersede(scope=SCOPE, vehicle=model_y, slot="climate", now=T0, by="x") == 1
    assert statuses(queue)[by_name] == "superseded"


def test_supersession_matches_an_entry_still_known_by_name(queue: Queue) -> None:
    (by_name,) = add(queue, cmd("auto_conditioning_start", "climate", "k1"), vehicle="name:viny")
    model_y = Vehicle("42", "VINY", "Model Y", "online")
    assert queue.supersede(scope=SCOPE, vehicle=model_y, slot="climate", now=T0, by="x") == 1
    assert statuses(queue)[by_name] == "superseded"


def test_adoption_lets_the_newest_entry_of_a_slot_win(queue: Queue) -> None:
    (old,) = add(queue, cmd("auto_conditioning_start", "climate", "k1"), vehicle="name:model")
    (new,) = add(queue, cmd("auto_conditioning_stop", "climate", "k2"), vehicle="42")
    cars = [
        Vehicle("42", "VINY", "Model Y", "online"),
        Vehicle("7", "VIN3", "Cybertruck", "online"),
    ]
    assert queue.adopt(scope=SCOPE, vehicles=cars, complete=True, now=T0) == 1  # unique prefix
    assert statuses(queue) == {old: "superseded", new: "pending"}
    assert queue.get(old).last_error == f"superseded by #{new}"  # type: ignore[union-attr]


def test_a_claimed_entry_is_superseded_and_then_never_begun(queue: Queue) -> None:
    (entry,) = add(queue, cmd("auto_conditioning_start", "climate", "k"))
    assert queue.claim(owner=LIVE, now=T0)
    car = Vehicle("v1", "VIN1", "V1", "online")
    assert queue.supersede(scope=SCOPE, vehicle=car, slot="climate", now=T0, by="a direct x") == 1
    assert queue.begin_send(entry, owner=LIVE, now=T0) is None
    assert statuses(queue) == {entry: "superseded"}
