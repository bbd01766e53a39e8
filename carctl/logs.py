"""The log file: rotating, and redacted before anything is written.

Tracebacks go here, never to the console. Redaction is applied to every record
so that a token that slips into a message cannot reach the disk.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

_SECRET_SHAPES = (
    (r"(?i)(bearer\s+)[^\s\"',;]+", r"\1[redacted]"),
    (r"eyJ[\w-]{4,}\.[\w-]{4,}\.[\w-]{4,}", "[redacted-jwt]"),
    (
        r"(?i)([\"']?(?:access_token|refresh_token|id_token|password|credential|token)"
        r"[\"']?\s*[:=]\s*[\"']?)[^\s\"'&,}]+",
        r"\1[redacted]",
    ),
)
# Each shape above needs one of these words (case aside): text without any of them, such as
# the line every request logs, is left alone without compiling a pattern (a few ms a run).
_SHAPE_WORDS = ("bearer", "eyj", "token", "password", "credential")
_shapes: list[tuple[re.Pattern[str], str]] = []

_configured: Path | None = None
# Every secret this process has held — the session's tokens, current and replaced, an
# application's secret, a password typed at sign-in — whatever its shape: a server that
# repeats one back (an error body, a txid) must not get it printed or stored.
_known: set[str] = set()
_longest_first: list[str] = []
MIN_SECRET = 8  # shorter strings would redact ordinary words


def remember_secrets(*values: str | None) -> None:
    """These strings are secrets: `redact` takes them out of everything, from now on."""
    new = {v for v in values if v and len(v) >= MIN_SECRET} - _known
    if new:
        _known.update(new)
        # longest first: a secret that contains another goes whole
        _longest_first[:] = sorted(_known, key=len, reverse=True)


def forget_secrets() -> None:
    """A new process's registry, for a process that runs carctl many times (the tests)."""
    _known.clear()
    _longest_first.clear()


def redact(text: str) -> str:
    for secret in _longest_first:
        if secret in text:
            text = text.replace(secret, "[redacted]")
    lowered = text.lower()
    if any(word in lowered for word in _SHAPE_WORDS):
        if not _shapes:
            _shapes.extend((re.compile(shape), by) for shape, by in _SECRET_SHAPES)
        for pattern, replacement in _shapes:
            text = pattern.sub(replacement, text)
    return text


class RotatingFile(logging.FileHandler):
    """logging.handlers.RotatingFileHandler's rotation (`carctl.log`, then `.1` … `.3`),
    without importing logging.handlers: it brings pickle, queue and socket, a few ms of
    every command for a file that rotates once in thousands of runs."""

    def __init__(self, path: Path, *, max_bytes: int, backups: int) -> None:
        super().__init__(path, encoding="utf-8")
        self.max_bytes = max_bytes
        self.backups = backups

    def emit(self, record: logging.LogRecord) -> None:
        try:
            if self.stream is not None and self.stream.tell() >= self.max_bytes:
                self._rotate()
        except OSError:
            self.handleError(record)
            return
        super().emit(record)

    def _rotate(self) -> None:
        from carctl.files import make_private

        if self.stream is not None:
            self.stream.close()
        self.stream = None
        base = Path(self.baseFilename)
        for n in range(self.backups - 1, 0, -1):
            older = base.with_name(f"{base.name}.{n}")
            if older.exists():
                older.replace(base.with_name(f"{base.name}.{n + 1}"))
        base.replace(base.with_name(f"{base.name}.1"))
        self.stream = self._open()
        make_private(base)


class _RedactingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def setup_logging(log_file: Path, *, verbose: int = 0) -> None:
    """Attach the rotating, redacting file handler to the `carctl` logger once."""
    global _configured
    if _configured == log_file:
        return
    logging.raiseExceptions = False  # a full disk must not print "--- Logging error ---"
    logger = logging.getLogger("carctl")
    logger.setLevel(logging.DEBUG if verbose else logging.INFO)
    from carctl.errors import StateError

    try:
        from carctl.files import check_not_link, make_private, private_dir

        private_dir(log_file.parent)
        check_not_link(log_file)
        handler = RotatingFile(log_file, max_bytes=1_000_000, backups=3)
        make_private(log_file)
    except (OSError, StateError):
        # an unwritable log directory must not stop the command, nor spill onto the console
        logger.handlers = [logging.NullHandler()]
        logger.propagate = False
        return
    handler.setFormatter(
        _RedactingFormatter("%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s")
    )
    logger.handlers = [handler]
    logger.propagate = False
    _configured = log_file
