"""Shell completion: the committed scripts, and real shells completing carctl.

Each shell runs its own completion machinery on the committed script: bash
calls the completion function as readline would, fish asks its completion
engine (`complete -C`), and zsh is an interactive shell in a pseudo-terminal
where a Tab is pressed (compinit, `_describe` and `compadd` are zsh's own).
A shell that is not installed fails its tests: it never quietly drops them.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from carctl.cli.completion import FILES, SHELLS, script
from tests.conftest import Endpoint, invoke

ROOT = Path(__file__).resolve().parents[2]
BIN = str(Path(sys.executable).parent)


def needs(shell: str) -> None:
    """A shell the test drives: missing, it is said by name — a failure under CI (which
    installs it), a skip with that note on a developer's machine (README: the full suite)."""
    if shutil.which(shell):
        return
    message = f"{shell} is not installed: its completion tests need it (apt-get install {shell})"
    if os.environ.get("CI"):
        pytest.fail(message + "; CI installs it")
    pytest.skip(message)


@pytest.mark.parametrize("shell", SHELLS)
def test_committed_scripts_are_what_the_app_generates(shell: str) -> None:
    committed = (ROOT / "completions" / FILES[shell]).read_text()
    assert committed == script(shell), (
        f"completions/{FILES[shell]} is stale: regenerate with "
        "`for s in bash zsh fish; do carctl completion $s > completions/$(…); done` (docs/guide.md)"
    )
    printed = invoke("completion", shell)
    assert printed.code == 0 and printed.stdout == committed


def complete(shell: str, words: list[str], env: dict[str, str] | None = None) -> list[str]:
    """What a real shell offers after `words` (the last one being completed)."""
    needs(shell)
    path = ROOT / "completions" / FILES[shell]
    quoted = " ".join(f"'{w}'" for w in words)
    if shell == "zsh":
        return zsh_complete(path, words, env)
    if shell == "bash":
        program = (
            f"source {path}; COMP_WORDS=({quoted}); COMP_CWORD={len(words) - 1}; "
            '_carctl_completion carctl; printf "%s\\n" "${COMPREPLY[@]}"'
        )
        argv = ["bash", "-c", program]
    else:
        line = " ".join(words)
        argv = ["fish", "--no-config", "-c", f"source {path}; complete -C '{line}'"]
    full_env = {**os.environ, **(env or {}), "PATH": BIN + os.pathsep + os.environ["PATH"]}
    result = subprocess.run(argv, capture_output=True, text=True, env=full_env, timeout=30)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    return [line.split("\t")[0] for line in result.stdout.splitlines() if line]


def zsh_complete(path: Path, words: list[str], env: dict[str, str] | None) -> list[str]:
    """Type `words` and a Tab into an interactive zsh; what it completed or listed.

    Each Tab is followed by Ctrl-X, bound to print the line as it stands between
    markers. zsh reads keys in order and completes before it reads the next one, so
    everything printed before the marker is what the Tab produced, however slowly
    carctl answered: the test waits for the marker, never for a quiet moment.
    """
    import fcntl
    import pty
    import select
    import struct
    import termios
    import time

    main, child = pty.openpty()
    fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", 60, 24, 0, 0))  # one per line
    full_env = {**os.environ, **(env or {}), "TERM": "dumb"}
    full_env["PATH"] = BIN + os.pathsep + os.environ["PATH"]
    shell = subprocess.Popen(
        ["zsh", "-f", "-i"],
        stdin=child,
        stdout=child,
        stderr=child,
        env=full_env,
        start_new_session=True,
        close_fds=True,
    )
    os.close(child)

    def read(until: str, limit_s: float = 30) -> str:
        out, end = "", time.monotonic() + limit_s
        while until not in out:
            if time.monotonic() > end:
                raise AssertionError(f"zsh never printed {until!r}; it printed {out!r}")
            if select.select([main], [], [], 0.05)[0]:
                try:
                    out += os.read(main, 65536).decode(errors="replace")
                except OSError:
                    break
        return out

    def tab() -> tuple[str, str]:
        """Press Tab, then Ctrl-X; what the Tab printed, and the line after it."""
        os.write(main, b"\t\x18")
        shown, _, rest = read(until="BUF>\r\n").partition("\r\n<BUF")
        return shown, rest.split("BUF>\r\n", 1)[0]

    try:
        setup = (
            f"PS1='> '; autoload -U compinit; compinit -u; source {path}; "
            "dump() { print -r -- $'\\n'\"<BUF$BUFFER\"'BUF>' }; zle -N dump; bindkey '^X' dump; "
            "print READ''Y"
        )
        os.write(main, (setup + "\n").encode())
        read(until="READY\r\n")
        typed = " ".join(words)
        os.write(main, typed.encode())
        shown, buffer = tab()
        if not listing(shown) and buffer != typed and not ended(buffer):
            shown, buffer = tab()  # a common prefix went in: the second Tab lists the rest
    finally:
        shell.kill()
        shell.wait()
        os.close(main)
    listed = listing(shown)
    if listed:
        return listed
    if buffer != typed and ended(buffer):  # one match: zsh put it on the line
        return [shlex.split(buffer)[-1]]
    return []


