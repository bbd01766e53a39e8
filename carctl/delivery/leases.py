"""Who may send an entry now: leases taken in one transaction, renewed while the holder
works, and taken over only when the holder is gone — never because time passed, so a
slow wake or a laptop's suspend cannot lead to a second send."""

from __future__ import annotations

import sqlite3

from carctl.delivery.entries import (
    _SELECT,
    LEASE_S,
    Entry,
    UnreadableEntry,
    entry_from_row,
    in_list,
    number,
)
from carctl.delivery.queue_store import QueueStore, chunks, log
from carctl.processes import Holder

RENEW_EVERY_S = 10.0  # a holder's sign of life is written at most this often (LEASE_S: 120)


class Leases(QueueStore):
    """Claiming a car's entries, and checking each right before it is sent."""

    def _release_orphans(self, db: sqlite3.Connection, now: float) -> None:
        """Free the leases of holders that are gone; a live holder keeps its lease.

        A holder this process cannot judge (another PID namespace: a container)
        is taken as alive while its lease runs — it renews it with every request
        — and as gone once the lease has lapsed.
        """
        rows = db.execute(
            "SELECT lease_owner, lease_identity, max(lease_until) FROM queue"
            " WHERE status = 'pending' AND lease_owner IS NOT NULL"
            " GROUP BY lease_owner, lease_identity"
        ).fetchall()
        for owner, identity, until in rows:
            verdict = self.is_alive(owner, identity)
            if verdict is None:
                verdict = number(until) and until > now
            if not verdict:
                db.execute(  # `sending_at` stays: the send was interrupted, its outcome unknown
                    "UPDATE queue SET lease_owner = NULL, lease_until = NULL,"
                    " lease_identity = NULL"
                    " WHERE status = 'pending' AND lease_owner = ? AND lease_identity IS ?",
                    (owner, identity),
                )

    def claim(self, *, owner: Holder, now: float, due_only: bool = True) -> list[Entry]:
        """Lease the pending entries of one car, in order; [] when none is ready."""

        def work(db: sqlite3.Connection) -> list[int]:
            now_trusted = self.time.now(db, now)
            self._prune_once(db, now)
            self._release_orphans(db, now_trusted)
            self._expire(db, now)
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
                if due_only and rows[0][1] > now_trusted:
                    continue  # the first one waits, so do those after it
                ids = self._readable(db, [row[0] for row in rows], now_trusted)
                if not ids:
                    continue
                db.execute(  # the car's pending rows are `ids`: the unreadable ones have failed
                    "UPDATE queue SET lease_owner = ?, lease_identity = ?, lease_until = ?"
                    " WHERE status = 'pending' AND scope = ? AND vehicle_id = ?",
                    (owner.pid, owner.identity, now_trusted + LEASE_S, scope, vehicle_id),
                )
                return ids
            return []

        return self.many(self._transaction(work))

    def _readable(self, db: sqlite3.Connection, ids: list[int], now: float) -> list[int]:
        """The ids whose rows can be read; the others fail, with the reason, and are logged."""
        readable = []
        for entry_id in ids:
            row = db.execute(f"{_SELECT} WHERE id = ?", (entry_id,)).fetchone()
            try:
                entry_from_row(row)
            except UnreadableEntry as problem:
                log.warning("queue entry %s in %s cannot be read; it fails", problem, self.db_path)
                db.execute(
                    "UPDATE queue SET status = 'failed', finished_at = ?, last_error = ?,"
                    " lease_owner = NULL, lease_until = NULL WHERE id = ?",
                    (now, f"unreadable in {self.db_path.name}: {problem.reason}", entry_id),
                )
                continue
            readable.append(entry_id)
        return readable

    def begin_send(self, entry_id: int, *, owner: Holder, now: float) -> Entry | None:
        """Right before a request that can execute it: still pending, ours, not expired?

        In the same transaction the entry is marked as being sent (and its lease
        renewed); None means it must not be sent (superseded, cancelled,
        expired — then marked so — or no longer ours).
        """

        def work(db: sqlite3.Connection) -> bool:  # this entry's expiry, not a scan of all
            trusted = self.time.now(db, now)
            row = db.execute(
                "SELECT status, lease_owner, lease_identity, expires_at FROM queue WHERE id = ?",
                (entry_id,),
            ).fetchone()
            if not (
                row and row[0] == "pending" and row[1] == owner.pid and row[2] == owner.identity
            ):
                return False
            if number(row[3]) and row[3] <= trusted:  # our own earlier try did not land in time
                db.execute(
                    "UPDATE queue SET status = 'expired', finished_at = ?, lease_owner = NULL,"
                    " lease_until = NULL, last_error = coalesce(last_error || '; ', '')"
                    " || 'expired before it could be sent again' WHERE id = ?",
                    (trusted, entry_id),
                )
                return False
            db.execute(
                "UPDATE queue SET sending_at = ?, lease_until = ? WHERE id = ?",
                (trusted, trusted + LEASE_S, entry_id),
            )
            return True

        return self.get(entry_id) if self._transaction(work) else None

    def renew(self, entries: list[Entry], *, owner: Holder, now: float) -> None:
        """A sign of life from the holder (each request it makes): its leases show as active.

        Written for all the holder's leases at once, and at most every
        `RENEW_EVERY_S`: a batch of ten thousand entries costs one write every
        few seconds, not ten thousand writes a request.
        """
        if not entries:
            return
        key = (owner.pid, owner.identity)
        last = self._renewed.get(key)
        if last is not None and 0 <= now - last < RENEW_EVERY_S:
            return
        self._renewed[key] = now

        def work(db: sqlite3.Connection) -> None:
            db.execute(
                "UPDATE queue SET lease_until = ? WHERE status = 'pending'"
                " AND lease_owner = ? AND lease_identity IS ?",
                (self.time.now(db, now) + LEASE_S, owner.pid, owner.identity),
            )

        self._transaction(work)

    def release(self, entries: list[Entry]) -> None:
        ids = [e.id for e in entries]
        if not ids:
            return

        def work(db: sqlite3.Connection) -> None:
            for part in chunks(ids):
                db.execute(
                    "UPDATE queue SET lease_owner = NULL, lease_until = NULL,"  # noqa: S608
                    " lease_identity = NULL, sending_at = NULL"
                    f" WHERE status = 'pending' AND {in_list('id', part)}",
                    part,
                )

        self._transaction(work)
