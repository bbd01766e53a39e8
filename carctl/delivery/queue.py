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
import logging
import math
import sqlite3
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, TypeVar

from carctl.errors import CarctlError, InternalError, StateError
from carctl.processes import Holder, alive, boot_id, since_boot
from carctl.timefmt import iso
from carctl.vehicle.model import Vehicle
from carctl.vehicle.safety import Safety, safety_of
from carctl.vehicle.service import QUEUED_COMMANDS

if TYPE_CHECKING:
    from carctl.state import StateDB


log = logging.getLogger("carctl.queue")
LEASE_S = 120.0  # how long a lease is shown as active after its holder's last sign of life
BY_NAME = "name:"  # a queued car known only by what the user called it
LAST_TIME = 4_102_444_800.0  # 2100-01-01: no time carctl writes is later
CONFIRM_SLACK_S = 60.0  # how far the wall clock may run ahead of the since-boot clock
MAX_AHEAD_S = 10 * 365 * 86400.0  # a recorded time further ahead than this was never real

T = TypeVar("T")


@dataclass
class Entry:
    id: int
    scope: str  # profile@origin: whose credentials deliver it
    api_url: str  # where to deliver it: the api_url of the run that queued it
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
    lease_identity: str | None = None  # the holder's boot id and start time
    sending_at: float | None = None  # when a worker last marked it as being sent
    failed_at: float | None = None  # when a try last failed, or the breaker held it back

    @property
    def arguments(self) -> dict[str, Any]:
        return _parameters(self.params) or {}

    @property
    def profile(self) -> str:
        return self.scope.split("@", 1)[0]

    def to_json(self) -> dict[str, Any]:
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
            "api": self.api_url,
        }


_COLUMNS = [f.name for f in fields(Entry)]
_FINISHED_AT = _COLUMNS.index("finished_at")
_SELECT = f"SELECT {', '.join(_COLUMNS)} FROM queue"  # noqa: S608 - fixed column names
STATUSES = ("pending", "delivered", "failed", "expired", "cancelled", "superseded")
_TEXT = ("scope", "api_url", "vehicle_id", "vehicle_name", "command", "slot", "idempotency_key")
_TIMES = ("created_at", "expires_at", "next_attempt_at")


class UnreadableEntry(Exception):
    """A queue row that carctl did not write as it is (edited, or damaged on disk)."""

    def __init__(self, entry_id: object, reason: str) -> None:
        super().__init__(f"#{entry_id}: {reason}")
        self.entry_id = entry_id
        self.reason = reason


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _a_time(value: object) -> bool:
    """A time carctl could have written: finite, after 1970, before 2100."""
    return _number(value) and 0 <= value <= LAST_TIME  # type: ignore[operator]


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is not a finite number")
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number carctl writes")


def _parameters(text: object) -> dict[str, Any] | None:
    """The parameters as carctl wrote them: a JSON object of finite values."""
    if not isinstance(text, str) or len(text) > 10_000:
        return None
    try:
        value = json.loads(text, parse_float=_finite, parse_constant=_no_constant)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def _a_car(value: str) -> bool:
    """An id word, or a name it was queued by: what a request path may carry."""
    if value.startswith(BY_NAME):
        return 0 < len(value) <= 200 + len(BY_NAME)
    return 0 < len(value) <= 64 and all(c.isascii() and (c.isalnum() or c in "-_") for c in value)


