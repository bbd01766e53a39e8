"""The background worker runs carctl and nothing else: not the caller's directory, not its env."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import Served, sign_in

MY = "1492931337242"
HOSTILE = """\
import os, pathlib
pathlib.Path(os.environ.get("MARKER_DIR", "/tmp")).joinpath("{name}-ran").write_text("pwned")
raise SystemExit(3)
"""


def console_script() -> str:
    """The installed `carctl` command, as owners run it (not `python -m`, which reads the cwd)."""
    script = Path(sys.executable).with_name("carctl")
    assert script.exists(), f"carctl is not installed next to {sys.executable}"
    return str(script)


def test_the_worker_ignores_the_callers_directory_and_environment(
    served: Served, monkeypatch: pytest.MonkeyPatch, carctl_home: Path, tmp_path: Path
) -> None:
    monkeypatch.setenv("CARCTL_API_URL", served.url)
    served.admin("PATCH", f"/__mock__/vehicles/{MY}", json={"state": "online"})
    sign_in()
    hostile = tmp_path / "downloads"
    hostile.mkdir()
    markers = tmp_path / "markers"
    markers.mkdir()
    for name in ("carctl", "random", "json", "sqlite3", "httpx", "click"):
        (hostile / f"{name}.py").write_text(HOSTILE.format(name=name))
    (hostile / "carctl").mkdir()  # a package that would shadow carctl itself
    (hostile / "carctl" / "__init__.py").write_text(HOSTILE.format(name="carctl-package"))
    (hostile / "sitecustomize.py").write_text(HOSTILE.format(name="sitecustomize"))

    served.admin("PUT", "/__mock__/faults", json={"rules": [{"status": 500, "path": "/api/1/*"}]})
    env = {k: v for k, v in os.environ.items() if k != "CI"}  # let carctl start its worker
    env["MARKER_DIR"] = str(markers)
    queued = subprocess.run(
        [console_script(), "--vehicle", "Model Y", "climate", "on"],
        cwd=hostile,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert queued.returncode == 75, queued.stderr
    assert "next: sent on recovery until " in queued.stderr
    served.admin("DELETE", "/__mock__/faults")
    with sqlite3.connect(carctl_home / "state" / "state.db") as db:
        db.execute("DELETE FROM api_health")

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        executed = [c["name"] for c in served.admin("GET", "/__mock__/stats")["commands"]]
        if executed:
            break
        time.sleep(0.2)
    assert executed == ["auto_conditioning_start"], "the worker never delivered"
    assert sorted(p.name for p in markers.iterdir()) == []  # no hostile module ran
    lock = carctl_home / "state" / "worker.lock"
    assert lock.exists()


def test_the_worker_gets_only_the_environment_carctl_needs() -> None:
    from carctl.delivery.worker import worker_env

    env = {
        "HOME": "/home/owner",
        "PATH": "/usr/bin",
        "CARCTL_HOME": "/tmp/h",
        "LC_ALL": "ko_KR.UTF-8",
        "HTTPS_PROXY": "http://proxy:3128",
        "PYTHONPATH": "/tmp/downloads",
        "PYTHONSTARTUP": "/tmp/downloads/x.py",
        "LD_PRELOAD": "/tmp/evil.so",
        "AWS_SECRET_ACCESS_KEY": "not for the worker",
    }
    assert worker_env(env) == {
        "HOME": "/home/owner",
        "PATH": "/usr/bin",
        "CARCTL_HOME": "/tmp/h",
        "LC_ALL": "ko_KR.UTF-8",
        "HTTPS_PROXY": "http://proxy:3128",
    }
