"""Shell completion: the committed scripts, and real shells completing carctl."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from carctl.cli.completion import FILES, SHELLS, script
from tests.cli.test_vehicle_cli import car  # noqa: F401 - the `car` fixture
from tests.conftest import Endpoint, invoke

ROOT = Path(__file__).resolve().parents[2]
BIN = str(Path(sys.executable).parent)
INSTALLED = [shell for shell in SHELLS if shutil.which(shell)]


@pytest.mark.parametrize("shell", SHELLS)
def test_committed_scripts_are_what_the_app_generates(shell: str) -> None:
    committed = (ROOT / "completions" / FILES[shell]).read_text()
    assert committed == script(shell), (
        f"completions/{FILES[shell]} is stale: regenerate with "
        "`for s in bash zsh fish; do carctl completion $s > completions/$(…); done` (README)"
    )
    printed = invoke("completion", shell)
    assert printed.code == 0 and printed.stdout == committed


def complete(shell: str, words: list[str], env: dict[str, str] | None = None) -> list[str]:
    """What a real shell offers after `words` (the last one being completed)."""
    path = ROOT / "completions" / FILES[shell]
    quoted = " ".join(f"'{w}'" for w in words)
    if shell == "bash":
        program = (
            f"source {path}; COMP_WORDS=({quoted}); COMP_CWORD={len(words) - 1}; "
            '_carctl_completion carctl; printf "%s\\n" "${COMPREPLY[@]}"'
        )
        argv = ["bash", "-c", program]
    elif shell == "zsh":
        program = (
            "compdef() { :; }; "
            '_describe() { local n=$3; print -l -- "${(@P)n%%:*}"; }; '
            'compadd() { local n=${@[-1]}; print -l -- "${(@P)n}"; }; '
            f"source {path}; words=({quoted}); CURRENT={len(words)}; _carctl_completion"
        )
        argv = ["zsh", "-f", "-c", program]
    else:
        line = " ".join(words)
        argv = ["fish", "--no-config", "-c", f"source {path}; complete -C '{line}'"]
    full_env = {**os.environ, **(env or {}), "PATH": BIN + os.pathsep + os.environ["PATH"]}
    result = subprocess.run(argv, capture_output=True, text=True, env=full_env, timeout=30)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    return [line.split("\t")[0] for line in result.stdout.splitlines() if line]


@pytest.mark.parametrize("shell", INSTALLED)
def test_commands_and_subcommands(shell: str) -> None:
    assert complete(shell, ["carctl", "cl"]) == ["climate"]
    assert complete(shell, ["carctl", "climate", "o"]) == ["off", "on"]
    assert "worker" in complete(shell, ["carctl", "queue", ""])
    assert complete(shell, ["carctl", "doctor", "ne"]) == ["network"]


@pytest.mark.parametrize("shell", INSTALLED)
def test_vehicle_names_come_from_the_cache_without_network_or_keyring(
    shell: str,
    car: Endpoint,  # noqa: F811
    tmp_path: Path,
) -> None:
    assert invoke("vehicles").code == 0  # the cache learns the names
    before = car.admin("GET", "/__mock__/stats")["requests"]
    trap = tmp_path / "keyring-touched"
    env = {
        "PYTHON_KEYRING_BACKEND": "tests.support.keyrings.TrapKeyring",
        "TEST_KEYRING_TRAP": str(trap),
        "PYTHONPATH": str(ROOT),
    }
    names = ["Model\\ 3", "Model\\ Y"] if shell == "bash" else ["Model 3", "Model Y"]
    assert complete(shell, ["carctl", "--vehicle", "Mo"], env) == names
    assert complete(shell, ["carctl", "--vehicle", "7sa"], env) == names[1:]  # by VIN
    assert car.admin("GET", "/__mock__/stats")["requests"] == before  # no network call
    assert not trap.exists()  # and no keyring


def test_profiles_and_queue_ids(car: Endpoint) -> None:  # noqa: F811
    assert invoke("--profile", "work", "config", "set", "units", "metric").code == 0
    assert complete("bash", ["carctl", "--profile", ""]) == ["default", "work"]
    car.faults({"status": 500, "path": "/api/1/*"})
    assert invoke("vent").code == 75
    assert complete("bash", ["carctl", "queue", "cancel", ""]) == ["1"]
    assert complete("bash", ["carctl", "queue", "show", "1"]) == ["1"]
