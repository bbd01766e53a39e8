"""The vehicle cache in `state.db`: names for completion and for finding the car.

It remembers each car's ids and name, the state last seen, and the last live
snapshot (`vehicle_data`), so `carctl status` can say what the car looked like
when it fell asleep. It is never trusted for a wake decision: that is always
asked of `/vehicles/{id}`, which does not wake the car.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from typing import TYPE_CHECKING, Any

from carctl.errors import StateError
from carctl.records import record
from carctl.vehicle.model import Vehicle

if TYPE_CHECKING:
    from carctl.state import StateDB


log = logging.getLogger("carctl.cache")


@record(frozen=True)
class Snapshot:
    data: dict[str, Any]
    at: float


class VehicleCache:
    def __init__(self, db: StateDB, scope: str) -> None:
        self.db = db
        self.db_path = db.path
        self.scope = scope

    def _connection(self) -> sqlite3.Connection | None:
        try:
            return self.db.connection()
        except StateError as exc:
            log.warning("vehicle cache unavailable: %s", exc.message)
            return None

    def vehicles(self) -> list[Vehicle]:
        db = self._connection()
        if db is None:
            return []
        try:
            rows = db.execute(
                "SELECT id, vin, display_name, state, command_signing FROM vehicle_cache"
                " WHERE scope = ? ORDER BY display_name",
                (self.scope,),
            ).fetchall()
        except sqlite3.Error:
            return []
        return [
            Vehicle(id=r[0], vin=r[1], display_name=r[2], state=r[3], command_signing=r[4] or "")
            for r in rows
        ]

    def online_since(self, vehicle_id: str, since: float) -> bool:
        """Did the car answer as online at `since` or later (by this clock)?"""
        db = self._connection()
        if db is None:
            return False
        try:
            row = db.execute(
                "SELECT state, seen_at FROM vehicle_cache WHERE scope = ? AND id = ?",
                (self.scope, vehicle_id),
            ).fetchone()
        except sqlite3.Error:
            return False
        return (
            bool(row) and row[0] == "online" and isinstance(row[1], int | float) and row[1] >= since
        )

    def last_seen(self, vehicle_id: str) -> float | None:
        """When the API last told carctl about the car (by this clock)."""
        db = self._connection()
        if db is None:
            return None
        try:
            row = db.execute(
                "SELECT seen_at FROM vehicle_cache WHERE scope = ? AND id = ?",
                (self.scope, vehicle_id),
            ).fetchone()
        except sqlite3.Error:
            return None
        return float(row[0]) if row and isinstance(row[0], int | float) else None

    def replace(self, vehicles: list[Vehicle], now: float) -> None:
        """The full list from the API: cars no longer on the account are forgotten."""
        db = self._connection()
        if db is None:
            return

        def work(db: sqlite3.Connection) -> None:
            keep = [v.id for v in vehicles]
            marks = ",".join("?" * len(keep)) or "''"
            db.execute(
                f"DELETE FROM vehicle_cache WHERE scope = ? AND id NOT IN ({marks})",  # noqa: S608
                (self.scope, *keep),
            )
            for vehicle in vehicles:
                self._upsert(db, vehicle, now)

        try:
            self.db.transaction(work)
        except (StateError, sqlite3.Error) as exc:  # a cache: its failure only costs a lookup
            log.warning("vehicle cache write failed: %s", exc)

    def seen(self, vehicle: Vehicle, now: float, snapshot: dict[str, Any] | None = None) -> None:
        db = self._connection()
        if db is None:
            return
        try:
            self._upsert(db, vehicle, now)
            if snapshot is not None:
                previous = self.snapshot(vehicle.id)
                if previous is not None:  # a partial read refreshes only its own sections
                    snapshot = {**previous.data, **snapshot}
                db.execute(
                    "UPDATE vehicle_cache SET snapshot = ?, snapshot_at = ? WHERE scope = ?"
                    " AND id = ?",
                    (json.dumps(snapshot), now, self.scope, vehicle.id),
                )
        except sqlite3.Error as exc:
            log.warning("vehicle cache write failed: %s", exc)

    def snapshot(self, vehicle_id: str) -> Snapshot | None:
        db = self._connection()
        if db is None:
            return None
        try:
            row = db.execute(
                "SELECT snapshot, snapshot_at FROM vehicle_cache WHERE scope = ? AND id = ?",
                (self.scope, vehicle_id),
            ).fetchone()
        except sqlite3.Error:
            return None
        if not row or not row[0]:
            return None
        try:
            return Snapshot(json.loads(row[0]), float(row[1]))
        except (ValueError, TypeError):
            return None

    def _upsert(self, db: sqlite3.Connection, vehicle: Vehicle, now: float) -> None:
        db.execute(
            "INSERT INTO vehicle_cache"
            " (scope, id, vin, display_name, state, seen_at, command_signing)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (scope, id) DO UPDATE SET"
            " vin = excluded.vin, display_name = excluded.display_name,"
            " state = excluded.state, seen_at = excluded.seen_at,"
            " command_signing = coalesce(nullif(excluded.command_signing, ''),"
            " vehicle_cache.command_signing)",
            (
                self.scope,
                vehicle.id,
                vehicle.vin,
                vehicle.display_name,
                vehicle.state,
                now,
                vehicle.command_signing,
            ),
        )
