"""Tesla's billing rules, the ledger and the meter, on a real state database.

The meter's decisions are made before a request goes out, so these tests need
no server: they prove what is refused, held back, counted and said.
"""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from carctl.api import usage
from carctl.api.ledger import Ledger, Meter
from carctl.api.usage import Call, Prices, classify
from carctl.errors import CapReachedError, HeldBackError
from carctl.state import StateDB

T0 = datetime(2026, 12, 10, 6, 0, tzinfo=UTC).timestamp()
CAR = "5YJ3E7EA1MF000621"


class Clock:
    def __init__(self, now: float = T0) -> None:
        self.t = now

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.t += seconds


def meter(tmp_path: Path, *, limit: float | None = 10.0, clock: Clock | None = None) -> Meter:
    said: list[str] = []
    made = Meter(
        Ledger(StateDB(tmp_path / "state.db"), "default@fleet:https://auth.tesla.com"),
        Prices(limit=limit),
        clock=clock or Clock(),
        provider="Tesla's Fleet API",
        warn=said.append,
    )
    made.said = said  # type: ignore[attr-defined]
    return made


def spend(
    m: Meter, method: str, path: str, times: int, status: int = 200, gap: float = 0.0
) -> None:
    for _ in range(times):
        call = m.before(method, path)
        assert call is not None
        m.after(call, status, m.clock.now())
        m.clock.sleep(gap)


def test_categories_follow_teslas_table() -> None:
    assert classify("POST", f"/api/1/vehicles/{CAR}/wake_up") == Call("wake", "wake_up", CAR)
    assert classify("POST", f"/api/1/vehicles/{CAR}/command/honk_horn") == Call(
        "command", "honk_horn", CAR
    )
    signed = classify("POST", f"/api/1/vehicles/{CAR}/signed_command", "auto_conditioning_start")
    assert signed == Call("command", "auto_conditioning_start", CAR)
    assert classify("GET", f"/api/1/vehicles/{CAR}/vehicle_data?endpoints=x") == Call(
        "data", "vehicle_data", CAR
    )
    assert classify("GET", f"/api/1/vehicles/{CAR}") == Call("data", "vehicle", CAR)
    assert classify("GET", "/api/1/vehicles") == Call("data", "vehicles", None)
    assert classify("GET", "/api/1/users/region") == Call("data", "users/region", None)
    assert classify("POST", "/api/1/vehicles/fleet_status") == Call("data", "fleet_status", None)
    assert classify("POST", "/oauth2/v3/token") is None  # signing in is not billed
    assert classify("POST", "https://fleet-auth.prd.vn.cloud.tesla.com/oauth2/v3/token") is None


def test_below_500_is_billed_and_a_month_is_utc() -> None:
    assert [usage.billed(s) for s in (200, 408, 429, 499, 500, 503, None)] == [
        True,
        True,
        True,
        True,
        False,
        False,
        False,
    ]
    last_second = datetime(2026, 11, 30, 23, 59, 59, tzinfo=UTC).timestamp()
    assert usage.month_of(last_second) == "2026-11"
    assert usage.month_of(last_second + 1) == "2026-12"
    assert usage.month_bounds("2026-12") == (
        datetime(2026, 12, 1, tzinfo=UTC).timestamp(),
        datetime(2027, 1, 1, tzinfo=UTC).timestamp(),
    )
    assert usage.parse_month(" 2026-11 ") == "2026-11"
    for bad in ("2026-13", "2026-1", "Nov", "1999-12", ""):
        with pytest.raises(ValueError, match="YYYY-MM"):
            usage.parse_month(bad)


def test_a_thousand_commands_fit_in_a_dollar_and_not_one_more(tmp_path: Path) -> None:
    m = meter(tmp_path, limit=1.0)
    spend(m, "POST", f"/api/1/vehicles/{CAR}/command/flash_lights", 1000, gap=2.5)
    with pytest.raises(CapReachedError) as refused:
        m.before("POST", f"/api/1/vehicles/{CAR}/command/flash_lights")
    error = refused.value
    assert error.exit_code == 77
    assert error.message == (
        "a command call (flash_lights) would take this month's use of Tesla's Fleet API past "
        "your cap: US$1.00 of US$1.00 spent in 2026-12, so nothing was sent"
    )
    assert "carctl config set usage.monthly_limit" in (error.hint or "")
    assert m.month().to_json()["categories"]["command"] == {
        "calls": 1000,
        "billed": 1000,
        "cost": 1.0,
    }


def test_what_the_service_failed_is_not_billed_nor_counted_against_the_cap(
    tmp_path: Path,
) -> None:
    clock = Clock()
    m = meter(tmp_path, limit=0.02, clock=clock)
    spend(m, "POST", f"/api/1/vehicles/{CAR}/wake_up", 1, status=503)
    clock.sleep(61)
    spend(m, "POST", f"/api/1/vehicles/{CAR}/wake_up", 1, status=None)  # type: ignore[arg-type]
    clock.sleep(61)
    spend(m, "POST", f"/api/1/vehicles/{CAR}/wake_up", 1, status=200)
    month = m.month().to_json()
    assert month["categories"]["wake"] == {"calls": 3, "billed": 1, "cost": 0.02}
    with pytest.raises(CapReachedError):  # the one billed wake used the whole cap
        m.before("POST", f"/api/1/vehicles/{CAR}/wake_up")
    assert m.before("POST", "/oauth2/v3/token") is None  # what is not billed always goes


