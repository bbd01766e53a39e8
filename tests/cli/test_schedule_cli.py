"""`carctl schedule` and `precondition --at` against the served mock, over real HTTP.

carctl's clock and the mock's are set to the same moment (the evening of
19 November 2021 in Seoul), as a phone's and a car's clocks agree.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import FastClock, Served, bearer, invoke, login, run_carctl, sign_in

SEOUL = ZoneInfo("Asia/Seoul")
M3 = "1492931337131"
HERE = {"lat": 37.5665, "lon": 126.978}


def seoul(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=SEOUL).timestamp()


@pytest.fixture
def evening(served: Served, fast_clock: type[FastClock], monkeypatch: pytest.MonkeyPatch) -> Served:
    """Signed in to the served mock at 22:00 on Friday 19 November 2021, Seoul time."""
    monkeypatch.setenv("CARCTL_API_URL", served.url)
    set_clocks(served, fast_clock, "2021-11-19 22:00")
    sign_in()
    assert invoke("config", "set", "vehicle", "Model 3").code == 0
    return served


def set_clocks(served: Served, fast_clock: type[FastClock], text: str) -> None:
    when = seoul(text)
    served.clock.set(when)
    fast_clock.offset = when - time.time()


def advance_to(served: Served, text: str) -> None:
    """Move the mock's clock (which runs at its own offset) to a time in Seoul."""
    now = served.admin("GET", "/__mock__/clock")["epoch"]
    served.admin("POST", "/__mock__/clock", json={"advance": seoul(text) - now})


def m3(served: Served) -> dict[str, Any]:
    cars = served.admin("GET", "/__mock__/vehicles")["vehicles"]
    return next(c for c in cars if str(c["id"]) == M3)  # type: ignore[no-any-return]


def api_requests(served: Served) -> int:
    return sum(row["count"] for row in served.admin("GET", "/__mock__/stats")["requests"])


def executed(served: Served) -> list[dict[str, Any]]:
    return served.admin("GET", "/__mock__/stats")["commands"]  # type: ignore[no-any-return]


def as_the_app(served: Served, name: str, **body: Any) -> Any:
    """What the carmaker's app does on the same account (not carctl), the car awake."""
    served.admin("PATCH", f"/__mock__/vehicles/{M3}", json={"state": "online"})
    with served.client() as client:
        response = client.post(
            f"/api/1/vehicles/{M3}/command/{name}", json=body, headers=bearer(login(client))
        )
        return response.json()["response"]


def test_armed_at_2200_the_car_warms_at_0630_through_the_outage(evening: Served) -> None:
    armed = invoke("--json", "schedule", "set", "06:30", "--days", "all", "--temp", "21")
    assert armed.code == 0, armed.output
    data = armed.json()["data"]
    assert data["state"] == "armed" and data["confirmed"] is True
    assert data["schedule"]["ready_at"] == "06:30" and data["time_zone"] == "Asia/Seoul"
    assert data["next_ready"] == "2021-11-19T21:30:00Z"  # 06:30 in Seoul
    evening.admin(
        "PUT",
        "/__mock__/faults",
        json={
            "rules": [
                {
                    "status": 500,
                    "path": "/api/1/*",
                    "from": "2021-11-20T06:00:00+09:00",
                    "until": "2021-11-20T11:00:00+09:00",
                }
            ]
        },
    )
    sent_before = api_requests(evening)
    advance_to(evening, "2021-11-20 05:59")
    cold = m3(evening)
    assert cold["is_climate_on"] is False and cold["state"] == "asleep"
    advance_to(evening, "2021-11-20 06:30")
    car = m3(evening)
    assert car["is_climate_on"] is True and car["state"] == "online"
    assert car["inside_temp"] > cold["inside_temp"] + 10  # the cabin is warming: 2 °C outside
    assert car["schedule_runs"][-1]["started_at"] == "2021-11-19T21:00:00.000Z"  # 06:00 KST
    assert api_requests(evening) == sent_before  # no request at all between 06:00 and 06:30
    with evening.client() as client:  # and the API really was down meanwhile
        assert client.get("/api/1/vehicles").status_code == 500


