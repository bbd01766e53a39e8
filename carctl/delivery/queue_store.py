"""The rows of the queue in `state.db`: reading them, and the time they are judged by.

`Leases` (who may send an entry now) and `Queue` (an entry's life: added,
superseded, delivered, failed, cancelled) build on it.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from carctl.delivery.entries import _SELECT, Entry, UnreadableEntry, entry_from_row
from carctl.delivery.trusted_time import TrustedTime
from carctl.errors import StateError
from carctl.processes import alive, boot_id, since_boot

if TYPE_CHECKING:
    from carctl.state import StateDB

log = logging.getLogger("carctl.queue")
T = TypeVar("T")


class QueueStore:
    """Reads, transactions and expiry over the `queue` table."""

    def __init__(
        self,
        db: StateDB,
        *,
        is_alive: Callable[[int | None, str | None], bool | None] = alive,
        monotonic: Callable[[], float] = since_boot,
        boot: Callable[[], str] = boot_id,
    ) -> None:
        self.db = db
        self.db_path = db.path
        self.is_alive = is_alive
        self.time = TrustedTime(monotonic, boot)

    def _connection(self) -> sqlite3.Connection:
        return self.db.connection()

    def _transaction(self, work: Callable[[sqlite3.Connection], T]) -> T:
        return self.db.transaction(work)

    def _expire(self, db: sqlite3.Connection, wall: float) -> None:
        """Pending entries past their expiry become expired — except one being sent.

        An entry whose send has begun (`sending_at`, with its holder's lease)
        is judged by that send's outcome, never by another pass: the car may be
        executing it at this moment. Its holder checks expiry itself before any
        further request (`begin_send`). A send whose holder died is said to
        have perhaps reached the car.
        """
        now = self.time.now(db, wall)
        db.execute(
            "UPDATE queue SET status = 'expired', finished_at = ?,"
            " last_error = coalesce(last_error || '; ', '') || CASE WHEN sending_at IS NULL"
            " THEN 'expired before it could be sent'"
            " ELSE 'expired after a send that was interrupted: it may have reached the car' END,"
            " lease_owner = NULL, lease_until = NULL"
            " WHERE status = 'pending' AND expires_at <= ?"
            " AND (sending_at IS NULL OR lease_owner IS NULL)",
            (now, now),
        )

    def _read(self, sql: str, args: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        from carctl.state import unusable

        try:
            return list(self._connection().execute(sql, args).fetchall())
        except sqlite3.Error as exc:
            raise unusable(self.db_path, exc) from None

    def unreadable_error(self, problem: UnreadableEntry) -> StateError:
        return StateError(
            f"queue entry {problem} in {self.db_path} cannot be read",
            hint=f"`carctl queue cancel {problem.entry_id}` drops it; the other entries are kept",
        )

    def get(self, entry_id: int) -> Entry | None:
        rows = self._read(f"{_SELECT} WHERE id = ?", (entry_id,))
        if not rows:
            return None
        try:
            return entry_from_row(rows[0])
        except UnreadableEntry as problem:
            raise self.unreadable_error(problem) from None

    def entries(self, *, include_finished: bool = False, limit: int = 200) -> list[Entry]:
        """The newest entries, oldest first; unreadable rows are left out (see `unreadable`)."""
        where = "" if include_finished else " WHERE status = 'pending'"
        found = []
        for row in reversed(self._read(f"{_SELECT}{where} ORDER BY id DESC LIMIT ?", (limit,))):
            try:
                found.append(entry_from_row(row))
            except UnreadableEntry:
                continue
        return found

    def unreadable(self) -> list[UnreadableEntry]:
        """Rows that are not as carctl wrote them (pending or not), with what is wrong."""
        problems = []
        for row in self._read(f"{_SELECT} ORDER BY id", ()):
            try:
                entry_from_row(row)
            except UnreadableEntry as problem:
                problems.append(problem)
        return problems

    def expire_now(self, now: float) -> None:
        self._transaction(lambda db: self._expire(db, now))

    def pending(self) -> int:
        ((count,),) = self._read("SELECT count(*) FROM queue WHERE status = 'pending'", ())
        return int(count)

    def next_due(self) -> float | None:
        ((when,),) = self._read(
            # an entry that waits for a `Retry-After` past its expiry is due when it expires
            "SELECT min(min(next_attempt_at, coalesce(expires_at, next_attempt_at))) FROM queue"
            " WHERE status = 'pending' AND typeof(next_attempt_at) IN ('real', 'integer')"
            " AND typeof(expires_at) IN ('real', 'integer', 'null')",
            (),
        )
        return float(when) if when is not None else None
