"""What the car costs, end to end: carctl's ledger against the mock's bill, and the cap.

The served mock bills in its Fleet API flavour the way Tesla does (per account,
by category; answers below 500 billed). carctl's profile points at it with
`billing = on` and signs in first, while the mock still takes the Owner API's
password grant. carctl's clock starts at the beginning of a month, so a month
of mornings never crosses into the next one whatever the date the suite runs.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.conftest import Endpoint, FastClock, invoke, sign_in
from tests.support.car import M3, executed

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
    for _day in range(31):
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
    assert error["message"].startswith(
        "this command (a wake, 3 commands and a read, about US$0.025) would take this month's "
    ), error["message"]
    assert "past your cap: US$" in error["message"] and "of US$1.00 spent in" in error["message"]
    assert "so carctl did not send it" in error["message"]
    assert "carctl config set usage.monthly_limit" in error["hint"]
    assert refused.json()["queued"] is None  # a cap is not an outage: nothing waits

    mine = usage_json()
    theirs = mock_bill(billed)
    assert mine["cost"] <= 1.00 + 1e-9, mine  # nothing was sent past the cap
    assert mine["cost"] > 1.00 - 0.025 - 1e-9  # and it stopped when the morning would pass it
    for kind in ("data", "command", "wake"):  # agree to the call
        assert mine["categories"][kind]["billed"] == theirs[kind]["billed"], (kind, mine, theirs)
        assert mine["categories"][kind]["calls"] == theirs[kind]["calls"], (kind, mine, theirs)
    # no morning was left half done, no car woken for commands that could not follow
    assert len(executed(billed)) == 3 * (len(mornings) - 1)
    assert theirs["wake"]["billed"] == len(mornings) - 1

    # the next morning: still refused; a call that fits under the cap may go, none past it
    done = len(executed(billed))
    next_morning(billed, fast_clock)
    again = invoke("--json", "climate", "on")
    assert again.code == 77 and again.json()["error"]["code"] == "usage_cap"
    assert "this command (a wake, 1 command and a read" in again.json()["error"]["message"]
    assert len(executed(billed)) == done
    mine, theirs = usage_json(), mock_bill(billed)
    assert mine["cost"] <= 1.00 + 1e-9
    assert {k: mine["categories"][k]["billed"] for k in theirs} == {
        k: v["billed"] for k, v in theirs.items()
    }

    # the owner raises the cap: the car is commanded again
    assert invoke("config", "set", "usage.monthly_limit", "2").code == 0
    assert invoke("climate", "on").code == 0


@pytest.fixture
def through_proxy(endpoint: Endpoint) -> Iterator[Endpoint]:
    """The served mock standing in for Tesla's signing proxy, with its error bodies."""
    assert endpoint.served is not None
    endpoint.admin("PATCH", f"/__mock__/vehicles/{M3}", {"wake_delay": 0, "state": "online"})
    sign_in()
    assert invoke("config", "set", "vehicle", "Model 3").code == 0
    api = endpoint.served.app.state.api
    api.flavor = "proxy"
    try:
        yield endpoint
    finally:
        api.flavor = "owner"


