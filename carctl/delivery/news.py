"""What the owner has been told: outcomes of queued commands since they last looked.

Told once: read and marked in one transaction, so two commands started
together never both tell the same news.
"""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING, Any

from carctl.delivery.entries import _FINISHED_AT, _SELECT, Entry, readable

if TYPE_CHECKING:
    from carctl.state import StateDB


class News:
    def __init__(self, db: StateDB) -> None:
        self.db = db

    def news(self, now: float, *, horizon_s: float = 86400) -> list[Entry]:
        """Outcomes (delivered, expired, failed) the owner has not been told of; now told.

        Read and marked in one transaction, so two commands started together
        never both tell the same news. With no mark yet, the last day counts.
        """

        def work(db: sqlite3.Connection) -> list[tuple[Any, ...]]:
            row = db.execute("SELECT at FROM looked WHERE id = 1").fetchone()
            since = row[0] if row and isinstance(row[0], int | float) else now - horizon_s
            rows = db.execute(
                f"{_SELECT} WHERE status IN ('delivered', 'expired', 'failed')"
                " AND finished_at > ? ORDER BY finished_at, id",
                (since,),
            ).fetchall()
            # another process's clock may run ahead of ours: what was told stays told
            told = [r[_FINISHED_AT] for r in rows if isinstance(r[_FINISHED_AT], int | float)]
            latest = max(told, default=now)
            self._looked(db, max(now, latest))
            return list(rows)

        return readable(self.db.transaction(work))

    def looked(self, now: float) -> None:
        """The owner has just seen the queue (a listing, a pass they ran): nothing is news."""
        self.db.transaction(lambda db: self._looked(db, now))

    @staticmethod
    def _looked(db: sqlite3.Connection, now: float) -> None:
        db.execute(
            "INSERT INTO looked (id, at) VALUES (1, ?)"
            " ON CONFLICT (id) DO UPDATE SET at = max(at, excluded.at)",
            (now,),
        )
