"""Where a mock keeps its world, and how a request gets exclusive use of it.

`MemoryStore` serves `carctl mock serve`: one process, one asyncio lock.
`SqliteStore` serves the built-in endpoint: the world lives as one JSON row in
an SQLite file, and each request reads and writes it inside a `BEGIN
IMMEDIATE` transaction, so two carctl processes running at once see one
consistent car.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Protocol

from carctl.mock.seed import Seed, load_seed
from carctl.mock.world import World

SCHEMA_VERSION = 1


class MockStoreError(RuntimeError):
    """The store behind the built-in endpoint cannot be used; the message names the file."""


class WorldStore(Protocol):
    def session(self, now: float) -> AbstractAsyncContextManager[World]: ...

    def seed(self, source: str) -> Seed: ...


def _seed_for(source: str) -> Seed:
    return load_seed(None if source == "default" else source)


class MemoryStore:
    """An in-memory world guarded by an asyncio lock."""

    def __init__(self, seed: Seed) -> None:
        self._seed = seed
        self._world: World | None = None
        self._lock = asyncio.Lock()

    def seed(self, source: str) -> Seed:
        return self._seed if source == self._seed.source else _seed_for(source)

    @asynccontextmanager
    async def session(self, now: float) -> AsyncIterator[World]:
        async with self._lock:
            if self._world is None:
                self._world = World.from_seed(self._seed, now=now)
            yield self._world


class SqliteStore:
    """A world persisted in an SQLite file shared by every carctl process of the user."""

    def __init__(self, path: Path, seed: Seed | None = None, *, timeout: float = 10.0) -> None:
        self.path = path
        self._seed = seed
        self._timeout = timeout

    def seed(self, source: str) -> Seed:
        if self._seed is not None and source == self._seed.source:
            return self._seed
        return _seed_for(source)

    def _connect(self) -> sqlite3.Connection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=self._timeout, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS mock_world ("
                " id INTEGER PRIMARY KEY CHECK (id = 1),"
                " schema INTEGER NOT NULL, data TEXT NOT NULL)"
            )
        except (sqlite3.Error, OSError) as exc:
            raise MockStoreError(
                f"cannot open the built-in endpoint's state in {self.path}: {exc}"
            ) from None
        return conn

    @asynccontextmanager
    async def session(self, now: float) -> AsyncIterator[World]:
        conn = self._connect()
        try:
            try:
                conn.execute("BEGIN IMMEDIATE")
                row = conn.execute("SELECT schema, data FROM mock_world WHERE id = 1").fetchone()
            except sqlite3.Error as exc:
                raise MockStoreError(
                    f"cannot read the built-in endpoint's state in {self.path}: {exc}"
                ) from None
            world = self._load(row, now)
            before = json.dumps(world.to_dict(), sort_keys=True) if row else ""
            try:
                yield world
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            after = json.dumps(world.to_dict(), sort_keys=True)
            try:
                if after != before:
                    conn.execute(
                        "INSERT OR REPLACE INTO mock_world (id, schema, data) VALUES (1, ?, ?)",
                        (SCHEMA_VERSION, after),
                    )
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                raise MockStoreError(
                    f"cannot save the built-in endpoint's state in {self.path}: {exc}"
                ) from None
        finally:
            conn.close()

    def _load(self, row: tuple[int, str] | None, now: float) -> World:
        if row is not None and row[0] == SCHEMA_VERSION:
            try:
                return World.from_dict(json.loads(row[1]))
            except (ValueError, KeyError, TypeError):
                pass  # written by another version of carctl: start again from the seed
        return World.from_seed(self._seed or load_seed(), now=now)
