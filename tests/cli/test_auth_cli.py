"""`carctl auth` as owners and scripts use it, against the served and the built-in mock."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import (
    OWNER,
    PASSWORD,
    Endpoint,
    FastClock,
    Served,
    invoke,
    login,
    sign_in,
)

TOKEN = "/oauth2/v3/token"
VEHICLES = "/api/1/vehicles"


def credentials_file(home: Path) -> Path:
    return home / "state" / "credentials.json"


def stored_session(home: Path) -> dict[str, Any]:
    entries = json.loads(credentials_file(home).read_text())["entries"]
    assert len(entries) == 1
    return next(iter(entries.values()))  # type: ignore[no-any-return]


def keyring_session(backend: Any) -> dict[str, Any]:
    assert len(backend.entries) == 1
    return json.loads(next(iter(backend.entries.values())))  # type: ignore[no-any-return]


# -- signing in -----------------------------------------------------------------------


def test_login_status_logout_without_a_keyring(endpoint: Endpoint, carctl_home: Path) -> None:
    login_result = sign_in()
    assert "Signed in to" in login_result.stdout and OWNER in login_result.stdout
    assert "no usable keyring backend" in login_result.stderr  # the fallback's warning
    path = credentials_file(carctl_home)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not list(path.parent.glob(".credentials-*"))  # atomic write left no temp file

    status = invoke("--json", "auth", "status")
    assert status.code == 0, status.output
    data = status.json()["data"]
    assert data["account"] == OWNER
    assert data["store"] == {"kind": "file", "detail": str(path), "secure": False}
    assert 0 < data["access_token"]["expires_in_s"] <= 8 * 3600
    assert data["refresh_token"] is True
    assert any("not in a keyring" in w for w in status.json()["warnings"])
    assert PASSWORD not in status.stdout and stored_session(carctl_home)["access_token"] not in (
        status.stdout
    )

    vehicles = invoke("--json", "api", VEHICLES)
    assert vehicles.code == 0, vehicles.output
    assert {car["display_name"] for car in vehicles.json()["data"]} == {"Model 3", "Model Y"}

    refresh = stored_session(carctl_home)["refresh_token"]
    out = invoke("auth", "logout")
    assert out.code == 0, out.output
    assert "revoked on the server" in out.stdout
    assert not path.exists()
    assert endpoint.requests("/oauth2/v3/revoke", 200) == 1
    after = invoke("--json", "auth", "status")
    assert after.code == 77
    assert after.json()["error"]["message"].startswith("not signed in to")
    assert "carctl auth login" in after.json()["error"]["hint"]
    # the revoked refresh token no longer works on the server
    revoked = invoke("auth", "login", "--with-token", input=refresh + "\n")
    assert revoked.code == 77
    assert "signed out on the server" in revoked.stderr


def test_login_with_a_keyring_keeps_nothing_on_disk(
    endpoint: Endpoint, memory_keyring: Any, carctl_home: Path
) -> None:
    result = sign_in()
    assert "MemoryKeyring" in result.stdout or "keyring (" in result.stdout
    assert "warning" not in result.stderr
    assert not credentials_file(carctl_home).exists()
    (entry,) = memory_keyring.entries
    origin = "builtin" if endpoint.name == "builtin" else endpoint.api_url
    assert entry == ("carctl", f"default@{origin}")
    status = invoke("--json", "auth", "status").json()["data"]
    assert status["store"]["kind"] == "keyring" and status["store"]["secure"] is True
    assert invoke("api", VEHICLES).code == 0
    assert invoke("auth", "logout").code == 0
    assert memory_keyring.entries == {}


def test_profiles_keep_separate_sessions(endpoint: Endpoint, memory_keyring: Any) -> None:
    sign_in()
    assert invoke("--profile", "work", "config", "set", "units", "metric").code == 0
    other = invoke("--profile", "work", "--json", "auth", "status")
    assert other.code == 77
    assert "carctl --profile work auth login" in other.json()["error"]["hint"]
    assert invoke("--json", "auth", "status").code == 0


def test_login_with_token_reads_a_refresh_token_from_stdin(
    served: Served, monkeypatch: pytest.MonkeyPatch, carctl_home: Path
) -> None:
    monkeypatch.setenv("CARCTL_API_URL", served.url)
    with served.client() as client:
        tokens = login(client)
    result = invoke("--json", "auth", "login", "--with-token", input=tokens["refresh_token"])
    assert result.code == 0, result.output
    assert result.json()["data"]["account"] == OWNER
    stored = stored_session(carctl_home)
    assert stored["refresh_token"] != tokens["refresh_token"]  # renewed at once (rotation)
    assert invoke("api", VEHICLES).code == 0


def test_prompted_login_on_a_terminal(endpoint: Endpoint, carctl_home: Path) -> None:
    """A real pseudo-terminal: the e-mail is echoed, the password is not; the car is asked."""
    from tests.support.terminal import run_in_terminal

    screen = run_in_terminal(
        "auth",
        "login",
        answers=[("E-mail:", OWNER), ("Password:", PASSWORD), ("Default car [1]", "2")],
        timeout=30,
    )
    assert screen.code == 0, screen.raw
    text = screen.raw
    assert OWNER in text and "Signed in to" in text
    assert PASSWORD not in text
    assert "Default car: Model Y." in text
    assert stored_session(carctl_home)["account"] == OWNER


# -- refusals: each its own message and exit 77 -------------------------------------------


@pytest.mark.parametrize(
    ("email", "password", "message"),
    [
        (OWNER, "wrong-password", f"wrong password for {OWNER}"),
        ("nobody@example.com", PASSWORD, "there is no account nobody@example.com"),
    ],
)
def test_refused_sign_in(
    endpoint: Endpoint, carctl_home: Path, email: str, password: str, message: str
) -> None:
    result = invoke("auth", "login", "--email", email, "--password-stdin", input=password + "\n")
    assert result.code == 77
    assert f"error: {message}" in result.stderr
    assert "HTTP 401 · POST /oauth2/v3/token" in result.stderr
    assert password not in result.output
    assert not credentials_file(carctl_home).exists()
    assert "warning" not in result.stderr  # no fallback warning for a sign-in that failed


def test_scripts_are_never_prompted(endpoint: Endpoint) -> None:
    no_email = invoke("auth", "login")
    assert no_email.code == 2
    assert "no terminal to ask on" in no_email.stderr
    no_password = invoke("auth", "login", "--email", OWNER)
    assert no_password.code == 2
    assert "--password-stdin" in no_password.stderr
    empty = invoke("auth", "login", "--email", OWNER, "--password-stdin", input="")
    assert empty.code == 2 and "no password on stdin" in empty.stderr
    both = invoke("auth", "login", "--password-stdin", "--with-token", input="x\n")
    assert both.code == 2
    assert endpoint.requests(TOKEN) == 0  # nothing was sent


def test_require_keyring_refuses_the_file(endpoint: Endpoint, carctl_home: Path) -> None:
    assert invoke("config", "set", "auth.require_keyring", "true").code == 0
    result = invoke("auth", "login", "--email", OWNER, "--password-stdin", input=PASSWORD + "\n")
    assert result.code == 77
    assert "no usable keyring backend" in result.stderr
    assert "auth.require_keyring is true" in result.stderr
    assert not credentials_file(carctl_home).exists()
    assert endpoint.requests(TOKEN) == 0  # refused before the password was sent


def test_a_hanging_keyring_is_bounded(
    endpoint: Endpoint, carctl_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import keyring

    from carctl.api import keyring_store
    from tests.support.keyrings import HangingKeyring

    backend = HangingKeyring()
    keyring.set_keyring(backend)
    monkeypatch.setattr(keyring_store, "KEYRING_TIMEOUT_S", 0.2)
    try:
        result = sign_in()
        assert "the keyring did not answer within 0.2 s" in result.stderr
        assert stored_session(carctl_home)["account"] == OWNER  # kept in the file instead
        assert invoke("api", VEHICLES).code == 0  # later runs find it there

        assert invoke("config", "set", "auth.require_keyring", "true").code == 0
        credentials_file(carctl_home).unlink()
        refused = invoke(
            "auth", "login", "--email", OWNER, "--password-stdin", input=PASSWORD + "\n"
        )
        assert refused.code == 77
        assert "did not answer within 0.2 s" in refused.stderr
        assert not credentials_file(carctl_home).exists()
    finally:
        backend.release.set()


def test_a_locked_keyring_is_an_auth_error(endpoint: Endpoint) -> None:
    import keyring

    from tests.support.keyrings import LockedKeyring

    keyring.set_keyring(LockedKeyring())
    result = invoke("api", VEHICLES)
    assert result.code == 77
    assert "refused to read the session: KeyringLocked" in result.stderr
    assert "unlock the keyring" in result.stderr


def test_credentials_file_with_loose_permissions_is_fixed(
    endpoint: Endpoint, carctl_home: Path
) -> None:
    sign_in()
    path = credentials_file(carctl_home)
    path.chmod(0o644)
    result = invoke("api", VEHICLES)
    assert result.code == 0, result.output
    assert "was readable by other users (mode 644)" in result.stderr
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


# -- keeping the session fresh ----------------------------------------------------------


def test_refresh_on_401_rotates_and_stores_the_new_token(
    endpoint: Endpoint, carctl_home: Path
) -> None:
    sign_in()
    before = stored_session(carctl_home)
    endpoint.advance(9 * 3600)  # the API now considers the access token expired
    result = invoke("-v", "api", VEHICLES)
    assert result.code == 0, result.output
    assert f"GET {VEHICLES} -> 401" in result.stderr
    assert f"POST {TOKEN} -> 200" in result.stderr
    assert f"GET {VEHICLES} -> 200" in result.stderr
    after = stored_session(carctl_home)
    assert after["refresh_token"] != before["refresh_token"]
    assert after["access_token"] != before["access_token"]
    assert endpoint.requests(TOKEN, 200) == 2  # sign-in and one refresh


def test_a_refresh_token_used_elsewhere_ends_the_session(
    served: Served, monkeypatch: pytest.MonkeyPatch, carctl_home: Path
) -> None:
    monkeypatch.setenv("CARCTL_API_URL", served.url)
    sign_in()
    copy = stored_session(carctl_home)["refresh_token"]
    with served.client() as client:  # another computer uses a copy of the session
        used = client.post(
            TOKEN,
            data={"grant_type": "refresh_token", "client_id": "carctl", "refresh_token": copy},
        )
        assert used.status_code == 200
    served.clock.advance(9 * 3600)
    result = invoke("api", VEHICLES)
    assert result.code == 77
    assert "its refresh token was already used" in result.stderr
    assert "run `carctl auth login`" in result.stderr


def test_a_revoked_session(
    served: Served, monkeypatch: pytest.MonkeyPatch, carctl_home: Path
) -> None:
    monkeypatch.setenv("CARCTL_API_URL", served.url)
    sign_in()
    with served.client() as client:
        client.post(
            "/oauth2/v3/revoke", data={"token": stored_session(carctl_home)["refresh_token"]}
        )
    served.clock.advance(9 * 3600)
    result = invoke("--json", "api", VEHICLES)
    assert result.code == 77
    error = result.json()["error"]
    assert (
        error["message"]
        == "the session was signed out on the server (its refresh token was revoked)"
    )
    assert error["http"]["status"] == 401 and error["http"]["path"] == TOKEN


def test_an_expired_environment_token(served: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CARCTL_API_URL", served.url)
    with served.client() as client:
        tokens = login(client)
    assert invoke("api", VEHICLES, env={"CARCTL_TOKEN": tokens["access_token"]}).code == 0
    served.clock.advance(9 * 3600)
    result = invoke("api", VEHICLES, env={"CARCTL_TOKEN": tokens["access_token"]})
    assert result.code == 77
    assert "refused the token in CARCTL_TOKEN (token expired (401))" in result.stderr
    assert tokens["access_token"] not in result.output
    status = invoke("--json", "auth", "status", env={"CARCTL_TOKEN": tokens["access_token"]})
    assert status.json()["data"]["store"] == {
        "kind": "env",
        "detail": "CARCTL_TOKEN",
        "secure": True,
    }


def test_an_environment_refresh_token_keeps_working_across_rotations(
    served: Served, monkeypatch: pytest.MonkeyPatch, carctl_home: Path
) -> None:
    """Rotation would kill CARCTL_REFRESH_TOKEN after one use; carctl keeps the chain."""
    monkeypatch.setenv("CARCTL_API_URL", served.url)
    with served.client() as client:
        tokens = login(client)
    env = {"CARCTL_REFRESH_TOKEN": tokens["refresh_token"]}
    for _ in range(3):
        result = invoke("api", VEHICLES, env=env)
        assert result.code == 0, result.output
        served.clock.advance(9 * 3600)
    stats = served.admin("GET", "/__mock__/stats")["requests"]
    renewals = [r for r in stats if r["path"] == TOKEN and r["status"] == 200]
    assert sum(r["count"] for r in renewals) >= 3  # each 9-hour step renewed the token
    status = invoke("--json", "auth", "status", env=env).json()["data"]
    assert status["store"]["kind"] == "env"
    assert "CARCTL_REFRESH_TOKEN" in status["store"]["detail"]


def test_clock_far_off_gets_its_own_message(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server whose clock is ahead rejects every token it issues as expired."""
    from carctl.mock.store import MemoryStore
    from tests.conftest import make_seed

    monkeypatch.setenv("CARCTL_API_URL", served.url)
    served.app.state.api.store = MemoryStore(make_seed(wake_delay=0.0, access_token_ttl=-3600.0))
    sign_in()
    before = served_token_requests(served)
    result = invoke("api", VEHICLES)
    assert result.code == 77
    assert "a token it issued 0 s ago has already expired" in result.stderr
    assert "its clock and this computer's disagree" in result.stderr
    assert "timedatectl set-ntp true" in result.stderr
    # the renewal ahead of expiry, and the one renewal after the 401: no loop
    assert served_token_requests(served) - before == 2


