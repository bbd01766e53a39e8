"""Knowing a queued command arrived: notifications, the next command's line, `queue wait`."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest

from carctl import notify
from tests.conftest import Endpoint, invoke, run_carctl
from tests.support.car import executed
from tests.support.terminal import run_in_terminal

OUTAGE = {"status": 500, "path": "/api/1/*"}


def stand_in(directory: Path, name: str, *, code: int = 0, hang: bool = False) -> Path:
    """A notifier that records its arguments, one per line, in `calls` next to it."""
    directory.mkdir(parents=True, exist_ok=True)
    calls = directory / "calls"
    script = directory / name
    body = 'for a in "$@"; do printf "%s\\n" "$a"; done >>' + f" {calls}\n"
    body += 'echo "--" >>' + f" {calls}\n"
    if hang:
        body += f"exec {shutil.which('sleep')} 30\n"
    script.write_text(f"#!/bin/sh\n{body}exit {code}\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return calls


def recorded(calls: Path) -> list[list[str]]:
    if not calls.exists():
        return []
    chunks = calls.read_text().split("--\n")
    return [chunk.splitlines() for chunk in chunks if chunk.strip()]


# -- the notifier ---------------------------------------------------------------------


def test_a_desktop_gets_one_notification(tmp_path: Path) -> None:
    calls = stand_in(tmp_path, "notify-send")
    env = {"PATH": str(tmp_path), "DISPLAY": ":0"}
    shown = notify.notify(
        "carctl: delivered", "climate on for <b>Model 3</b>", mode="auto", env=env
    )
    assert shown == "sent"
    ((*flags, title, body),) = recorded(calls)
    assert flags == ["--app-name=carctl"]
    assert title == "carctl: delivered"
    assert body == "climate on for &lt;b&gt;Model 3&lt;/b&gt;"  # a name is never markup


def test_no_graphical_session_no_attempt(tmp_path: Path) -> None:
    calls = stand_in(tmp_path, "notify-send")
    env = {"PATH": str(tmp_path)}
    assert notify.notify("t", "b", mode="auto", env=env) == "no graphical session"
    assert notify.notify("t", "b", mode="never", env={**env, "DISPLAY": ":0"}) == "off"
    assert recorded(calls) == []
    assert notify.notify("t", "b", mode="always", env=env) == "sent"  # the setting says try
    assert len(recorded(calls)) == 1


def test_macos_passes_the_words_as_arguments_not_as_script(tmp_path: Path) -> None:
    calls = stand_in(tmp_path, "osascript")
    shown = notify.notify(
        "carctl", 'say "hi" & quit', mode="auto", env={"PATH": str(tmp_path)}, platform="darwin"
    )
    assert shown == "sent"
    ((*script, title, body),) = recorded(calls)
    assert title == "carctl" and body == 'say "hi" & quit'
    assert all('"hi"' not in line for line in script)
    ssh = {"PATH": str(tmp_path), "SSH_CONNECTION": "10.0.0.2 1 10.0.0.1 22"}
    assert (
        notify.notify("t", "b", mode="auto", env=ssh, platform="darwin") == "no graphical session"
    )


def test_a_missing_failing_or_hanging_notifier_is_only_a_word(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {"PATH": str(tmp_path / "empty"), "DISPLAY": ":0"}
    assert notify.notify("t", "b", mode="always", env=env) == "no notifier installed"
    stand_in(tmp_path / "failing", "notify-send", code=3)
    failing = {"PATH": str(tmp_path / "failing"), "DISPLAY": ":0"}
    assert notify.notify("t", "b", mode="auto", env=failing) == "failed: exit 3"
    monkeypatch.setattr(notify, "TIMEOUT_S", 0.3)
    stand_in(tmp_path / "hanging", "notify-send", hang=True)
    hanging = {"PATH": str(tmp_path / "hanging"), "DISPLAY": ":0"}
    assert notify.notify("t", "b", mode="auto", env=hanging).startswith("failed: ")


# -- the worker tells the desktop -----------------------------------------------------


def _queue_during_outage(car: Endpoint) -> None:
    car.faults(OUTAGE)
    assert invoke("climate", "on").code == 75
    car.faults()


@pytest.mark.parametrize("code", [0, 1])
def test_a_queue_pass_notifies_and_a_failing_notifier_costs_nothing(
    car: Endpoint,
    tmp_path: Path,
    code: int,
) -> None:
    _queue_during_outage(car)
    calls = stand_in(tmp_path / "bin", "notify-send", code=code)
    path = f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}"
    result = run_carctl("queue", "run", env={"PATH": path, "DISPLAY": ":0"})
    assert result.returncode == 0, result.stderr
    assert [c["name"] for c in executed(car)].count("auto_conditioning_start") == 1
    ((*_, title, body),) = recorded(calls)
    assert title == "carctl: delivered"
    assert body.startswith("Climate on for Model 3 delivered at ")


def test_notify_never_is_respected(car: Endpoint, tmp_path: Path) -> None:
    _queue_during_outage(car)
    assert invoke("config", "set", "notify", "never").code == 0
    calls = stand_in(tmp_path / "bin", "notify-send")
    path = f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}"
    assert run_carctl("queue", "run", env={"PATH": path, "DISPLAY": ":0"}).returncode == 0
    assert recorded(calls) == []
    bad = invoke("config", "set", "notify", "sometimes")
    assert bad.code == 2 and "expected auto, always or never" in bad.output


# -- the next command on a terminal ---------------------------------------------------


def test_the_next_command_on_a_terminal_says_what_arrived_once(car: Endpoint) -> None:
    _queue_during_outage(car)
    assert invoke("queue", "run").code == 0  # as cron would: nobody looked
    assert run_carctl("status").stderr.count("Since you last looked") == 0  # a pipe: not told
    first = run_in_terminal("status")
    assert first.code == 0, first.text
    assert "Since you last looked: climate on for Model 3 delivered at " in first.text
    again = run_in_terminal("status")
    assert "Since you last looked" not in again.text  # told once


def test_an_expiry_is_news_too(car: Endpoint) -> None:
    car.faults(OUTAGE)
    assert invoke("vent", "--expires-in", "1m").code == 75
    wait = invoke("queue", "wait", "--all")  # no worker here: the deadline passes while waiting
    assert wait.code == 1, wait.output
    assert "windows vented for Model 3: expired unsent at " in wait.stdout
    assert "1 of 1 entry not delivered: #1 expired" in wait.output
    car.faults()
    screen = run_in_terminal("queue")
    assert "Since you last looked: windows vented for Model 3 expired unsent at " in screen.text
    assert [c for c in executed(car) if c["name"] == "window_control"] == []


# -- `carctl queue wait` ----------------------------------------------------------------


def test_queue_wait_reports_each_outcome(car: Endpoint) -> None:
    _queue_during_outage(car)
    assert invoke("queue", "run").code == 0
    result = invoke("queue", "wait", "1")
    assert result.code == 0, result.output
    assert result.stdout.startswith("#1 climate on for Model 3: delivered at ")
    data = invoke("--json", "queue", "wait", "1").json()["data"]
    assert [e["status"] for e in data["entries"]] == ["delivered"] and data["pending"] == []


def test_queue_wait_gives_up_at_its_timeout_and_keeps_the_entry(car: Endpoint) -> None:
    car.faults(OUTAGE)
    assert invoke("climate", "on").code == 75
    result = invoke("queue", "wait", "--all", "--timeout", "5s")
    assert result.code == 75, result.output
    assert "1 entry still pending after 5s" in result.output
    assert invoke("--json", "queue").json()["data"]["entries"][0]["status"] == "pending"


def test_queue_wait_bad_input() -> None:
    both = invoke("queue", "wait", "3", "--all")
    assert both.code == 2 and "give entry IDs or --all" in both.output
    unknown = invoke("queue", "wait", "42")
    assert unknown.code == 1 and "there is no queue entry #42" in unknown.output
    bad = invoke("queue", "wait", "--all", "--timeout", "soon")
    assert bad.code == 2 and "--timeout 'soon' is not a duration" in bad.output
    empty = invoke("queue", "wait", "--all")
    assert empty.code == 0 and "Nothing was pending." in empty.stdout


def test_the_queued_message_speaks_local_time(car: Endpoint) -> None:
    """The deadline in "until HH:MM" is the owner's clock, not UTC."""
    import re
    import time

    car.faults(OUTAGE)
    result = run_carctl("climate", "on", "--expires-in", "30m", env={"TZ": "KST-9"})
    assert result.returncode == 75, result.stderr
    until = re.search(r"until (\d\d:\d\d)", result.stderr)
    assert until, result.stderr
    expires = invoke("--json", "queue").json()["data"]["entries"][0]["expires_at"]
    from datetime import datetime, timedelta, timezone

    moment = datetime.fromisoformat(expires.replace("Z", "+00:00"))
    seoul = moment.astimezone(timezone(timedelta(hours=9))).strftime("%H:%M")
    assert until.group(1) == seoul, (until.group(1), seoul, time.tzname)


def test_queue_wait_says_so_when_an_entry_vanishes(
    car: Endpoint,
    carctl_home: Path,
    fast_clock: type,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The state file replaced or edited while a script waits: exit 1, never a hang."""
    import sqlite3

    car.faults(OUTAGE)
    assert invoke("climate", "on").code == 75
    original = fast_clock.sleep

    def sleep(self: object, seconds: float) -> None:
        with sqlite3.connect(carctl_home / "state" / "state.db") as db:
            db.execute("DELETE FROM queue WHERE id = 1")
        original(self, seconds)

    monkeypatch.setattr(fast_clock, "sleep", sleep)
    result = invoke("queue", "wait", "1")
    assert result.code == 1, result.output
    assert "warning: entry #1 is no longer in the queue" in result.stderr
    assert "1 of 1 entry not delivered: #1 no longer in the queue" in result.stderr
