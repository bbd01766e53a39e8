"""Lock, unlock, honk and flash, each with its safety class (`carctl.vehicle.safety`).

Against the served mock over real HTTP: the mock's stats prove what was executed
on the car, and the queue table what was (never) kept for later.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from typing import Any

import pytest

from tests.conftest import Endpoint, FastClock, invoke
from tests.support.car import M3, OUTAGE, executed, queue_rows
from tests.support.terminal import run_in_terminal


@pytest.fixture
def car(awake_car: Endpoint) -> Endpoint:
    """Here the car is awake (and locked, as seeded)."""
    return awake_car


def locked(endpoint: Endpoint) -> bool:
    cars = endpoint.admin("GET", "/__mock__/vehicles")["vehicles"]
    return bool(next(c for c in cars if str(c["id"]) == M3)["locked"])


@pytest.mark.parametrize("endpoint", ["served"], indirect=True)
def test_lock_unlock_honk_and_flash_are_confirmed_by_the_car(car: Endpoint) -> None:
    unlocked = invoke("--json", "unlock", "--yes")
    assert unlocked.code == 0, unlocked.output
    assert unlocked.json()["data"]["locked"] is False and unlocked.json()["data"]["confirmed"]
    assert locked(car) is False
    done = invoke("lock")
    assert done.code == 0 and "Confirmed by the car: locked." in done.stdout
    assert locked(car) is True
    for word, name in (("honk", "honk_horn"), ("flash", "flash_lights")):
        signal = invoke(word)
        assert signal.code == 0 and "The car carried it out." in signal.stdout
        assert executed(car)[-1]["name"] == name
    assert [c["name"] for c in executed(car)] == [
        "door_unlock",
        "door_lock",
        "honk_horn",
        "flash_lights",
    ]


@pytest.mark.parametrize("endpoint", ["served"], indirect=True)
def test_during_an_outage_unlock_honk_and_flash_are_never_queued(car: Endpoint) -> None:
    car.faults(OUTAGE)
    for args, why in (
        (("unlock", "--yes"), "unlocking later could leave the car open"),
        (("honk",), "a honk long after you asked for it helps nobody"),
        (("flash",), "flashing the lights long after you asked for it helps nobody"),
    ):
        result = invoke("--json", *args)
        assert result.code == 75, result.output
        document = result.json()
        assert document["queued"] is None
        assert document["error"]["hint"].startswith(f"not queued: {why}")
        assert document["data"]["diagnosis"]["likely"] == "service"
        assert "the outcome is unknown" in document["error"]["message"]  # a 500 after sending
        assert document["error"]["attempts"] == 1  # and never sent again
    assert queue_rows(car) == []  # the queue never saw them, so no worker ever will
    assert executed(car) == []
    unlock = f"/api/1/vehicles/{M3}/command/door_unlock"
    assert car.requests(unlock) == 1  # sent once, never again: it may have been carried out


@pytest.mark.parametrize("endpoint", ["served"], indirect=True)
def test_a_lock_is_queued_for_two_minutes_and_expires_unsent(
    car: Endpoint, fast_clock: type[FastClock]
) -> None:
    car.admin("PATCH", f"/__mock__/vehicles/{M3}", {"locked": False})
    car.faults(OUTAGE)
    result = invoke("--json", "lock")
    assert result.code == 75, result.output
    (entry,) = result.json()["queued"]["ids"]
    shown = invoke("--json", "queue", "show", str(entry)).json()["data"]
    assert shown["command"] == "door_lock"
    created = time.mktime(time.strptime(shown["created_at"], "%Y-%m-%dT%H:%M:%SZ"))
    expires = time.mktime(time.strptime(shown["expires_at"], "%Y-%m-%dT%H:%M:%SZ"))
    assert 100 <= expires - created <= 121  # two minutes from when the owner asked
    fast_clock.offset += 150  # the outage lasts longer than the lock is worth
    car.faults()
    ran = invoke("--json", "queue", "run")
    assert ran.code == 0 and len(ran.json()["data"]["expired"]) == 1
    assert executed(car) == [] and locked(car) is False
    too_long = invoke("lock", "--expires-in", "20m")
    assert too_long.code == 2
    assert "a lock is worth sending for at most 10 minutes" in too_long.stderr


@pytest.mark.parametrize("endpoint", ["served"], indirect=True)
def test_climate_is_still_queued_as_before(car: Endpoint) -> None:
    car.faults(OUTAGE)
    assert invoke("--json", "climate", "on").json()["queued"]["commands"] == [
        "auto_conditioning_start"
    ]


@pytest.mark.parametrize("endpoint", ["served"], indirect=True)
def test_an_unlock_whose_answer_is_lost_is_never_sent_again(car: Endpoint) -> None:
    """The mock executes it after carctl has stopped waiting: the outcome is unknown."""
    assert car.served is not None

    async def slow_sleep(seconds: float) -> None:
        await asyncio.sleep(seconds)

    car.served.clock.sleep = slow_sleep  # type: ignore[method-assign]
    unlock = f"/api/1/vehicles/{M3}/command/door_unlock"
    car.faults({"path": unlock, "latency": 2.5, "count": 1})
    result = invoke("--json", "unlock", "--yes", "--timeout", "1")
    assert result.code == 75, result.output
    error = result.json()["error"]
    assert "the outcome is unknown: Model 3 may have unlocked" in error["message"]
    assert "carctl does not send it again" in error["message"]
    assert error["hint"].startswith("not queued: unlocking later could leave the car open")
    assert "check with `carctl status`" in error["hint"]
    deadline = time.monotonic() + 10
    while not executed(car) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [c["name"] for c in executed(car)] == ["door_unlock"]  # the event happened
    assert car.requests(unlock) == 1  # and carctl did not send it twice
    assert queue_rows(car) == []


@pytest.mark.parametrize("endpoint", ["served"], indirect=True)
def test_unlock_asks_on_a_terminal_and_never_prompts_a_script(car: Endpoint) -> None:
    script = invoke("unlock")
    assert script.code == 2
    assert "there is no terminal to ask on" in script.stderr and "--yes" in script.stderr
    said_no = run_in_terminal("unlock", answers=[("[y/N]", "n")])
    assert said_no.code == 1, said_no.text
    assert "Unlock Model 3 (last heard from" in said_no.text
    assert "did not unlock: you said no, and nothing was sent" in said_no.text
    assert executed(car) == []
    said_yes = run_in_terminal("unlock", answers=[("[y/N]", "y")])
    assert said_yes.code == 0, said_yes.text
    assert "Confirmed by the car: unlocked." in said_yes.text
    assert [c["name"] for c in executed(car)] == ["door_unlock"]


@pytest.mark.parametrize("endpoint", ["builtin"], indirect=True)
def test_unlock_on_the_morning_of_2021_11_20_is_not_queued(car: Endpoint) -> None:
    assert invoke("mock", "fault", "add", "--scenario", "2021-11-20").code == 0
    result = invoke("--json", "unlock", "--yes")
    assert result.code == 75, result.output
    assert result.json()["queued"] is None
    assert result.json()["error"]["hint"].startswith(
        "not queued: unlocking later could leave the car open with nobody beside it"
    )
    assert queue_rows(car) == []
    ran = invoke("--json", "queue", "run")  # what a worker would do: there is nothing
    assert ran.code == 0 and ran.json()["data"]["delivered"] == 0
    assert executed(car) == [] and locked(car) is True
    human = invoke("unlock", "--yes")
    assert human.code == 75 and "hint: not queued: unlocking later" in human.stderr
    assert "Traceback" not in human.stderr


def test_a_never_queued_command_cannot_reach_the_queue(tmp_path: Any) -> None:
    """Even a bug in the layer above cannot queue an unlock: the queue refuses it."""
    from carctl.delivery.queue import NewCommand, Queue
    from carctl.errors import InternalError
    from carctl.state import StateDB

    state = StateDB(tmp_path / "state.db")
    queue = Queue(state)
    try:
        with pytest.raises(InternalError, match="door_unlock is never queued"):
            queue.add(
                scope="default@builtin",
                api_url="builtin",
                vehicle_id="1",
                vehicle_name="Model 3",
                commands=[NewCommand("door_unlock", {}, "door_unlock", "k1")],
                now=time.time(),
                ttl_s=60,
            )
        assert queue.entries(include_finished=True) == []
    finally:
        state.close()


def sentry_mode(endpoint: Endpoint) -> bool:
    cars = endpoint.admin("GET", "/__mock__/vehicles")["vehicles"]
    return bool(next(c for c in cars if str(c["id"]) == M3)["sentry_mode"])


@pytest.mark.parametrize("endpoint", ["served"], indirect=True)
def test_sentry_on_is_queued_briefly_and_sentry_off_never(
    car: Endpoint, fast_clock: type[FastClock]
) -> None:
    on = invoke("--json", "sentry", "on")
    assert on.code == 0, on.output
    assert on.json()["data"]["sentry_mode"] is True and sentry_mode(car) is True
    off = invoke("sentry", "off")
    assert off.code == 0 and "Confirmed by the car: sentry off." in off.stdout
    assert sentry_mode(car) is False

    car.faults(OUTAGE)
    refused = invoke("--json", "sentry", "off")
    assert refused.code == 75 and refused.json()["queued"] is None
    assert refused.json()["error"]["hint"].startswith(
        "not queued: turning sentry off later could leave the car unwatched"
    )
    queued = invoke("--json", "sentry", "on")
    assert queued.code == 75 and queued.json()["queued"]["commands"] == ["set_sentry_mode"]
    assert queue_rows(car) == [("set_sentry_mode", "pending")]
    car.faults()
    fast_clock.offset += 31  # the breaker's cool-down, well within the two minutes
    assert invoke("queue", "run").code == 0
    assert sentry_mode(car) is True
    assert [c["params"] for c in executed(car)][-1] == {"on": True}


@pytest.mark.parametrize("endpoint", ["served"], indirect=True)
def test_where_reads_the_fix_and_never_wakes_a_sleeping_car(
    car: Endpoint, fast_clock: type[FastClock]
) -> None:
    now = invoke("--json", "where", "--link")
    assert now.code == 0, now.output
    data = now.json()["data"]
    assert (data["latitude"], data["longitude"]) == (37.5665, 126.978)
    assert data["live"] is True and data["heading"] == 90 and data["speed_kmh"] is None
    assert data["link"] == ("https://www.openstreetmap.org/?mlat=37.56650&mlon=126.97800&zoom=17")
    summary = invoke("--json", "status").json()["data"]
    assert summary["locks"] == {
        "locked": True,
        "doors_closed": True,
        "frunk_closed": True,
        "trunk_closed": True,
        "sentry_mode": False,
    }
    assert summary["position_fix_at"] == data["fix_at"]  # from the fix, no location request
    car.admin("PATCH", f"/__mock__/vehicles/{M3}", {"state": "asleep"})
    fast_clock.offset += 3600
    wakes = car.requests(f"/api/1/vehicles/{M3}/wake_up")
    parked = invoke("where", terminal=True)
    assert parked.code == 0, parked.output
    assert "Model 3: 37.56650, 126.97800 — when it last reported (it is asleep)" in (parked.stdout)
    assert car.requests(f"/api/1/vehicles/{M3}/wake_up") == wakes
    fresh = invoke("--json", "where", "--wake")
    assert fresh.code == 0 and fresh.json()["data"]["live"] is True
    assert car.requests(f"/api/1/vehicles/{M3}/wake_up") == wakes + 1


@pytest.mark.parametrize("endpoint", ["served"], indirect=True)
def test_where_without_the_location_scope_names_it(endpoint: Endpoint) -> None:
    from tests.mock.test_scopes_and_billing import signed_in

    assert endpoint.served is not None
    endpoint.admin("PATCH", f"/__mock__/vehicles/{M3}", {"state": "online"})
    with endpoint.served.client() as client:
        narrow = signed_in(client, "openid offline_access vehicle_device_data vehicle_cmds")
    api = endpoint.served.app.state.api
    api.flavor = "fleet"
    try:
        result = invoke(
            "--json", "--vehicle", "Model 3", "where", env={"CARCTL_TOKEN": narrow["access_token"]}
        )
    finally:
        api.flavor = "owner"
    assert result.code == 77, result.output
    assert "was not granted vehicle_location" in result.json()["error"]["message"]
    assert "allow vehicle_location" in result.json()["error"]["hint"]


def trunks(endpoint: Endpoint) -> dict[str, int]:
    result = invoke("--json", "status")  # vehicle_state, as the car reports it
    assert result.code == 0, result.output
    with sqlite3.connect(endpoint.state_db) as db:
        (snapshot,) = db.execute(
            "SELECT snapshot FROM vehicle_cache WHERE id = ?", (M3,)
        ).fetchone()
    import json

    state = json.loads(snapshot)["vehicle_state"]
    return {"ft": state["ft"], "rt": state["rt"]}


@pytest.mark.parametrize("endpoint", ["served"], indirect=True)
def test_trunks_open_and_close_once_and_only_when_needed(car: Endpoint) -> None:
    frunk = invoke("frunk", "open", "--yes")
    assert frunk.code == 0 and "Confirmed by the car: frunk open." in frunk.stdout
    again = invoke("frunk", "open", "--yes")  # it toggles nothing: read first, nothing sent
    assert again.code == 0 and "The frunk is open already; nothing was sent." in again.stdout
    assert invoke("trunk", "open", "--yes").code == 0
    assert trunks(car) == {"ft": 1, "rt": 1}
    by_hand_too = invoke("trunk", "close")  # the Model 3 has no powered tailgate
    assert by_hand_too.code == 1, by_hand_too.output
    assert "refused actuate_trunk: no_powered_tailgate" in by_hand_too.stderr
    assert "this car's trunk closes by hand" in by_hand_too.stderr
    car.admin("PATCH", f"/__mock__/vehicles/{M3}", {"car_type": "modely"})
    closed = invoke("trunk", "close")
    assert closed.code == 0 and "Confirmed by the car: trunk closed." in closed.stdout
    assert invoke("trunk", "close").stdout.endswith("nothing was sent.\n")
    assert [c["params"]["which_trunk"] for c in executed(car)] == ["front", "rear", "rear", "rear"]
    by_hand = invoke("frunk", "close")
    assert by_hand.code == 2  # no such command: the frunk closes by hand
    script = invoke("trunk", "open")
    assert script.code == 2 and "trunk open asks for confirmation" in script.stderr


@pytest.mark.parametrize("endpoint", ["served"], indirect=True)
def test_a_trunk_is_never_queued(car: Endpoint) -> None:
    car.faults(OUTAGE)
    result = invoke("--json", "trunk", "open", "--yes")
    assert result.code == 75, result.output
    assert result.json()["queued"] is None and queue_rows(car) == []
    assert result.json()["error"]["hint"].startswith("not queued: opening a trunk later")
    assert executed(car) == []


@pytest.mark.parametrize("endpoint", ["served"], indirect=True)
def test_the_position_never_reaches_a_log_the_queue_or_the_bundle(
    car: Endpoint, carctl_home: Any, tmp_path: Any
) -> None:
    import zipfile

    from carctl.logs import setup_logging

    setup_logging(carctl_home / "log" / "carctl.log")
    assert invoke("-vv", "where", "--link").code == 0
    assert invoke("-vv", "vent", "--close").code == 0  # sends the car's position with it
    car.faults(OUTAGE)
    assert invoke("-vv", "vent", "--close").code == 75  # queued: without a position
    bundle = tmp_path / "bundle.zip"
    assert invoke("doctor", "--bundle", str(bundle)).code in (0, 1)
    coordinates = ("37.566", "126.97")  # the seeded car's, however they are formatted
    leaks = []
    log = (carctl_home / "log" / "carctl.log").read_text()
    leaks += [f"log: {c}" for c in coordinates if c in log]
    with sqlite3.connect(car.state_db) as db:
        for table in ("queue", "request_log", "usage_ledger"):
            rows = repr(db.execute(f"SELECT * FROM {table}").fetchall())  # noqa: S608
            leaks += [f"{table}: {c}" for c in coordinates if c in rows]
    with zipfile.ZipFile(bundle) as archive:
        for name in archive.namelist():
            text = archive.read(name).decode("utf-8", "replace")
            leaks += [f"bundle {name}: {c}" for c in coordinates if c in text]
    assert leaks == []
    assert queue_rows(car) == [("window_control", "pending")]  # the scan saw the queue
