"""A read-only home: reading still works; writing stops with one line naming the directory.

The home is made read-only by a bind mount in a private mount namespace
(`unshare -m`), so the kernel refuses writes even to root — as on a read-only
file system or a home whose permissions forbid it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import OWNER, PASSWORD, invoke, sign_in


def read_only(home: Path, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
    assert shutil.which("unshare"), "util-linux's unshare is needed for the read-only home"
    script = 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && shift && exec "$@"'
    return subprocess.run(
        [
            "unshare",
            "-m",
            "sh",
            "-c",
            script,
            "sh",
            str(home),
            sys.executable,
            "-m",
            "carctl",
            *args,
        ],
        capture_output=True,
        text=True,
        input=input,
        timeout=60,
        check=False,
    )


@pytest.fixture
def home(carctl_home: Path) -> Path:
    sign_in()
    assert invoke("mock", "fault", "add", "status=500 path=/api/1/*").code == 0
    assert invoke("--vehicle", "Model Y", "vent").code == 75  # one entry in the queue
    probe = read_only(carctl_home, "config", "path")
    assert probe.returncode == 0, f"the read-only mount did not work: {probe.stderr}"
    return carctl_home


def test_reading_still_works(home: Path) -> None:
    for args in (("config", "path"), ("config", "list"), ("config", "get", "units")):
        result = read_only(home, *args)
        assert result.returncode == 0, (args, result.stderr)
    listing = read_only(home, "--json", "queue", "list")
    assert listing.returncode == 0, listing.stderr
    assert [e["command"] for e in json.loads(listing.stdout)["data"]["entries"]] == [
        "window_control"
    ]


@pytest.mark.parametrize(
    "args",
    [
        ("config", "set", "units", "imperial"),
        ("--vehicle", "Model Y", "climate", "on"),
        ("queue", "cancel", "1"),
    ],
)
def test_writing_stops_with_the_directory_and_the_reason(home: Path, args: tuple[str, ...]) -> None:
    result = read_only(home, *args)
    assert result.returncode == 73, result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith(f"error: cannot write to {home}"), lines
    assert "read-only" in lines[0]
    assert lines[1].startswith("hint: carctl keeps its config, state and log there")
    assert "Traceback" not in result.stderr and len(lines) == 2


def test_sign_in_does_not_blame_the_network(home: Path) -> None:
    result = read_only(home, "auth", "login", "--email", OWNER, "--password-stdin", input=PASSWORD)
    assert result.returncode == 73, result.stderr
    assert f"cannot write to {home}" in result.stderr
    assert "network" not in result.stderr and "connection" not in result.stderr


def test_doctor_names_the_cause(home: Path) -> None:
    result = read_only(home, "--json", "doctor", "--offline")
    assert result.returncode == 1, result.stderr
    checks = {c["id"]: c for c in json.loads(result.stdout)["data"]["checks"]}
    assert checks["config"]["status"] == "fail"
    assert f"carctl cannot write to {home}" in checks["config"]["detail"]
    assert "read-only file system" in checks["config"]["detail"]
