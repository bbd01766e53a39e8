"""The mock's bill: what Tesla would charge each account, the way Tesla counts it.

The Fleet API bills every call by category — data request, command, wake
(streaming signals are not served here) — and any answer below 500 is billed,
500 and above is not (developer.tesla.com, "Billing and limits"). The mock
keeps the same book per account and month (UTC, on the mock's clock) in its
stats, so a test can hold carctl's own ledger against the service's.

The categories are decided here from the path, independently of carctl's
ledger: that one is the client's view, this one the service's.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from carctl.mock.accounts import digest

_VEHICLE = re.compile(r"^/api/1/vehicles/([^/]+)(?:/(.*))?$")


def category(path: str) -> str | None:
    """data, command or wake; None for what is not billed (sign-in, the mock's controls)."""
    if not path.startswith("/api/1/"):
        return None
    found = _VEHICLE.match(path)
    rest = (found.group(2) or "") if found else ""
    if rest == "wake_up":
        return "wake"
    if rest.startswith("command/") or rest == "signed_command":
        return "command"
    return "data"


def bill(
    book: dict[str, Any],
    grants: Mapping[str, Any],
    headers: Mapping[str, str],
    path: str,
    status: int,
    now: float,
) -> None:
    """Count one answered call in `book` (the stats' billing) for the account whose token
    it carried; a call without a token the mock issued is nobody's bill."""
    kind = category(path)
    if kind is None or status <= 0:  # a dropped connection answered nothing
        return
    who = account_of(grants, headers)
    if who is None:
        return
    month = datetime.fromtimestamp(now, UTC).strftime("%Y-%m")
    row = book.setdefault(who, {}).setdefault(month, {}).setdefault(kind, [0, 0])
    row[0] += 1
    row[1] += int(status < 500)


def account_of(grants: Mapping[str, Any], headers: Mapping[str, str]) -> str | None:
    """The email behind the bearer token (`grants`: the token book's access grants)."""
    scheme, _, token = headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    grant = grants.get(digest(token.strip()))
    return grant.email if grant is not None else None


def to_json(book: Mapping[str, Any]) -> dict[str, Any]:
    """{account: {month: {category: {"calls", "billed"}}}}"""
    return {
        who: {
            month: {kind: {"calls": row[0], "billed": row[1]} for kind, row in kinds.items()}
            for month, kinds in months.items()
        }
        for who, months in book.items()
    }