def test_the_per_minute_limits_are_kept_before_the_service_refuses(tmp_path: Path) -> None:
    clock = Clock()
    m = meter(tmp_path, clock=clock)
    for _ in range(3):
        spend(m, "POST", f"/api/1/vehicles/{CAR}/wake_up", 1)
        clock.sleep(10)
    with pytest.raises(HeldBackError) as held:
        m.before("POST", f"/api/1/vehicles/{CAR}/wake_up")
    assert held.value.exit_code == 75 and not held.value.retryable
    assert held.value.retry_at == T0 + 60  # when the first of the three leaves the minute
    assert "limit of 3 wakes a minute per car" in held.value.message
    assert m.before("POST", f"/api/1/vehicles/{CAR}/command/honk_horn") is not None  # commands
    assert m.before("POST", "/api/1/vehicles/OTHERCAR/wake_up") is not None  # another car
    clock.t = T0 + 60.5
    assert m.before("POST", f"/api/1/vehicles/{CAR}/wake_up") is not None
    clock.t = T0 + 100
    spend(m, "GET", f"/api/1/vehicles/{CAR}", 60)
    with pytest.raises(HeldBackError, match="60 data requests a minute"):
        m.before("GET", f"/api/1/vehicles/{CAR}/vehicle_data")


def test_eighty_percent_is_said_once_a_day(tmp_path: Path) -> None:
    clock = Clock()
    m = meter(tmp_path, limit=0.01, clock=clock)
    spend(m, "POST", f"/api/1/vehicles/{CAR}/command/a", 7)
    assert m.said == []  # type: ignore[attr-defined]
    spend(m, "POST", f"/api/1/vehicles/{CAR}/command/a", 2)  # the 8th call reaches 80 %
    assert m.said == [  # type: ignore[attr-defined]
        "this month's use of Tesla's Fleet API is at US$0.01 of your US$0.01 cap (80%); "
        "carctl refuses calls past it (`carctl usage`)"
    ]
    clock.sleep(86400)
    spend(m, "POST", f"/api/1/vehicles/{CAR}/command/a", 1)
    assert len(m.said) == 2  # type: ignore[attr-defined]


def test_a_ledger_that_cannot_be_written_never_blocks_what_the_cap_allows(
    tmp_path: Path,
) -> None:
    m = meter(tmp_path)
    spend(m, "GET", "/api/1/vehicles", 1)
    m.ledger.db.close()
    m.ledger.db._opened[threading.get_ident()] = sqlite3.connect(  # as a read-only mount shows it
        f"file:{tmp_path / 'state.db'}?mode=ro", uri=True, isolation_level=None
    )
    spend(m, "GET", "/api/1/vehicles", 2)  # checked against the cap, sent, not counted
    (said,) = m.said  # type: ignore[attr-defined]
    assert said.startswith("the usage ledger cannot be written (")
    assert said.endswith("); calls in this run are not counted")
    assert m.month().to_json()["calls"] == 1


def test_a_cap_that_cannot_be_checked_refuses(tmp_path: Path) -> None:
    (tmp_path / "state.db").write_bytes(b"this is not a database" * 100)
    capped = meter(tmp_path)
    with pytest.raises(CapReachedError) as refused:
        capped.before("GET", "/api/1/vehicles")
    assert "cannot be checked, so nothing was sent" in refused.value.message
    assert "carctl config set usage.monthly_limit off" in (refused.value.hint or "")
    uncapped = meter(tmp_path, limit=None)
    call = uncapped.before("GET", "/api/1/vehicles")  # no cap to keep: the call may go
    assert call is not None
    uncapped.after(call, 200, T0)
    assert "cannot be written" in uncapped.said[0]  # type: ignore[attr-defined]


def test_a_whole_command_is_refused_before_its_first_call(tmp_path: Path) -> None:
    m = meter(tmp_path, limit=0.03)
    spend(m, "POST", f"/api/1/vehicles/{CAR}/wake_up", 1)  # US$0.02 of 0.03
    m.afford({"command": 3, "data": 1})  # US$0.005 more fits
    with pytest.raises(CapReachedError) as refused:
        m.afford({"wake": 1, "command": 3, "data": 1})
    assert refused.value.message == (
        "this command (a wake, 3 commands and a read, about US$0.025) would take this month's "
        "use of Tesla's Fleet API past your cap: US$0.02 of US$0.03 spent in 2026-12, so "
        "carctl did not send it"
    )
    assert m.month().to_json()["calls"] == 1  # asking costs nothing
    meter(tmp_path, limit=None).afford({"wake": 100})  # no cap, no refusal
