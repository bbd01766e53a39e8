"""Fleet Telemetry's stream from the served mock: a configured car's records over a real
websocket, as a client of the fleet-telemetry server receives them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import websocket

from tests.conftest import Served, login
from tests.support.car import M3, M3_VIN

FIELDS = {
    "Location": {"interval_seconds": 5},
    "VehicleSpeed": {"interval_seconds": 10},
    "Gear": {"interval_seconds": 1},
    "Soc": {"interval_seconds": 600},
    "NotAFieldTheMockKnows": {"interval_seconds": 1},
}


@pytest.fixture
def token(served: Served) -> str:
    served.admin("PATCH", f"/__mock__/vehicles/{M3}", json={"state": "online"})
    with served.client() as client:
        return str(login(client)["access_token"])


def _configure(served: Served, token: str, **extra: Any) -> None:
    config = {"hostname": "telemetry.example.com", "port": 443, "fields": FIELDS, **extra}
    with served.client() as client:
        answer = client.post(
            "/api/1/vehicles/fleet_telemetry_config",
            json={"vins": [M3_VIN], "config": config},
            headers={"authorization": f"Bearer {token}"},
        )
    assert answer.json()["response"]["updated_vehicles"] == 1


@pytest.fixture
def connect(served: Served) -> Iterator[Any]:
    opened: list[websocket.WebSocket] = []

    def open_stream(token: str | None) -> websocket.WebSocket:
        url = served.url.replace("http", "ws", 1) + f"/fleet_telemetry/{M3_VIN}"
        headers = [f"Authorization: Bearer {token}"] if token else []
        opened.append(websocket.create_connection(url, header=headers, timeout=5))
        return opened[-1]

    yield open_stream
    for ws in opened:
        ws.close()


def _record(ws: websocket.WebSocket) -> dict[str, Any]:
    payload = json.loads(ws.recv())
    assert payload["vin"] == M3_VIN and payload["createdAt"].endswith("Z")
    return {datum["key"]: datum["value"] for datum in payload["data"]}


def test_a_driving_car_streams_its_configured_fields_at_their_intervals(
    served: Served, token: str, connect: Any
) -> None:
    _configure(served, token)
    ws = connect(token)
    first = _record(ws)
    assert set(first) == {"Location", "VehicleSpeed", "Gear", "Soc"}  # what the car knows
    assert first["VehicleSpeed"] == {"stringValue": "0"}
    assert first["Gear"] == {"shiftStateValue": "ShiftStateP"}
    home = first["Location"]["locationValue"]

    served.admin(
        "POST",
        f"/__mock__/vehicles/{M3}/drive",
        json={"route": [[home["latitude"] - 0.01, home["longitude"]]], "speed_kph": 36},
    )
    records = []
    for _ in range(4):  # 5 s steps: 50 m each
        served.clock.advance(5)
        records.append(_record(ws))
    assert [set(r) for r in records] == [
        {"Location", "Gear"},
        {"Location", "VehicleSpeed"},  # 10 s after the first: speed may be sent again
        {"Location"},
        {"Location"},
    ]
    assert records[0]["Gear"] == {"shiftStateValue": "ShiftStateD"}
    assert records[1]["VehicleSpeed"] == {"stringValue": "22"}
    south = [r["Location"]["locationValue"]["latitude"] for r in records]
    assert south == sorted(south, reverse=True) and south[0] < home["latitude"]

    with served.client() as client:  # the owner removes the configuration: the car stops
        client.delete(
            f"/api/1/vehicles/{M3}/fleet_telemetry_config",
            headers={"authorization": f"Bearer {token}"},
        )
    with pytest.raises(websocket.WebSocketConnectionClosedException):
        while True:
            ws.recv()
    streamed = served.admin("GET", "/__mock__/stats")["streamed"]
    assert streamed == {"telemetry_records": 1 + len(records)}


@pytest.mark.parametrize(
    ("set_up", "status"),
    [("no token", 401), ("no configuration", 404), ("expired", 410)],
)
def test_a_stream_that_cannot_be_served_is_refused_at_the_handshake(
    served: Served, token: str, connect: Any, set_up: str, status: int
) -> None:
    if set_up != "no configuration":
        _configure(served, token, exp=1 if set_up == "expired" else 2_000_000_000)
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        connect(None if set_up == "no token" else token)
    assert refused.value.status_code == status
    assert served.admin("GET", "/__mock__/stats")["streamed"] == {}
