"""Damaged, misplaced and full: carctl's files under hostile conditions."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

from tests.conftest import Endpoint, invoke


def run_limited(
    *args: str, max_file_bytes: int, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    """carctl as a process that cannot grow any file past `max_file_bytes` (a full disk)."""

    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (max_file_bytes, max_file_bytes))

    # a process that cannot write a file cannot write coverage data either: not measured
    env = {k: v for k, v in os.environ.items() if not k.startswith("COVERAGE_")}
    return subprocess.run(
        [sys.executable, "-m", "carctl", *args],
        env=env,
        preexec_fn=limit,
        input=input,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_full_disk_keeps_queued_commands(car: Endpoint, carctl_home: Path) -> None:
    car.faults({"status": 500, "path": "/api/1/*"})
    assert invoke("vent").code == 75  # one entry waits in the queue
    full = run_limited("climate", "on", max_file_bytes=1024)
    assert full.returncode == 73, full.stderr
    assert f"cannot write to {carctl_home / 'state'}: the disk is full" in full.stderr
    assert "free some space" in full.stderr
    assert "move it aside" not in full.stderr  # never advise throwing the queue away
    assert "Traceback" not in full.stderr and "Logging error" not in full.stderr
    listing = invoke("--json", "queue")
    assert [e["command"] for e in listing.json()["data"]["entries"]] == ["window_control"]


def test_a_truncated_state_database(car: Endpoint, carctl_home: Path) -> None:
    db = carctl_home / "state" / "state.db"
    for suffix in ("-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    data = db.read_bytes()
    db.write_bytes(data[: len(data) // 3])
    result = invoke("climate", "on")
    assert result.code == 78, result.output
    assert str(db) in result.stderr and "Traceback" not in result.output
    doctor = invoke("doctor", "state")
    assert doctor.code == 1 and f"mv {db} {db}.broken" in doctor.stdout


def test_a_file_where_the_state_directory_should_be(carctl_home: Path) -> None:
    carctl_home.mkdir(parents=True, exist_ok=True)
    (carctl_home / "state").write_text("not a directory")
    result = invoke("vehicles")
    assert result.code in (77, 78), result.output
    assert "Traceback" not in result.output
    assert result.stderr.startswith("error: ")


def test_a_directory_where_the_config_file_should_be(carctl_home: Path) -> None:
    (carctl_home / "config" / "config.toml").mkdir(parents=True)
    result = invoke("status")
    assert result.code == 78
    assert "is a directory, not a config file" in result.stderr
    assert "mv " in result.stderr
