"""An answer that names another car than the one asked for is a protocol error.

Over real HTTP against a scripted API (the mock, being faithful, never lies
about which car it describes): the lookup of car A answers with car B. Then
nothing is sent — not to B, not to A — and a queued entry for A stays pending.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import invoke
from tests.delivery.test_last_word import db
from tests.support.scripted_api import ScriptedApi, scripted_api

TOKEN = "scripted-access-token-0000000000000000"
CAR_A = {"id": 1, "id_s": "1", "vin": "VINA", "display_name": "Alpha", "state": "online"}
CAR_B = {"id": 2, "id_s": "2", "vin": "VINB", "display_name": "Beta", "state": "online"}


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> Iterator[ScriptedApi]:
    with scripted_api() as api:
        api.on("GET", "/api/1/vehicles", [CAR_A, CAR_B])
        api.on("GET", "/api/1/vehicles/1", CAR_A)
        api.on("GET", "/api/1/vehicles/2", CAR_B)
        api.on("GET", "/api/1/vehicles/*/vehicle_data", {"climate_state": {}})
        api.on("POST", "/api/1/vehicles/*/command/*", {"result": True, "reason": ""})
        monkeypatch.setenv("CARCTL_API_URL", api.url)
        monkeypatch.setenv("CARCTL_TOKEN", TOKEN)
        yield api


def test_a_direct_command_is_not_sent_when_the_lookup_names_another_car(
    api: ScriptedApi,
) -> None:
    api.on("GET", "/api/1/vehicles", [{**CAR_A, "state": "asleep"}, CAR_B])
    assert invoke("--json", "vehicles").code == 0  # the cache knows both cars, Alpha asleep
    api.on("GET", "/api/1/vehicles/1", CAR_B)  # asked for Alpha, describes Beta

    result = invoke("--json", "--no-worker", "climate", "on", "--vehicle", "Alpha")

    assert result.code == 69, result.output
    error = result.json()["error"]
    assert error["code"] == "protocol"
    assert "Beta" in error["message"] or "2" in error["message"]
    assert "Alpha" in error["message"]
    assert api.requests("POST") == []
    assert result.json()["queued"] is None


def test_a_queued_command_stays_pending_when_the_lookup_names_another_car(
    api: ScriptedApi, carctl_home: Path
) -> None:
    api.on("POST", "/api/1/vehicles/*/command/*", {"error": "boom"}, status=500)
    queued = invoke("--json", "--no-worker", "climate", "on", "--vehicle", "Alpha")
    assert queued.code == 75, queued.output
    (entry_id,) = queued.json()["queued"]["ids"]
    sent_during_outage = len(api.requests("POST"))
    assert sent_during_outage >= 1  # the outage really met the command

    api.on("POST", "/api/1/vehicles/*/command/*", {"result": True, "reason": ""})
    api.on("GET", "/api/1/vehicles/1", CAR_B)
    with db(carctl_home) as conn:
        conn.execute("DELETE FROM api_health")  # the breaker's cool-down is over
    result = invoke("--json", "queue", "retry", "--all")

    assert result.code == 75, result.output
    assert "Beta" in result.output or "another car" in result.output
    assert len(api.requests("POST")) == sent_during_outage  # nothing more was sent
    assert api.requests("POST", "/api/1/vehicles/2/*") == []
    with db(carctl_home) as conn:
        status, vehicle = conn.execute(
            "SELECT status, vehicle_id FROM queue WHERE id = ?", (entry_id,)
        ).fetchone()
    assert (status, vehicle) == ("pending", "1")