def test_armed_twice_sends_nothing_the_second_time(evening: Served) -> None:
    assert invoke("schedule", "set", "06:30", "--days", "weekdays").code == 0
    commands = len(executed(evening))
    again = invoke("schedule", "set", "06:30", "--days", "weekdays")
    assert again.code == 0 and "Already armed on Model 3: weekdays, ready at 06:30" in again.stdout
    assert "nothing sent" in again.stdout
    assert len(executed(evening)) == commands


def test_a_schedule_changed_in_the_app_is_reported_never_overwritten(evening: Served) -> None:
    as_the_app(
        evening, "add_precondition_schedule",
        days_of_week="Weekdays", precondition_time=7 * 60, enabled=True, **HERE,
    )  # fmt: skip
    commands = len(executed(evening))
    result = invoke("--json", "schedule", "set", "06:30", "--days", "weekdays", "--if-missing")
    assert result.code == 0, result.output
    data = result.json()["data"]
    assert data["state"] == "differs"
    assert [(s["id"], s["ready_at"]) for s in data["differs"]] == [(1, "07:00")]
    assert data["replace_with"] == (
        'carctl --vehicle "Model 3" schedule off 1 && '
        'carctl --vehicle "Model 3" schedule set 06:30 --days weekdays'
    )
    assert len(executed(evening)) == commands  # nothing sent
    human = invoke("schedule", "set", "06:30", "--days", "weekdays", "--if-missing")
    assert "holds a different schedule for those days:\n  ID 1: weekdays, ready at 07:00\n" in (
        human.stdout
    )
    assert "Left as it is: the car still runs it." in human.stdout
    assert 'To replace it:\n  carctl --vehicle "Model 3" schedule off 1\n' in human.stdout
    # the replacement it suggests works
    assert invoke("schedule", "off", "1").code == 0
    assert invoke("schedule", "set", "06:30", "--days", "weekdays").code == 0
    listing = invoke("--json", "schedule").json()["data"]["schedules"]
    assert [(s["ready_at"], s["days"]) for s in listing] == [("06:30", "weekdays")]


def test_a_different_temperature_is_reported_with_if_missing(evening: Served) -> None:
    assert invoke("schedule", "set", "06:30", "--temp", "21").code == 0
    as_the_app(evening, "set_temps", driver_temp=19, passenger_temp=19)
    result = invoke("schedule", "set", "06:30", "--temp", "21", "--if-missing")
    assert result.code == 0
    assert "holds that schedule, but its cabin is set to 19.0 °C" in result.stdout
    assert m3(evening)["driver_temp_setting"] == 19


def test_arming_during_an_outage_is_queued_until_the_first_ready_time(
    evening: Served,
) -> None:
    assert invoke("schedule").code == 0  # carctl has read the car once: it knows its zone
    evening.admin("PUT", "/__mock__/faults", json={"rules": [{"status": 500, "path": "/api/1/*"}]})
    result = invoke("--json", "schedule", "set", "06:30", "--days", "all")
    assert result.code == 75, result.output
    document = result.json()
    queued = document["queued"]
    assert queued is not None
    assert queued["commands"] == ["add_precondition_schedule"]
    assert queued["expires_at"] == "2021-11-19T21:30:00Z"  # 06:30 in Seoul: useless after
    assert executed(evening) == []
    evening.admin("DELETE", "/__mock__/faults")
    delivered = invoke("queue", "run")
    assert delivered.code == 0, delivered.output
    sent = [c for c in executed(evening) if c["name"] == "add_precondition_schedule"]
    assert len(sent) == 1
    assert sent[0]["params"]["lat"] == pytest.approx(37.5665)  # the car's position on delivery
    assert [s["precondition_time"] for s in m3(evening)["schedules"]] == [390]


def test_a_full_schedule_list_is_refused_before_anything_is_sent(evening: Served) -> None:
    for minute in range(10):
        as_the_app(
            evening, "add_precondition_schedule",
            days_of_week="All", precondition_time=300 + minute, enabled=True, **HERE,
        )  # fmt: skip
    commands = len(executed(evening))
    result = invoke("schedule", "set", "06:30")
    assert result.code == 1
    assert "error: Model 3 already holds 10 schedules, its limit" in result.stderr
    assert "carctl schedule off ID" in result.stderr
    assert len(executed(evening)) == commands


