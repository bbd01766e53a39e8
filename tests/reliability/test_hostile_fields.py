"""Every field carctl reads from the service, in every shape a hostile server can send.

Property-based over (field, value, command): a car whose `vehicle_data` or
vehicle object carries one field of the wrong type — a temperature as a
string, list or object, NaN or Infinity in a number, schedules as a number, a
time zone that names a directory or is 10 kB long, a car id with control
characters or 100 kB long. Over real HTTP to a scripted API. carctl never
crashes (exit 70) and never prints a traceback; a field it cannot use is
exit 69 naming the field; and a command the car has already executed is
reported as executed (exit 0, the step listed), whatever the read-back said.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.conftest import invoke
from tests.reliability.test_hostile_server import _fresh_state
from tests.support.scripted_api import scripted_api

TOKEN = "hostile-fields-token-0000000000000000000"
CAR = {
    "id": 1,
    "id_s": "1",
    "vehicle_id": 11,
    "vin": "VIN0000000000000001",
    "display_name": "Model 3",
    "state": "online",
    "in_service": False,
}
DATA: dict[str, Any] = {
    **CAR,
    "charge_state": {
        "battery_level": 64,
        "battery_range": 198.2,
        "charging_state": "Disconnected",
        "scheduled_charging_mode": "DepartBy",
        "preconditioning_enabled": True,
        "scheduled_departure_time_minutes": 420,
        "preconditioning_times": "all_week",
    },
    "climate_state": {
        "inside_temp": 6.5,
        "outside_temp": 3.0,
        "driver_temp_setting": 21.0,
        "passenger_temp_setting": 21.0,
        "is_climate_on": True,
        "is_preconditioning": False,
    },
    "vehicle_state": {"fd_window": 0, "fp_window": 0, "rd_window": 0, "rp_window": 0},
    "drive_state": {"latitude": 37.5665, "longitude": 126.978, "gps_as_of": 1700000000},
    "vehicle_config": {"timezone": "Asia/Seoul"},
    "preconditioning_schedule_data": {
        "precondition_schedules": [
            {
                "id": 1,
                "days_of_week": 127,
                "precondition_time": 390,
                "one_time": False,
                "enabled": True,
            }
        ],
        "max_num_precondition_schedules": 10,
    },
}
FIELDS = [
    *[("car", key) for key in ("id", "id_s", "vin", "display_name", "state", "in_service")],
    *[("charge_state", key) for key in DATA["charge_state"]],
    *[("climate_state", key) for key in DATA["climate_state"]],
    *[("vehicle_state", key) for key in DATA["vehicle_state"]],
    *[("drive_state", key) for key in ("latitude", "longitude")],
    ("vehicle_config", "timezone"),
    ("preconditioning_schedule_data", "precondition_schedules"),
    ("preconditioning_schedule_data", "max_num_precondition_schedules"),
    *[
        ("schedule", key)
        for key in DATA["preconditioning_schedule_data"]["precondition_schedules"][0]
    ],
    *[(section, None) for section in DATA if isinstance(DATA[section], dict)],
]
HOSTILE = st.one_of(
    st.sampled_from(
        [
            "21.5",
            "x",
            "",
            [],
            [1, 2],
            {},
            {"a": 1},
            True,
            False,
            None,
            float("nan"),
            float("inf"),
            float("-inf"),
            10**30,
            -(10**30),
            1e308,
            "America",
            "Asia",
            "../../etc/passwd",
            "/etc/localtime",
            "x" * 10_000,
            "Model\n3\x1b[2J",
            "1\x00",
            "a" * 100_000,
            -1,
            0,
            3.7,
        ]
    ),
    st.text(max_size=30),
    st.integers(),
    st.floats(),
)
COMMANDS = [
    ("status",),
    ("climate", "on"),
    ("climate", "on", "--temp", "21"),
    ("vent", "--close"),
    ("precondition", "--vent"),
    ("schedule",),
    ("schedule", "set", "06:30"),
    ("vehicles",),
]


def _with(field: tuple[str, str | None], value: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    car, data = copy.deepcopy(CAR), copy.deepcopy(DATA)
    section, key = field
    if section == "car":
        car[key] = value
        data[key] = value  # vehicle_data repeats the car's own fields
    elif section == "schedule":
        data["preconditioning_schedule_data"]["precondition_schedules"][0][key] = value
    elif key is None:
        data[section] = value
    else:
        data[section][key] = value
    return car, data


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    field=st.sampled_from(FIELDS),
    value=HOSTILE,
    command=st.sampled_from(COMMANDS),
    human=st.booleans(),
)
def test_whatever_type_a_field_has(
    monkeypatch: pytest.MonkeyPatch,
    field: tuple[str, str | None],
    value: Any,
    command: tuple[str, ...],
    human: bool,
) -> None:
    car, data = _with(field, value)
    with scripted_api() as api:
        api.on("GET", "/api/1/vehicles", [car])
        api.on("GET", "/api/1/vehicles/*", car)
        api.on("POST", "/api/1/vehicles/*/wake_up", car)
        api.on("GET", "/api/1/vehicles/*/vehicle_data", data)
        api.on("POST", "/api/1/vehicles/*/command/*", {"result": True, "reason": ""})
        monkeypatch.setenv("CARCTL_API_URL", api.url)
        monkeypatch.setenv("CARCTL_TOKEN", TOKEN)
        _fresh_state()
        args = ("--no-worker", "--vehicle", "Model 3", *command)
        result = invoke(*args, terminal=True) if human else invoke("--json", *args)
        executed = list(api.requests("POST", "/api/1/vehicles/*/command/*"))
    event(f"{field[0]}: exit {result.code}")
    assert "Traceback" not in result.output, result.output[-3000:]
    assert result.code != 70, result.output[-3000:]
    assert result.code in (0, 1, 2, 69), result.output[-3000:]
    if result.code == 69 and not human:
        error = json.loads(result.stdout)["error"]
        assert error["code"] in ("protocol", "unreachable", "vehicle_unavailable"), error
    if executed:  # the car did it: carctl says so
        assert result.code == 0, result.output[-3000:]


@contextmanager
def serving(monkeypatch: pytest.MonkeyPatch, data: dict[str, Any]) -> Iterator[None]:
    """The scripted API describing CAR with this `vehicle_data`, carctl pointed at it."""
    with scripted_api() as api:
        api.on("GET", "/api/1/vehicles", [CAR])
        api.on("GET", "/api/1/vehicles/*", CAR)
        api.on("GET", "/api/1/vehicles/*/vehicle_data", data)
        monkeypatch.setenv("CARCTL_API_URL", api.url)
        monkeypatch.setenv("CARCTL_TOKEN", TOKEN)
        yield


def test_a_battery_without_its_range_is_shown_without_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = copy.deepcopy(DATA)
    del data["charge_state"]["battery_range"]
    with serving(monkeypatch, data):
        result = invoke("status", terminal=True)
    assert result.code == 0, result.output
    assert "None" not in result.output
    assert "battery   64 %\n" in result.output.replace("\x1b[0m", "")


def test_thousands_of_schedules_are_shown_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """A hostile server's 5,000 schedules: the listing shows a screenful and says how many
    more there are (`benchmarks/` measures how long that takes; here only what is shown)."""
    data = copy.deepcopy(DATA)
    data["preconditioning_schedule_data"]["precondition_schedules"] = [
        {
            "id": i,
            "days_of_week": 127,
            "precondition_time": i % 1440,
            "one_time": False,
            "enabled": True,
        }
        for i in range(5000)
    ]
    with serving(monkeypatch, data):
        result = invoke("schedule", terminal=True)
    assert result.code == 0, result.output[-2000:]
    assert len(result.stdout.splitlines()) < 60, result.stdout[-2000:]
    assert "more (`carctl --json schedule` lists them all)" in result.stdout
