"""A full disk: the session survives a renewal, writes say exit 73 naming the directory,
and a queued send is never rolled back to "pending" after it went out."""

from __future__ import annotations

import asyncio
import errno
import json
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Served, invoke, sign_in
from tests.reliability.test_files import run_limited

LIMIT = 4096  # room for the session (about 2 KB), none for the state database to grow


@pytest.fixture
def signed_in(served: Served, monkeypatch: pytest.MonkeyPatch, carctl_home: Path) -> Served:
    monkeypatch.setenv("CARCTL_API_URL", served.url)
    sign_in()
    assert invoke("config", "set", "vehicle", "Model Y").code == 0
    return served


def refreshes(served: Served) -> int:
    rows = served.admin("GET", "/__mock__/stats")["requests"]
    return sum(r["count"] for r in rows if r["path"] == "/oauth2/v3/token" and r["status"] == 200)


def expire_access_token(carctl_home: Path) -> None:
    path = carctl_home / "state" / "credentials.json"
    data = json.loads(path.read_text())
    for entry in data["entries"].values():
        entry["expires_at"] = 0
    path.write_text(json.dumps(data))


@pytest.fixture
def small_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """CARCTL_HOME on a real 8 MiB file system (tmpfs) that a test can fill to the last byte.

    Needs root and `mount`, as CI has: without them this test fails, it is not skipped."""
    disk = tmp_path / "disk"
    disk.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(disk)], check=True)
    monkeypatch.setenv("CARCTL_HOME", str(disk / "home"))
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def fill(disk: Path) -> Path:
    """Take every free byte of the file system."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        for size in (64 * 1024, 4096, 512, 1):
            try:
                while True:
                    os.write(fd, bytes(size))
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
    finally:
        os.close(fd)
    return filler


@pytest.fixture
def small_home(served: Served, small_disk: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Signed in to the served mock, with a home on the small disk that has seen a run."""
    monkeypatch.setenv("CARCTL_API_URL", served.url)
    sign_in()
    assert invoke("--json", "status", "--vehicle", "Model Y").code == 0
    return small_disk / "home"


def test_a_renewal_on_a_full_disk_keeps_the_session(
    served: Served, small_disk: Path, small_home: Path
) -> None:
    home = small_home
    expire_access_token(home)
    before = refreshes(served)
    filler = fill(small_disk)

    full = invoke("--json", "--no-worker", "status", "--vehicle", "Model Y")

    assert refreshes(served) == before + 1, full.output  # the server rotated the tokens
    # the reserve beside the state was given up, and carried the run through
    assert full.code == 0, full.output
    assert not (home / "state" / ".space-reserve").exists()
    filler.unlink()
    again = invoke("--json", "status", "--vehicle", "Model Y")
    assert again.code == 0, again.output  # still signed in: the new pair was kept
    assert refreshes(served) == before + 1  # with no renewal needed
    assert (home / "state" / ".space-reserve").stat().st_size == 256 * 1024  # kept again


def test_a_full_disk_without_reserve_is_exit_73_naming_the_directory(
    small_disk: Path, small_home: Path
) -> None:
    home = small_home
    (home / "state" / ".space-reserve").unlink()
    fill(small_disk)
    full = invoke("--json", "--no-worker", "climate", "on", "--vehicle", "Model Y")
    assert full.code == 73, full.output
    message = full.json()["error"]["message"]
    assert message.startswith(f"cannot write to {home / 'state'}: the disk is full"), message


def test_a_send_on_a_disk_that_fills_meanwhile_is_recorded_once(
    served: Served, small_disk: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The disk fills while the command is on the wire: its outcome is still recorded."""
    home = small_disk / "home"
    monkeypatch.setenv("CARCTL_API_URL", served.url)
    sign_in()
    served.admin("PUT", "/__mock__/faults", json={"rules": [{"status": 500, "path": "/api/1/*"}]})
    queued = invoke("--json", "--no-worker", "--vehicle", "Model Y", "climate", "on")
    assert queued.code == 75, queued.output
    (entry_id,) = queued.json()["queued"]["ids"]
    slow = {"path": "/api/1/vehicles/*/command/*", "latency": 1.5, "count": 1}
    served.admin("PUT", "/__mock__/faults", json={"rules": [slow]})
    with sqlite3.connect(home / "state" / "state.db") as db:
        db.execute("DELETE FROM api_health")

    async def real_sleep(seconds: float) -> None:
        await asyncio.sleep(seconds)

    served.clock.sleep = real_sleep  # type: ignore[method-assign]
    try:
        runner = subprocess.Popen(
            [sys.executable, "-m", "carctl", "--json", "queue", "run"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 30
        while not served.admin("GET", "/__mock__/faults")["rules"][0]["fired"]:
            assert time.monotonic() < deadline, "the command never went out"
            time.sleep(0.02)
        filler = fill(small_disk)  # the disk fills while the answer is on its way
        out, err = runner.communicate(timeout=60)
    finally:
        del served.clock.sleep  # type: ignore[attr-defined]
    assert "Traceback" not in err and "rollback" not in err, err
    assert runner.returncode in (0, 73), out + err
    filler.unlink()
    executed = list(served.admin("GET", "/__mock__/stats")["commands"])
    assert [c["name"] for c in executed] == ["auto_conditioning_start"]
    with sqlite3.connect(home / "state" / "state.db") as db:
        (status,) = db.execute("SELECT status FROM queue WHERE id = ?", (entry_id,)).fetchone()
    assert status == "delivered"
    again = invoke("--json", "queue", "run")
    assert again.code == 0, again.output
    assert len(served.admin("GET", "/__mock__/stats")["commands"]) == 1


@pytest.mark.parametrize(
    ("args", "limit"),
    [
        (("config", "set", "units", "imperial"), 16),  # the config file cannot be written
        (("auth", "login", "--email", "owner@example.com", "--password-stdin"), 512),
    ],
)
def test_writes_on_a_full_disk_are_exit_73(
    signed_in: Served, args: tuple[str, ...], limit: int
) -> None:
    full = run_limited(*args, max_file_bytes=limit, input="ventilate-0600\n")
    assert full.returncode == 73, full.stderr
    assert full.stderr.startswith("error: cannot write"), full.stderr
    assert "Traceback" not in full.stderr
