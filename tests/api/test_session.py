"""The session over real HTTP: renewal ahead of expiry, single flight across processes,
no redirect followed, bounded bodies, the request log."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from carctl.api.client import ApiClient
from carctl.api.signin import login_with_password
from carctl.errors import NetworkError, ProtocolError
from carctl.paths import resolve_paths
from carctl.settings import load_settings
from carctl.stack import Stack
from tests.conftest import OWNER, PASSWORD, Served, sign_in

VEHICLES = "/api/1/vehicles"
TOKEN = "/oauth2/v3/token"


class FakeClock:
    def __init__(self) -> None:
        self.value = time.time()

    def now(self) -> float:
        return self.value

    def sleep(self, seconds: float) -> None:
        self.value += seconds


def token_requests(served: Served, status: int | None = 200) -> int:
    rows = served.admin("GET", "/__mock__/stats")["requests"]
    return sum(
        r["count"] for r in rows if r["path"] == TOKEN and (status is None or r["status"] == status)
    )


def test_access_token_is_renewed_ahead_of_expiry(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CARCTL_API_URL", served.url)
    env = dict(os.environ)
    paths = resolve_paths(env)
    settings = load_settings(paths.config_file, env=env)
    clock = FakeClock()
    stack = Stack(settings=settings, paths=paths, env=env, clock=clock)
    with stack.client() as client:
        assert client.session is not None and client.session.credentials is not None
        login_with_password(
            client,
            client.session.credentials,
            email=OWNER,
            password=PASSWORD,
            login_command="carctl auth login",
        )
        client.request("GET", VEHICLES)
        clock.value += 8 * 3600 - 400  # still more than 5 minutes left: no renewal
        client.request("GET", VEHICLES)
        assert token_requests(served) == 1
        clock.value += 200  # now within 5 minutes of expiry
        client.request("GET", VEHICLES)
    assert token_requests(served) == 2
    rows = served.admin("GET", "/__mock__/stats")["requests"]
    assert not [r for r in rows if r["status"] == 401]  # renewed before the API refused it


def test_processes_refreshing_at_once_send_one_refresh(
    served: Served, monkeypatch: pytest.MonkeyPatch, carctl_home: Path
) -> None:
    monkeypatch.setenv("CARCTL_API_URL", served.url)
    sign_in()
    path = carctl_home / "state" / "credentials.json"
    data = json.loads(path.read_text())
    for entry in data["entries"].values():
        entry["expires_at"] = 0  # every process must renew before its first request
    path.write_text(json.dumps(data))
    # a slow token endpoint (real time), so that the processes' renewals overlap
    served.admin("PUT", "/__mock__/faults", json={"rules": [{"path": TOKEN, "latency": 0.8}]})
    served.clock.sleep = _real_sleep  # type: ignore[method-assign]
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "carctl", "--json", "api", VEHICLES],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    try:
        results = [(*p.communicate(timeout=60), p.returncode) for p in processes]
    finally:
        del served.clock.sleep  # type: ignore[attr-defined]
    for out, err, code in results:
        assert code == 0, out + err
        assert json.loads(out)["ok"] is True
    assert token_requests(served, status=None) == 2  # the sign-in and one refresh
    # the race really happened: the others wanted to renew too, and waited for the one that did
    log = (carctl_home / "log" / "carctl.log").read_text()
    waited = log.count("the session was renewed by another process while this one waited")
    assert waited >= 2, f"only {waited} of 3 processes overlapped the renewal"
    # the stored refresh token is the newest: it still works, and it works once
    stored = next(iter(json.loads(path.read_text())["entries"].values()))["refresh_token"]
    with served.client() as client:
        body = {"grant_type": "refresh_token", "client_id": "carctl", "refresh_token": stored}
        assert client.post(TOKEN, data=body).status_code == 200


def _client(served: Served, **kwargs: Any) -> ApiClient:
    return ApiClient(httpx.Client(base_url=served.url, **kwargs), origin=served.url)


def test_a_redirect_is_never_followed(served: Served) -> None:
    """The mock's sign-in form redirects to any redirect_uri: carctl must stop there."""
    client = _client(served)
    try:
        reply = client.exchange(
            "POST",
            "/oauth2/v3/authorize",
            form={
                "identity": OWNER,
                "credential": PASSWORD,
                "redirect_uri": "https://elsewhere.example/callback",
                "code_challenge": "abc",
                "client_id": "ownerapi",
            },
        )
        assert reply.status == 302
        with pytest.raises(ProtocolError, match=r"redirected .* to https://elsewhere\.example"):
            client.interpret(reply)
    finally:
        client.close()


def test_bodies_are_bounded() -> None:
    huge = b'{"response": "' + b"x" * (5 * 1024 * 1024) + b'"}'
    transport = httpx.MockTransport(lambda request: httpx.Response(200, content=huge))
    client = ApiClient(
        httpx.Client(transport=transport, base_url="http://127.0.0.1:1"), origin="test"
    )
    with pytest.raises(ProtocolError, match="larger than 4 MiB"):
        client.exchange("GET", VEHICLES)
    client.close()


def test_a_read_timeout_is_a_network_error(served: Served) -> None:
    served.admin("PUT", "/__mock__/faults", json={"rules": [{"path": VEHICLES, "latency": 5}]})
    served.clock.sleep = _real_sleep  # type: ignore[method-assign]
    try:
        client = _client(served, timeout=httpx.Timeout(5.0, read=0.2))
        with pytest.raises(NetworkError, match="did not answer in time"):
            client.exchange("GET", VEHICLES)
        client.close()
    finally:
        del served.clock.sleep  # type: ignore[attr-defined]


