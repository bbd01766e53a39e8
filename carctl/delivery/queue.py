"""The durable command queue in `state.db`.

Each entry is one command for one car with its own idempotency key, kept
across every delivery attempt, so a retry after a crash can never execute it
twice. Rules:

- a newer command in the same slot (climate, temperature, windows) supersedes
  an older pending one, and so does a successful direct command — even when a
  worker has already claimed it: the last word wins;
- an entry queued by the car's name (its id was not known yet) is matched to
  the car as soon as any lookup learns the id, and supersession matches both;
- an entry past its expiry is never sent: `begin_send` checks it, with the
  entry's status, in the same transaction that marks it as being sent, right
  before every request that can execute it (first send, re-send after a wake,
  each retry);
- expiry is judged by a clock that cannot run backwards: the highest time ever
  recorded in `state.db`, carried forward by the system-wide monotonic clock
  within one boot, so a wall clock stepped back (or fast for a while) cannot
  make an expired command look fresh;
- per car, entries go in the order they were queued: a car's entries are
  claimed together, as one batch, so they share one wake;
- claiming takes a lease in one `BEGIN IMMEDIATE` transaction, so two workers
  never send the same entry. A lease names its holder by pid and process
  identity (boot id and start time); it is renewed while the holder works and
  is taken over only when that process is gone — never because time passed,
  so a slow wake or a laptop's suspend cannot lead to a second send.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterable

from carctl.delivery.entries import BY_NAME, Entry, NewCommand, aliases, same_car
from carctl.delivery.leases import Leases
from carctl.errors import CarctlError, InternalError
from carctl.records import record
from carctl.vehicle.model import Vehicle
from carctl.vehicle.safety import Safety, safety_of

__all__ = ["BY_NAME", "Entry", "NewCommand", "Queue"]


@record(frozen=True)
class _Car:
    """Whose car a batch is for, and where it is delivered."""

    scope: str
    api_url: str
    vehicle_id: str
    vehicle_name: str
    vin: str


class Queue(Leases):
    """An entry's life: added, superseded, delivered, failed, cancelled (see the module)."""

    def now(self, wall: float) -> float:
        """The trusted time (see `_trusted`), for callers that compare with queue times."""
        return self._transaction(lambda db: self.time.now(db, wall))

    def add(
        self,
        *,
        scope: str,
        api_url: str,
        vehicle_id: str,
        vehicle_name: str,
        commands: Iterable[NewCommand],
        now: float,
        expires_at: float | None = None,
        ttl_s: float | None = None,
        error: CarctlError | None = None,
        vin: str | None = None,
    ) -> list[Entry]:
        """Queue commands together (one batch); each supersedes pending ones in its slot
        for the same car, whichever profile queued them.

        The expiry is `expires_at` (a wall time the user chose) or `ttl_s` from now.
        """
        items = list(commands)
        for item in items:  # the delivery layer never asks; a bug must not queue an unlock
            if safety_of(item.name, item.params) is Safety.NEVER_QUEUED:
                raise InternalError(f"{item.name} is never queued")
        car = _Car(scope, api_url, vehicle_id, vehicle_name, vin or "")
        ids = self._transaction(
            lambda db: self._insert(
                db, car, items, now=now, expires_at=expires_at, ttl_s=ttl_s, error=error
            )
        )
        return self.many(ids)

    def _insert(
        self,
        db: sqlite3.Connection,
        car: _Car,
        items: list[NewCommand],
        *,
        now: float,
        expires_at: float | None,
        ttl_s: float | None,
        error: CarctlError | None,
    ) -> list[int]:
        """One batch of rows; each new one supersedes older pending ones of its slot."""
        self._prune_once(db, now)
        _, trusted = self.time.both(db, now)
        # a deadline the caller worked out on a wall clock that runs ahead of what
        # the since-boot clock confirms is moved back by that much
        skew = max(0.0, now - trusted)
        deadline = expires_at - skew if expires_at is not None else trusted + (ttl_s or 0.0)
        # the service's `Retry-After`, of any length: not sent before it, even if that
        # means it expires unsent
        retry_after = error.retry_at if error is not None else None
        first_try = max(trusted, retry_after) if retry_after is not None else trusted
        http = error.http if error is not None else None
        why = (
            http.status if http else None,
            http.txid if http else None,
            error.message if error is not None else None,
            trusted if error is not None else None,
        )
        where, args = same_car(
            car.scope, [car.vehicle_id, BY_NAME + car.vehicle_name.strip().casefold()], car.vin
        )
        batch, ids = uuid.uuid4().hex[:12], []
        for command in items:
            cursor = db.execute(
                "INSERT INTO queue (scope, api_url, vehicle_id, vehicle_name, command, params,"
                " slot, idempotency_key, batch, created_at, expires_at, attempts,"
                " next_attempt_at, status, last_status, last_txid, last_error, failed_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, 'pending', ?, ?, ?, ?)",
                (
                    *(car.scope, car.api_url, car.vehicle_id, car.vehicle_name),
                    command.name,
                    json.dumps(command.params, sort_keys=True),
                    command.slot,
                    command.idempotency_key,
                    *(batch, trusted, deadline, first_try),
                    *why,
                ),
            )
            new_id = int(cursor.lastrowid or 0)
            db.execute(
                "UPDATE queue SET status = 'superseded', finished_at = ?, last_error = ?"  # noqa: S608
                f" WHERE status = 'pending' AND {where} AND slot = ? AND id < ?",
                (trusted, f"superseded by #{new_id}", *args, command.slot, new_id),
            )
            ids.append(new_id)
        return ids

    def supersede(self, *, scope: str, vehicle: Vehicle, slot: str, now: float, by: str) -> int:
        """A successful direct command makes older queued ones in its slot pointless.

        Claimed entries too: a worker re-checks the status right before each
        request, so an entry superseded here is never sent afterwards. The last
        word is per car, whichever profile queued the older one (see `_same_car`).
        """

        def work(db: sqlite3.Connection) -> int:
            trusted = self.time.now(db, now)
            where, args = same_car(scope, aliases(vehicle), vehicle.vin)
            cursor = db.execute(
                "UPDATE queue SET status = 'superseded', finished_at = ?, last_error = ?"  # noqa: S608
                f" WHERE status = 'pending' AND {where} AND slot = ?",
                (trusted, f"superseded by {by}", *args, slot),
            )
            return cursor.rowcount

        return self._transaction(work)

    def adopt(self, *, scope: str, vehicles: list[Vehicle], complete: bool, now: float) -> int:
        """Entries queued by a car's name get its id, now that a lookup has learned it.

        A name matches a car's id, VIN or display name exactly; with the whole
        list of the account's cars (`complete`), also a unique prefix of a
        name, as `--vehicle` does. Afterwards the newest entry of each slot
        supersedes older ones of the same car, whichever way they were queued.
        """
        if not vehicles:
            return 0

        def match(selector: str) -> Vehicle | None:
            exact = [
                v
                for v in vehicles
                if selector in (v.id.casefold(), v.vin.casefold(), v.display_name.casefold())
            ]
            if len(exact) == 1:
                return exact[0]
            if exact or not complete:
                return None
            prefixed = [v for v in vehicles if v.display_name.casefold().startswith(selector)]
            return prefixed[0] if len(prefixed) == 1 else None

        def work(db: sqlite3.Connection) -> int:
            trusted = self.time.now(db, now)
            rows = db.execute(
                "SELECT id, vehicle_id FROM queue WHERE status = 'pending' AND scope = ?"
                " AND vehicle_id LIKE 'name:%'",
                (scope,),
            ).fetchall()
            adopted: set[str] = set()
            for entry_id, vehicle_id in rows:
                car = match(str(vehicle_id)[len(BY_NAME) :])
                if car is None:
                    continue
                db.execute(
                    "UPDATE queue SET vehicle_id = ?, vehicle_name = ? WHERE id = ?",
                    (car.id, car.display_name, entry_id),
                )
                adopted.add(car.id)
            for car_id in adopted:
                db.execute(
                    "UPDATE queue SET status = 'superseded', finished_at = ?,"
                    " last_error = 'superseded by #' || (SELECT max(newer.id) FROM queue newer"
                    "   WHERE newer.status = 'pending' AND newer.scope = queue.scope"
                    "   AND newer.vehicle_id = queue.vehicle_id AND newer.slot = queue.slot)"
                    " WHERE status = 'pending' AND scope = ? AND vehicle_id = ? AND id < ("
                    "   SELECT max(newer.id) FROM queue newer WHERE newer.status = 'pending'"
                    "   AND newer.scope = queue.scope AND newer.vehicle_id = queue.vehicle_id"
                    "   AND newer.slot = queue.slot)",
                    (trusted, scope, car_id),
                )
            return len(adopted)

        return self._transaction(work)

    def _finish(
        self, entry_id: int, status: str, now: float, error: CarctlError | None = None
    ) -> None:
        http = error.http if error else None
        self._transaction(
            lambda db: db.execute(
                "UPDATE queue SET status = ?, finished_at = ?, lease_owner = NULL,"
                " lease_until = NULL, lease_identity = NULL, sending_at = NULL,"
                " attempts = attempts + 1,"
                # a failure's own details replace an earlier attempt's (a car's refusal has
                # no HTTP status: an outage's 503 is not its status); a delivery keeps them
                " last_status = CASE WHEN ? THEN ? ELSE last_status END,"
                " last_txid = CASE WHEN ? THEN ? ELSE last_txid END,"
                " last_error = coalesce(?, last_error) WHERE id = ? AND status = 'pending'",
                (
                    status,
                    now,
                    error is not None,
                    http.status if http else None,
                    error is not None,
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
        self, entries: list[Entry], error: CarctlError, *, now: float, wait: float, tried: bool
    ) -> None:
        """Release a car's batch for `wait` seconds; the first entry counts an attempt if tried."""
        if not entries:
            return
        http = error.http

        def work(db: sqlite3.Connection) -> None:
            at = self.time.now(db, now) + wait
            for index, entry in enumerate(entries):
                counted = 1 if (index == 0 and tried) else 0
                db.execute(
                    "UPDATE queue SET lease_owner = NULL, lease_until = NULL,"
                    " lease_identity = NULL, sending_at = NULL, failed_at = ?,"
                    " attempts = attempts + ?, next_attempt_at = ?,"
                    " last_status = ?, last_txid = ?, last_error = ?"
                    " WHERE id = ? AND status = 'pending'",
                    (
                        at - wait,
                        counted,
                        at,
                        http.status if http else None,
                        http.txid if http else None,
                        error.message,
                        entry.id,
                    ),
                )

        self._transaction(work)

    @staticmethod
    def _pending_ids(db: sqlite3.Connection, entry_id: int | None, verb: str) -> list[int]:
        """The one entry asked for (which must be pending), or every pending one."""
        if entry_id is None:
            return [r[0] for r in db.execute("SELECT id FROM queue WHERE status = 'pending'")]
        row = db.execute("SELECT status FROM queue WHERE id = ?", (entry_id,)).fetchone()
        if row is None:
            raise CarctlError(
                f"there is no queue entry #{entry_id}", hint="`carctl queue list --all` lists them"
            )
        if row[0] != "pending":
            raise CarctlError(f"entry #{entry_id} is already {row[0]}; nothing to {verb}")
        return [entry_id]

    def due_now(self, entry_id: int | None, *, now: float) -> list[int]:
        """Make one pending entry (or all, `None`) due at once: the owner asks for a try now."""

        def work(db: sqlite3.Connection) -> list[int]:
            trusted = self.time.now(db, now)
            ids = self._pending_ids(db, entry_id, "retry")
            for found in ids:
                db.execute("UPDATE queue SET next_attempt_at = ? WHERE id = ?", (trusted, found))
            return ids

        return self._transaction(work)

    def cancel(self, entry_id: int | None, *, now: float) -> list[int]:
        """Cancel one pending entry, or all (`None`).

        An entry a worker has claimed is cancelled too: the worker checks the
        status before its next request; one already on the wire cannot be recalled.
        """

        def work(db: sqlite3.Connection) -> list[int]:
            ids = self._pending_ids(db, entry_id, "cancel")
            for found in ids:
                db.execute(
                    "UPDATE queue SET status = 'cancelled', finished_at = ?, lease_owner = NULL,"
                    " lease_until = NULL, lease_identity = NULL WHERE id = ?",
                    (now, found),
                )
            return ids

        return self._transaction(work)
