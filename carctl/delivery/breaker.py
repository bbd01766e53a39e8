"""The retry budget and the breaker, per API origin, shared by every carctl process.

Budget (after gRPC retry throttling): 10 tokens; a retryable failure costs 1,
a success refunds 0.1; retries are sent only while tokens > 5. Tokens also
come back at one a minute, so yesterday's outage does not throttle today.

The budget limits retries, not first attempts: while the breaker is closed, a
command's first request is always sent, so one failure minutes after an outage
does not stop carctl from trying.

Breaker: opens after 5 consecutive server-side or network failures; a
`Retry-After` deadline in the future holds every request until it passes. While
open nothing is sent; commands go to the queue. After a cool-down (30 s,
doubling after each failed probe up to 5 min, each drawn from
[cool-down/2, cool-down] so clients spread out) one process wins the right to
send a single probe; its success closes the breaker.

The rules are pure functions over a `Health` record; `HealthStore` applies
them inside one `BEGIN IMMEDIATE` transaction, so processes never race.
"""

from __future__ import annotations

import logging
import math
import random
import sqlite3
from collections.abc import Callable
from dataclasses import asdict, fields
from typing import TYPE_CHECKING, TypeVar

from carctl.errors import CarctlError, RateLimitedError
from carctl.records import record

if TYPE_CHECKING:
    from carctl.state import StateDB


MAX_TOKENS = 10.0
RETRY_THRESHOLD = 5.0
REFUND = 0.1
REGEN_PER_S = 1 / 60
OPEN_AFTER = 5
COOLDOWN_START_S = 30.0
COOLDOWN_MAX_S = 300.0
PROBE_LEASE_S = 30.0

T = TypeVar("T")


log = logging.getLogger("carctl.health")


@record
class Health:
    origin: str
    tokens: float = MAX_TOKENS
    tokens_at: float = 0.0
    failures: int = 0
    first_failure_at: float | None = None
    last_failure_at: float | None = None
    last_failure: str | None = None
    state: str = "closed"  # closed | open
    opened_at: float | None = None
    open_until: float | None = None
    cooldown: float | None = None
    probe_until: float | None = None
    retry_after_until: float | None = None

    def to_json(self, now: float) -> dict[str, object]:
        data = asdict(self)
        data["tokens"] = round(self.tokens, 2)
        data["state"] = self.describe_state(now)
        return data

    def describe_state(self, now: float) -> str:
        if self.retry_after_until is not None and now < self.retry_after_until:
            return "waiting" if self.state == "closed" else "open"
        if self.state == "open":
            return "half-open" if self.open_until is not None and now >= self.open_until else "open"
        return "closed"


@record(frozen=True)
class Admission:
    send: bool
    probe: bool = False
    until: float | None = None  # when sending may be allowed again
    reason: str = ""


def regenerate(health: Health, now: float) -> None:
    if now > health.tokens_at:
        health.tokens = min(MAX_TOKENS, health.tokens + (now - health.tokens_at) * REGEN_PER_S)
    health.tokens_at = now  # a clock that went backwards only stops regeneration


def admit(health: Health, *, now: float) -> Admission:
    """May a request be sent now? At most one probe while the breaker is half-open."""
    regenerate(health, now)
    if health.retry_after_until is not None:
        if now < health.retry_after_until:
            if health.retry_after_until - now > 86400:  # the clock jumped back a long way
                health.retry_after_until = None
            else:
                return Admission(False, until=health.retry_after_until, reason="retry_after")
        else:
            health.retry_after_until = None
    if health.state != "open":
        return Admission(True)
    cooldown = health.cooldown or COOLDOWN_START_S
    if health.open_until is None or health.open_until - now > cooldown:
        health.open_until = now + cooldown  # the clock went backwards: do not stall for ever
    if now < health.open_until:
        return Admission(False, until=health.open_until, reason="breaker_open")
    if health.probe_until is not None and now < health.probe_until <= now + PROBE_LEASE_S:
        return Admission(False, until=health.probe_until, reason="probe_in_flight")
    health.probe_until = now + PROBE_LEASE_S
    return Admission(True, probe=True)


def can_retry(health: Health, *, now: float) -> bool:
    regenerate(health, now)
    return health.state == "closed" and health.tokens > RETRY_THRESHOLD


