"""The durable command queue in `state.db`.

Each entry is one command for one car with its own idempotency key, kept
across every delivery attempt, so a retry after a crash can never execute it
twice. Rules:

- a newer command in the same slot (climate, temperature, windows) supersedes
  an older pending one, and so does a successful direct command;
- an entry past its expiry is never sent (checked again just before sending);
- per car, entries go in the order they were queued: a car's entries are
  claimed together, as one batch, so they share one wake;
- claiming takes a lease in one `BEGIN IMMEDIATE` transaction, so two workers
  never send the same entry; a lease whose holder process no longer exists is
  released at once, so a crash does not delay delivery by the lease time.
"""

from __future__ import annotations

import json
import os
import sqlite3
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, TypeVar

from carctl.errors import CarctlError, UsageError

LEASE_S = 120.0
DEFAULT_TTL_S = 30 * 60.0
FINAL = ("delivered", "failed", "expired", "cancelled", "superseded")

T = TypeVar("T")


@dataclass
class Entry:
    id: int
    scope: str  # profile@origin: whose credentials deliver it
    origin: str  # the api_url it is for
    vehicle_id: str
    vehicle_name: str
    command: str
    params: str  # JSON
    slot: str
    idempotency_key: str
    batch: str  # the entries queued together by one run
    created_at: float
    expires_at: float
    attempts: int
    next_attempt_at: float
    lease_owner: int | None
    lease_until: float | None
    status: str  # pending | delivered | failed | expired | cancelled | superseded
    last_status: int | None
    last_txid: str | None
    last_error: str | None
    finished_at: float | None

    @property
    def arguments(self) -> dict[str, Any]:
        value = json.loads(self.params)
        return value if isinstance(value, dict) else {}

    @property
    def profile(self) -> str:
        return self.scope.split("@", 1)[0]

    def to_json(self) -> dict[str, Any]:
        from carctl.vehicle.routines import iso

        return {
            "id": self.id,
            "vehicle": {"id": self.vehicle_id, "display_name": self.vehicle_name},
            "command": self.command,
            "params": self.arguments,
            "slot": self.slot,
            "status": self.status,
            "created_at": iso(self.created_at),
            "expires_at": iso(self.expires_at),
            "attempts": self.attempts,
            "next_attempt_at": iso(self.next_attempt_at) if self.status == "pending" else None,
            "last_error": (
                {"status": self.last_status, "txid": self.last_txid, "message": self.last_error}
                if self.last_error
                else None
            ),
            "finished_at": iso(self.finished_at),
            "profile": self.profile,
            "api": self.origin,
        }


_COLUMNS = [f.name for f in fields(Entry)]
_SELECT = f"SELECT {', '.join(_COLUMNS)} FROM queue"  # noqa: S608 - fixed column names


def alive(pid: int | None) -> bool:
    if pid is None or pid <= 0:
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass(frozen=True)
class NewCommand:
    name: str
    params: dict[str, Any]
    slot: str
    idempotency_key: str


