"""The built-in endpoint: the same app through httpx.ASGITransport, kept in SQLite."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx
import pytest

from carctl.mock.clock import ManualClock
from carctl.mock.embedded import BUILTIN_URL, BuiltinTransport
from tests.conftest import PASSWORD, password_grant

MODEL_Y = "1492931337242"


def client(db: Path, clock: ManualClock | None = None) -> httpx.Client:
    return httpx.Client(transport=BuiltinTransport(db, clock=clock), base_url=BUILTIN_URL)


def login(c: httpx.Client) -> dict[str, str]:
    response = c.post(
        "/oauth2/v3/token",
        json=password_grant("carctl"),
    )
    assert response.status_code == 200
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def test_same_behaviour_in_process(tmp_path: Path) -> None:
    clock = ManualClock()
    with client(tmp_path / "state.db", clock) as c:
        auth = login(c)
        cars = (c.get("/api/1/vehicles", headers=auth)).json()
        assert cars["count"] == 2 and cars["response"][0]["state"] == "asleep"
        model3 = cars["response"][0]["id_s"]
        assert (c.get(f"/api/1/vehicles/{model3}/vehicle_data", headers=auth)).status_code == 408
        c.post(f"/api/1/vehicles/{model3}/wake_up", headers=auth)
        clock.advance(4)
        started = c.post(
            f"/api/1/vehicles/{model3}/command/auto_conditioning_start",
            headers={**auth, "Idempotency-Key": "a"},
        )
        assert started.json() == {"response": {"result": True, "reason": ""}}
        assert started.headers["x-txid"]
        stats = (c.get("/__mock__/stats")).json()
        assert stats["executions"] == {"a": 1}


def test_world_persists_in_the_database(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    clock = ManualClock()
    with client(db, clock) as c:
        auth = login(c)
        c.post(f"/api/1/vehicles/{MODEL_Y}/command/auto_conditioning_start", headers=auth)
    with client(db, clock) as c:  # a new transport: only the file carries the world
        data = c.get(f"/api/1/vehicles/{MODEL_Y}/vehicle_data", headers=auth)
        assert data.json()["response"]["climate_state"]["is_climate_on"] is True


def test_a_dropped_connection_looks_like_one(tmp_path: Path) -> None:
    with client(tmp_path / "state.db") as c:
        c.put("/__mock__/faults", json={"rules": ["drop=true path=/status count=1"]})
        with pytest.raises(httpx.RemoteProtocolError):
            c.get("/status")
        assert (c.get("/status")).text == "ok"


def test_no_secret_is_stored_in_the_database(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    with client(db) as c:
        response = c.post(
            "/oauth2/v3/token",
            data=password_grant("ownerapi"),
        )
        tokens = response.json()
    raw = db.read_bytes() + b"".join(p.read_bytes() for p in tmp_path.glob("state.db-*"))
    for secret in (tokens["access_token"], tokens["refresh_token"], PASSWORD):
        assert secret.encode() not in raw


def test_an_unusable_database_names_the_file(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    db.write_bytes(b"this is not an sqlite database" * 100)
    with client(db) as c, pytest.raises(httpx.ConnectError, match=str(db)):
        c.get("/status")


def test_a_world_from_another_version_starts_from_the_seed(tmp_path: Path) -> None:
    import sqlite3

    db = tmp_path / "state.db"
    with client(db) as c:
        c.get("/status")
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE mock_world SET data = '{\"old\": true}'")
    with client(db) as c:
        assert (c.get("/status")).text == "ok"
        login(c)


SCRIPT = textwrap.dedent("""
    import json, sys
    import httpx
    from carctl.mock.embedded import BUILTIN_URL, BuiltinTransport

    def main(db, token, prefix, n):
        transport = BuiltinTransport(__import__("pathlib").Path(db))
        with httpx.Client(transport=transport, base_url=BUILTIN_URL) as c:
            codes = []
            for i in range(n):
                r = c.post("/api/1/vehicles/1492931337242/command/flash_lights",
                                 headers={"Authorization": "Bearer " + token,
                                          "Idempotency-Key": f"{prefix}-{i}"})
                codes.append(r.status_code)
            print(json.dumps(codes))

    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]))
""")


def test_two_processes_share_one_consistent_world(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    with client(db) as c:
        token = (login(c))["Authorization"].split()[1]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", SCRIPT, str(db), token, prefix, "12"],
            stdout=subprocess.PIPE,
            text=True,
        )
        for prefix in ("a", "b")
    ]
    outputs = [json.loads(p.communicate(timeout=60)[0]) for p in procs]
    assert outputs == [[200] * 12, [200] * 12]
    with client(db) as c:
        stats = (c.get("/__mock__/stats")).json()
    assert len(stats["commands"]) == 24
    assert sorted(stats["executions"]) == sorted(
        [f"a-{i}" for i in range(12)] + [f"b-{i}" for i in range(12)]
    )
    assert set(stats["executions"].values()) == {1}
