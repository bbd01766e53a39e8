"""The usage ledger and the meter: every call to a paid vehicle API, counted and capped.

The meter stands before every request the client sends to a paid provider
(`fleet`, `proxy`, `teslemetry`, or a URL whose profile says `billing = on`):

- before: the month's cost plus this call's price must stay within the cap
  (`usage.monthly_limit`), or nothing is sent (exit 77 with the month's
  figures); the per-minute limits per car (60 data requests, 30 commands,
  3 wakes) are kept here, so the service never has to refuse with a billed 429;
- after: the call is written with its status (billed when below 500), and at
  80 % of the cap the owner is told, once a day.

The ledger is bookkeeping, not the command: a ledger that cannot be written
never blocks a call the cap allows (carctl says so and goes on); a cap that
cannot be checked refuses, which is the safe side.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from carctl.api import usage
from carctl.api.usage import Call, Month, Prices
from carctl.clock import Clock
from carctl.errors import CapReachedError, HeldBackError, StateError
from carctl.timefmt import hhmmss

if TYPE_CHECKING:
    from carctl.state import StateDB


log = logging.getLogger("carctl.usage")
KEEP_MONTHS = 13  # a year back, and this month
LIMIT_HINT = "raise it: carctl config set usage.monthly_limit 20 (US$; `off`: no cap)"


class Ledger:
    """`usage_ledger` rows of one account (profile@provider)."""

    def __init__(self, db: StateDB, account: str) -> None:
        self.db = db
        self.db_path = db.path
        self.account = account

    def _connection(self) -> sqlite3.Connection:
        return self.db.connection()

    def record(self, call: Call, *, at: float, status: int | None) -> None:
        """Write one call; raises `StateError` when it cannot."""
        db = self._connection()
        try:
            db.execute(
                "INSERT INTO usage_ledger (account, at, month, category, name, vehicle, status,"
                " billed) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    self.account,
                    at,
                    usage.month_of(at),
                    call.category,
                    call.name,
                    call.vehicle,
                    status,
                    int(usage.billed(status)),
                ),
            )
        except sqlite3.Error as exc:
            from carctl.state import unusable

            raise unusable(self.db_path, exc) from None

    def rows(self, month: str) -> list[tuple[str, str, int, int]]:
        """(category, name, calls, billed calls) of a month."""
        return self._read(
            "SELECT category, name, count(*), sum(billed) FROM usage_ledger"
            " WHERE account = ? AND month = ? GROUP BY category, name",
            (self.account, month),
        )

    def spent(self, month: str, prices: Prices) -> float:
        rows = self._read(
            "SELECT category, sum(billed) FROM usage_ledger WHERE account = ? AND month = ?"
            " GROUP BY category",
            (self.account, month),
        )
        return sum(prices.of(category) * (paid or 0) for category, paid in rows)

    def recent(self, vehicle: str | None, category: str, since: float) -> list[float]:
        """When calls of this category reached the service for this car since `since`."""
        rows = self._read(
            "SELECT at FROM usage_ledger WHERE account = ? AND vehicle IS ? AND category = ?"
            " AND at > ? AND status IS NOT NULL ORDER BY at",
            (self.account, vehicle, category, since),
        )
        return [row[0] for row in rows]

    def months(self) -> list[str]:
        rows = self._read(
            "SELECT DISTINCT month FROM usage_ledger WHERE account = ? ORDER BY month",
            (self.account,),
        )
        return [row[0] for row in rows]

    def warned_on(self, day: str) -> bool:
        """Was the 80 % warning given on `day`? Marks it given if not (one per day)."""
        db = self._connection()
        try:
            cursor = db.execute(
                "INSERT OR IGNORE INTO usage_warned (account, day) VALUES (?, ?)",
                (self.account, day),
            )
        except sqlite3.Error:
            return False
        return cursor.rowcount == 0

    def prune(self, now: float) -> None:
        """Forget months Tesla no longer bills or shows."""
        start, _ = usage.month_bounds(usage.month_of(now))
        keep_from = datetime.fromtimestamp(start, UTC)
        year, month = keep_from.year, keep_from.month - KEEP_MONTHS + 1
        while month < 1:
            year, month = year - 1, month + 12
        with_db = self._connection()
        try:
            with_db.execute(
                "DELETE FROM usage_ledger WHERE account = ? AND month < ?",
                (self.account, f"{year:04d}-{month:02d}"),
            )
        except sqlite3.Error as exc:
            log.warning("usage ledger not pruned: %s", exc)

    def _read(self, sql: str, args: tuple[object, ...]) -> list[Any]:
        db = self._connection()
        try:
            return list(db.execute(sql, args).fetchall())
        except sqlite3.Error as exc:
            from carctl.state import unusable

            raise unusable(self.db_path, exc) from None


class Meter:
    """The client's check before, and its record after, every call to a paid provider."""

    def __init__(
        self,
        ledger: Ledger,
        prices: Prices,
        *,
        clock: Clock,
        provider: str,
        warn: Callable[[str], None] | None = None,
    ) -> None:
        self.ledger = ledger
        self.prices = prices
        self.clock = clock
        self.provider = provider  # for messages: "Tesla's Fleet API"
        self.warn = warn
        self._unwritable = False
        self._pruned = False

    def before(self, method: str, path: str, label: str | None = None) -> Call | None:
        """The call about to go out, once it is admitted; raises when it must not go."""
        call = usage.classify(method, path, label)
        if call is None:
            return None
        now = self.clock.now()
        month = usage.month_of(now)
        price = self.prices.of(call.category)
        limit = self.prices.limit
        if limit is not None:
            try:
                spent = self.ledger.spent(month, self.prices)
            except StateError as exc:
                raise CapReachedError(
                    f"the monthly cap of US${limit:.2f} cannot be checked, so nothing was sent: "
                    f"the usage ledger cannot be read ({exc.message})",
                    hint=(exc.hint or "")
                    + ("; " if exc.hint else "")
                    + "or turn the cap off: carctl config set usage.monthly_limit off",
                ) from None
            if usage.over_limit(spent, price, limit):
                raise self._cap_reached(call, spent, month)
            self._nearly_there(spent + price, now)
        self._hold_back(call, now)
        return call

    def afford(self, counts: Mapping[str, int]) -> None:
        """Refuse a whole command before its first request when its calls (`counts`: per
        category) would take the month past the cap: a morning is not left half done, a
        car not woken for commands that may not follow."""
        limit = self.prices.limit
        if limit is None:
            return
        now = self.clock.now()
        month = usage.month_of(now)
        cost = sum(self.prices.of(category) * n for category, n in counts.items())
        try:
            spent = self.ledger.spent(month, self.prices)
        except StateError:
            return  # each call is still checked, and refused there: the safe side
        if not usage.over_limit(spent, cost, limit):
            return
        words = {
            usage.WAKE: ("a wake", "wakes"),
            usage.COMMAND: ("1 command", "commands"),
            usage.DATA: ("a read", "reads"),
        }
        parts = [
            words[c][0] if n == 1 else f"{n} {words[c][1]}"
            for c, n in counts.items()
            if n and c in words
        ]
        what = ", ".join(parts[:-1]) + (" and " if len(parts) > 1 else "") + parts[-1]
        raise CapReachedError(
            f"this command ({what}, about US${cost:.3f}) would take this month's use of "
            f"{self.provider} past your cap: US${spent:.2f} of US${limit:.2f} spent in {month}, "
            "so carctl did not send it",
            hint=f"`carctl usage` shows where it went; {LIMIT_HINT}",
        )

    def after(self, call: Call, status: int | None, at: float) -> None:
        try:
            self.ledger.record(call, at=at, status=status)
            if not self._pruned:
                self._pruned = True
                self.ledger.prune(at)
        except StateError as exc:
            if not self._unwritable and self.warn is not None:
                self.warn(
                    f"the usage ledger cannot be written ({exc.message}); calls in this run "
                    "are not counted"
                )
            self._unwritable = True

    def month(self, month: str | None = None, *, top: int = 5) -> Month:
        now = self.clock.now()
        month = month or usage.month_of(now)
        return usage.summarize(month, self.ledger.rows(month), self.prices, now=now, top=top)

    def _cap_reached(self, call: Call, spent: float, month: str) -> CapReachedError:
        limit = self.prices.limit or 0.0
        article = "an" if call.category[0] in "aeiou" else "a"
        return CapReachedError(
            f"{article} {call.category} call ({call.name}) would take this month's use of "
            f"{self.provider} past your cap: US${spent:.2f} of US${limit:.2f} spent in {month}, "
            "so nothing was sent",
            hint=f"`carctl usage` shows where it went; {LIMIT_HINT}",
        )

    def _nearly_there(self, total: float, now: float) -> None:
        limit = self.prices.limit
        if limit is None or self.warn is None or limit <= 0 or total < limit * usage.WARN_AT:
            return
        day = datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%d")
        if self.ledger.warned_on(day):
            return
        self.warn(
            f"this month's use of {self.provider} is at US${total:.2f} of your US${limit:.2f} "
            f"cap ({total / limit:.0%}); carctl refuses calls past it (`carctl usage`)"
        )

    def _hold_back(self, call: Call, now: float) -> None:
        per_minute = usage.PER_MINUTE.get(call.category)
        if per_minute is None:
            return
        try:
            recent = self.ledger.recent(call.vehicle, call.category, now - 60.0)
        except StateError:
            return  # the service keeps its own limit; without the ledger carctl cannot
        if len(recent) < per_minute:
            return
        free_at = recent[len(recent) - per_minute] + 60.0
        plural = "wakes" if call.category == usage.WAKE else f"{call.category} requests"
        if call.category == usage.COMMAND:
            plural = "commands"
        error = HeldBackError(
            f"carctl keeps under {self.provider}'s limit of {per_minute} {plural} a minute "
            f"per car; {call.name} was not sent (next allowed at {hhmmss(free_at)})",
            hint="what was queued goes out when the limit allows",
        )
        error.retry_at = free_at
        raise error
