"""The owner's commands against the served mock (real HTTP) and the built-in endpoint."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Endpoint, FastClock, invoke, run_carctl
from tests.support.car import M3, M3_VIN, executed, m3


def assert_envelope(result: Any, command: str) -> dict[str, Any]:
    assert result.code == 0, result.output
    document = result.json()
    assert set(document) == {"ok", "command", "vehicle", "data", "queued", "error", "warnings"}
    assert document["ok"] is True and document["command"] == command
    assert document["error"] is None and document["queued"] is None
    return document  # type: ignore[no-any-return]


def test_vehicles_never_wakes_a_car(car: Endpoint) -> None:
    document = assert_envelope(invoke("--json", "vehicles"), "vehicles")
    rows = {row["display_name"]: row for row in document["data"]}
    assert rows["Model 3"] == {
        "id": M3,
        "vin": M3_VIN,
        "display_name": "Model 3",
        "state": "asleep",
        "in_service": False,
        "command_signing": "off",  # as the listing says: plain commands are taken
        "default": True,  # the `car` fixture chose it
    }
    assert rows["Model Y"]["state"] == "online"
    assert car.requests(f"/api/1/vehicles/{M3}/wake_up") == 0
    human = invoke("vehicles")
    assert "Model 3" in human.stdout and "asleep" in human.stdout and M3_VIN in human.stdout


def test_status_of_a_sleeping_car_does_not_wake_it(car: Endpoint) -> None:
    document = assert_envelope(invoke("--json", "status"), "status")
    assert document["vehicle"] == {"id": M3, "vin": M3_VIN, "display_name": "Model 3"}
    assert document["data"]["state"] == "asleep" and document["data"]["live"] is False
    assert car.requests(f"/api/1/vehicles/{M3}/wake_up") == 0
    assert "status --wake" in invoke("status").stdout

    live = assert_envelope(invoke("--json", "status", "--wake"), "status")["data"]
    assert live["state"] == "online" and live["live"] is True
    assert live["climate"]["outside_temp"] == 2.0 and live["climate"]["is_climate_on"] is False
    assert live["windows"]["closed"] is True
    assert live["battery"]["level"] > 0
    # once asleep again, status shows what the car reported last, with its age
    car.admin("PATCH", f"/__mock__/vehicles/{M3}", {"state": "asleep"})
    later = assert_envelope(invoke("--json", "status"), "status")["data"]
    assert later["live"] is False and later["climate"] == live["climate"]
    assert "last reported" in invoke("status").stdout


def test_wake(car: Endpoint) -> None:
    document = assert_envelope(invoke("--json", "wake"), "wake")
    assert document["data"]["state"] == "online" and document["data"]["woke"] is True
    assert car.requests(f"/api/1/vehicles/{M3}/wake_up") == 1
    again = invoke("wake")
    assert again.code == 0 and "was already online" in again.stdout
    assert car.requests(f"/api/1/vehicles/{M3}/wake_up") == 1  # only woken when asleep


def test_climate_on_wakes_sets_and_confirms(car: Endpoint) -> None:
    document = assert_envelope(invoke("--json", "climate", "on", "--temp", "21"), "climate on")
    data = document["data"]
    assert [s["step"] for s in data["steps"]] == ["wake", "set_temps", "climate_on"]
    assert data["confirmed"] is True
    assert data["climate"]["is_climate_on"] is True
    assert data["climate"]["driver_temp_setting"] == 21.0
    commands = executed(car)
    assert [(c["name"], c["params"]) for c in commands] == [
        ("set_temps", {"driver_temp": 21.0, "passenger_temp": 21.0}),
        ("auto_conditioning_start", {}),
    ]
    keys = [c["idempotency_key"] for c in commands]
    assert all(keys) and len(set(keys)) == 2
    assert set(car.admin("GET", "/__mock__/stats")["executions"].values()) == {1}


def test_a_car_seen_awake_a_moment_ago_is_not_asked_again(
    car: Endpoint, fast_clock: type[FastClock]
) -> None:
    assert invoke("wake").code == 0  # the car answered as online just now
    car.admin("DELETE", "/__mock__/stats")
    data = assert_envelope(invoke("--json", "climate", "on"), "climate on")["data"]
    assert data["confirmed"] is True and [s["step"] for s in data["steps"]] == ["climate_on"]
    asked = sorted(r["path"] for r in car.admin("GET", "/__mock__/stats")["requests"])
    assert asked == [  # the command and its read-back: no look-up of the car's state first
        f"/api/1/vehicles/{M3}/command/auto_conditioning_start",
        f"/api/1/vehicles/{M3}/vehicle_data",
    ]
    fast_clock.offset += 61  # a minute later, the car's state is asked again
    assert invoke("climate", "off").code == 0
    assert car.requests(f"/api/1/vehicles/{M3}") == 1


def test_a_car_that_fell_asleep_since_it_was_seen_is_woken_as_a_step(car: Endpoint) -> None:
    assert invoke("wake").code == 0
    car.admin("PATCH", f"/__mock__/vehicles/{M3}", {"state": "asleep"})
    data = assert_envelope(invoke("--json", "climate", "on"), "climate on")["data"]
    assert [s["step"] for s in data["steps"]] == ["wake", "climate_on"]
    assert data["confirmed"] is True
    command = f"/api/1/vehicles/{M3}/command/auto_conditioning_start"
    assert car.requests(command, 408) == 1 and car.requests(command, 200) == 1
    assert car.requests(f"/api/1/vehicles/{M3}/wake_up") == 2  # `carctl wake`'s, and this one
    assert [c["name"] for c in executed(car)] == ["auto_conditioning_start"]
    assert set(car.admin("GET", "/__mock__/stats")["executions"].values()) == {1}
    # status does not wake it: it says what the car reported last
    car.admin("PATCH", f"/__mock__/vehicles/{M3}", {"state": "asleep"})
    later = assert_envelope(invoke("--json", "status"), "status")["data"]
    assert later["state"] == "asleep" and later["live"] is False
    assert car.requests(f"/api/1/vehicles/{M3}/wake_up") == 2


def test_climate_off_and_set(car: Endpoint) -> None:
    assert invoke("climate", "on").code == 0
    off = assert_envelope(invoke("--json", "climate", "off"), "climate off")["data"]
    assert off["confirmed"] is True and off["climate"]["is_climate_on"] is False
    chosen = invoke("--json", "climate", "set", "--temp", "70F", "--passenger", "22")
    data = assert_envelope(chosen, "climate set")["data"]
    assert data["climate"]["driver_temp_setting"] == 21.0
    assert data["climate"]["passenger_temp_setting"] == 22.0
    assert data["climate"]["is_climate_on"] is False  # set does not turn it on
    assert executed(car)[-1]["params"] == {"driver_temp": 21.0, "passenger_temp": 22.0}


def test_vent_and_close_with_the_cars_position(car: Endpoint) -> None:
    vent = assert_envelope(invoke("--json", "vent"), "vent")["data"]
    assert vent["confirmed"] is True and vent["windows"]["vented"] is True
    close = assert_envelope(invoke("--json", "vent", "--close"), "vent")["data"]
    assert close["confirmed"] is True and close["windows"]["closed"] is True
    sent = executed(car)[-1]
    position = m3(car)
    assert sent["name"] == "window_control" and sent["params"]["command"] == "close"
    assert (sent["params"]["lat"], sent["params"]["lon"]) == (
        position["latitude"],
        position["longitude"],
    )


def test_precondition_reports_each_step(car: Endpoint) -> None:
    result = invoke("--json", "precondition", "--temp", "21", "--vent", "--expires-in", "40m")
    data = assert_envelope(result, "precondition")["data"]
    assert [s["step"] for s in data["steps"]] == ["wake", "set_temps", "climate_on", "vent"]
    assert data["confirmed"] is True and data["expires_at"].endswith("Z")
    assert [c["name"] for c in executed(car)] == [
        "set_temps",
        "auto_conditioning_start",
        "window_control",
    ]
    human = invoke("precondition", "--temp", "21", "--vent")
    assert human.code == 0
    lines = human.stdout.splitlines()
    assert lines[0] == "ok temperature set to 21.0 °C"
    assert lines[-1].startswith("Confirmed by the car: climate on, set to 21.0 °C")


def test_vehicle_selection_by_option_and_environment(car: Endpoint) -> None:
    by_vin = invoke("--json", "--vehicle", M3_VIN.lower(), "status")
    assert by_vin.json()["vehicle"]["id"] == M3
    by_env = invoke("--json", "status", env={"CARCTL_VEHICLE": "model y"})
    assert by_env.json()["vehicle"]["display_name"] == "Model Y"
    unknown = invoke("--vehicle", "Roadster", "climate", "on")
    assert unknown.code == 2
    assert "no car 'Roadster' on this account; its cars: Model 3" in unknown.stderr
    ambiguous = invoke("config", "set", "vehicle", "model")  # checked when it is set
    assert ambiguous.code == 2 and "'model' matches several cars" in ambiguous.stderr
    assert executed(car) == []


# -- failures -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("climate", "on", "--temp", "35"), "outside what the car accepts"),
        (("climate", "on", "--temp", "warm"), "is not a temperature"),
        (("climate", "set", "--temp", "21", "--passenger", "9"), "--passenger 9 °C"),
        (("precondition", "--expires-in", "soon"), "is not a duration"),
        (("precondition", "--expires-at", "25:00"), "is not a time of day"),
        (("precondition", "--expires-at", "00:00"), "--expires-at 00:00 has already passed today"),
        (("precondition", "--expires-in", "4m", "--expires-at", "06:45"), "cannot be used"),
        (("wake", "--wake-timeout", "0"), "--wake-timeout"),
    ],
)
def test_bad_input_sends_nothing(car: Endpoint, args: tuple[str, ...], message: str) -> None:
    before = car.admin("GET", "/__mock__/stats")["requests"]
    result = invoke(*args)
    assert result.code == 2, result.output
    assert message in result.stderr
    assert car.admin("GET", "/__mock__/stats")["requests"] == before


def test_not_signed_in(endpoint: Endpoint) -> None:
    result = invoke("--json", "climate", "on")
    assert result.code == 77
    assert result.json()["error"]["hint"] == "run `carctl auth login`"


def test_a_car_in_service(car: Endpoint) -> None:
    car.admin("PATCH", f"/__mock__/vehicles/{M3}", {"state": "online", "in_service": True})
    result = invoke("climate", "on")
    assert result.code == 1
    assert "in service" in result.stderr
    car.admin("PATCH", f"/__mock__/vehicles/{M3}", {"state": "asleep"})
    asleep = invoke("wake")
    assert asleep.code == 1 and "Model 3 is in service" in asleep.stderr
    assert executed(car) == []


def test_the_car_refuses(car: Endpoint) -> None:
    car.admin(
        "PATCH",
        f"/__mock__/vehicles/{M3}",
        {"refusal": "cabin comfort remote settings not enabled"},
    )
    result = invoke("--json", "climate", "on", "--temp", "21")
    assert result.code == 1
    error = result.json()["error"]
    assert error["code"] == "refused"
    assert error["message"] == (
        "Model 3 refused set_temps: cabin comfort remote settings not enabled"
    )
    assert [s["step"] for s in result.json()["data"]["steps"]] == ["wake"]
    car.admin("PATCH", f"/__mock__/vehicles/{M3}", {"state": "asleep"})
    human = invoke("climate", "on", "--temp", "21")
    assert "  done before it failed: woke Model 3 in " in human.stderr
    assert "hint: enable remote climate in the car" in human.stderr


def test_a_car_that_never_wakes(car: Endpoint) -> None:
    car.admin("PATCH", f"/__mock__/vehicles/{M3}", {"state": "offline"})
    result = invoke("--json", "wake", "--wake-timeout", "1")
    assert result.code == 69
    error = result.json()["error"]
    assert error["message"] == "Model 3 did not come online within 1 s (last state: offline)"
    assert "--wake-timeout" in error["hint"]


@pytest.mark.parametrize(
    ("rule", "status"),
    [
        ({"status": 500}, 500),
        ({"status": 503, "body": "html"}, 503),
        ({"status": 429, "retry_after": 20}, 429),
        ({"drop": True}, None),
    ],
)
def test_service_failures_exit_75_and_nothing_runs_twice(
    car: Endpoint, rule: dict[str, Any], status: int | None
) -> None:
    car.admin("PATCH", f"/__mock__/vehicles/{M3}", {"state": "online"})
    car.faults({"path": "/api/1/vehicles/*/command/*", **rule})
    result = invoke("--json", "climate", "on")
    assert result.code == 75, result.output
    error = result.json()["error"]
    assert error["http"]["status"] == status
    assert error["http"]["path"] == f"/api/1/vehicles/{M3}/command/auto_conditioning_start"
    assert result.json()["vehicle"] == {"id": M3, "vin": M3_VIN, "display_name": "Model 3"}
    if status is not None:
        assert error["http"]["txid"]
    assert executed(car) == []  # the failed command did not run
    assert result.json()["queued"]["commands"] == ["auto_conditioning_start"]


def test_piped_output_is_plain_and_quiet_is_silent(car: Endpoint) -> None:
    piped = run_carctl("climate", "on", "--temp", "21")
    assert piped.returncode == 0, piped.stderr
    assert "\x1b" not in piped.stdout + piped.stderr
    assert "Confirmed by the car" in piped.stdout
    quiet = run_carctl("--quiet", "vent")
    assert quiet.returncode == 0 and quiet.stdout == ""
    assert executed(car)[-1]["name"] == "window_control"


def test_ctrl_c_during_a_wake(car: Endpoint) -> None:
    car.admin("PATCH", f"/__mock__/vehicles/{M3}", {"state": "offline"})
    process = subprocess.Popen(
        [sys.executable, "-m", "carctl", "wake", "--wake-timeout", "60"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )
    deadline = time.monotonic() + 30
    while car.requests(f"/api/1/vehicles/{M3}/wake_up") == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 130
    assert err.strip() == "error: interrupted"
    assert "Traceback" not in out + err
    assert invoke("status").code == 0  # the state database is still usable


def test_the_demo_leaves_the_users_home_untouched(
    carctl_home: Path,
    memory_keyring: Any,
    real_clock: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    scratch = tmp_path / "scratch"  # the demo's own temporary home goes here, and must go
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)  # read TMPDIR again
    result = invoke("demo")
    assert result.code == 0, result.output
    for line in (
        "Signed in as owner@example.com",
        "Found Model 3 (5YJ3E7EA1MF000621): asleep",
        "Woke it: online after",
        "Climate on at 21.0 °C — confirmed by the car",
        "Windows vented — confirmed by the car",
        "climate on at 21.0 °C; windows vented",
        "06:05 The vehicle API fails: every request answers 500",
        "queued: temperature set to 22.0 °C for Model 3",
        "why: the service has failed (500) since 06:05, not your network or sign-in",
        "next: sent on recovery until 06:35, or `carctl queue cancel 1`",
        "The worker delivered 1 queued command, exactly once",
        "in 15 min\n    Outside 2.0 °C; climate on at 22.0 °C; windows vented",
        "22:00 The evening before the next drive: the car keeps the schedule",
        "Armed on Model 3: every day, ready at 06:30, 21.0 °C",
        "06:00 Sunday: the vehicle API fails again, and carctl sends nothing",
        "climate on\n    The car started it at 06:00 by itself.",
        "Requests to the vehicle API this morning: 0",
        "Nothing was lost, nothing ran twice.",
    ):
        assert line in result.stdout
    assert not carctl_home.exists()
    assert memory_keyring.entries == {}
    assert list(scratch.iterdir()) == []


def test_the_demo_runs_each_command_once(real_clock: None) -> None:
    import shutil

    from carctl.api import builtin

    result = invoke("--json", "demo", "--keep")
    assert result.code == 0, result.output
    story = result.json()["data"]
    home = Path(story["home"])
    try:
        stats = builtin.control(home / "state" / "state.db", "GET", "/__mock__/stats")
    finally:
        shutil.rmtree(home)
    assert [c["name"] for c in stats["commands"]] == [
        "set_temps",
        "auto_conditioning_start",
        "window_control",
        "set_temps",
        "auto_conditioning_stop",  # arrived: parked for the day
        "set_temps",  # the evening: the schedule's temperature
        "add_precondition_schedule",
    ]
    assert stats["commands"][3]["params"]["driver_temp"] == 22.0
    assert set(stats["executions"].values()) == {1}
    steps = {s["step"]: s for s in story["steps"]}
    assert [s["step"] for s in story["steps"]][-6:] == [
        "queued",
        "delivered",
        "warming",
        "schedule",
        "warm",
        "requests",
    ]
    assert steps["requests"]["requests"] == 0  # the morning of the outage: not one request
    assert steps["warm"]["readings"][-1] > steps["warm"]["readings"][0] + 15  # warmed itself


def test_a_command_carried_out_does_not_speak_of_expiry(car: Endpoint) -> None:
    done = invoke("climate", "on", "--expires-in", "40m")
    assert done.code == 0, done.output
    assert "Confirmed by the car: climate on" in done.stdout
    assert "valid until" not in done.output and "expire" not in done.output


def test_imperial_units_everywhere_a_person_reads(car: Endpoint) -> None:
    assert invoke("config", "set", "units", "imperial").code == 0
    done = invoke("climate", "on", "--temp", "70F")
    assert done.code == 0, done.output
    assert "°C" not in done.output, done.output
    assert "temperature set to 70 °F" in done.stdout
    as_json = invoke("--json", "climate", "on", "--temp", "70F").json()
    steps = as_json["data"]["steps"]
    assert any(s["detail"] == "temperature set to 21.0 °C" for s in steps), steps  # JSON: °C
    car.faults({"status": 500, "path": "/api/1/*"})
    assert invoke("climate", "on", "--temp", "72F").code == 75
    listing = invoke("queue")
    assert "°C" not in listing.stdout and "72 °F" in listing.stdout, listing.stdout


def test_what_people_see_is_drawn_in_the_suite_too(car: Endpoint) -> None:
    """Colour, tables, the spinner's terminal path and the queued message, not only JSON."""
    drawn = []
    for words, expected in (
        (["vehicles"], "Model 3"),
        (["wake"], "is online (woke in"),
        (["status"], "cabin"),
        (["climate", "on"], "Confirmed by the car"),
        (["vent"], "windows vented"),
        (["queue"], "Nothing queued."),
    ):
        result = invoke(*words, terminal=True)
        assert result.code == 0, (words, result.output)
        drawn.append(result.output)
        assert expected in re.sub(r"\x1b\[[0-9;]*m", "", result.output), (words, result.output)
        assert "Traceback" not in result.output
    assert sum("\x1b[" in output for output in drawn) >= 4  # colour, as on a terminal
    car.faults({"status": 500, "path": "/api/1/*"})
    queued = invoke("climate", "off", terminal=True)
    assert queued.code == 75
    assert "\x1b[1;33mqueued:\x1b[0m" in queued.stderr  # the yellow headline, not a red error
    assert "error:" not in queued.stderr
