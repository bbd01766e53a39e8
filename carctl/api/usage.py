"""What the vehicle API costs: Tesla's billing rules, as pure functions.

Tesla bills the Fleet API per call, by category (developer.tesla.com, "Billing
and limits"): per US$1, 1,000 commands, 500 data requests, 50 wakes or 150,000
streaming signals, less a monthly discount of US$10 per account. Any answer
below 500 is billed; 500 and above is not. Months are calendar months in UTC.
Per car and minute the service allows 60 data requests, 30 commands and
3 wakes, and answers 429 beyond that.

This module knows the rules; `carctl.api.ledger` keeps the record and the cap.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import field
from datetime import UTC, datetime

from carctl.records import record

DATA, COMMAND, WAKE, SIGNAL = "data", "command", "wake", "signal"
CATEGORIES = (DATA, COMMAND, WAKE, SIGNAL)
# per US$1 (Tesla's published prices); the settings may say otherwise
PER_DOLLAR = {COMMAND: 1000, DATA: 500, WAKE: 50, SIGNAL: 150_000}
DISCOUNT = 10.0  # US$ a month per account
PER_MINUTE = {DATA: 60, COMMAND: 30, WAKE: 3}  # per car
WARN_AT = 0.8  # of the limit: said once a day
_VEHICLE_PATH = re.compile(r"^/api/1/vehicles/([^/]+)(?:/(.*))?$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


@record(frozen=True)
class Prices:
    """US$ per call of each category, the monthly discount and the owner's cap."""

    each: Mapping[str, float] = field(
        default_factory=lambda: {name: 1 / n for name, n in PER_DOLLAR.items()}
    )
    discount: float = DISCOUNT
    limit: float | None = DISCOUNT  # None: no cap

    def of(self, category: str) -> float:
        return self.each.get(category, 0.0)


@record(frozen=True)
class Call:
    """What one request is, for billing: its category, a name for the owner, its car."""

    category: str
    name: str
    vehicle: str | None


def classify(method: str, path: str, label: str | None = None) -> Call | None:
    """The billing category of a request to the vehicle API; None: not billed (sign-in).

    `label` names what the request does when the path does not (a signed command's
    action)."""
    path = path.split("?", 1)[0]
    if not path.startswith("/api/1/"):
        return None
    found = _VEHICLE_PATH.match(path)
    vehicle = found.group(1) if found else None
    rest = (found.group(2) or "") if found else ""
    if vehicle in ("fleet_status",):  # POST /api/1/vehicles/fleet_status: not one car's
        return Call(DATA, "fleet_status", None)
    if rest == "wake_up":
        return Call(WAKE, "wake_up", vehicle)
    if rest.startswith("command/"):
        return Call(COMMAND, label or rest.removeprefix("command/"), vehicle)
    if rest == "signed_command":
        return Call(COMMAND, label or "signed_command", vehicle)
    if found:
        return Call(DATA, label or (rest or "vehicle"), vehicle)
    return Call(DATA, label or path.removeprefix("/api/1/"), None)


def billed(status: int | None) -> bool:
    """Any answer below 500 is billed; a server error, or no answer at all, is not."""
    return status is not None and status < 500


def month_of(at: float) -> str:
    """ "2026-12": the billing month (UTC) a moment falls in."""
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m")


def parse_month(text: str) -> str:
    """A month as YYYY-MM, checked; ValueError with the expected form otherwise."""
    found = _MONTH.match(text.strip())
    if not found or not 1 <= int(found.group(2)) <= 12 or int(found.group(1)) < 2000:
        raise ValueError("expected a month as YYYY-MM, such as 2026-11")
    return text.strip()


def month_bounds(month: str) -> tuple[float, float]:
    """The month's first moment and the next month's, as timestamps (UTC)."""
    year, number = (int(x) for x in month.split("-"))
    start = datetime(year, number, 1, tzinfo=UTC)
    end = datetime(year + (number == 12), number % 12 + 1, 1, tzinfo=UTC)
    return start.timestamp(), end.timestamp()


@record(frozen=True)
class Line:
    """One category or one name in a month: calls, of which billed, and their cost."""

    name: str
    category: str
    calls: int
    billed: int
    cost: float


@record(frozen=True)
class Month:
    """A month's usage as the owner reads it in `carctl usage`."""

    month: str
    categories: list[Line]
    names: list[Line]  # by cost, highest first
    cost: float
    prices: Prices
    projected: float | None  # the month's cost at this month's rate; None: a past month

    @property
    def due(self) -> float:
        """What Tesla would charge after the monthly discount."""
        return max(0.0, self.cost - self.prices.discount)

    def to_json(self) -> dict[str, object]:
        return {
            "month": self.month,
            "categories": {
                line.category: {"calls": line.calls, "billed": line.billed, "cost": _usd(line.cost)}
                for line in self.categories
            },
            "calls": sum(line.calls for line in self.categories),
            "billed": sum(line.billed for line in self.categories),
            "cost": _usd(self.cost),
            "discount": _usd(self.prices.discount),
            "due": _usd(self.due),
            "limit": None if self.prices.limit is None else _usd(self.prices.limit),
            "projected": None if self.projected is None else _usd(self.projected),
            "top": [
                {
                    "name": line.name,
                    "category": line.category,
                    "calls": line.calls,
                    "billed": line.billed,
                    "cost": _usd(line.cost),
                }
                for line in self.names
            ],
            "prices": {name: self.prices.of(name) for name in CATEGORIES},
        }


def _usd(value: float) -> float:
    return round(value, 6)


def summarize(
    month: str,
    rows: Iterable[tuple[str, str, int, int]],
    prices: Prices,
    *,
    now: float,
    top: int = 5,
) -> Month:
    """`rows`: (category, name, calls, billed calls) of one month."""
    by_category: dict[str, list[int]] = {c: [0, 0] for c in CATEGORIES}
    by_name: dict[tuple[str, str], list[int]] = {}
    for category, name, calls, paid in rows:
        counts = by_category.setdefault(category, [0, 0])
        counts[0] += calls
        counts[1] += paid
        named = by_name.setdefault((category, name), [0, 0])
        named[0] += calls
        named[1] += paid
    categories = [
        Line(c, c, calls, paid, paid * prices.of(c)) for c, (calls, paid) in by_category.items()
    ]
    names = sorted(
        (
            Line(name, category, calls, paid, paid * prices.of(category))
            for (category, name), (calls, paid) in by_name.items()
        ),
        key=lambda line: (-line.cost, -line.calls, line.name),
    )[:top]
    cost = sum(line.cost for line in categories)
    start, end = month_bounds(month)
    projected = None
    if start <= now < end:
        elapsed = max(now - start, 86400.0)  # the first day counts as a whole day
        projected = cost * (end - start) / elapsed
    return Month(month, categories, names, cost, prices, projected)


def over_limit(spent: float, price: float, limit: float | None) -> bool:
    """Would one more call at `price` take the month past the cap? (A cent's millionth of
    slack, so that 1,000 commands fit in US$1.00 exactly.)"""
    return limit is not None and spent + price > limit + 1e-9
