"""Signed-command sessions in `state.db`.

The counter is reserved in one write transaction: two processes signing for
the same car at once (the queue's worker and a direct command) never send the
same counter, and a crash after reserving only skips a number, which the car
allows. A session learned again keeps the higher counter unless the epoch
changed (the spec: never roll the anti-replay counter back within an epoch).
"""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

from carctl.signing.session import SessionState

if TYPE_CHECKING:
    from carctl.state import StateDB


class SessionStore:
    def __init__(self, db: StateDB, key_id: str) -> None:
        self.db = db
        self.db_path = db.path
        self.key_id = key_id

    def _connection(self) -> sqlite3.Connection:
        return self.db.connection()

    def load(self, vin: str, domain: int) -> SessionState | None:
        row = (
            self._connection()
            .execute(
                "SELECT vehicle_key, epoch, counter, clock_offset FROM signing_sessions "
                "WHERE key_id = ? AND vin = ? AND domain = ?",
                (self.key_id, vin, domain),
            )
            .fetchone()
        )
        if row is None:
            return None
        return SessionState(bytes(row[0]), bytes(row[1]), int(row[2]), float(row[3]))

    def learn(self, vin: str, domain: int, state: SessionState, *, now: float) -> None:
        def work(db: sqlite3.Connection) -> None:
            row = db.execute(
                "SELECT epoch, counter FROM signing_sessions "
                "WHERE key_id = ? AND vin = ? AND domain = ?",
                (self.key_id, vin, domain),
            ).fetchone()
            counter = state.counter
            if row is not None and bytes(row[0]) == state.epoch:
                counter = max(counter, int(row[1]))
            db.execute(
                "INSERT OR REPLACE INTO signing_sessions (key_id, vin, domain, vehicle_key, "
                "epoch, counter, clock_offset, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    self.key_id,
                    vin,
                    domain,
                    state.vehicle_key,
                    state.epoch,
                    counter,
                    state.clock_offset,
                    now,
                ),
            )

        self.db.transaction(work)

    def reserve(self, vin: str, domain: int) -> tuple[SessionState, int] | None:
        """The session and the next counter, taken for this process alone."""

        def work(db: sqlite3.Connection) -> tuple[SessionState, int] | None:
            row = db.execute(
                "UPDATE signing_sessions SET counter = counter + 1 "
                "WHERE key_id = ? AND vin = ? AND domain = ? "
                "RETURNING vehicle_key, epoch, counter, clock_offset",
                (self.key_id, vin, domain),
            ).fetchone()
            if row is None:
                return None
            state = SessionState(bytes(row[0]), bytes(row[1]), int(row[2]), float(row[3]))
            return state, state.counter

        return self.db.transaction(work)

    def forget(self, vin: str | None = None) -> int:
        def work(db: sqlite3.Connection) -> int:
            if vin is None:
                cursor = db.execute("DELETE FROM signing_sessions WHERE key_id = ?", (self.key_id,))
            else:
                cursor = db.execute(
                    "DELETE FROM signing_sessions WHERE key_id = ? AND vin = ?",
                    (self.key_id, vin),
                )
            return cursor.rowcount

        return self.db.transaction(work)
