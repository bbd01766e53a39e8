"""`carctl --help`, as click last wrote it, without importing click.

Importing click alone takes longer than the whole help screen may (four times
`python -c pass`). The screen never changes between installs, so the first
`carctl --help` has click write it (`carctl.cli.root_help`) and keeps the text;
later ones print the kept text. It is click's own screen, kept — not a second
help to maintain: the key names everything it depends on (carctl's version,
the command modules' files, click's, the width it was wrapped to), so an
upgrade, an edit or a narrower terminal makes click write it again.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Mapping
from pathlib import Path

HELP_ARGS = (["--help"], ["-h"])


def width(env: Mapping[str, str]) -> int:
    """What click wraps help to: the terminal's columns ($COLUMNS first), at most 80."""
    import shutil

    columns = env.get("COLUMNS", "")
    wide = int(columns) if columns.isdigit() else shutil.get_terminal_size().columns
    return max(min(wide, 80) - 2, 50)


def _fingerprint(env: Mapping[str, str]) -> str:
    import importlib.util

    from carctl import __version__

    parts = [__version__, str(width(env))]
    cli = Path(__file__).parent / "cli"
    for entry in sorted(os.scandir(cli), key=lambda e: e.name):
        if entry.name.endswith(".py"):
            parts.append(f"{entry.name}:{entry.stat().st_mtime_ns}:{entry.stat().st_size}")
    spec = importlib.util.find_spec("click")
    if spec is not None and spec.origin:
        parts.append(f"click:{Path(spec.origin).stat().st_mtime_ns}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def _path(env: Mapping[str, str]) -> Path:
    from carctl.paths import resolve_paths

    return resolve_paths(env).state_dir / "help" / f"{_fingerprint(env)}.txt"


def show(argv: list[str], env: Mapping[str, str], write: Callable[[str], object]) -> bool:
    """Print the kept screen for `carctl --help`; False when there is none (click's turn)."""
    if argv not in HELP_ARGS:
        return False
    try:
        text = _path(env).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    write(text)
    return True


def keep(env: Mapping[str, str], text: str) -> None:
    """Keep click's screen for the next `carctl --help`; a home that cannot take it is fine."""
    from carctl.files import private_dir, write_private

    try:
        path = _path(env)
        private_dir(path.parent)
        for old in path.parent.glob("*.txt"):  # an earlier install's screen
            if old != path:
                old.unlink(missing_ok=True)
        write_private(path, text)
    except Exception:  # the screen is printed either way; keeping it is a bonus
        return
