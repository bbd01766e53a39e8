"""What the headline command loads: only what its work needs.

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

from tests.conftest import OWNER, PASSWORD, Served, invoke, login, run_carctl, sign_in

ROOT = Path(__file__).resolve().parents[1]
HEAVY = (
    "rich",  # drawing for a person: a pipe or --json draws nothing
    "pygments",  # httpx's own command line pulls it in
    "keyring",  # a backend costs tens of ms to import: only when a session is in it
    "asyncio",  # the commands are sequential: no event loop
    "carctl.mock",  # the served mock is another process
    "starlette",
    "cryptography",  # the signed road's keys and ciphers: only for a car that needs them
    "carctl.signing",
    "segno",  # the pairing link's QR code
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
NO_KEYRING = {"backend": None, "reason": "no usable keyring backend"}
TEST_KEYRING = {"backend": "tests.support.keyrings.FileKeyring", "name": "test", "priority": 10}


def loaded_by(
    home: Path, remembered: dict[str, object], *argv: str, env: dict[str, str] | None = None
) -> tuple[int, list[str], str]:
    """Run carctl with the keyring backend its last detection `remembered`, as on a machine
    where it has looked today; the user's own keyring is never reached."""
    (home / "state" / "keyring-backend.json").write_text(
        json.dumps({**remembered, "at": time.time()})
    )
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    full_env.pop("PYTHON_KEYRING_BACKEND")
    program = PROBE.format(heavy=HEAVY, argv=list(argv))
    result = subprocess.run(
        [sys.executable, "-c", program],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=60,
        check=False,
    )
    return result.returncode, json.loads(result.stderr.strip().splitlines()[-1]), result.stdout


@pytest.fixture
def served_car(served: Served, monkeypatch: pytest.MonkeyPatch) -> Served:
    """Signed in to the served mock (another process's view: HTTP on loopback)."""
    monkeypatch.setenv("CARCTL_API_URL", served.url)
    sign_in()  # no keyring in the tests: the session is in the file
    assert invoke("config", "set", "vehicle", "Model 3").code == 0
    return served


def executed(served: Served) -> list[str]:
    return [c["name"] for c in served.admin("GET", "/__mock__/stats")["commands"]]


def test_climate_on_for_a_script_loads_nothing_it_does_not_use(
    served_car: Served, carctl_home: Path
) -> None:
    code, loaded, stdout = loaded_by(carctl_home, NO_KEYRING, "--json", "climate", "on")
    assert code == 0, stdout
    assert json.loads(stdout)["ok"] is True
    assert executed(served_car) == ["auto_conditioning_start"]
    assert loaded == []


def test_climate_on_into_a_pipe_writes_its_lines_without_rich(
    served_car: Served, carctl_home: Path
) -> None:
    """A cron job's `carctl climate on >> log`: the owner's line, and no drawing library."""
    code, loaded, stdout = loaded_by(carctl_home, NO_KEYRING, "climate", "on")
    assert code == 0, stdout
    assert "ok climate on" in stdout.splitlines()
    assert executed(served_car) == ["auto_conditioning_start"]
    assert loaded == []


def test_a_session_in_the_file_leaves_a_working_keyring_unloaded(
    served_car: Served, carctl_home: Path
) -> None:
    code, loaded, stdout = loaded_by(carctl_home, TEST_KEYRING, "--json", "climate", "on")
    assert code == 0, stdout
    assert executed(served_car) == ["auto_conditioning_start"]
    assert loaded == []


def test_a_token_in_the_environment_leaves_the_keyring_unloaded(
    served: Served, carctl_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CARCTL_API_URL", served.url)
    assert invoke("config", "set", "vehicle", "Model 3").code == 0
    (carctl_home / "state").mkdir(parents=True, exist_ok=True)
    with served.client() as client:
        token = login(client)["access_token"]
    code, loaded, stdout = loaded_by(
        carctl_home,
        TEST_KEYRING,
        "--json",
        "climate",
        "on",
        env={"CARCTL_TOKEN": token, "TEST_KEYRING_FILE": str(tmp_path / "test-keyring.json")},
    )
    assert code == 0, stdout
    assert executed(served) == ["auto_conditioning_start"]
    assert loaded == []
    assert not (tmp_path / "test-keyring.json").exists()


def test_a_session_in_the_keyring_is_read_from_it(
    served: Served, carctl_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The control: where the session is in the keyring, the keyring is loaded and used."""
    monkeypatch.setenv("CARCTL_API_URL", served.url)
    store = {"TEST_KEYRING_FILE": str(tmp_path / "test-keyring.json"), "PYTHONPATH": str(ROOT)}
    signed = run_carctl(
        "auth",
        "login",
        "--email",
        OWNER,
        "--password-stdin",
        input=PASSWORD,
        env={"PYTHON_KEYRING_BACKEND": "tests.support.keyrings.FileKeyring", **store},
    )
    assert signed.returncode == 0, signed.stderr
    assert "keyring" in signed.stdout  # kept in the keyring, not in the file
    assert not (carctl_home / "state" / "credentials.json").exists()
    assert invoke("config", "set", "vehicle", "Model 3").code == 0
    code, loaded, stdout = loaded_by(
        carctl_home, TEST_KEYRING, "--json", "climate", "on", env=store
    )
    assert code == 0, stdout
    assert executed(served) == ["auto_conditioning_start"]
    assert loaded == ["keyring"]


def test_completing_a_car_name_loads_no_click(served_car: Served, carctl_home: Path) -> None:
    """A Tab after `--vehicle`: the names from the state database, before click is imported."""
    assert invoke("vehicles").code == 0  # the cache learns the names
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "_CARCTL_COMPLETE": "bash_complete",
        "COMP_WORDS": "carctl --vehicle Mo",
        "COMP_CWORD": "2",
    }
    probe = (
        "import atexit, json, sys\n"
        "atexit.register(lambda: print(json.dumps([m for m in ('click', 'rich', 'httpx')"
        " if m in sys.modules]), file=sys.stderr))\n"
        "from carctl.entry import main\nmain()\n"
    )
    ran = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=60
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.splitlines() == ["plain,Model\\\\ 3", "plain,Model\\\\ Y"]
    assert json.loads(ran.stderr.splitlines()[-1]) == []
    assert executed(served_car) == []  # nothing was asked of the car
