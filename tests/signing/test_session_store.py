"""Sessions in a real state.db: kept across runs, counters never shared between processes,
never rolled back within an epoch."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from carctl.signing.session import SessionState
from carctl.signing.store import SessionStore
from carctl.state import StateDB, connect

VIN = "5YJ3E7EA1MF000621"
STATE = SessionState(b"\x04" + bytes(64), bytes(16), 6, 100.0)


def _reserve_many(db: str, count: int, out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    state = StateDB(Path(db))
    store = SessionStore(state, "key")
    taken = []
    for _ in range(count):
        reserved = store.reserve(VIN, 3)
        assert reserved is not None
        taken.append(reserved[1])
    state.close()
    out.put(taken)


def test_processes_signing_at_once_never_share_a_counter(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    connect(db).close()
    store = SessionStore(StateDB(db), "key")
    store.learn(VIN, 3, STATE, now=0.0)
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    workers = [context.Process(target=_reserve_many, args=(str(db), 40, out)) for _ in range(4)]
    for worker in workers:
        worker.start()
    taken = [n for _ in workers for n in out.get(timeout=60)]
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    assert len(taken) == 160 and len(set(taken)) == 160  # every counter used once
    assert sorted(taken) == list(range(7, 167))
    assert store.load(VIN, 3) == SessionState(STATE.vehicle_key, STATE.epoch, 166, 100.0)


def test_a_session_learned_again_never_rolls_the_counter_back(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    store = SessionStore(StateDB(db), "key")
    store.learn(VIN, 3, STATE, now=0.0)
    for _ in range(5):
        store.reserve(VIN, 3)
    store.learn(VIN, 3, STATE, now=1.0)  # the same epoch, an older counter: kept at 11
    loaded = store.load(VIN, 3)
    assert loaded is not None and loaded.counter == 11
    rebooted = SessionState(STATE.vehicle_key, b"\x01" * 16, 2, 50.0)
    store.learn(VIN, 3, rebooted, now=2.0)  # a new epoch starts from the car's counter
    assert store.load(VIN, 3) == rebooted
    assert store.load(VIN, 2) is None and SessionStore(StateDB(db), "other").load(VIN, 3) is None
    assert store.forget(VIN) == 1 and store.load(VIN, 3) is None