def entry_from_row(row: tuple[Any, ...]) -> Entry:
    """An `Entry` from a row, checked column by column; `UnreadableEntry` says what is wrong.

    Checked as a request would use it: a command carctl never queues (an edited
    row asking for `remote_start_drive`) is never read as one, whatever else
    the row says."""
    values = dict(zip(_COLUMNS, row, strict=True))
    entry_id = values["id"]
    if not isinstance(entry_id, int):
        raise UnreadableEntry(entry_id, "its id is not a number")
    for name in _TEXT:
        if not isinstance(values[name], str) or not values[name] or len(values[name]) > 2000:
            raise UnreadableEntry(entry_id, f"{name} is missing or not text")
    if values["command"] not in QUEUED_COMMANDS:
        shown = values["command"][:40].encode("unicode_escape").decode("ascii")
        raise UnreadableEntry(entry_id, f"{shown!r} is not a command carctl queues")
    if not _a_car(values["vehicle_id"]):
        raise UnreadableEntry(entry_id, "vehicle_id is not a car's id")
    if not _a_car(values["idempotency_key"]) or values["idempotency_key"].startswith(BY_NAME):
        raise UnreadableEntry(entry_id, "idempotency_key is not a key carctl makes")
    for name in _TIMES:
        if not _a_time(values[name]):
            raise UnreadableEntry(entry_id, f"{name} is not a time")
    attempts = values["attempts"]
    if not isinstance(attempts, int) or isinstance(attempts, bool) or not 0 <= attempts < 10**6:
        raise UnreadableEntry(entry_id, "attempts is not a number")
    if values["status"] not in STATUSES:
        shown = str(values["status"])[:40].encode("unicode_escape").decode("ascii")
        raise UnreadableEntry(entry_id, f"status {shown!r} is not one carctl knows")
    if _parameters(values["params"]) is None:
        raise UnreadableEntry(entry_id, "its parameters are not a JSON object")
    for name in ("lease_until", "finished_at", "sending_at", "failed_at"):
        if values[name] is not None and not _a_time(values[name]):
            values[name] = None  # bookkeeping only: unreadable means unknown
    if not isinstance(values["lease_owner"], int | None):
        values["lease_owner"] = None
    for name in ("last_status",):
        if not isinstance(values[name], int | None):
            values[name] = None
    for name in ("last_txid", "last_error", "lease_identity"):
        if not isinstance(values[name], str | None):
            values[name] = None
    return Entry(**values)


def aliases(vehicle: Vehicle) -> list[str]:
    """The `vehicle_id`s an entry for this car may carry: its id, or a name it was queued by."""
    names = {vehicle.id, vehicle.vin, vehicle.display_name}
    return [vehicle.id, *sorted(BY_NAME + n.strip().casefold() for n in names if n.strip())]


def _in(column: str, values: list[str] | list[int]) -> str:
    return f"{column} IN ({','.join('?' * len(values))})"


def _same_car(scope: str, ids: list[str], vin: str) -> tuple[str, list[str]]:
    """SQL for "entries for this car": the last word is the car's, not a profile's.

    Any profile on the same service (the origin part of `profile@origin`) that
    names the car by one of `ids`; and on any service, an entry addressed by the
    car's VIN (the Fleet API and the signing proxy address cars by VIN, so a
    `cron` profile on the proxy and a direct command over the Fleet API meet).
    """
    origin = scope.split("@", 1)[1] if "@" in scope else scope
    where = f"(substr(scope, instr(scope, '@') + 1) = ? AND {_in('vehicle_id', ids)}"
    args = [origin, *ids]
    if vin:
        where += " OR vehicle_id = ?"
        args.append(vin)
    return where + ")", args


@dataclass(frozen=True)
class NewCommand:
    name: str
    params: dict[str, Any]
    slot: str
    idempotency_key: str


def _readable(rows: list[tuple[Any, ...]]) -> list[Entry]:
    """The rows as entries; one that is not as carctl wrote it is left out."""
    found = []
    for row in rows:
        try:
            found.append(entry_from_row(row))
        except UnreadableEntry:
            continue
    return found


