"""The request log: one row per HTTP exchange with the vehicle API.

Retries read it to tell a one-off from an outage, and `carctl doctor` to show
support what failed, when, and under which txid. It holds no header, no body
and no token: time, method, path (without query), status, duration, txid and
the outcome. Writing it is best effort — a full disk must not stop a command.
"""

from __future__ import annotations

import logging
import sqlite3
from typing import TYPE_CHECKING

from carctl.errors import StateError
from carctl.logs import redact
from carctl.records import record

if TYPE_CHECKING:
    from carctl.state import StateDB


KEEP_ROWS = 5000
_TRIM_EVERY = 100

log = logging.getLogger("carctl.requests")


@record(frozen=True)
class Exchange:
    at: float
    origin: str
    method: str
    path: str
    status: int | None
    duration_ms: int
    txid: str | None
    outcome: str  # ok | an error code such as service, network, auth
    error: str | None = None


class RequestLog:
    def __init__(self, db: StateDB) -> None:
        self.db = db
        self.db_path = db.path
        self._broken = False
        self._written = 0

    def _connection(self) -> sqlite3.Connection | None:
        if self._broken:
            return None
        try:
            return self.db.connection()
        except StateError as exc:
            self._broken = True
            log.warning("request log disabled: %s", exc.message)
            return None

    def record(self, exchange: Exchange) -> None:
        db = self._connection()
        if db is None:
            return
        try:
            db.execute(
                "INSERT INTO request_log (at, origin, method, path, status, duration_ms, txid,"
                " outcome, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    exchange.at,
                    exchange.origin,
                    exchange.method,
                    exchange.path,
                    exchange.status,
                    exchange.duration_ms,
                    redact(exchange.txid) if exchange.txid else None,
                    exchange.outcome,
                    redact(exchange.error) if exchange.error else None,
                ),
            )
            self._written += 1
            if self._written % _TRIM_EVERY == 1:
                db.execute(
                    "DELETE FROM request_log WHERE id <= (SELECT MAX(id) FROM request_log) - ?",
                    (KEEP_ROWS,),
                )
        except sqlite3.Error as exc:
            log.warning("request log write failed: %s", exc)

    def recent(self, origin: str | None = None, limit: int = 100) -> list[Exchange]:
        db = self._connection()
        if db is None:
            return []
        rows = db.execute(
            "SELECT at, origin, method, path, status, duration_ms, txid, outcome, error"
            " FROM request_log WHERE ? IS NULL OR origin = ? ORDER BY id DESC LIMIT ?",
            (origin, origin, limit),
        ).fetchall()
        return [Exchange(*row) for row in reversed(rows)]