def test_a_car_that_refuses_arms_nothing_and_says_why(evening: Served) -> None:
    evening.admin("PATCH", f"/__mock__/vehicles/{M3}", json={"refusal": "vehicle_busy"})
    result = invoke("schedule", "set", "06:30")
    assert result.code == 1
    assert "refused add_precondition_schedule: vehicle_busy" in result.stderr
    assert m3(evening)["schedules"] == []
    assert invoke("--json", "queue").json()["data"]["entries"] == []  # not queued either


def test_a_car_with_only_scheduled_departure(evening: Served) -> None:
    evening.admin("PATCH", f"/__mock__/vehicles/{M3}", json={"schedule_support": "departure"})
    result = invoke("schedule", "set", "06:30", "--days", "weekdays", "--temp", "21")
    assert result.code == 0, result.output
    assert "scheduled departure armed: weekdays, ready at 06:30" in result.stdout
    assert [c["name"] for c in executed(evening)] == ["set_scheduled_departure"]
    listing = invoke("--json", "schedule").json()["data"]["schedules"]
    assert [(s["id"], s["kind"], s["ready_at"]) for s in listing] == [(0, "departure", "06:30")]
    refused = invoke("schedule", "set", "06:30", "--days", "mon")
    assert refused.code == 2
    assert "keeps only a scheduled departure, every day or on weekdays" in refused.stderr
    assert invoke("schedule", "off", "0").code == 0
    assert m3(evening)["departure"]["enabled"] is False


def test_precondition_at_arms_a_one_time_schedule(evening: Served) -> None:
    result = invoke("--json", "precondition", "--at", "06:30", "--temp", "22")
    assert result.code == 0, result.output
    data = result.json()["data"]
    assert data["schedule"]["one_time"] is True and data["schedule"]["ready_at"] == "06:30"
    assert [c["name"] for c in executed(evening)] == ["set_temps", "add_precondition_schedule"]
    assert m3(evening)["is_climate_on"] is False  # nothing happens now
    advance_to(evening, "2021-11-20 06:30")
    car = m3(evening)
    assert car["is_climate_on"] is True and car["schedules"] == []  # ran once, then gone


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("precondition", "--at", "06:30", "--vent"), "--vent cannot be scheduled on the car"),
        (("precondition", "--at", "06:30", "--expires-in", "40m"), "needs no expiry"),
        (("precondition", "--at", "6h"), "--at '6h' is not a time of day"),
        (("schedule", "set", "24:10"), "'24:10' is not a time of day"),
        (("schedule", "set", "06:30", "--days", "funday"), "'funday' is not a day of the week"),
        (("schedule", "off"), "name the schedules to remove, or --all"),
        (("schedule", "off", "3", "--all"), "name the schedules to remove, or --all"),
    ],
)
def test_bad_input_is_refused_before_anything_is_sent(
    evening: Served, args: tuple[str, ...], says: str
) -> None:
    result = invoke(*args)
    assert result.code == 2 and says in result.stderr, result.output
    assert executed(evening) == []


def test_removing_a_schedule_the_car_does_not_hold(evening: Served) -> None:
    assert invoke("schedule", "set", "06:30").code == 0
    result = invoke("schedule", "off", "7")
    assert result.code == 1  # as `queue cancel 99`: a fact about the car, not a usage mistake
    assert "Model 3 holds no schedule 7 (it holds: 1)" in result.stderr
    assert [c["name"] for c in executed(evening)] == ["add_precondition_schedule"]
    assert invoke("schedule", "off", "--all").code == 0
    nothing = invoke("schedule", "off", "--all")
    assert nothing.code == 0 and "holds no schedules; nothing to remove" in nothing.stdout