def ended(buffer: str) -> bool:
    """Did zsh finish a word (a space after it that is not an escaped one)?"""
    return buffer.endswith(" ") and not buffer.endswith("\\ ")


def listing(shown: str) -> list[str]:
    """The candidates zsh listed under the line, one per row (the terminal is narrow)."""
    rows = shown.replace("\r", "").split("\n")[1:]
    editor = ("> ", "<")  # the prompt, and a line too long for the terminal, redrawn
    return [
        row.split("  ")[0].strip() for row in rows if row.strip() and not row.startswith(editor)
    ]


@pytest.mark.parametrize("shell", SHELLS)
def test_commands_and_subcommands(shell: str) -> None:
    assert complete(shell, ["carctl", "cl"]) == ["climate"]
    assert complete(shell, ["carctl", "climate", "o"]) == ["off", "on"]
    assert "worker" in complete(shell, ["carctl", "queue", ""])
    assert complete(shell, ["carctl", "doctor", "ne"]) == ["network"]


@pytest.mark.parametrize("shell", SHELLS)
def test_vehicle_names_come_from_the_cache_without_network_or_keyring(
    shell: str,
    car: Endpoint,
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


def test_profiles_and_queue_ids(car: Endpoint) -> None:
    assert invoke("--profile", "work", "config", "set", "units", "metric").code == 0
    assert complete("bash", ["carctl", "--profile", ""]) == ["default", "work"]
    car.faults({"status": 500, "path": "/api/1/*"})
    assert invoke("vent").code == 75
    assert complete("bash", ["carctl", "queue", "cancel", ""]) == ["1"]
    assert complete("bash", ["carctl", "queue", "show", "1"]) == ["1"]


def test_schedule_days_and_ids(car: Endpoint) -> None:
    assert complete("bash", ["carctl", "schedule", "set", "06:30", "--days", "we"]) == [
        "weekdays",
        "weekends",
        "wed",
    ]
    assert complete("bash", ["carctl", "schedule", "set", "06:30", "--days", "mon,t"]) == [
        "mon,tue",
        "mon,thu",
    ]
    assert complete("bash", ["carctl", "schedule", "off", ""]) == []  # never read yet
    assert invoke("schedule", "set", "06:30", "--days", "weekdays").code == 0
    assert invoke("schedule", "set", "09:00", "--days", "sat").code == 0
    assert complete("bash", ["carctl", "schedule", "off", ""]) == ["1", "2"]


def test_the_readme_completion_lines_work_in_a_fresh_home(tmp_path: Path) -> None:
    """Each line as the README writes it, in a home that has none of the directories."""
    readme = (ROOT / "README.md").read_text()
    block = readme.split("## Shell completion", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    lines = [line.split("   #", 1)[0] for line in block.strip().splitlines()]
    assert len(lines) == 3
    home = tmp_path / "fresh-home"
    home.mkdir()
    env = {**os.environ, "HOME": str(home), "PATH": f"{BIN}:{os.environ['PATH']}"}
    for line in lines:
        ran = subprocess.run(
            ["bash", "-c", line], env=env, capture_output=True, text=True, timeout=60, check=False
        )
        assert ran.returncode == 0, (line, ran.stderr)
    for written in (
        ".local/share/bash-completion/completions/carctl",
        ".zfunc/_carctl",
        ".config/fish/completions/carctl.fish",
    ):
        assert (home / written).stat().st_size > 100, written
