"""A Tab that carctl's state answers is answered before click loads, exactly as click would.

Each line is completed twice as the shells' scripts ask it (`_CARCTL_COMPLETE`,
`COMP_WORDS`, `COMP_CWORD`): by the console script's entry point, and by click
itself. The answers must be the same byte for byte; the entry point must not
have imported click for the Tabs it answers, and must hand the others to click.
The real shells driving the committed scripts are in test_completion.py.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Endpoint, invoke

ROOT = Path(__file__).resolve().parents[2]
ENTRY = """
import atexit, json, sys
atexit.register(lambda: print(json.dumps("click" in sys.modules), file=sys.stderr))
from carctl.entry import main
main()
"""
CLICK = "from carctl.cli import main; main()"

OURS = [
    "carctl --vehicle Mo",
    "carctl --vehicle ",
    "carctl --vehicle 7sa",
    "carctl --json climate on --vehicle Model\\ ",
    "carctl --profile ",
    "carctl --profile work --vehicle M",
    "carctl queue cancel ",
    "carctl queue show 1",
    "carctl queue retry ",
    "carctl queue wait 1 ",
    "carctl -q schedule off ",
]
CLICKS = [
    "carctl cl",
    "carctl queue ",
    "carctl --veh",
    "carctl --vehicle=Mo",
    "carctl queue cancel --a",
    "carctl schedule set 06:30 --days we",
    "carctl doctor ne",
]


def completion_env(shell: str, line: str) -> dict[str, str]:
    """What the shell's script sets: the line, and the word at the cursor (fish: the word
    itself, as typed; bash and zsh: its index). A backslash keeps a space in its word."""
    words = re.split(r"(?<!\\) ", line)
    env = {**os.environ, "_CARCTL_COMPLETE": f"{shell}_complete", "PYTHONPATH": str(ROOT)}
    env["COMP_WORDS"] = line
    env["COMP_CWORD"] = words[-1] if shell == "fish" else str(len(words) - 1)
    return env


def answered(program: str, env: dict[str, str]) -> tuple[str, bool | None]:
    ran = subprocess.run(
        [sys.executable, "-c", program], env=env, capture_output=True, text=True, timeout=60
    )
    assert ran.returncode == 0, ran.stderr
    loaded = json.loads(ran.stderr.splitlines()[-1]) if ran.stderr.strip() else None
    return ran.stdout, loaded


@pytest.fixture
def known_state(car: Endpoint) -> Endpoint:
    """Two cars in the cache, a second profile, a queued entry, two schedules on the car."""
    assert invoke("vehicles").code == 0
    assert invoke("--profile", "work", "config", "set", "units", "metric").code == 0
    assert invoke("schedule", "set", "06:30", "--days", "weekdays").code == 0
    assert invoke("schedule", "set", "09:00", "--days", "sat").code == 0
    car.faults({"status": 500, "path": "/api/1/*"})
    assert invoke("vent").code == 75
    return car


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_the_entry_point_answers_from_state_as_click_does(
    shell: str, known_state: Endpoint
) -> None:
    for line in OURS:
        env = completion_env(shell, line)
        fast, loaded = answered(ENTRY, env)
        slow, _ = answered(CLICK, env)
        assert fast == slow, (shell, line)
        assert loaded is False, (shell, line)  # answered without importing click
    offered = answered(ENTRY, completion_env(shell, "carctl --vehicle Mo"))[0]
    assert "Model" in offered and offered.count("Model") == 2


@pytest.mark.parametrize("shell", ["bash", "fish"])
def test_every_other_tab_is_clicks(shell: str, known_state: Endpoint) -> None:
    for line in CLICKS:
        env = completion_env(shell, line)
        fast, loaded = answered(ENTRY, env)
        slow, _ = answered(CLICK, env)
        assert fast == slow, (shell, line)
        assert loaded is True, (shell, line)
