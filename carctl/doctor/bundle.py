"""`carctl doctor --bundle FILE`: a zip support can read, with no secret in it.

Everything written is redacted (tokens, passwords, Authorization headers,
e-mail local parts, and positions rounded to about 1 km), and then the zip is
searched for the user's actual tokens: if one were found, the file would be
deleted and the command would fail rather than hand it out.
"""

from __future__ import annotations

import json
import platform
import re
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from carctl import __version__
from carctl.errors import CannotWriteError, InternalError, UsageError
from carctl.logs import redact as redact_tokens

if TYPE_CHECKING:
    from carctl.stack import Stack

LOG_LINES = 1000
REQUEST_ROWS = 500
_EMAIL = re.compile(r"[\w.+-]+@([\w-]+(?:\.[\w-]+)+)")
_POSITION = re.compile(
    r"""(?ix)
    (["']?(?:lat|latitude|lon|long|longitude|native_latitude|native_longitude)["']?\s*[:=]\s*)
    (-?\d{1,3}\.\d+)
    """
)


def redact(text: str) -> str:
    text = redact_tokens(text)
    text = _EMAIL.sub(r"…@\1", text)
    return _POSITION.sub(lambda m: f"{m.group(1)}{round(float(m.group(2)), 2)}", text)


def _tail(path: Path, lines: int) -> str:
    if not path.exists():
        return ""
    content = path.read_text(encoding="utf-8", errors="replace").splitlines()
    return "\n".join(content[-lines:]) + "\n"


def _rows(stack: Stack) -> list[dict[str, Any]]:
    if not stack.paths.state_db.exists():
        return []
    return [vars(row) for row in stack.request_log.recent(None, limit=REQUEST_ROWS)]


def _queue(stack: Stack) -> list[dict[str, Any]]:
    if not stack.paths.state_db.exists():
        return []
    try:
        return [e.to_json() for e in stack.queue.entries(include_finished=True, limit=500)]
    except Exception as exc:  # a damaged database is itself worth reporting
        return [{"error": f"{type(exc).__name__}: {exc}"}]


def check_target(target: Path) -> None:
    """The bundle goes where the owner said, into a directory that exists: carctl makes
    no directories outside its own (a typo would leave one behind)."""
    if target.exists() and target.is_dir():
        raise UsageError(f"{target} is a directory", hint="give a file name, e.g. report.zip")
    parent = target.parent
    if not parent.is_dir():
        raise CannotWriteError(
            f"cannot write to {parent}: no such directory",
            hint=f"make it first (mkdir -p {parent}), or give another place for the bundle",
        )


def write_bundle(
    target: Path,
    *,
    report: dict[str, Any],
    settings: dict[str, Any] | None,
    stack: Stack,
    secrets: Iterable[str],
) -> list[str]:
    """Write the zip; return the names of its files."""
    check_target(target)
    files = {
        "README.txt": (
            "carctl support bundle. Redacted: tokens, passwords, Authorization headers, "
            "e-mail local parts; positions rounded to about 1 km.\n"
        ),
        "doctor.json": json.dumps(report, indent=2, default=str),
        "config.json": json.dumps(settings or {"error": "the config did not load"}, indent=2),
        "request_log.json": json.dumps(_rows(stack), indent=2, default=str),
        "queue.json": json.dumps(_queue(stack), indent=2, default=str),
        "carctl.log": _tail(stack.paths.log_file, LOG_LINES),
        "versions.json": json.dumps(
            {
                "carctl": __version__,
                "python": platform.python_version(),
                "platform": platform.platform(),
            },
            indent=2,
        ),
    }
    try:
        with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for name, content in files.items():
                archive.writestr(name, redact(content))
    except OSError as exc:
        raise UsageError(f"cannot write {target}: {exc.strerror or exc}") from None
    _verify(target, [s for s in secrets if s and len(s) >= 8])
    return list(files)


def _verify(target: Path, secrets: list[str]) -> None:
    with zipfile.ZipFile(target) as archive:
        for name in archive.namelist():
            content = archive.read(name)
            if any(secret.encode() in content for secret in secrets):
                target.unlink(missing_ok=True)
                raise InternalError(
                    f"a secret was found in {name} after redaction; the bundle was deleted",
                    hint="this is a bug in carctl: please report it (without the bundle)",
                )
