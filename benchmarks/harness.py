"""What the process benchmarks share: a served mock, a signed-in home, a timed run.

`peers.py` measures whole processes the way an owner's shell runs them: a
fresh interpreter each time, wall time from fork to exit, peak RSS from GNU
time (`/usr/bin/time -f %M`), against one `carctl mock serve` on loopback with
the car awake.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

PYTHON = sys.executable
CARCTL = str(Path(PYTHON).parent / "carctl")
GNU_TIME = "/usr/bin/time"
OWNER, PASSWORD = "owner@example.com", "ventilate-0600"


@dataclass
class Runs:
    """One program's runs: wall times (ms) and peak RSS (MiB), in run order."""

    ms: list[float] = field(default_factory=list)
    rss: list[float] = field(default_factory=list)

    @property
    def median_ms(self) -> float:
        return statistics.median(self.ms)

    @property
    def median_rss(self) -> float:
        return statistics.median(self.rss)

    @property
    def spread(self) -> str:
        return f"{min(self.ms):.0f}–{max(self.ms):.0f}"


def run_once(argv: list[str], env: dict[str, str], runs: Runs) -> None:
    """Run `argv` once as a fresh process; record its wall time and peak RSS.

    Without GNU time the RSS comes from wait4's rusage, which also counts what
    this process held when it forked: the table says so.
    """
    use_time = Path(GNU_TIME).exists()
    command = [GNU_TIME, "-f", "%M", *argv] if use_time else argv
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    assert process.stderr is not None
    errors = process.stderr.read().decode()
    process.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(argv)} failed: {errors}")
    runs.ms.append(elapsed * 1000)
    kib = int(errors.strip().splitlines()[-1]) if use_time else usage.ru_maxrss
    runs.rss.append(kib / 1024)


def measure(argv: list[str], env: dict[str, str], count: int) -> Runs:
    runs = Runs()
    for _ in range(count):
        run_once(argv, env, runs)
    return runs


def admin(url: str, method: str, path: str, body: object | None = None) -> object:
    request = urllib.request.Request(  # noqa: S310 - the mock we started, on loopback
        url + path,
        data=None if body is None else json.dumps(body).encode(),
        method=method,
        headers={"content-type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - loopback
        return json.loads(response.read() or b"null")


@dataclass
class Bench:
    """A served mock with both cars awake and a carctl home signed in to it."""

    url: str
    env: dict[str, str]
    home: str


@contextmanager
def served_and_signed_in(vehicle: str = "Model Y") -> Iterator[Bench]:
    home = tempfile.mkdtemp(prefix="carctl-bench-")
    env = {**os.environ, "CARCTL_HOME": home, "CI": "1"}
    env.pop("CARCTL_API_URL", None)
    server = subprocess.Popen(
        [CARCTL, "mock", "serve", "--port", "0", "--admin"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None and server.stderr is not None
    line = server.stdout.readline()
    if "http://" not in line:
        raise SystemExit(f"the mock did not start: {line}{server.stderr.read()}")
    url = line.rsplit(" ", 1)[1].strip()
    try:
        for car in ("1492931337131", "1492931337242"):
            admin(
                url, "PATCH", f"/__mock__/vehicles/{car}", {"state": "online", "idle_sleep": 86400}
            )
        env["CARCTL_API_URL"] = url
        subprocess.run(
            [CARCTL, "auth", "login", "--email", OWNER, "--password-stdin"],
            input=PASSWORD.encode(),
            env=env,
            check=True,
            capture_output=True,
        )
        subprocess.run(
            [CARCTL, "config", "set", "vehicle", vehicle], env=env, check=True, capture_output=True
        )
        subprocess.run([CARCTL, "vehicles"], env=env, check=True, capture_output=True)
        yield Bench(url=url, env=env, home=home)
    finally:
        server.terminate()
        server.wait(timeout=10)