class Queue:
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
        self.monotonic = monotonic
        self.boot = boot

    def _connection(self) -> sqlite3.Connection:
        return self.db.connection()

    def _transaction(self, work: Callable[[sqlite3.Connection], T]) -> T:
        return self.db.transaction(work)

    def _trusted(self, db: sqlite3.Connection, wall: float) -> float:
        """The time to judge expiry by (see `_clock`)."""
        return self._clock(db, wall)[0]

    def _clock(self, db: sqlite3.Connection, wall: float) -> tuple[float, float]:
        """The time to judge expiry by, and the confirmed time to count durations from.

        The first is never earlier than any confirmed time before.

        The record is the highest *confirmed* time with the since-boot clock's
        reading at that moment; within the same boot it is carried forward by
        that clock (shared by every process, counting suspend), so real elapsed
        time counts even when the wall clock is later stepped back. A wall
        reading ahead of the carried time by more than `CONFIRM_SLACK_S` is a
        jump the since-boot clock does not confirm: this run still judges by it
        (so a command is never sent late), but it is not recorded, so one run
        with a clock a month fast cannot expire the commands of the weeks after.
        Across a reboot nothing can confirm a reading; the wall clock is taken.
        A duration (a queued command's time to live) counts from the confirmed
        time: a fast clock cannot lengthen it.
        """
        mono, boot = self.monotonic(), self.boot()
        row = db.execute("SELECT wall, mono, boot FROM clock_high WHERE id = 1").fetchone()
        carried, confirmed = wall, True
        if row is not None:
            high, then, then_boot = row
            try:
                carried = float(high)
                if then_boot == boot and boot and float(then) <= mono:
                    carried += mono - float(then)
                    confirmed = wall <= carried + CONFIRM_SLACK_S
            except (TypeError, ValueError):
                carried = wall  # an unreadable row: start again from the wall clock
            if not math.isfinite(carried) or carried > wall + MAX_AHEAD_S:
                carried = wall  # a record no clock could have made: start again
        now = max(wall, carried)
        db.execute(
            "INSERT OR REPLACE INTO clock_high (id, wall, mono, boot) VALUES (1, ?, ?, ?)",
            (now if confirmed else carried, mono, boot),
        )
        return now, (now if confirmed else carried)

    def now(self, wall: float) -> float:
        """The trusted time (see `_trusted`), for callers that compare with queue times."""
        return self._transaction(lambda db: self._trusted(db, wall))

    # -- adding ---------------------------------------------------------------------------

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
        batch = uuid.uuid4().hex[:12]
        items = list(commands)
        for item in items:  # the delivery layer never asks; a bug must not queue an unlock
            if safety_of(item.name, item.params) is Safety.NEVER_QUEUED:
                raise InternalError(f"{item.name} is never queued")
        http = error.http if error is not None else None
        retry_after = error.retry_at if error is not None else None
        why = (
            http.status if http else None,
            http.txid if http else None,
            error.message if error is not None else None,
        )

        where, args = _same_car(
            scope, [vehicle_id, BY_NAME + vehicle_name.strip().casefold()], vin or ""
        )

        def work(db: sqlite3.Connection) -> list[int]:
            _, trusted = self._clock(db, now)
            # a deadline the caller worked out on a wall clock that runs ahead of what
            # the since-boot clock confirms is moved back by that much
            skew = max(0.0, now - trusted)
            deadline = expires_at - skew if expires_at is not None else trusted + (ttl_s or 0.0)
            # the service's `Retry-After`, of any length: not sent before it, even if that
            # means it expires unsent
            first_try = max(trusted, retry_after) if retry_after is not None else trusted
            ids = []
            for command in items:
                cursor = db.execute(
                    "INSERT INTO queue (scope, api_url, vehicle_id, vehicle_name, command, params,"
                    " slot, idempotency_key, batch, created_at, expires_at, attempts,"
                    " next_attempt_at, status, last_status, last_txid, last_error, failed_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, 'pending', ?, ?, ?, ?)",
                    (
                        scope,
                        api_url,
                        vehicle_id,
                        vehicle_name,
                        command.name,
                        json.dumps(command.params, sort_keys=True),
                        command.slot,
                        command.idempotency_key,
                        batch,
                        trusted,
                        deadline,
                        first_try,
                        *why,
                        trusted if error is not None else None,
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

        ids = self._transaction(work)
        return [e for e in (self.get(i) for i in ids) if e is not None]

    def supersede(self, *, scope: str, vehicle: Vehicle, slot: str, now: float, by: str) -> int:
        """A successful direct command makes older queued ones in its slot pointless.

        Claimed entries too: a worker re-checks the status right before each
        request, so an entry superseded here is never sent afterwards. The last
        word is per car, whichever profile queued the older one (see `_same_car`).
        """

        def work(db: sqlite3.Connection) -> int:
            trusted = self._trusted(db, now)
            where, args = _same_car(scope, aliases(vehicle), vehicle.vin)
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
            trusted = self._trusted(db, now)
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

    # -- delivering -----------------------------------------------------------------------

    def _expire(self, db: sqlite3.Connection, wall: float) -> None:
        """Pending entries past their expiry become expired — except one being sent.

        An entry whose send has begun (`sending_at`, with its holder's lease)
        is judged by that send's outcome, never by another pass: the car may be
        executing it at this moment. Its holder checks expiry itself before any
        further request (`begin_send`). A send whose holder died is said to
        have perhaps reached the car.
        """
        now = self._trusted(db, wall)
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
                verdict = _number(until) and until > now
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
            now_trusted = self._trusted(db, now)
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
                db.execute(
                    "UPDATE queue SET lease_owner = ?, lease_identity = ?, lease_until = ?"  # noqa: S608
                    f" WHERE {_in('id', ids)}",
                    (owner.pid, owner.identity, now_trusted + LEASE_S, *ids),
                )
                return ids
            return []

        ids = self._transaction(work)
        return [e for e in (self.get(i) for i in ids) if e is not None]

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

        def work(db: sqlite3.Connection) -> bool:
            self._expire(db, now)
            trusted = self._trusted(db, now)
            row = db.execute(
                "SELECT status, lease_owner, lease_identity, expires_at FROM queue WHERE id = ?",
                (entry_id,),
            ).fetchone()
            if not (
                row and row[0] == "pending" and row[1] == owner.pid and row[2] == owner.identity
            ):
                return False
            if _number(row[3]) and row[3] <= trusted:  # our own earlier try did not land in time
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
        """A sign of life from the holder (each request it makes): the lease shows as active."""
        ids = [e.id for e in entries]
        if not ids:
            return

        def work(db: sqlite3.Connection) -> None:
            trusted = self._trusted(db, now)
            db.execute(
                f"UPDATE queue SET lease_until = ? WHERE status = 'pending' AND {_in('id', ids)}"  # noqa: S608
                " AND lease_owner = ? AND lease_identity IS ?",
                (trusted + LEASE_S, *ids, owner.pid, owner.identity),
            )

        self._transaction(work)

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
            at = self._trusted(db, now) + wait
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

    def release(self, entries: list[Entry]) -> None:
        ids = [e.id for e in entries]
        if not ids:
            return
        self._transaction(
            lambda db: db.execute(
                "UPDATE queue SET lease_owner = NULL, lease_until = NULL,"  # noqa: S608
                " lease_identity = NULL, sending_at = NULL"
                f" WHERE status = 'pending' AND {_in('id', ids)}",
                ids,
            )
        )

    # -- reading and cancelling -----------------------------------------------------------

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

        return _readable(self._transaction(work))

    def looked(self, now: float) -> None:
        """The owner has just seen the queue (a listing, a pass they ran): nothing is news."""
        self._transaction(lambda db: self._looked(db, now))

    @staticmethod
    def _looked(db: sqlite3.Connection, now: float) -> None:
        db.execute(
            "INSERT INTO looked (id, at) VALUES (1, ?)"
            " ON CONFLICT (id) DO UPDATE SET at = max(at, excluded.at)",
            (now,),
        )

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
            trusted = self._trusted(db, now)
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
