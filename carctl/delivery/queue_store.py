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
RETENTION_S = 30 * 86400.0  # finished entries are kept this long (setting: queue.retention)
CHUNK = 500  # ids in one `IN (...)`: well under SQLite's limit on variables


def chunks(ids: list[int]) -> list[list[int]]:
    return [ids[start : start + CHUNK] for start in range(0, len(ids), CHUNK)]


class QueueStore:
    """Reads, transactions and expiry over the `queue` table."""

    def __init__(
        self,
        db: StateDB,
        *,
        is_alive: Callable[[int | None, str | None], bool | None] = alive,
        monotonic: Callable[[], float] = since_boot,
        boot: Callable[[], str] = boot_id,
        retention_s: float = RETENTION_S,
    ) -> None:
        self.db = db
        self.db_path = db.path
        self.is_alive = is_alive
        self.time = TrustedTime(monotonic, boot)
        self.retention_s = retention_s
        self._pruned = False
        self._renewed: dict[tuple[int, str | None], float] = {}

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

    def many(self, ids: list[int]) -> list[Entry]:
        """The entries with these ids, in this order (gone or unreadable ones left out)."""
        rows: dict[int, tuple[Any, ...]] = {}
        for part in chunks(ids):
            marks = ",".join("?" * len(part))
            for row in self._read(f"{_SELECT} WHERE id IN ({marks})", tuple(part)):
                rows[int(row[0])] = row
        found = []
        for entry_id in ids:
            if entry_id in rows:
                try:
                    found.append(entry_from_row(rows[entry_id]))
                except UnreadableEntry:
                    continue
        return found

    def pending_ids(self) -> list[int]:
        return [int(r[0]) for r in self._read("SELECT id FROM queue WHERE status = 'pending'", ())]

    def entries(self, *, include_finished: bool = False, limit: int = 200) -> list[Entry]:
        """The newest entries, oldest first; unreadable rows are left out (see `listing`)."""
        where = "" if include_finished else " WHERE status = 'pending'"
        found = []
        for row in reversed(self._read(f"{_SELECT}{where} ORDER BY id DESC LIMIT ?", (limit,))):
            try:
                found.append(entry_from_row(row))
            except UnreadableEntry:
                continue
        return found

    def listing(
        self, *, now: float, include_finished: bool = False, limit: int = 200
    ) -> tuple[list[Entry], list[UnreadableEntry]]:
        """What `carctl queue` shows: the newest entries (oldest first) and the unreadable rows
        among them and among the pending ones. Old history is pruned first, and only those
        rows are read: the time it takes does not grow with the years behind it."""
        if not self._pruned:
            try:
                self._transaction(lambda db: self._prune_once(db, now))
            except StateError as exc:  # a read-only home or a full disk still lists
                log.warning("queue history not pruned: %s", exc.message)
        where = "" if include_finished else " WHERE status = 'pending'"
        shown = self._read(f"{_SELECT}{where} ORDER BY id DESC LIMIT ?", (limit,))
        found, problems = [], {}
        for row in reversed(shown):
            try:
                found.append(entry_from_row(row))
            except UnreadableEntry as shown_problem:
                problems[shown_problem.entry_id] = shown_problem
        for pending_problem in self.unreadable(pending_only=True):
            problems.setdefault(pending_problem.entry_id, pending_problem)
        ordered = sorted(problems.values(), key=lambda p: str(p.entry_id).zfill(20))
        return found, ordered

    def unreadable(self, *, pending_only: bool = False) -> list[UnreadableEntry]:
        """Rows that are not as carctl wrote them, with what is wrong (doctor reads them all)."""
        where = " WHERE status = 'pending'" if pending_only else ""
        problems = []
        for row in self._read(f"{_SELECT}{where} ORDER BY id", ()):
            try:
                entry_from_row(row)
            except UnreadableEntry as problem:
                problems.append(problem)
        return problems

    def _prune_once(self, db: sqlite3.Connection, wall: float) -> None:
        """Finished entries older than the retention period go; once a run, in a transaction
        the caller has open anyway (see RETENTION_S; the index on finished_at finds them).
        Their age is judged by the confirmed time, so a clock a month fast cannot take them."""
        if self._pruned:
            return
        self._pruned = True
        cutoff = self.time.both(db, wall)[1] - self.retention_s
        db.execute("DELETE FROM queue WHERE status != 'pending' AND finished_at < ?", (cutoff,))

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
