"""The mock's car keeps its own schedules: it warms the cabin on its clock, API or not."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from carctl.mock import schedules as plans
from carctl.mock.car import SimVehicle
from carctl.mock.seed import SeedError, load_seed, parse_seed
from tests.conftest import Served, bearer, login

SEOUL = ZoneInfo("Asia/Seoul")
M3 = "1492931337131"
HERE = {"lat": 37.5665, "lon": 126.978}


def seoul(text: str) -> float:
    """An epoch time from a local time in Seoul, e.g. "2021-11-19 22:00"."""
    return datetime.fromisoformat(text).replace(tzinfo=SEOUL).timestamp()


def car(now: float) -> SimVehicle:
    return SimVehicle.from_seed(load_seed().vehicles[0], now=now, wake_delay=4, idle_sleep=900)


def weekdays_0630(**extra: Any) -> dict[str, Any]:
    return {
        "id": 1,
        "name": "",
        "days_of_week": plans.WEEKDAYS,
        "precondition_time": 6 * 60 + 30,
        "one_time": False,
        "enabled": True,
        "latitude": 37.5665,
        "longitude": 126.978,
        **extra,
    }


# -- the car on its own (no HTTP) ---------------------------------------------------


def test_a_schedule_warms_the_cabin_from_30_minutes_before_the_ready_time() -> None:
    # 2021-11-19 was a Friday; the next weekday morning is Monday the 22nd
    c = car(seoul("2021-11-21 22:00"))
    c.schedules = [weekdays_0630()]
    c.settle(seoul("2021-11-22 05:59"))
    assert not c.is_climate_on and c.state == "asleep"
    c.settle(seoul("2021-11-22 06:00"))
    assert c.is_climate_on and c.state == "online"
    cold = c.inside_temp
    c.settle(seoul("2021-11-22 06:30"))
    assert c.is_climate_on and c.inside_temp > cold + 15  # warm when the owner gets in
    c.settle(seoul("2021-11-22 07:00"))
    assert not c.is_climate_on  # held for 30 minutes, then off
    assert c.runs[-1]["schedule"] == 1 and c.runs[-1]["ready_at"] == seoul("2021-11-22 06:30")


def test_days_and_the_cars_zone_decide_the_run() -> None:
    c = car(seoul("2021-11-19 22:00"))  # Friday evening
    c.schedules = [weekdays_0630()]
    c.settle(seoul("2021-11-21 12:00"))  # the weekend passes without a run
    assert c.runs == [] and not c.is_climate_on
    c.time_zone = "Europe/Berlin"  # the same car in Berlin: 06:30 there is 14:30 in Seoul
    del c.__dict__["zone"]
    c.settle(seoul("2021-11-22 14:00"))
    assert c.is_climate_on and len(c.runs) == 1


def test_a_run_is_skipped_when_the_battery_is_low_or_the_car_is_elsewhere() -> None:
    low = car(seoul("2021-11-21 22:00"))
    low.schedules = [weekdays_0630()]
    low.battery_level = 15
    low.settle(seoul("2021-11-22 06:30"))
    assert not low.is_climate_on and "battery" in low.runs[-1]["skipped"]
    away = car(seoul("2021-11-21 22:00"))
    away.schedules = [weekdays_0630(latitude=35.1796, longitude=129.0756)]  # set in Busan
    away.settle(seoul("2021-11-22 06:30"))
    assert not away.is_climate_on and "away" in away.runs[-1]["skipped"]


def test_a_one_time_schedule_runs_once_and_is_gone() -> None:
    c = car(seoul("2021-11-21 22:00"))
    c.schedules = [weekdays_0630(days_of_week=plans.ALL_DAYS, one_time=True)]
    c.settle(seoul("2021-11-23 08:00"))
    assert len(c.runs) == 1 and c.schedules == []


def test_the_owners_own_command_takes_the_climate_over_from_the_schedule() -> None:
    from carctl.mock.commands import COMMANDS

    c = car(seoul("2021-11-21 22:00"))
    c.schedules = [weekdays_0630()]
    c.settle(seoul("2021-11-22 06:10"))
    COMMANDS["auto_conditioning_start"].effect(c, {}, seoul("2021-11-22 06:10"))
    c.settle(seoul("2021-11-22 07:10"))
    assert c.is_climate_on  # the schedule's hold does not turn off what the owner turned on


@pytest.mark.parametrize(
    ("given", "mask"),
    [
        ("All", 127),
        ("Weekdays", 31),
        ("Thursday,Saturday", 0b0101000),
        (5, 5),
        ("96", 96),
    ],
)
def test_days_of_week_in_every_form_clients_send(given: Any, mask: int) -> None:
    assert plans.days_mask(given) == mask


@pytest.mark.parametrize("given", ["Funday", "", 0, 128, True, "Mon,,Tue"])
def test_days_of_week_that_name_no_day_are_refused(given: Any) -> None:
    with pytest.raises(plans.DaysError):
        plans.days_mask(given)


def test_the_seed_names_each_cars_zone_and_refuses_an_unknown_one() -> None:
    seed = load_seed()
    assert {v.time_zone for v in seed.vehicles} == {"Asia/Seoul"}
    data = {
        "accounts": [{"email": "a@example.com", "password": "x"}],
        "vehicles": [{"owner": "a@example.com", "time_zone": "Mars/Olympus"}],
    }
    with pytest.raises(SeedError, match="time_zone: expected an IANA time zone"):
        parse_seed(data, source="seed.toml")
    data["vehicles"][0] = {"owner": "a@example.com", "schedule_support": "sometimes"}
    with pytest.raises(SeedError, match="schedule_support: expected precondition or departure"):
        parse_seed(data, source="seed.toml")


# -- over HTTP ------------------------------------------------------------------------


def command(client: httpx.Client, headers: dict[str, str], name: str, **body: Any) -> Any:
    response = client.post(f"/api/1/vehicles/{M3}/command/{name}", json=body, headers=headers)
    return response.status_code, response.json()


def schedule_data(client: httpx.Client, headers: dict[str, str]) -> Any:
    response = client.get(
        f"/api/1/vehicles/{M3}/vehicle_data",
        params={"endpoints": "preconditioning_schedule_data;vehicle_config"},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    return response.json()["response"]


@pytest.fixture
def online(served: Served) -> tuple[httpx.Client, dict[str, str]]:
    served.admin("PATCH", f"/__mock__/vehicles/{M3}", json={"state": "online"})
    client = served.client()
    return client, bearer(login(client))


def test_schedules_are_added_listed_and_removed_over_http(
    online: tuple[httpx.Client, dict[str, str]],
) -> None:
    client, headers = online
    assert (
        "preconditioning_schedule_data"
        not in client.get(f"/api/1/vehicles/{M3}/vehicle_data", headers=headers).json()["response"]
    )  # only when asked for, as on the real API
    status, body = command(
        client, headers, "add_precondition_schedule",
        days_of_week="Weekdays", precondition_time=390, one_time=False, enabled=True, **HERE,
    )  # fmt: skip
    assert (status, body["response"]) == (200, {"result": True, "reason": ""})
    data = schedule_data(client, headers)
    assert data["vehicle_config"]["timezone"] == "Asia/Seoul"
    held = data["preconditioning_schedule_data"]
    assert held["max_num_precondition_schedules"] == plans.MAX_SCHEDULES
    assert held["next_schedule"] is True
    assert held["precondition_schedules"] == [
        {
            "id": 1,
            "name": "",
            "days_of_week": 31,
            "precondition_time": 390,
            "one_time": False,
            "enabled": True,
            "latitude": 37.5665,
            "longitude": 126.978,
        }
    ]
    # modify by id, then remove
    status, body = command(
        client, headers, "add_precondition_schedule",
        id=1, days_of_week=127, precondition_time=420, enabled=True, **HERE,
    )  # fmt: skip
    assert body["response"]["result"] is True
    held = schedule_data(client, headers)["preconditioning_schedule_data"]
    rows = held["precondition_schedules"]
    assert [(s["id"], s["precondition_time"], s["days_of_week"]) for s in rows] == [(1, 420, 127)]
    assert command(client, headers, "remove_precondition_schedule", id=1)[1]["response"] == {
        "result": True,
        "reason": "",
    }
    assert command(client, headers, "remove_precondition_schedule", id=1)[1]["response"] == {
        "result": False,
        "reason": "schedule_not_found",
    }


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"precondition_time": 390, **HERE}, "days_of_week is required"),
        ({"days_of_week": "Funday", "precondition_time": 390, **HERE}, "'funday' is not a day"),
        ({"days_of_week": "All", "precondition_time": 1440, **HERE}, "precondition_time must be"),
        ({"days_of_week": "All", "precondition_time": 390}, "lat is required"),
    ],
)
def test_a_bad_schedule_is_a_400_invalid_field(
    online: tuple[httpx.Client, dict[str, str]], body: dict[str, Any], says: str
) -> None:
    client, headers = online
    status, answer = command(client, headers, "add_precondition_schedule", **body)
    assert status == 400 and answer["error"] == "invalid_field"
    assert says in answer["error_description"]


def test_a_full_schedule_list_is_refused_by_the_car(
    online: tuple[httpx.Client, dict[str, str]],
) -> None:
    client, headers = online
    for minute in range(plans.MAX_SCHEDULES):
        _, body = command(
            client, headers, "add_precondition_schedule",
            days_of_week="All", precondition_time=360 + minute, **HERE,
        )  # fmt: skip
        assert body["response"]["result"] is True
    _, body = command(
        client, headers, "add_precondition_schedule",
        days_of_week="All", precondition_time=500, **HERE,
    )  # fmt: skip
    assert body["response"] == {"result": False, "reason": "schedule_limit_reached"}


def test_a_car_with_only_scheduled_departure(
    served: Served, online: tuple[httpx.Client, dict[str, str]]
) -> None:
    client, headers = online
    served.admin("PATCH", f"/__mock__/vehicles/{M3}", json={"schedule_support": "departure"})
    assert "preconditioning_schedule_data" not in schedule_data(client, headers)
    _, body = command(
        client, headers, "add_precondition_schedule",
        days_of_week="All", precondition_time=390, **HERE,
    )  # fmt: skip
    assert body["response"] == {"result": False, "reason": "not_supported"}
    _, body = command(
        client, headers, "set_scheduled_departure",
        enable=True, departure_time=390, preconditioning_enabled=True,
        preconditioning_weekdays_only=False,
    )  # fmt: skip
    assert body["response"]["result"] is True
    charge = client.get(
        f"/api/1/vehicles/{M3}/vehicle_data", params={"endpoints": "charge_state"}, headers=headers
    ).json()["response"]["charge_state"]
    assert charge["scheduled_departure_time_minutes"] == 390
    assert charge["preconditioning_enabled"] is True
    assert charge["preconditioning_times"] == "all_week"
    assert charge["scheduled_charging_mode"] == "DepartBy"
    # the departure runs on the car's clock like a schedule
    ready = datetime.fromtimestamp(charge["scheduled_departure_time"], SEOUL)
    assert (ready.hour, ready.minute) == (6, 30)
    now = served.admin("GET", "/__mock__/clock")["epoch"]
    served.admin(
        "POST", "/__mock__/clock", json={"advance": charge["scheduled_departure_time"] - now}
    )
    car = next(
        c for c in served.admin("GET", "/__mock__/vehicles")["vehicles"] if str(c["id"]) == M3
    )
    assert car["is_climate_on"] is True and car["schedule_runs"][-1]["schedule"] == 0


def test_faults_act_on_the_api_never_on_the_car(
    served: Served, online: tuple[httpx.Client, dict[str, str]]
) -> None:
    client, headers = online
    command(
        client, headers, "add_precondition_schedule",
        days_of_week="All", precondition_time=390, one_time=True, **HERE,
    )  # fmt: skip
    served.admin("PUT", "/__mock__/faults", json={"rules": [{"status": 500, "path": "/api/1/*"}]})
    assert client.get("/api/1/vehicles", headers=headers).status_code == 500
    # the manual clock starts at 2021-11-20 06:00 in Seoul: the run started at once
    car = next(
        c for c in served.admin("GET", "/__mock__/vehicles")["vehicles"] if str(c["id"]) == M3
    )
    assert car["is_climate_on"] is True and car["schedules"] == []  # one-time: done
