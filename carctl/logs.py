"""The log file: rotating, and redacted before anything is written.

Tracebacks go here, never to the console. Redaction is applied to every record
so that a token that slips into a message cannot reach the disk.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

_SECRET_PATTERNS = [
    (re.compile(r"(?i)(bearer\s+)[^\s\"',;]+"), r"\1[redacted]"),
    (re.compile(r"eyJ[\w-]{4,}\.[\w-]{4,}\.[\w-]{4,}"), "[redacted-jwt]"),
    (
        re.compile(
            r"(?i)([\"']?(?:access_token|refresh_token|id_token|password|credential|token)"
            r"[\"']?\s*[:=]\s*[\"']?)[^\s\"'&,}]+"
        ),
        r"\1[redacted]",
    ),
]

_configured: Path | None = None
# Every secret this process has held — the session's tokens, current and replaced, an
# application's secret, a password typed at sign-in — whatever its shape: a server that
# repeats one back (an error body, a txid) must not get it printed or stored.
_known: set[str] = set()
MIN_SECRET = 8  # shorter strings would redact ordinary words


_known_pattern: re.Pattern[str] | None = None


def remember_secrets(*values: str | None) -> None:
    """These strings are secrets: `redact` takes them out of everything, from now on."""
    global _known_pattern
    new = {v for v in values if v and len(v) >= MIN_SECRET} - _known
    if new:
        _known.update(new)
        _known_pattern = None  # made again, once, on the next `redact`


def forget_secrets() -> None:
    """A new process's registry, for a process that runs carctl many times (the tests)."""
    global _known_pattern
    _known.clear()
    _known_pattern = None


def redact(text: str) -> str:
    global _known_pattern
    if _known:
        if _known_pattern is None:  # longest first: a secret that contains another
            ordered = sorted(_known, key=len, reverse=True)
            _known_pattern = re.compile("|".join(re.escape(s) for s in ordered))
        text = _known_pattern.sub("[redacted]", text)
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


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
        from logging.handlers import RotatingFileHandler  # pickle, queue: only when logging

        handler = RotatingFileHandler(log_file, maxBytes=1_000_000, backupCount=3, encoding="utf-8")
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
