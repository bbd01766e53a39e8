"""A queue entry as stored in `state.db`: its row, read back column by column.

A row changed by hand (or damaged) is an `UnreadableEntry` naming what is
wrong, never a crash: the readers report it and go on with the others.
"""

from __future__ import annotations

import json
import math
from dataclasses import fields
from typing import Any

from carctl.records import record
from carctl.timefmt import iso
from carctl.vehicle.commands import QUEUED_COMMANDS
from carctl.vehicle.model import Vehicle

LEASE_S = 120.0  # how long a lease is shown as active after its holder's last sign of life


BY_NAME = "name:"  # a queued car known only by what the user called it


LAST_TIME = 4_102_444_800.0  # 2100-01-01: no time carctl writes is later


@record
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


def number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _a_time(value: object) -> bool:
    """A time carctl could have written: finite, after 1970, before 2100."""
    return number(value) and 0 <= value <= LAST_TIME  # type: ignore[operator]


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
    problem = _what_is_wrong(values)
    if problem is not None:
        raise UnreadableEntry(entry_id, problem)
    _forget_bookkeeping(values)
    return Entry(**values)


def _what_is_wrong(values: dict[str, Any]) -> str | None:
    """The first column a request would need that is not as carctl writes it."""
    for name in _TEXT:
        if not isinstance(values[name], str) or not values[name] or len(values[name]) > 2000:
            return f"{name} is missing or not text"
    if values["command"] not in QUEUED_COMMANDS:
        shown = values["command"][:40].encode("unicode_escape").decode("ascii")
        return f"{shown!r} is not a command carctl queues"
    if not _a_car(values["vehicle_id"]):
        return "vehicle_id is not a car's id"
    if not _a_car(values["idempotency_key"]) or values["idempotency_key"].startswith(BY_NAME):
        return "idempotency_key is not a key carctl makes"
    missing = next((name for name in _TIMES if not _a_time(values[name])), None)
    if missing is not None:
        return f"{missing} is not a time"
    attempts = values["attempts"]
    if not isinstance(attempts, int) or isinstance(attempts, bool) or not 0 <= attempts < 10**6:
        return "attempts is not a number"
    if values["status"] not in STATUSES:
        shown = str(values["status"])[:40].encode("unicode_escape").decode("ascii")
        return f"status {shown!r} is not one carctl knows"
    if _parameters(values["params"]) is None:
        return "its parameters are not a JSON object"
    return None


def _forget_bookkeeping(values: dict[str, Any]) -> None:
    """Columns only kept for people (when, who, why): unreadable means unknown."""
    for name in ("lease_until", "finished_at", "sending_at", "failed_at"):
        if values[name] is not None and not _a_time(values[name]):
            values[name] = None
    for name, kind in (("lease_owner", int), ("last_status", int)):
        if not isinstance(values[name], kind | None):
            values[name] = None
    for name in ("last_txid", "last_error", "lease_identity"):
        if not isinstance(values[name], str | None):
            values[name] = None


def aliases(vehicle: Vehicle) -> list[str]:
    """The `vehicle_id`s an entry for this car may carry: its id, or a name it was queued by."""
    names = {vehicle.id, vehicle.vin, vehicle.display_name}
    return [vehicle.id, *sorted(BY_NAME + n.strip().casefold() for n in names if n.strip())]


def in_list(column: str, values: list[str] | list[int]) -> str:
    return f"{column} IN ({','.join('?' * len(values))})"


def same_car(scope: str, ids: list[str], vin: str) -> tuple[str, list[str]]:
    """SQL for "entries for this car": the last word is the car's, not a profile's.

    Any profile on the same service (the origin part of `profile@origin`) that
    names the car by one of `ids`; and on any service, an entry addressed by the
    car's VIN (the Fleet API and the signing proxy address cars by VIN, so a
    `cron` profile on the proxy and a direct command over the Fleet API meet).
    """
    origin = scope.split("@", 1)[1] if "@" in scope else scope
    where = f"(substr(scope, instr(scope, '@') + 1) = ? AND {in_list('vehicle_id', ids)}"
    args = [origin, *ids]
    if vin:
        where += " OR vehicle_id = ?"
        args.append(vin)
    return where + ")", args


@record(frozen=True)
class NewCommand:
    name: str
    params: dict[str, Any]
    slot: str
    idempotency_key: str


def readable(rows: list[tuple[Any, ...]]) -> list[Entry]:
    """The rows as entries; one that is not as carctl wrote it is left out."""
    found = []
    for row in rows:
        try:
            found.append(entry_from_row(row))
        except UnreadableEntry:
            continue
    return found
