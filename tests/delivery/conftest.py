"""The queue's fixtures: a real SQLite file, a hand-moved monotonic clock, one live holder."""

from __future__ import annotations

from pathlib import Path

import pytest

from carctl.delivery.queue import NewCommand, Queue
from carctl.state import StateDB


class Monotonic:
    """The system-wide monotonic clock, moved by hand."""

    def __init__(self) -> None:
        self.value = 1000.0

    def __call__(self) -> float:
        return self.value


def cmd(name: str, slot: str, key: str, **params: object) -> NewCommand:
    return NewCommand(name, dict(params), slot, key)


@pytest.fixture
def mono() -> Monotonic:
    return Monotonic()


@pytest.fixture
def queue(tmp_path: Path, mono: Monotonic) -> Queue:
    return Queue(
        StateDB(tmp_path / "state.db"),
        is_alive=lambda pid, identity: (pid, identity) == (111, "b:1"),
        monotonic=mono,
        boot=lambda: "boot-1",
    )
