"""What the headline command loads: only what its work needs (issue: faster than the peers).

Speed is measured in `benchmarks/peers.py`, never asserted here; what is
asserted is the cause of slowness that a change could bring back unnoticed: a
heavy module imported by a command that does not use it. Each test runs carctl
as a real process against the served mock and lists, at exit, which of the
modules below that process had loaded.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import Served, invoke, sign_in

HEAVY = (
    "rich",  # drawing for a person: a pipe or --json draws nothing
    "pygments",  # httpx's own command line pulls it in
    "keyring",  # no usable backend here (remembered), and the session is in the file
    "carctl.mock",  # the served mock is another process
    "starlette",
)
PROBE = """
import atexit, json, sys
def report():
    cli = sys.modules.get("httpx._main")
    loaded = [m for m in {heavy!r} if m in sys.modules]
    if cli is not None and getattr(cli, "__file__", None):
        loaded.append("httpx._main")
    print(json.dumps(loaded), file=sys.stderr)
atexit.register(report)
from carctl.cli import main
main({argv!r})
"""


def loaded_by(home: Path, *argv: str) -> tuple[int, list[str], str]:
    """Run carctl as a machine without a keyring service would, once it has looked."""
    (home / "state" / "keyring-backend.json").write_text(
        json.dumps({"backend": None, "reason": "no usable keyring backend", "at": time.time()})
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    env.pop("PYTHON_KEYRING_BACKEND")  # the user's own keyring is still never reached
    program = PROBE.format(heavy=HEAVY, argv=list(argv))
    result = subprocess.run(
        [sys.executable, "-c", program],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    return result.returncode, json.loads(result.stderr.strip().splitlines()[-1]), result.stdout


@pytest.fixture
def served_car(served: Served, monkeypatch: pytest.MonkeyPatch) -> Served:
    """Signed in to the served mock (another process's view: HTTP on loopback)."""
    monkeypatch.setenv("CARCTL_API_URL", served.url)
    sign_in()
    assert invoke("config", "set", "vehicle", "Model 3").code == 0
    return served


def test_climate_on_for_a_script_loads_nothing_it_does_not_use(
    served_car: Served, carctl_home: Path
) -> None:
    code, loaded, stdout = loaded_by(carctl_home, "--json", "climate", "on")
    assert code == 0, stdout
    assert json.loads(stdout)["ok"] is True
    executed = served_car.admin("GET", "/__mock__/stats")["commands"]
    assert [c["name"] for c in executed] == ["auto_conditioning_start"]
    assert loaded == []
