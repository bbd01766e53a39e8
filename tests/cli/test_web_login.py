"""`carctl auth login --web` against the served mock: a real loopback redirect, a real
(headless) browser following the sign-in page, PKCE and state checked end to end."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Served, run_carctl

BROWSER = Path(__file__).resolve().parents[1] / "support" / "headless_browser.py"


@pytest.fixture
def profile(served: Served, carctl_home: Path) -> Served:
    assert run_carctl("config", "set", "api_url", served.url).returncode == 0
    assert run_carctl("config", "set", "auth.redirect_port", "0").returncode == 0
    return served


def web_login(*args: str, mode: str = "sign-in", **env: str) -> Any:
    return run_carctl(
        "auth",
        "login",
        "--web",
        *args,
        env={"BROWSER": f"{sys.executable} {BROWSER} %s", "HEADLESS_BROWSER": mode, **env},
    )


def test_web_sign_in_through_the_loopback_redirect(profile: Served) -> None:
    result = web_login()
    assert result.returncode == 0, result.stderr
    assert f"Signed in to {profile.url} as owner@example.com" in result.stdout
    assert "waiting for it to come back" in result.stderr
    cars = run_carctl("--json", "vehicles")
    assert cars.returncode == 0, cars.stderr  # the session works
    codes = profile.admin("GET", "/__mock__/stats")["requests"]
    exchanged = [r for r in codes if r["path"] == "/oauth2/v3/token" and r["status"] == 200]
    assert exchanged and exchanged[0]["count"] == 1  # one code exchanged, once


@pytest.mark.parametrize(
    ("mode", "says"),
    [
        ("deny", "error: the sign-in page refused: access_denied"),
        # an answer for another sign-in is ignored: this one waits on, and times out
        ("wrong-state", "the browser did not come back within 2 s; nothing was signed in"),
    ],
)
def test_a_refused_or_foreign_answer_signs_nothing_in(
    profile: Served, mode: str, says: str
) -> None:
    result = web_login("--browser-timeout", "2", mode=mode)
    assert result.returncode == 77, result.stderr
    assert says in result.stderr and "Traceback" not in result.stderr
    assert run_carctl("vehicles").returncode == 77  # still signed out


def test_the_redirect_is_the_loopback_address_not_a_name(profile: Served) -> None:
    """RFC 8252 §8.3: `localhost` may resolve to ::1, where another program may listen."""
    result = web_login(mode="squatters-first")
    assert result.returncode == 0, result.stderr
    stats = profile.admin("GET", "/__mock__/stats")["requests"]
    assert any(r["path"] == "/oauth2/v3/token" and r["status"] == 200 for r in stats)


@pytest.mark.parametrize("mode", ["silent-first", "squatters-first"])
def test_local_squatters_on_the_redirect_port_change_nothing(profile: Served, mode: str) -> None:
    """A silent connection, callbacks without this sign-in's state, an error without
    state: all ignored; the browser's own answer still signs in."""
    started = time.monotonic()
    result = web_login("--browser-timeout", "20", mode=mode)
    assert result.returncode == 0, result.stderr
    assert "Signed in to" in result.stdout
    assert time.monotonic() - started < 15


def test_a_silent_connection_cannot_outlast_the_timeout(profile: Served) -> None:
    """A local process holds a connection to the redirect port and sends nothing, for
    longer than the sign-in may wait: carctl still stops when its time is up."""
    started = time.monotonic()
    result = web_login("--browser-timeout", "2", mode="silent-only")
    assert result.returncode == 77, result.stderr
    assert "the browser did not come back within 2 s" in result.stderr
    assert time.monotonic() - started < 12  # the silent connection is held for 20 s


def test_a_browser_that_never_comes_back(profile: Served) -> None:
    result = web_login("--browser-timeout", "1", mode="never")
    assert result.returncode == 77
    assert "the browser did not come back within 1 s; nothing was signed in" in result.stderr
    assert "--no-browser" in result.stderr


def test_a_taken_redirect_port(profile: Served) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        assert run_carctl("config", "set", "auth.redirect_port", str(port)).returncode == 0
        result = web_login()
    assert result.returncode == 78
    assert f"cannot listen on port {port} for the sign-in's redirect" in result.stderr
    assert "auth.redirect_port" in result.stderr


def test_without_a_browser_the_answer_is_pasted_back(profile: Served) -> None:
    env = {**os.environ, "BROWSER": "", "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "carctl", "auth", "login", "--web", "--no-browser"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert process.stderr is not None and process.stdin is not None
    lines: list[str] = []
    while not any("paste here" in line for line in lines):
        lines.append(process.stderr.readline())
    url = next(line.strip() for line in lines if line.startswith("http"))
    # the person opens it elsewhere, signs in, and copies the address the browser ended on
    ended = subprocess.run(
        [sys.executable, str(BROWSER), url],
        env={**os.environ, "HEADLESS_PRINT_ONLY": "1"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    out, err = process.communicate(ended + "\n", timeout=30)
    assert process.returncode == 0, err
    assert "Signed in to" in out and "owner@example.com" in out
    assert "Open this address in a browser and sign in:" in lines[-3]


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("--no-browser",), "--no-browser goes with --web"),
        (("--web", "--with-token"), "--web signs in in a browser"),
        (("--web", "--email", "a@b.c"), "--web signs in in a browser"),
    ],
)
def test_options_that_do_not_go_together(profile: Served, args: tuple[str, ...], says: str) -> None:
    result = run_carctl("auth", "login", *args)
    assert result.returncode == 2 and says in result.stderr


def test_the_built_in_endpoint_has_no_page_to_open(carctl_home: Path) -> None:
    result = run_carctl("auth", "login", "--web")
    assert result.returncode == 2
    assert "the built-in vehicle API has no sign-in page a browser can open" in result.stderr
