"""Rules the delivering side shares with every direct command: the plain-HTTP refusal,
and the last word per car whichever profile queued it.

A queued command for an `http://` address on another computer is not sent by
a `queue run` (or the background worker) without `--insecure`: the bearer
token would cross the network unencrypted. The "other computer" is reached
through an HTTP proxy on loopback, so every byte of the test stays on
127.0.0.1 and the proxy sees what would have left.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import OWNER, PASSWORD, Endpoint, invoke
from tests.delivery.test_last_word import db
from tests.support.car import executed
from tests.support.scripted_api import ScriptedApi, scripted_api

TOKEN = "worker-policy-token-00000000000000000000"
CAR = {"id": 1, "id_s": "1", "vin": "VIN1", "display_name": "Alpha", "state": "online"}
FAR = "http://car-api.example"


@pytest.fixture
def far_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[ScriptedApi]:
    with scripted_api() as api:
        api.on("GET", "/api/1/vehicles", [CAR])
        api.on("GET", "/api/1/vehicles/1", CAR)
        api.on("GET", "/api/1/vehicles/1/vehicle_data", {"climate_state": {}})
        api.on("POST", "/api/1/vehicles/1/command/*", {"error": "down"}, status=500)
        monkeypatch.setenv("HTTP_PROXY", api.url)
        monkeypatch.setenv("NO_PROXY", "")
        monkeypatch.setenv("CARCTL_API_URL", FAR)
        monkeypatch.setenv("CARCTL_TOKEN", TOKEN)
        yield api


def test_a_queued_command_is_not_sent_over_plain_http_without_insecure(
    far_api: ScriptedApi, carctl_home: Path
) -> None:
    refused = invoke("--json", "--no-worker", "climate", "on", "--vehicle", "Alpha")
    assert refused.code == 78 and far_api.seen == []  # the interactive rule, as before

    queued = invoke("--json", "--insecure", "--no-worker", "climate", "on", "--vehicle", "Alpha")
    assert queued.code == 75, queued.output
    (entry_id,) = queued.json()["queued"]["ids"]
    assert {s.headers["x-proxied-for"] for s in far_api.seen} == {"car-api.example"}
    far_api.on("POST", "/api/1/vehicles/1/command/*", {"result": True, "reason": ""})
    with db(carctl_home) as conn:
        conn.execute("DELETE FROM api_health")
    seen = len(far_api.seen)

    run = invoke("--json", "queue", "retry", "--all")

    assert len(far_api.seen) == seen, [s.path for s in far_api.seen[seen:]]  # nothing left
    assert run.code == 75, run.output
    assert "plain http://" in run.output
    with db(carctl_home) as conn:
        (status,) = conn.execute("SELECT status FROM queue WHERE id = ?", (entry_id,)).fetchone()
    assert status == "pending"

    insisted = invoke("--json", "--insecure", "queue", "retry", "--all")
    assert insisted.code == 0, insisted.output  # the owner says this network is theirs
    assert len(far_api.requests("POST", "/api/1/vehicles/1/command/*")) > 1


def test_the_last_word_is_the_cars_across_profiles(car: Endpoint) -> None:
    """`--profile cron` queues climate on; the default profile then turns it off directly:
    the car ends off, and the queued `on` is never delivered."""
    assert invoke("--profile", "cron", "config", "set", "api_url", car.api_url).code == 0
    login = ("auth", "login", "--email", OWNER, "--password-stdin")
    assert invoke("--profile", "cron", *login, input=PASSWORD + "\n").code == 0
    car.faults({"status": 500, "path": "/api/1/*"})
    queued = invoke(
        "--json", "--profile", "cron", "--no-worker", "--vehicle", "Model 3", "climate", "on"
    )
    assert queued.code == 75, queued.output
    (entry_id,) = queued.json()["queued"]["ids"]
    car.faults()
    assert invoke("--vehicle", "Model 3", "climate", "off").code == 0
    run = invoke("--json", "queue", "run")
    assert run.code == 0, run.output
    names = [c["name"] for c in executed(car)]
    assert names == ["auto_conditioning_stop"], names
    shown = invoke("--json", "queue", "show", str(entry_id)).json()["data"]
    assert shown["status"] == "superseded", shown
