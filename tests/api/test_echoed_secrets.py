"""A server that repeats the bearer token back (in an error body, in a txid) never gets it
printed, stored in the request log, or put in a support bundle — the current token, nor the
ones a renewal replaced. Over real HTTP to a scripted API; the tokens are opaque strings
(no JWT shape for a pattern to catch)."""

from __future__ import annotations

import sqlite3
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import invoke
from tests.support.scripted_api import ScriptedApi, scripted_api

REFRESH_0 = "opaque-refresh-zero-1a2b3c4d5e6f7a8b9c0d"
ACCESS_1 = "opaque-access-one-9f8e7d6c5b4a39281706"
REFRESH_1 = "opaque-refresh-one-0a9b8c7d6e5f4a3b2c1d"
ACCESS_2 = "opaque-access-two-1122334455667788aabb"
REFRESH_2 = "opaque-refresh-two-ffeeddccbbaa99887766"
ALL = (REFRESH_0, ACCESS_1, REFRESH_1, ACCESS_2, REFRESH_2)
CAR = {"id": 1, "id_s": "1", "vin": "VIN1", "display_name": "Alpha", "state": "online"}


def tokens(access: str, refresh: str) -> bytes:
    return (
        f'{{"access_token": "{access}", "refresh_token": "{refresh}", "expires_in": 28800,'
        ' "token_type": "Bearer"}'
    ).encode()


@pytest.fixture
def echoing(monkeypatch: pytest.MonkeyPatch) -> Iterator[ScriptedApi]:
    with scripted_api() as api:
        api.on("POST", "/oauth2/v3/token", tokens(ACCESS_1, REFRESH_1), times=1)
        api.on("POST", "/oauth2/v3/token", tokens(ACCESS_2, REFRESH_2))
        echo = {"error": "invalid bearer token", "error_description": f"Bearer {ACCESS_1} no"}
        api.on("GET", "/api/1/vehicles", [CAR])
        api.on("GET", "/api/1/vehicles", echo, status=401, times=1)
        monkeypatch.setenv("CARCTL_API_URL", api.url)
        monkeypatch.setenv("CARCTL_REFRESH_TOKEN", REFRESH_0)
        yield api


def test_an_echoed_token_is_never_printed_stored_or_bundled(
    echoing: ScriptedApi, carctl_home: Path, tmp_path: Path
) -> None:
    listed = invoke("--json", "-v", "vehicles")
    assert listed.code == 0, listed.output
    assert len(echoing.requests("POST", "/oauth2/v3/token")) == 2  # renewed after the 401
    echoing.on("GET", "/api/1/vehicles", {"error": f"nope {ACCESS_2} / {REFRESH_2}"}, 500)
    failed = invoke("--json", "-v", "--no-queue", "vehicles")
    assert failed.code == 75, failed.output
    for result in (listed, failed):
        assert not any(secret in result.output for secret in ALL), result.output
    assert "[redacted]" in failed.output
    with sqlite3.connect(carctl_home / "state" / "state.db") as db:
        logged = " ".join(str(row) for row in db.execute("SELECT * FROM request_log"))
    assert logged and not any(secret in logged for secret in ALL), logged
    log_text = (carctl_home / "log" / "carctl.log").read_text()
    assert not any(secret in log_text for secret in ALL)

    bundle = tmp_path / "report.zip"
    made = invoke("doctor", "--offline", "--bundle", str(bundle))
    assert bundle.exists(), made.output  # made, not refused
    with zipfile.ZipFile(bundle) as archive:
        for name in archive.namelist():
            content = archive.read(name).decode("utf-8", "replace")
            assert not any(secret in content for secret in ALL), name
