"""Every HTTP outcome of the vehicle API becomes the right error, exit code and message.

Real HTTP against the served mock with its fault plan, and the built-in endpoint
where the fault plan is the same; each case also checks the request log row.
"""

from __future__ import annotations

import socket
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Endpoint, invoke, sign_in

VEHICLES = "/api/1/vehicles"
MODEL_3 = "1492931337131"


def log_rows(home: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(home / "state" / "state.db") as db:
        return db.execute(
            "SELECT method, path, status, txid, outcome FROM request_log ORDER BY id"
        ).fetchall()


@pytest.mark.parametrize(
    ("rule", "code", "error_code", "message"),
    [
        ({"status": 500}, 75, "service", "the vehicle API failed: HTTP 500 on GET /api/1/vehicles"),
        (
            {"status": 502, "body": "html"},
            75,
            "service",
            "an HTML error page from a gateway",
        ),
        ({"status": 503}, 75, "service", "HTTP 503"),
        (
            {"status": 504, "body": "empty"},
            75,
            "service",
            "HTTP 504 on GET /api/1/vehicles (an empty body)",
        ),
        ({"status": 429, "retry_after": 30}, 75, "rate_limited", "it asks to wait 30 s"),
        ({"body": "truncated"}, 69, "protocol", "instead of the usual JSON"),
        ({"drop": True}, 75, "network", "closed the connection without a complete answer"),
    ],
)
def test_faults_map_to_errors(
    endpoint: Endpoint,
    carctl_home: Path,
    rule: dict[str, Any],
    code: int,
    error_code: str,
    message: str,
) -> None:
    sign_in()
    endpoint.faults({"path": VEHICLES, "count": 1, **rule})
    result = invoke("--json", "api", VEHICLES)
    assert result.code == code, result.output
    error = result.json()["error"]
    assert error["code"] == error_code
    assert message in error["message"]
    assert error["http"]["method"] == "GET" and error["http"]["path"] == VEHICLES
    assert "<" not in error["message"]  # never markup in a message
    method, path, status, txid, outcome = log_rows(carctl_home)[-1]
    assert (method, path, outcome) == ("GET", VEHICLES, error_code)
    if not rule.get("drop"):
        assert status == error["http"]["status"] and txid == error["http"]["txid"] and txid
    # the fault was one-off: the next run succeeds
    assert invoke("api", VEHICLES).code == 0


def test_human_error_names_status_endpoint_and_txid(endpoint: Endpoint) -> None:
    sign_in()
    endpoint.faults({"path": VEHICLES, "status": 503, "count": 1})
    result = invoke("api", VEHICLES)
    assert result.code == 75
    first, second, hint = result.stderr.splitlines()[:3]
    assert first.startswith("error: the vehicle API failed: HTTP 503")
    assert second.startswith("  HTTP 503 · GET /api/1/vehicles · txid ")
    assert hint.startswith("hint: ")
    assert "Traceback" not in result.output


def test_unknown_vehicle(endpoint: Endpoint) -> None:
    sign_in()
    result = invoke("--json", "api", "/api/1/vehicles/42")
    assert result.code == 1  # an answer of the API, not a usage mistake
    assert result.json()["error"]["message"] == "no vehicle 42 on this account"


def test_car_in_service(endpoint: Endpoint) -> None:
    sign_in()
    endpoint.admin(
        "PATCH", f"/__mock__/vehicles/{MODEL_3}", {"state": "online", "in_service": True}
    )
    result = invoke("--json", "api", "-X", "POST", f"/api/1/vehicles/{MODEL_3}/command/honk_horn")
    assert result.code == 1
    assert "in service" in result.json()["error"]["message"]
    assert result.json()["error"]["http"]["status"] == 405


def test_asleep_car_is_unavailable(endpoint: Endpoint) -> None:
    sign_in()
    result = invoke("--json", "api", f"/api/1/vehicles/{MODEL_3}/vehicle_data")
    assert result.code == 69
    error = result.json()["error"]
    assert error["code"] == "vehicle_unavailable" and error["http"]["status"] == 408


def test_bad_parameter_is_refused(endpoint: Endpoint) -> None:
    sign_in()
    endpoint.admin("PATCH", f"/__mock__/vehicles/{MODEL_3}", {"state": "online"})
    result = invoke(
        "--json",
        "api",
        f"/api/1/vehicles/{MODEL_3}/command/set_temps",
        "-f",
        "driver_temp=warm",
        "-f",
        "passenger_temp=21",
    )
    assert result.code == 1
    assert result.json()["error"]["code"] == "bad_request"
    assert result.json()["error"]["http"]["status"] == 400


def test_connection_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as sock:  # a port that was free a moment ago: nobody listens
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("CARCTL_API_URL", f"http://127.0.0.1:{port}")
    result = invoke("--json", "auth", "login", "--email", "a@b.c", "--password-stdin", input="x")
    assert result.code == 75
    assert result.json()["error"]["message"].startswith("cannot connect to the vehicle API")


def test_usage_errors_of_carctl_api(endpoint: Endpoint) -> None:
    assert invoke("api", "https://elsewhere.example/api").code == 2
    bad = invoke("api", VEHICLES, "-f", "novalue")
    assert bad.code == 2 and "is not KEY=VALUE" in bad.stderr


def test_not_signed_in(endpoint: Endpoint) -> None:
    result = invoke("api", VEHICLES)
    assert result.code == 77
    assert "not signed in to" in result.stderr and "(profile default)" in result.stderr
    assert endpoint.requests(VEHICLES) == 0
