"""A car that drives, and TeslaPy's `Vehicle.stream()` following it over the served mock's
streaming websocket, unchanged but for its base URLs."""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.conftest import Served, login
from tests.support.car import M3

ROUTE = [[37.5665, 126.9880], [37.5600, 126.9880], [37.5600, 126.9950]]


def _wait_for(condition: Callable[[], bool], what: str, seconds: float = 5.0) -> None:
    """Real time, bounded: the stream is a real socket read by a real thread."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


@pytest.fixture
def teslapy_vehicle(served: Served, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    import teslapy

    monkeypatch.setattr(teslapy, "BASE_URL", served.url + "/")
    monkeypatch.setattr(teslapy, "STREAMING_BASE_URL", served.url.replace("http", "ws", 1) + "/")
    served.admin("PATCH", f"/__mock__/vehicles/{M3}", json={"state": "online"})
    with served.client() as client:
        tokens = login(client)
    tokens["expires_at"] = time.time() + 3600
    tesla = teslapy.Tesla(
        "owner@example.com",
        cache_loader=lambda: {"owner@example.com": {"sso": tokens}},
        cache_dumper=lambda data: None,
        sso_base_url=served.url + "/",
    )
    yield next(v for v in tesla.vehicle_list() if v["id_s"] == M3)
    tesla.close()


def _streaming(vehicle: Any) -> tuple[list[dict[str, Any]], threading.Thread]:
    received: list[dict[str, Any]] = []
    thread = threading.Thread(target=vehicle.stream, args=(received.append,), daemon=True)
    thread.start()
    return received, thread


def test_teslapy_streams_the_driving_car_until_it_parks(
    served: Served, teslapy_vehicle: Any
) -> None:
    received, thread = _streaming(teslapy_vehicle)
    _wait_for(lambda: len(received) == 1, "the first update")
    parked = received[0]
    assert parked["shift_state"] is None and parked["speed"] is None

    trip = served.admin(
        "POST", f"/__mock__/vehicles/{M3}/drive", json={"route": ROUTE, "speed_kph": 36}
    )
    for _ in range(200):  # 36 km/h: 200 m per 20 s step
        served.clock.advance(20)
        count = len(received)
        _wait_for(lambda count=count: len(received) > count, "an update after the clock moved")
        if received[-1]["shift_state"] == "P":
            break
    served.clock.advance(11)  # parked and still: the service ends the stream
    thread.join(5)
    assert not thread.is_alive(), "TeslaPy's stream did not end"

    moving = [r for r in received if r["shift_state"] == "D"]
    arrived = received[-1]
    assert len(moving) >= 5 and all(r["speed"] == 22 for r in moving)  # 36 km/h in mph
    assert (arrived["shift_state"], arrived["speed"]) == ("P", None)
    assert (arrived["est_lat"], arrived["est_lng"]) == pytest.approx(ROUTE[-1], abs=1e-6)
    south = [r["est_lat"] for r in moving if r["est_lng"] == pytest.approx(ROUTE[0][1])]
    assert south == sorted(south, reverse=True)  # the first leg runs south, step by step
    assert {r["heading"] for r in moving} >= {180, 90}  # south, then east
    driven = arrived["odometer"] - parked["odometer"]
    assert driven == pytest.approx(trip["route_km"] / 1.609344, abs=0.15)
    assert arrived["soc"] <= parked["soc"]
    # in time order (the drive's start is seen at the moment it was asked for: no later)
    assert all(b["timestamp"] >= a["timestamp"] for a, b in itertools.pairwise(received))
    streamed = served.admin("GET", "/__mock__/stats")["streamed"]
    assert streamed == {"connections": 1, "updates": len(received), "vehicle_disconnected": 1}
    assert teslapy_vehicle["drive_state"]["shift_state"] == "P"  # TeslaPy kept what it got


def test_a_sleeping_car_or_a_bad_token_ends_the_stream_with_the_services_error(
    served: Served, teslapy_vehicle: Any, caplog: pytest.LogCaptureFixture
) -> None:
    served.admin("PATCH", f"/__mock__/vehicles/{M3}", json={"state": "asleep"})
    received, thread = _streaming(teslapy_vehicle)
    thread.join(5)
    assert not thread.is_alive() and received == []
    assert "disconnected" in caplog.text  # TeslaPy logs the data:error's value

    served.admin("PATCH", f"/__mock__/vehicles/{M3}", json={"state": "online"})
    teslapy_vehicle.tesla.access_token = "not-a-token"  # what TeslaPy subscribes with
    received, thread = _streaming(teslapy_vehicle)
    thread.join(5)
    assert not thread.is_alive() and received == []
    assert "Can't validate token" in caplog.text
    streamed = served.admin("GET", "/__mock__/stats")["streamed"]
    assert streamed == {"connections": 2, "vehicle_disconnected": 1, "client_error": 1}


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"route": [], "speed_kph": 30}, "route must be a list of 1 to 10000"),
        ({"route": [[91, 0]], "speed_kph": 30}, "route[0] must be [lat, lon]"),
        ({"route": [[37.5, 127.0]], "speed_kph": 0}, "speed_kph must be from 1 to 250"),
        ({"route": [[37.5, 127.0]], "speed_kph": True}, "speed_kph must be a number"),
    ],
)
def test_a_route_no_car_could_drive_is_refused(
    served: Served, body: dict[str, Any], problem: str
) -> None:
    with served.client() as client:
        answer = client.post(f"/__mock__/vehicles/{M3}/drive", json=body)
    assert answer.status_code == 400 and problem in answer.json()["error_description"]
    car = served.admin("GET", "/__mock__/vehicles")["vehicles"][0]
    assert car["shift_state"] is None and car["route_left"] == 0


def test_a_served_mock_stops_at_once_whether_its_streams_left_or_stayed() -> None:
    """Ctrl-C with one stream whose client has gone and one still open: `carctl mock serve`
    stops within seconds, says so, and prints no traceback."""
    import signal

    import httpx
    import websocket

    from tests.conftest import password_grant
    from tests.support.serving import carctl_serve

    with carctl_serve() as (url, proc):
        token = httpx.post(url + "/oauth2/v3/token", data=password_grant()).json()["access_token"]
        cars = httpx.get(url + "/api/1/vehicles", headers={"authorization": f"Bearer {token}"})
        online = next(c for c in cars.json()["response"] if c["state"] == "online")
        subscribe = {
            "msg_type": "data:subscribe_oauth",
            "token": token,
            "tag": str(online["vehicle_id"]),
            "value": "speed,odometer,soc",
        }
        streams = []
        for _ in range(2):
            stream = websocket.create_connection(url.replace("http", "ws", 1) + "/streaming/")
            assert json.loads(stream.recv())["msg_type"] == "control:hello"
            stream.send(json.dumps(subscribe))
            assert json.loads(stream.recv())["msg_type"] == "data:update"
            streams.append(stream)
        streams[0].close()  # this client leaves; the car has nothing new to say
        time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=5)
        assert proc.stderr is not None and proc.stdout is not None
        said = proc.stdout.read() + proc.stderr.read()
    assert proc.returncode == 0 and "carctl mock: stopped." in said
    assert "Traceback" not in said and "Exception in ASGI application" not in said
    assert streams[1].recv() == ""  # the open one was closed by the server