def record_failure(
    health: Health, *, error: CarctlError, now: float, rng: random.Random, probe: bool
) -> None:
    regenerate(health, now)
    health.tokens = max(0.0, health.tokens - 1)
    server_side = not isinstance(error, RateLimitedError)
    if server_side:
        health.failures += 1
        health.first_failure_at = health.first_failure_at or now
        health.last_failure_at = now
        health.last_failure = _summary(error)
    if error.retry_at is not None and error.retry_at > now:
        health.retry_after_until = max(health.retry_after_until or 0.0, error.retry_at)
    if probe or (health.state == "closed" and health.failures >= OPEN_AFTER):
        if health.state == "closed":
            health.cooldown = COOLDOWN_START_S
            health.opened_at = now
        elif probe:
            health.cooldown = min(COOLDOWN_MAX_S, (health.cooldown or COOLDOWN_START_S) * 2)
        cooldown = health.cooldown or COOLDOWN_START_S
        health.state = "open"
        health.open_until = now + rng.uniform(cooldown / 2, cooldown)
        health.probe_until = None


def record_success(health: Health, *, now: float) -> None:
    regenerate(health, now)
    health.tokens = min(MAX_TOKENS, health.tokens + REFUND)
    health.failures = 0
    health.first_failure_at = None
    health.state = "closed"
    health.opened_at = health.open_until = health.cooldown = health.probe_until = None


def _summary(error: CarctlError) -> str:
    if error.http is not None and error.http.status:
        return f"HTTP {error.http.status} on {error.http.method} {error.http.path}"
    return error.code


_HEALTH_NUMBERS = ("tokens", "tokens_at")
_HEALTH_OPTIONAL_NUMBERS = (
    "first_failure_at",
    "last_failure_at",
    "opened_at",
    "open_until",
    "cooldown",
    "probe_until",
    "retry_after_until",
)


def unreadable_health(values: dict[str, object]) -> str | None:
    """What is wrong with an `api_health` row (None: it is as carctl writes it)."""

    def number(value: object) -> bool:
        return (
            isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
        )

    for name in _HEALTH_NUMBERS:
        if not number(values[name]):
            return f"{name} is not a number"
    for name in _HEALTH_OPTIONAL_NUMBERS:
        if values[name] is not None and not number(values[name]):
            return f"{name} is not a number"
    if not isinstance(values["failures"], int) or values["failures"] < 0:
        return "failures is not a count"
    if values["state"] not in ("closed", "open"):
        return f"state {values['state']!r} is not closed or open"
    if values["last_failure"] is not None and not isinstance(values["last_failure"], str):
        return "last_failure is not text"
    return None


class HealthStore:
    """`api_health` rows, read and changed in one transaction each."""

    def __init__(self, db: StateDB, origin: str) -> None:
        self.db = db
        self.db_path = db.path
        self.origin = origin

    def _connection(self) -> sqlite3.Connection:
        return self.db.connection()

    def transact(self, change: Callable[[Health], T]) -> T:
        def work(db: sqlite3.Connection) -> T:
            health = self._load(db)
            result = change(health)
            self._save(db, health)
            return result

        return self.db.transaction(work)

    def read(self) -> Health:
        return self._load(self._connection())

    def _load(self, db: sqlite3.Connection) -> Health:
        names = [f.name for f in fields(Health)]
        row = db.execute(
            f"SELECT {', '.join(names)} FROM api_health WHERE origin = ?",  # noqa: S608
            (self.origin,),
        ).fetchone()
        if row is None:
            return Health(origin=self.origin)
        problem = unreadable_health(dict(zip(names, row, strict=True)))
        if problem is not None:
            # soft state: a fresh row costs one cool-down at most, a crash costs the morning
            log.warning(
                "the breaker and budget row for %s in %s cannot be read (%s); starting afresh",
                self.origin,
                self.db_path,
                problem,
            )
            return Health(origin=self.origin)
        return Health(**dict(zip(names, row, strict=True)))

    def _save(self, db: sqlite3.Connection, health: Health) -> None:
        data = asdict(health)
        names = list(data)
        db.execute(
            f"INSERT OR REPLACE INTO api_health ({', '.join(names)})"  # noqa: S608
            f" VALUES ({', '.join('?' * len(names))})",
            [data[n] for n in names],
        )