def served_token_requests(served: Served) -> int:
    rows = served.admin("GET", "/__mock__/stats")["requests"]
    return sum(r["count"] for r in rows if r["path"] == TOKEN)


# -- transport security ----------------------------------------------------------------


def test_plain_http_to_another_computer_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CARCTL_API_URL", "http://vehicle-api.example.com")
    result = invoke("auth", "login", "--email", OWNER, "--password-stdin", input=PASSWORD)
    assert result.code == 78
    assert "plain http:// to another computer" in result.stderr
    assert "--insecure" in result.stderr


def test_insecure_allows_plain_http_and_dns_failures_are_network_errors(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CARCTL_API_URL", "http://vehicle-api.invalid")
    result = invoke(
        "--insecure",
        "--json",
        "auth",
        "login",
        "--email",
        OWNER,
        "--password-stdin",
        input=PASSWORD,
    )
    assert result.code == 75
    error = result.json()["error"]
    assert error["code"] == "network"
    assert error["http"]["status"] is None and error["http"]["path"] == TOKEN


@pytest.mark.parametrize("value", ["not a token", "tök€n", "abc\tdef"])
def test_an_environment_token_that_is_not_one(served: Served, value: str) -> None:
    """Found by the hostile-input properties: such a value used to crash the HTTP layer."""
    result = invoke("api", VEHICLES, env={"CARCTL_API_URL": served.url, "CARCTL_TOKEN": value})
    assert result.code == 77
    assert "CARCTL_TOKEN does not hold a token" in result.stderr
    assert served.admin("GET", "/__mock__/stats")["requests"] == []


def test_sign_in_warns_of_a_clock_as_far_off_as_doctor_does(
    served: Served, monkeypatch: pytest.MonkeyPatch, fast_clock: type[FastClock]
) -> None:
    """One threshold for a clock that is off: sign-in and doctor agree (two minutes is off)."""
    monkeypatch.setenv("CARCTL_API_URL", served.url)
    fast_clock.offset = 120.0  # this computer's clock, two minutes ahead of the mock's
    login = invoke("auth", "login", "--email", OWNER, "--password-stdin", input=PASSWORD + "\n")
    assert login.code == 0, login.output
    assert "this computer's clock is 2 min ahead of the vehicle API's" in login.stderr, login.stderr
