"""`carctl mock drive`: a car of the built-in mock on the road, then parked; the car's own
data says where it went."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.conftest import invoke, sign_in
from tests.support.car import M3

START = (37.5665, 126.978)  # the seeded Model 3's home


def _drive_state() -> dict[str, Any]:
    answer = invoke("--json", "api", f"/api/1/vehicles/{M3}/vehicle_data?endpoints=location_data")
    assert answer.code == 0, answer.output
    data: dict[str, Any] = json.loads(answer.stdout)["data"]["drive_state"]
    return data


def test_a_car_drives_its_route_and_parks_at_the_end(carctl_home: Path) -> None:
    sign_in()
    started = invoke("mock", "drive", M3, "37.5600,126.978", "37.5600,126.990", "--speed", "60")
    assert started.code == 0, started.output
    assert started.stdout == "Model 3 drives 1.78 km at 60 km/h: there in 1m47s of mock time\n"
    assert invoke("mock", "clock", "--advance", "1m").code == 0
    moving = _drive_state()
    assert (moving["shift_state"], moving["speed"]) == ("D", 37)
    assert moving["latitude"] < START[0] and moving["longitude"] > START[1]  # a km on
    shown = invoke("mock", "clock", "--advance", "5m")
    assert "driving" not in shown.stdout
    arrived = _drive_state()
    assert (arrived["shift_state"], arrived["speed"]) == ("P", None)
    assert (arrived["latitude"], arrived["longitude"]) == (37.56, 126.99)


def test_park_stops_the_car_where_it_is(carctl_home: Path) -> None:
    sign_in()
    assert invoke("mock", "drive", M3, "37.5600,126.978").code == 0
    shown = invoke("mock", "clock", "--advance", "10s")
    assert (
        "  Model 3    online   climate off\n             driving at 50 km/h, 1 point to go\n"
        in (shown.stdout)
    )
    assert "\n             driving at 50 km/h, 1 point to go\n" in invoke("mock", "show").stdout
    parked = invoke("--json", "mock", "drive", M3, "--park")
    assert parked.code == 0, parked.output
    car = json.loads(parked.stdout)["data"]
    assert car["shift_state"] == "P" and START[0] > car["latitude"] > 37.5600
    assert invoke("mock", "clock", "--advance", "5m").code == 0
    assert _drive_state()["latitude"] == car["latitude"]  # it stays where it stopped


def test_bad_routes_are_usage_errors_that_move_nothing(carctl_home: Path) -> None:
    sign_in()
    cases = {
        ("37.5,north",): "error: '37.5,north' is not a position\nhint: give LAT,LON in degrees",
        ("95,126.9",): "error: '95,126.9' is off the globe",
        (): "error: give the route: one or more LAT,LON points",
        ("37.5,126.9", "--park"): "error: --park takes no route",
        (
            "37.5,126.9",
            "--speed",
            "900",
        ): "error: invalid value for '--speed': 900.0 is not in the range 1<=x<=250",
    }
    for words, message in cases.items():
        result = invoke("mock", "drive", M3, *words)
        assert result.code == 2, (words, result.output)
        assert message in result.stderr, (words, result.stderr)
    unknown = invoke("mock", "drive", "NOSUCHCAR", "37.5,126.9")
    assert unknown.code == 2 and "error: no vehicle 'NOSUCHCAR'" in unknown.stderr
    cars = json.loads(invoke("--json", "mock", "show").stdout)["data"]["vehicles"]
    assert [(c["shift_state"], c["route_left"]) for c in cars] == [(None, 0), (None, 0)]