async def _real_sleep(seconds: float) -> None:
    """The served mock's clock sleeping for real (the server is async)."""
    import asyncio

    await asyncio.sleep(min(seconds, 1.0))


def test_the_request_log_holds_no_secret(
    served: Served, monkeypatch: pytest.MonkeyPatch, carctl_home: Path
) -> None:
    from tests.conftest import invoke

    monkeypatch.setenv("CARCTL_API_URL", served.url)
    sign_in()
    assert invoke("api", VEHICLES + "?secret=query").code == 0
    with sqlite3.connect(carctl_home / "state" / "state.db") as db:
        db.row_factory = sqlite3.Row
        rows = db.execute("SELECT * FROM request_log").fetchall()
    paths = [row["path"] for row in rows]
    assert paths == [TOKEN, VEHICLES, VEHICLES]  # sign-in lists the cars; no query string
    assert all(row["txid"] for row in rows)  # every row has its txid
    rows = [tuple(row) for row in rows]
    text = repr(rows)
    stored = json.loads((carctl_home / "state" / "credentials.json").read_text())
    for entry in stored["entries"].values():
        assert entry["access_token"] not in text and entry["refresh_token"] not in text
    assert PASSWORD not in text


def test_a_failing_renewal_keeps_the_session(
    served: Served, monkeypatch: pytest.MonkeyPatch, carctl_home: Path
) -> None:
    """The token endpoint fails (503) while a renewal is due: say so, and lose nothing."""
    from tests.conftest import FastClock, invoke

    monkeypatch.setenv("CARCTL_API_URL", served.url)
    sign_in()
    stored = (carctl_home / "state" / "credentials.json").read_text()
    FastClock.offset += 8 * 3600  # the access token has expired: the next request renews it
    served.clock.advance(8 * 3600)
    served.admin("PUT", "/__mock__/faults", json={"rules": [{"status": 503, "path": TOKEN}]})
    failed = invoke("--json", "api", VEHICLES)
    assert failed.code == 75, failed.output
    error = failed.json()["error"]
    assert error["code"] != "auth" and "HTTP 503" in error["message"]
    assert (carctl_home / "state" / "credentials.json").read_text() == stored  # nothing lost
    assert token_requests(served, status=503) >= 1  # the renewal really was attempted
    served.admin("DELETE", "/__mock__/faults")
    again = invoke("api", VEHICLES)
    assert again.code == 0, again.output  # the kept session renews now, no new sign-in


@pytest.mark.parametrize(
    ("status", "headers", "body", "words"),
    [
        (200, {"content-type": "application/json"}, b"{}", "access token"),
        (200, {"content-type": "application/json"}, b"", "access token"),
        (302, {"location": "https://elsewhere.example/token"}, b"", "redirect"),
    ],
)
def test_a_renewal_answered_oddly_keeps_the_session(
    served: Served,
    monkeypatch: pytest.MonkeyPatch,
    carctl_home: Path,
    status: int,
    headers: dict[str, str],
    body: bytes,
    words: str,
) -> None:
    """A token endpoint that answers 200 without a token, or a redirect: exit 69, nothing lost."""
    from tests.conftest import FastClock, invoke
    from tests.support.raw_server import raw_server, response

    monkeypatch.setenv("CARCTL_API_URL", served.url)
    sign_in()
    path = carctl_home / "state" / "credentials.json"
    signed = json.loads(path.read_text())
    (entry,) = signed["entries"].values()
    script = response(status, headers, body)
    with raw_server(script) as url:
        # the same session, kept for the odd server's address (sessions are per address)
        signed["entries"] = {f"default@{url}": entry}
        path.write_text(json.dumps(signed))
        stored = path.read_text()
        monkeypatch.setenv("CARCTL_API_URL", url)
        FastClock.offset += 8 * 3600  # expired: the next request renews first
        failed = invoke("--json", "api", VEHICLES)
    assert [line.split()[1] for line in script.requests] == [TOKEN.encode()]  # it tried, once
    assert failed.code == 69, failed.output
    error = failed.json()["error"]
    assert error["code"] != "auth"
    assert words.lower() in (error["message"] + " " + (error["hint"] or "")).lower(), error
    assert path.read_text() == stored  # the session is kept for when the service is right


def test_a_renewal_held_up_by_another_process_says_so(
    served: Served, monkeypatch: pytest.MonkeyPatch, carctl_home: Path
) -> None:
    """Another carctl holds the refresh lock for too long: a clear message, nothing lost."""
    import fcntl

    from carctl import locks
    from tests.conftest import FastClock, invoke

    monkeypatch.setenv("CARCTL_API_URL", served.url)
    sign_in()
    monkeypatch.setattr(locks, "WAIT_S", 0.3)
    from carctl.api.connect import endpoint_for, lock_path

    origin = endpoint_for(served.url).origin
    lock = lock_path(resolve_paths(dict(os.environ)), f"default@{origin}")
    lock.parent.mkdir(parents=True, exist_ok=True)
    FastClock.offset += 8 * 3600  # a renewal is due
    with lock.open("a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # as another process renewing would
        blocked = invoke("api", VEHICLES)
    assert blocked.code == 78, blocked.output
    assert f"error: another carctl process holds {lock} for more than 0.3 s" in blocked.stderr
    assert "hint: wait for it to finish, or stop it" in blocked.stderr
    assert token_requests(served) == 1  # only the sign-in: the blocked run renewed nothing
    assert invoke("api", VEHICLES).code == 0  # once it is free, the session renews
