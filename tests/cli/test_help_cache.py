"""`carctl --help` from the kept screen: click's own, byte for byte, and kept fresh."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import carctl
from carctl import help_cache

ROOT = Path(__file__).resolve().parents[2]
ENTRY = """
import atexit, json, sys
atexit.register(lambda: print(json.dumps("click" in sys.modules), file=sys.stderr))
sys.argv = ["carctl", *sys.argv[1:]]
from carctl.entry import main
main()
"""
CLICK = "import sys; from carctl.cli import main; main(sys.argv[1:])"


def run(program: str, *args: str, columns: str, home: Path) -> tuple[str, bool | None]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": columns, "CARCTL_HOME": str(home)}
    ran = subprocess.run(
        [sys.executable, "-c", program, *args], env=env, capture_output=True, text=True, timeout=60
    )
    assert ran.returncode == 0, ran.stderr
    loaded = json.loads(ran.stderr.splitlines()[-1]) if ran.stderr.strip() else None
    return ran.stdout, loaded


@pytest.mark.parametrize("columns", ["80", "60"])
def test_the_kept_screen_is_clicks_and_needs_no_click(columns: str, tmp_path: Path) -> None:
    clicks, _ = run(CLICK, "--help", columns=columns, home=tmp_path)
    first, loaded_first = run(ENTRY, "--help", columns=columns, home=tmp_path)
    again, loaded_again = run(ENTRY, "-h", columns=columns, home=tmp_path)
    assert first == again == clicks
    assert clicks.startswith("Usage: carctl [OPTIONS] COMMAND [ARGS]...")
    assert (loaded_first, loaded_again) == (True, False)  # click wrote it once, then kept
    assert len(list((tmp_path / "state" / "help").iterdir())) == 1


def test_a_narrower_terminal_or_another_version_gets_clicks_screen_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {"CARCTL_HOME": str(tmp_path), "COLUMNS": "80"}
    wide = help_cache._path(env)
    assert help_cache._path({**env, "COLUMNS": "60"}) != wide
    monkeypatch.setattr(carctl, "__version__", "9.9.9")
    upgraded = help_cache._path(env)
    assert upgraded != wide
    help_cache.keep(env, "old screen\n")
    monkeypatch.setattr(carctl, "__version__", "10.0.0")
    help_cache.keep(env, "new screen\n")
    shown: list[str] = []
    assert help_cache.show(["--help"], env, shown.append) and shown == ["new screen\n"]
    assert [p.name for p in (tmp_path / "state" / "help").iterdir()] == [
        help_cache._path(env).name
    ]  # the earlier install's screen is gone


def test_a_home_that_cannot_keep_it_still_gets_the_screen(tmp_path: Path) -> None:
    (tmp_path / "state").write_text("a file where the state directory should be")
    screen, loaded = run(ENTRY, "--help", columns="80", home=tmp_path)
    assert screen.startswith("Usage: carctl") and loaded is True
    assert help_cache.show(["--help"], {"CARCTL_HOME": str(tmp_path)}, print) is False