class Queue:
    def __init__(self, db_path: Path, *, is_alive: Callable[[int | None], bool] = alive) -> None:
        self.db_path = db_path
        self.is_alive = is_alive
        self._db: sqlite3.Connection | None = None

    def _connection(self) -> sqlite3.Connection:
        if self._db is None:
            from carctl.state import connect

            self._db = connect(self.db_path)
        return self._db

    def _transaction(self, work: Callable[[sqlite3.Connection], T]) -> T:
        from carctl.state import immediate

        return immediate(self._connection(), self.db_path, work)

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    # -- adding ---------------------------------------------------------------------------

    def add(
        self,
        *,
        scope: str,
        origin: str,
        vehicle_id: str,
        vehicle_name: str,
        commands: Iterable[NewCommand],
        expires_at: float,
        now: float,
        error: CarctlError | None = None,
    ) -> list[Entry]:
        """Queue commands together (one batch); each supersedes pending ones in its slot."""
        batch = uuid.uuid4().hex[:12]
        items = list(commands)
        http = error.http if error is not None else None
        why = (
            http.status if http else None,
            http.txid if http else None,
            error.message if error is not None else None,
        )

        def work(db: sqlite3.Connection) -> list[int]:
            ids = []
            for command in items:
                cursor = db.execute(
                    "INSERT INTO queue (scope, origin, vehicle_id, vehicle_name, command, params,"
                    " slot, idempotency_key, batch, created_at, expires_at, attempts,"
                    " next_attempt_at, status, last_status, last_txid, last_error)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, 'pending', ?, ?, ?)",
                    (
                        scope,
                        origin,
                        vehicle_id,
                        vehicle_name,
                        command.name,
                        json.dumps(command.params, sort_keys=True),
                        command.slot,
                        command.idempotency_key,
                        batch,
                        now,
                        expires_at,
                        now,
                        *why,
                    ),
                )
                new_id = int(cursor.lastrowid or 0)
                db.execute(
                    "UPDATE queue SET status = 'superseded', finished_at = ?, last_error = ?"
                    " WHERE status = 'pending' AND scope = ? AND vehicle_id = ? AND slot = ?"
                    " AND id < ?",
                    (now, f"superseded by #{new_id}", scope, vehicle_id, command.slot, new_id),
                )
                ids.append(new_id)
            return ids

        ids = self._transaction(work)
        return [e for e in (self.get(i) for i in ids) if e is not None]

    def supersede(self, *, scope: str, vehicle_id: str, slot: str, now: float, by: str) -> int:
        """A successful direct command makes older queued ones in its slot pointless."""

        def work(db: sqlite3.Connection) -> int:
            cursor = db.execute(
                "UPDATE queue SET status = 'superseded', finished_at = ?, last_error = ?"
                " WHERE status = 'pending' AND scope = ? AND vehicle_id = ? AND slot = ?"
                " AND (lease_owner IS NULL OR lease_until < ?)",
                (now, f"superseded by {by}", scope, vehicle_id, slot, now),
            )
            return cursor.rowcount

        return self._transaction(work)

    # -- delivering -----------------------------------------------------------------------

    def _expire(self, db: sqlite3.Connection, now: float) -> None:
        db.execute(
            "UPDATE queue SET status = 'expired', finished_at = ?,"
            " last_error = coalesce(last_error || '; ', '') || 'expired before it could be sent',"
            " lease_owner = NULL, lease_until = NULL"
            " WHERE status = 'pending' AND expires_at <= ?",
            (now, now),
        )

    def _release_orphans(self, db: sqlite3.Connection, now: float) -> None:
        rows = db.execute(
            "SELECT DISTINCT lease_owner FROM queue WHERE status = 'pending'"
            " AND lease_owner IS NOT NULL"
        ).fetchall()
        for (owner,) in rows:
            if not self.is_alive(owner):
                db.execute(
                    "UPDATE queue SET lease_owner = NULL, lease_until = NULL"
                    " WHERE status = 'pending' AND lease_owner = ?",
                    (owner,),
                )
        db.execute(
            "UPDATE queue SET lease_owner = NULL, lease_until = NULL"
            " WHERE status = 'pending' AND lease_until < ?",
            (now,),
        )

    def claim(
        self, *, owner: int, now: float, due_only: bool = True, lease_s: float = LEASE_S
    ) -> list[Entry]:
        """Lease the pending entries of one car, in order; [] when none is ready."""

        def work(db: sqlite3.Connection) -> list[int]:
            self._expire(db, now)
            self._release_orphans(db, now)
            cars = db.execute(
                "SELECT scope, vehicle_id, min(id) FROM queue WHERE status = 'pending'"
                " GROUP BY scope, vehicle_id ORDER BY min(id)"
            ).fetchall()
            for scope, vehicle_id, _ in cars:
                rows = db.execute(
                    "SELECT id, next_attempt_at, lease_owner FROM queue WHERE status = 'pending'"
                    " AND scope = ? AND vehicle_id = ? ORDER BY id",
                    (scope, vehicle_id),
                ).fetchall()
                if any(owner_ is not None for _, _, owner_ in rows):
                    continue  # another worker is delivering this car's entries
                if due_only and rows[0][1] > now:
                    continue  # the first one waits, so do those after it
                ids = [row[0] for row in rows]
                db.execute(
                    f"UPDATE queue SET lease_owner = ?, lease_until = ?"  # noqa: S608
                    f" WHERE id IN ({','.join('?' * len(ids))})",
                    (owner, now + lease_s, *ids),
                )
                return ids
            return []

        ids = self._transaction(work)
        return [e for e in (self.get(i) for i in ids) if e is not None]

    def begin_send(self, entry_id: int, *, owner: int, now: float) -> Entry | None:
        """Right before sending: still pending, still ours, not expired? Else None."""

        def work(db: sqlite3.Connection) -> bool:
            self._expire(db, now)
            row = db.execute(
                "SELECT status, lease_owner FROM queue WHERE id = ?", (entry_id,)
            ).fetchone()
            return bool(row and row[0] == "pending" and row[1] == owner)

        return self.get(entry_id) if self._transaction(work) else None

    def _finish(
        self, entry_id: int, status: str, now: float, error: CarctlError | None = None
    ) -> None:
        http = error.http if error else None
        self._transaction(
            lambda db: db.execute(
                "UPDATE queue SET status = ?, finished_at = ?, lease_owner = NULL,"
                " lease_until = NULL, attempts = attempts + 1,"
                " last_status = coalesce(?, last_status), last_txid = coalesce(?, last_txid),"
                " last_error = coalesce(?, last_error) WHERE id = ? AND status = 'pending'",
                (
                    status,
                    now,
                    http.status if http else None,
                    http.txid if http else None,
                    error.message if error else None,
                    entry_id,
                ),
            )
        )

    def delivered(self, entry_id: int, *, now: float) -> None:
        self._finish(entry_id, "delivered", now)

    def failed(self, entry_id: int, error: CarctlError, *, now: float) -> None:
        self._finish(entry_id, "failed", now, error)

    def retry_later(
        self, entries: list[Entry], error: CarctlError, *, now: float, at: float, tried: bool
    ) -> None:
        """Release a car's batch; the first entry counts an attempt when it was tried."""
        if not entries:
            return
        http = error.http

        def work(db: sqlite3.Connection) -> None:
            for index, entry in enumerate(entries):
                counted = 1 if (index == 0 and tried) else 0
                db.execute(
                    "UPDATE queue SET lease_owner = NULL, lease_until = NULL,"
                    " attempts = attempts + ?, next_attempt_at = ?,"
                    " last_status = ?, last_txid = ?, last_error = ?"
                    " WHERE id = ? AND status = 'pending'",
                    (
                        counted,
                        at,
                        http.status if http else None,
                        http.txid if http else None,
                        error.message,
                        entry.id,
                    ),
                )

        self._transaction(work)

    def release(self, entries: list[Entry]) -> None:
        ids = [e.id for e in entries]
        if not ids:
            return
        self._transaction(
            lambda db: db.execute(
                f"UPDATE queue SET lease_owner = NULL, lease_until = NULL"  # noqa: S608
                f" WHERE status = 'pending' AND id IN ({','.join('?' * len(ids))})",
                ids,
            )
        )

    # -- reading and cancelling -----------------------------------------------------------

    def get(self, entry_id: int) -> Entry | None:
        row = self._connection().execute(f"{_SELECT} WHERE id = ?", (entry_id,)).fetchone()
        return Entry(*row) if row else None

    def entries(self, *, include_finished: bool = False, limit: int = 200) -> list[Entry]:
        where = "" if include_finished else " WHERE status = 'pending'"
        rows = self._connection().execute(f"{_SELECT}{where} ORDER BY id DESC LIMIT ?", (limit,))
        return [Entry(*row) for row in reversed(rows.fetchall())]

    def expire_now(self, now: float) -> None:
        self._transaction(lambda db: self._expire(db, now))

    def pending(self) -> int:
        (count,) = (
            self._connection().execute("SELECT count(*) FROM queue WHERE status = 'pending'")
        ).fetchone()
        return int(count)

    def next_due(self) -> float | None:
        (when,) = (
            self._connection().execute(
                "SELECT min(next_attempt_at) FROM queue WHERE status = 'pending'"
            )
        ).fetchone()
        return float(when) if when is not None else None

    def cancel(self, entry_id: int | None, *, now: float) -> list[int]:
        """Cancel one pending entry, or all (`None`); a leased one mid-send cannot be stopped."""

        def work(db: sqlite3.Connection) -> list[int]:
            if entry_id is not None:
                row = db.execute("SELECT status FROM queue WHERE id = ?", (entry_id,)).fetchone()
                if row is None:
                    raise UsageError(
                        f"there is no queue entry #{entry_id}", hint="`carctl queue` lists them"
                    )
                if row[0] != "pending":
                    raise UsageError(f"entry #{entry_id} is already {row[0]}; nothing to cancel")
                ids = [entry_id]
            else:
                ids = [r[0] for r in db.execute("SELECT id FROM queue WHERE status = 'pending'")]
            for found in ids:
                db.execute(
                    "UPDATE queue SET status = 'cancelled', finished_at = ?, lease_owner = NULL,"
                    " lease_until = NULL WHERE id = ?",
                    (now, found),
                )
            return ids

        return self._transaction(work)