def breaker() -> dict[str, Any]:
    listing = invoke("--json", "queue", "list")
    assert listing.code == 0, listing.output
    assert listing.json()["data"]["entries"] == []  # nothing queued
    return listing.json()["data"]["breaker"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("endpoint", ["served"], indirect=True)
def test_the_proxy_saying_asleep_is_a_wake_not_an_outage(through_proxy: Endpoint) -> None:
    assert invoke("climate", "on").code == 0  # the car answered as online: carctl trusts it
    through_proxy.admin("PATCH", f"/__mock__/vehicles/{M3}", {"state": "asleep"})  # for a minute
    result = invoke("--json", "vent")
    assert result.code == 0, result.output
    window = f"/api/1/vehicles/{M3}/command/window_control"
    assert through_proxy.requests(window, 500) == 1  # the proxy's "offline or asleep"
    assert through_proxy.requests(window, 200) == 1  # after one wake
    assert through_proxy.requests(f"/api/1/vehicles/{M3}/wake_up") == 1
    assert [c["name"] for c in executed(through_proxy)] == [
        "auto_conditioning_start",
        "window_control",
    ]
    assert "diagnosis" not in (result.json()["data"] or {})
    health = breaker()
    assert health["state"] == "closed" and health["failures"] == 0


@pytest.mark.parametrize("endpoint", ["served"], indirect=True)
def test_the_proxy_saying_not_paired_is_the_owners_setup(through_proxy: Endpoint) -> None:
    through_proxy.admin(
        "PATCH",
        f"/__mock__/vehicles/{M3}",
        {"command_signing": "required", "proxy_key_paired": False},
    )
    result = invoke("--json", "climate", "on")
    assert result.code == 77, result.output
    error = result.json()["error"]
    assert error["code"] == "key_not_paired"
    assert "has not been paired" in error["message"] and "carctl key pair" in error["hint"]
    assert result.json()["queued"] is None and "diagnosis" not in (result.json()["data"] or {})
    assert executed(through_proxy) == []
    command = f"/api/1/vehicles/{M3}/command/auto_conditioning_start"
    assert through_proxy.requests(command) == 1  # asked once, never retried
    health = breaker()
    assert health["state"] == "closed" and health["failures"] == 0
    human = invoke("climate", "on")
    assert human.code == 77 and "Traceback" not in human.stderr
    assert "carctl key pair" in human.stderr


@pytest.mark.parametrize("endpoint", ["served"], indirect=True)
def test_a_day_long_retry_after_is_kept_and_the_command_expires_unsent(
    endpoint: Endpoint, fast_clock: type[FastClock]
) -> None:
    endpoint.admin("PATCH", f"/__mock__/vehicles/{M3}", {"wake_delay": 0, "state": "online"})
    sign_in()
    assert invoke("config", "set", "vehicle", "Model 3").code == 0
    path = f"/api/1/vehicles/{M3}/command/auto_conditioning_start"
    endpoint.faults({"status": 429, "path": path, "count": 1, "retry_after": 86400})
    result = invoke("--json", "climate", "on")
    assert result.code == 75, result.output
    document = result.json()
    assert document["error"]["code"] == "rate_limited"
    assert "wait 86400 s" in document["error"]["message"]
    assert "expire unsent" in document["error"]["hint"] and "tomorrow" in document["error"]["hint"]
    assert document["queued"]["not_before"] > document["queued"]["expires_at"]
    (entry_id,) = document["queued"]["ids"]
    shown = invoke("queue", "show", str(entry_id))
    assert "not before" in shown.stdout and "tomorrow (the service asked carctl to wait)" in (
        shown.stdout
    )
    assert endpoint.requests(path) == 1

    fast_clock.offset += 600  # ten minutes on: the service's word still holds
    assert invoke("queue", "run").code == 75
    assert endpoint.requests(path) == 1
    fast_clock.offset += 1800  # past its expiry, long before the service allows it
    ran = invoke("--json", "queue", "run")
    assert ran.code == 0, ran.output
    assert len(ran.json()["data"]["expired"]) == 1
    assert endpoint.requests(path) == 1  # the mock saw exactly one request, ever
    assert executed(endpoint) == []


@pytest.mark.parametrize("endpoint", ["served"], indirect=True)
def test_status_during_an_outage_is_the_last_state_read_and_costs_no_request(
    endpoint: Endpoint, fast_clock: type[FastClock]
) -> None:
    endpoint.admin("PATCH", f"/__mock__/vehicles/{M3}", {"wake_delay": 0, "state": "online"})
    sign_in()
    assert invoke("config", "set", "vehicle", "Model 3").code == 0
    live = invoke("--json", "status")
    assert live.code == 0 and live.json()["data"]["live"] is True
    assert live.json()["data"]["stale"] is False and live.json()["data"]["age_s"] is None
    fast_clock.offset += 19 * 60

    endpoint.faults({"status": 500, "path": "/api/1/*"})
    for _ in range(2):  # the outage: 3 + 3 failures open the breaker
        failing = invoke("--json", "status")
        assert failing.code == 75, failing.output
    document = failing.json()
    assert document["error"]["code"] == "service"
    data = document["data"]
    assert data["stale"] is True and data["live"] is False
    assert 19 * 60 <= data["age_s"] <= 19 * 60 + 30
    assert data["climate"]["inside_temp"] is not None  # what the car said before the outage

    seen = sum(r["count"] for r in endpoint.admin("GET", "/__mock__/stats")["requests"])
    held = invoke("--json", "status")  # the breaker knows: not one request to learn it
    assert held.code == 75
    assert held.json()["error"]["code"] == "breaker_open"
    assert held.json()["data"]["stale"] is True
    assert sum(r["count"] for r in endpoint.admin("GET", "/__mock__/stats")["requests"]) == seen

    shown = invoke("status", terminal=True)
    assert shown.code == 75
    assert "Model 3 (5YJ3E7EA1MF000621) as of " in shown.stdout
    assert "min ago: the last state carctl read" in shown.stdout
    assert "cabin" in shown.stdout and "Traceback" not in shown.stderr
    assert "error:" in shown.stderr


@pytest.mark.parametrize("endpoint", ["served"], indirect=True)
def test_schedule_during_an_outage_is_what_the_car_held_when_last_read(
    endpoint: Endpoint, fast_clock: type[FastClock]
) -> None:
    endpoint.admin("PATCH", f"/__mock__/vehicles/{M3}", {"wake_delay": 0, "state": "online"})
    sign_in()
    assert invoke("config", "set", "vehicle", "Model 3").code == 0
    assert invoke("schedule", "set", "06:30", "--days", "weekdays").code == 0
    listed = invoke("--json", "schedule")
    assert listed.code == 0 and listed.json()["data"]["stale"] is False
    (armed,) = listed.json()["data"]["schedules"]
    fast_clock.offset += 300

    endpoint.faults({"status": 503, "path": "/api/1/*"})
    failing = invoke("--json", "schedule")
    assert failing.code == 75, failing.output
    data = failing.json()["data"]
    assert data["stale"] is True and 300 <= data["age_s"] <= 330
    assert [s["id"] for s in data["schedules"]] == [armed["id"]]
    shown = invoke("schedule", terminal=True)
    assert shown.code == 75 and "the last schedules carctl read" in shown.stdout
    assert "06:30" in shown.stdout and "error:" in shown.stderr


@pytest.mark.parametrize("endpoint", ["served"], indirect=True)
def test_one_morning_is_counted_as_the_mock_bills_it(
    billed: Endpoint, fast_clock: type[FastClock]
) -> None:
    nothing = usage_json()
    assert nothing["calls"] == 0 and nothing["cost"] == 0 and nothing["limit"] == 10.0
    billed.admin("PATCH", f"/__mock__/vehicles/{M3}", {"state": "asleep"})
    result = invoke("--json", "precondition", "--temp", "21", "--vent")
    assert result.code == 0, result.output
    mine, theirs = usage_json(), mock_bill(billed)
    assert {k: mine["categories"][k]["billed"] for k in theirs} == {
        k: v["billed"] for k, v in theirs.items()
    }
    assert mine["categories"]["wake"]["billed"] == 1
    assert mine["categories"]["command"]["billed"] == 3  # temperature, climate, windows
    # a wake costs twenty commands: the morning's cost is mostly the wake
    assert mine["top"][0]["name"] == "wake_up" and mine["top"][0]["cost"] == 0.02
    assert mine["cost"] == pytest.approx(
        0.02 + 0.001 * 3 + 0.002 * mine["categories"]["data"]["billed"]
    )
    assert mine["month"] == datetime.fromtimestamp(fast_clock().now(), UTC).strftime("%Y-%m")
    start = datetime.fromtimestamp(fast_clock().now(), UTC)
    days = calendar.monthrange(start.year, start.month)[1]
    assert mine["projected"] == pytest.approx(mine["cost"] * days)  # on the first day
    shown = invoke("usage", terminal=True)
    assert shown.code == 0, shown.output
    assert "wakes" in shown.stdout and "US$0.020" in shown.stdout
    assert "of your US$10.00 cap" in shown.stdout and "nothing due" in shown.stdout
    assert "costliest: wake_up US$0.020 (1)" in shown.stdout


@pytest.mark.parametrize("endpoint", ["served"], indirect=True)
def test_usage_of_a_free_endpoint_and_bad_input(endpoint: Endpoint) -> None:
    free = invoke("--json", "usage")
    assert free.code == 0 and free.json()["data"]["billed"] is False
    assert "are not billed" in invoke("usage").stdout
    bad = invoke("usage", "--month", "2026-13")
    assert bad.code == 2 and "expected a month as YYYY-MM" in bad.stderr
    for key, value, words in (
        ("usage.monthly_limit", "-1", "not negative"),
        ("usage.monthly_limit", "lots", "expected a monthly cap in US$"),
        ("usage.price_wake", "free", "expected a price in US$ per call"),
        ("billing", "maybe", "expected auto"),
    ):
        refused = invoke("config", "set", "--", key, value)
        assert refused.code == 2, (key, refused.output)
        assert words in refused.stderr and "Traceback" not in refused.stderr
    assert invoke("config", "set", "usage.monthly_limit", "off").code == 0


@pytest.mark.parametrize("endpoint", ["served"], indirect=True)
def test_a_missing_scope_is_named_and_nothing_is_queued(endpoint: Endpoint) -> None:
    from tests.mock.test_scopes_and_billing import signed_in

    assert endpoint.served is not None
    endpoint.admin("PATCH", f"/__mock__/vehicles/{M3}", {"state": "online"})
    with endpoint.served.client() as client:
        narrow = signed_in(client, "openid offline_access vehicle_device_data")
    env = {"CARCTL_TOKEN": narrow["access_token"]}
    api = endpoint.served.app.state.api
    api.flavor = "fleet"  # the Fleet API enforces scopes; the Owner API never did
    try:
        assert invoke("--vehicle", "Model 3", "status", env=env).code == 0  # what it has
        result = invoke("--json", "--vehicle", "Model 3", "climate", "on", env=env)
    finally:
        api.flavor = "owner"
    assert result.code == 77, result.output
    error = result.json()["error"]
    assert error["message"] == (
        "the session was not granted vehicle_cmds, which this needs (Unauthorized missing scopes)"
    )
    assert "sign in again and allow vehicle_cmds" in error["hint"]
    assert result.json()["queued"] is None and executed(endpoint) == []
    assert breaker()["failures"] == 0


def test_a_429_without_retry_after_is_not_paid_for_twice_in_one_run(
    monkeypatch: pytest.MonkeyPatch, fast_clock: type[FastClock]
) -> None:
    """A 429 is billed and its minute is spent: carctl does not ask again within it, even
    when the answer (a server that is not Tesla's) says nothing of when."""
    from tests.support.scripted_api import scripted_api

    car = {"id": 1, "id_s": "1", "vin": "VINA", "display_name": "Alpha", "state": "online"}
    with scripted_api() as api:
        api.on("GET", "/api/1/vehicles", [car])
        api.on("GET", "/api/1/vehicles/1", car)
        api.on("POST", "/api/1/vehicles/1/command/*", {"result": True, "reason": ""})
        api.on("POST", "/api/1/vehicles/1/command/*", {"error": "too many"}, status=429, times=1)
        monkeypatch.setenv("CARCTL_API_URL", api.url)
        monkeypatch.setenv("CARCTL_TOKEN", "scripted-access-token-0000000000000000")
        result = invoke("--json", "--no-worker", "climate", "on")
        assert result.code == 75, result.output
        assert len(api.requests("POST")) == 1  # not retried within the run
        assert result.json()["error"]["attempts"] == 1
        fast_clock.offset += 30
        assert invoke("queue", "run").code == 75 and len(api.requests("POST")) == 1
        fast_clock.offset += 31  # the minute has passed
        assert invoke("queue", "run").code == 0
        assert len(api.requests("POST")) == 2


@pytest.mark.parametrize("endpoint", ["served"], indirect=True)
def test_doctor_names_a_reached_cap_before_it_blames_the_service(
    billed: Endpoint, fast_clock: type[FastClock]
) -> None:
    assert invoke("--json", "vehicles").code == 0  # one data request: US$0.002
    healthy = invoke("--json", "doctor", "usage")
    (check,) = healthy.json()["data"]["checks"]
    assert check["status"] == "pass" and "US$0.00 spent in" in check["detail"]

    assert invoke("config", "set", "usage.monthly_limit", "0.002").code == 0
    reached = invoke("--json", "doctor")
    assert reached.code == 1, reached.output
    report = reached.json()["data"]
    usage = next(c for c in report["checks"] if c["id"] == "usage")
    assert usage["status"] == "fail"
    assert "the cap is reached, so carctl sends nothing until next month" in usage["detail"]
    assert "carctl config set usage.monthly_limit" in usage["remediation"]
    assert report["verdict"] == "setup", report
    assert report["evidence"].startswith("This month's cost: US$0.00 spent in")
    calls = usage_json()["calls"]
    assert calls == 1  # doctor's own look at the API was refused before it was sent


@pytest.mark.parametrize("endpoint", ["served"], indirect=True)
def test_one_wake_per_command_on_a_paid_api(
    billed: Endpoint, fast_clock: type[FastClock], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A wake costs twenty commands: a car slow to wake is polled, not woken again."""
    one_clock(billed, monkeypatch)
    billed.admin("PATCH", f"/__mock__/vehicles/{M3}", {"wake_delay": 600, "state": "asleep"})
    result = invoke("--json", "climate", "on", "--wake-timeout", "90")
    assert result.code == 69, result.output
    assert "did not come online within 90 s" in result.json()["error"]["message"]
    assert billed.requests(f"/api/1/vehicles/{M3}/wake_up") == 1
    assert usage_json()["categories"]["wake"]["billed"] == 1


@pytest.mark.parametrize("endpoint", ["served"], indirect=True)
def test_a_fourth_wake_in_a_minute_is_held_back_not_paid_for(
    billed: Endpoint, fast_clock: type[FastClock], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The service allows 3 wakes a minute per car and bills the 429 past them: carctl
    keeps the limit itself, and a command held back waits in the queue for the minute."""
    one_clock(billed, monkeypatch)
    billed.admin("PATCH", f"/__mock__/vehicles/{M3}", {"wake_delay": 0})
    for _ in range(3):
        billed.admin("PATCH", f"/__mock__/vehicles/{M3}", {"state": "asleep"})
        fast_clock.offset += 61  # past the cache's minute: the car's state is asked
        billed.served.clock.advance(61)  # type: ignore[union-attr]
        fast_clock.offset -= 61 - 5  # ...but the wakes are five seconds apart
        billed.served.clock.advance(-(61 - 5))  # type: ignore[union-attr]
        assert invoke("wake").code == 0
    billed.admin("PATCH", f"/__mock__/vehicles/{M3}", {"state": "asleep"})
    held = invoke("--json", "climate", "on")
    assert held.code == 75, held.output
    error = held.json()["error"]
    assert error["code"] == "held_back"
    assert "limit of 3 wakes a minute per car" in error["message"]
    assert held.json()["queued"]["commands"] == ["auto_conditioning_start"]
    wake = f"/api/1/vehicles/{M3}/wake_up"
    assert billed.requests(wake) == 3 and billed.requests(wake, 429) == 0
    fast_clock.offset += 60
    billed.served.clock.advance(60)  # type: ignore[union-attr]
    assert invoke("queue", "run").code == 0
    assert billed.requests(wake) == 4 and len(executed(billed)) == 1


@pytest.mark.parametrize("endpoint", ["served"], indirect=True)
def test_the_queue_keeps_the_cap_and_delivers_once_it_is_raised(
    billed: Endpoint, fast_clock: type[FastClock]
) -> None:
    billed.admin("PATCH", f"/__mock__/vehicles/{M3}", {"state": "online"})
    billed.faults({"status": 500, "path": "/api/1/*"})
    assert invoke("climate", "on").code == 75  # queued in an outage: 5xx are not billed
    assert usage_json()["cost"] == 0
    billed.faults()
    assert invoke("config", "set", "usage.monthly_limit", "0").code == 0
    fast_clock.offset += 31
    waiting = invoke("--json", "queue", "run")
    assert waiting.code == 75, waiting.output
    (entry,) = invoke("--json", "queue", "list").json()["data"]["entries"]
    assert entry["status"] == "pending" and "past your cap" in entry["last_error"]["message"]
    assert usage_json()["billed"] == 0 and executed(billed) == []  # nothing went out
    assert "of your US$0 cap: nothing may be sent" in invoke("usage").stdout
    assert invoke("config", "set", "usage.monthly_limit", "1").code == 0
    fast_clock.offset += 120
    assert invoke("queue", "run").code == 0
    assert [c["name"] for c in executed(billed)] == ["auto_conditioning_start"]
