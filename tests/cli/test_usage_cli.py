"""What the car costs, end to end: carctl's ledger against the mock's bill, and the cap.

The served mock bills in its Fleet API flavour the way Tesla does (per account,
by category; answers below 500 billed). carctl's profile points at it with
`billing = on` and signs in first, while the mock still takes the Owner API's
password grant. carctl's clock starts at the beginning of a month, so a month
of mornings never crosses into the next one whatever the date the suite runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.cli.test_vehicle_cli import M3, executed
from tests.conftest import Endpoint, FastClock, invoke, sign_in

DAY = 86400.0


def month_start() -> float:
    """The first of next month, 05:00 UTC."""
    now = datetime.now(UTC)
    year, month = (now.year + 1, 1) if now.month == 12 else (now.year, now.month + 1)
    return datetime(year, month, 1, 5, 0, tzinfo=UTC).timestamp()


@pytest.fixture
def billed(endpoint: Endpoint, fast_clock: type[FastClock]) -> Iterator[Endpoint]:
    """Signed in to the served mock, which then bills as the Fleet API; carctl counts."""
    import time

    assert endpoint.served is not None
    fast_clock.offset = month_start() - time.time()
    endpoint.admin("PATCH", f"/__mock__/vehicles/{M3}", {"wake_delay": 0})
    sign_in()
    assert invoke("config", "set", "vehicle", "Model 3").code == 0
    assert invoke("config", "set", "billing", "on").code == 0
    api = endpoint.served.app.state.api
    api.flavor = "fleet"
    try:
        yield endpoint
    finally:
        api.flavor = "owner"


def mock_bill(endpoint: Endpoint) -> dict[str, dict[str, int]]:
    """The mock's bill for the owner, all months together: category -> calls, billed."""
    book = endpoint.admin("GET", "/__mock__/stats")["billing"]
    total: dict[str, dict[str, int]] = {}
    for months in book.values():
        for kinds in months.values():
            for kind, row in kinds.items():
                into = total.setdefault(kind, {"calls": 0, "billed": 0})
                into["calls"] += row["calls"]
                into["billed"] += row["billed"]
    return total


def usage_json() -> dict[str, Any]:
    result = invoke("--json", "usage")
    assert result.code == 0, result.output
    return result.json()["data"]  # type: ignore[no-any-return]


def one_clock(billed: Endpoint, monkeypatch: pytest.MonkeyPatch) -> None:
    """carctl's waits move the mock's time too: a car that takes 20 s to wake is polled
    as a real one is, and every poll is a billed data request."""
    assert billed.served is not None
    mock_clock = billed.served.clock
    mock_clock.set(FastClock().now())

    def sleep(self: FastClock, seconds: float) -> None:
        FastClock.offset += max(0.0, seconds)
        mock_clock.advance(max(0.0, seconds))

    monkeypatch.setattr(FastClock, "sleep", sleep)
    billed.admin("PATCH", f"/__mock__/vehicles/{M3}", {"wake_delay": 20})


def next_morning(billed: Endpoint, fast_clock: type[FastClock]) -> None:
    """A day later on both clocks; the car has long been asleep."""
    assert billed.served is not None
    fast_clock.offset += DAY
    billed.served.clock.advance(DAY)
    billed.admin("PATCH", f"/__mock__/vehicles/{M3}", {"state": "asleep"})


@pytest.mark.parametrize("endpoint", ["served"], indirect=True)
def test_a_month_of_mornings_stops_at_the_cap_and_the_bills_agree(
    billed: Endpoint, fast_clock: type[FastClock], monkeypatch: pytest.MonkeyPatch
) -> None:
    one_clock(billed, monkeypatch)
    assert invoke("config", "set", "usage.monthly_limit", "1.00").code == 0
    mornings: list[int] = []
    refused = None
    for day in range(31):
        next_morning(billed, fast_clock)
        result = invoke("--json", "precondition", "--temp", "21", "--vent")
        mornings.append(result.code)
        if result.code != 0:
            refused = result
            break
    assert refused is not None, "a month of mornings at about 4 cents each passes US$1.00"
    assert mornings[:-1] == [0] * (len(mornings) - 1) and 20 <= len(mornings) <= 28, mornings
    assert refused.code == 77, refused.output
    error = refused.json()["error"]
    assert error["code"] == "usage_cap"
    assert "past your cap: US$" in error["message"] and "of US$1.00 spent in" in error["message"]
    assert "nothing was sent" in error["message"]
    assert "carctl config set usage.monthly_limit" in error["hint"]
    assert refused.json()["queued"] is None  # a cap is not an outage: nothing waits

    mine = usage_json()
    theirs = mock_bill(billed)
    assert mine["cost"] <= 1.00 + 1e-9, mine  # nothing was sent past the cap
    assert mine["cost"] > 1.00 - 0.02 - 1e-9  # and it stopped only when the next call would pass
    for kind in ("data", "command", "wake"):  # agree to the call
        assert mine["categories"][kind]["billed"] == theirs[kind]["billed"], (kind, mine, theirs)
        assert mine["categories"][kind]["calls"] == theirs[kind]["calls"], (kind, mine, theirs)
    assert len(executed(billed)) < 3 * len(mornings)  # the last morning did not finish

    # the next morning: still refused; a call that fits under the cap may go, none past it
    done = len(executed(billed))
    next_morning(billed, fast_clock)
    again = invoke("--json", "climate", "on")
    assert again.code == 77 and again.json()["error"]["code"] == "usage_cap"
    assert "wake call (wake_up)" in again.json()["error"]["message"]  # no wake past the cap
    assert len(executed(billed)) == done
    mine, theirs = usage_json(), mock_bill(billed)
    assert mine["cost"] <= 1.00 + 1e-9
    assert {k: mine["categories"][k]["billed"] for k in theirs} == {
        k: v["billed"] for k, v in theirs.items()
    }

    # the owner raises the cap: the car is commanded again
    assert invoke("config", "set", "usage.monthly_limit", "2").code == 0
    assert invoke("climate", "on").code == 0