def test_a_time_the_cars_clock_skips_is_refused(evening: Served) -> None:
    evening.admin("PATCH", f"/__mock__/vehicles/{M3}", json={"time_zone": "America/New_York"})
    result = invoke("schedule", "set", "02:30", "--days", "all")
    assert result.code == 2
    assert "02:30 does not exist in America/New_York on Sun 13 Mar 2022" in result.stderr
    twice = invoke("schedule", "set", "01:30", "--days", "sun")
    assert twice.code == 2
    assert "01:30 happens twice in America/New_York on Sun 06 Nov 2022" in twice.stderr
    assert executed(evening) == []


def test_the_owner_in_another_zone_is_told_both_times(evening: Served) -> None:
    result = run_carctl("schedule", "set", "06:30", env={"TZ": "Europe/Berlin"})
    assert result.returncode == 0, result.stderr
    assert "Next: " in result.stdout and "06:30, warming from 06:00 (Asia/Seoul)." in result.stdout
    assert "\nIn your time (Europe/Berlin): " in result.stdout and " 22:30.\n" in result.stdout
    same = run_carctl("schedule", env={"TZ": "Asia/Seoul"})
    assert same.returncode == 0 and "your time" not in same.stdout


def test_schedule_lists_what_the_car_holds_and_the_next_run(evening: Served) -> None:
    empty = invoke("schedule")
    assert empty.code == 0 and "Model 3 holds no schedules. Arm one:" in empty.stdout
    assert invoke("schedule", "set", "06:30", "--days", "weekdays", "--temp", "21").code == 0
    assert invoke("schedule", "set", "09:00", "--days", "sat", "--once").code == 0
    listing = invoke("schedule", terminal=True)
    assert listing.code == 0
    assert "Model 3 holds 2 schedules (the car's time, Asia/Seoul):" in listing.stdout
    rows = [line.split() for line in listing.stdout.splitlines() if line.strip()[:1].isdigit()]
    # Saturday 09:00 comes first: it is Friday evening
    assert rows[0][:4] == ["2", "once", "09:00", "Sat"] and rows[1][:4] == [
        "1",
        "weekdays",
        "06:30",
        "Mon",
    ]
    document = invoke("--json", "schedule").json()["data"]
    assert document["next_ready"] == "2021-11-20T00:00:00Z"  # Saturday 09:00 in Seoul
    assert document["temp"] == 21.0 and document["limit"] == 10


def test_the_queue_describes_an_arming_in_words(evening: Served) -> None:
    evening.admin("PUT", "/__mock__/faults", json={"rules": [{"status": 500, "path": "/api/1/*"}]})
    assert invoke("schedule", "set", "06:30", "--days", "weekdays").code == 75
    shown = invoke("queue", "show", "1")
    assert "schedule armed: weekdays, ready at 06:30" in shown.output, shown.output


def test_reading_schedules_wakes_a_sleeping_car(evening: Served) -> None:
    assert m3(evening)["state"] == "asleep"
    result = invoke("--json", "schedule")
    assert result.code == 0
    assert [s["step"] for s in result.json()["data"]["steps"]] == ["wake"]
    assert m3(evening)["state"] == "online"


def test_half_armed_says_what_was_done(evening: Served) -> None:
    """The temperature went through, the schedule did not: the owner is told both."""
    evening.admin(
        "PUT",
        "/__mock__/faults",
        json={
            "rules": [
                {"status": 400, "path": "/api/1/vehicles/*/command/add_precondition_schedule"}
            ]
        },
    )
    result = invoke("schedule", "set", "06:30", "--temp", "23")
    assert result.code == 1, result.output
    assert "done before it failed: woke Model 3 in 0.0 s · temperature set to 23.0 °C" in (
        result.stderr
    )
    assert "the schedule was not armed; `carctl schedule` shows what the car holds" in (
        result.stderr
    )
    assert [c["name"] for c in executed(evening)] == ["set_temps"]
    assert m3(evening)["schedules"] == []
    document = invoke("--json", "schedule", "set", "06:30", "--temp", "23").json()
    assert document["ok"] is False and document["error"]["http"]["status"] == 400
    assert document["data"]["steps"] == []  # the temperature was already 23: nothing done
    assert invoke("--json", "queue").json()["data"]["entries"] == []  # a 400 is not queued
