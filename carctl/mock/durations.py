"""Durations as people write them: `500ms`, `30s`, `2m`, `1h30m`, or plain seconds."""

from __future__ import annotations

import math
import re

MAX_DURATION = 10 * 365 * 86400.0  # ten years: longer is a mistake, and overflows dates
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")


def parse_duration(text: str | float | int) -> float:
    """Return seconds; raise ValueError with a message a user can act on."""
    seconds = _parse(text)
    if not math.isfinite(seconds) or seconds > MAX_DURATION:
        raise ValueError(f"a duration must be at most ten years, got {text!r}")
    return seconds


def _parse(text: str | float | int) -> float:
    if isinstance(text, bool):
        raise ValueError(f"expected a duration such as 30s or 2m, got {text!r}")
    if isinstance(text, int | float):
        if text < 0:
            raise ValueError(f"a duration cannot be negative, got {text}")
        return float(text)
    raw = text.strip().lower()
    try:
        value = float(raw)
    except ValueError:
        pass
    else:
        if value < 0:
            raise ValueError(f"a duration cannot be negative, got {text!r}")
        return value
    pos = 0
    total = 0.0
    for match in _PART.finditer(raw):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if pos != len(raw) or not raw:
        raise ValueError(f"expected a duration such as 500ms, 30s, 2m or 1h30m, got {text!r}")
    return total


def format_duration(seconds: float) -> str:
    """The inverse, for messages: 90 -> '1m30s', 0.25 -> '250ms'."""
    if seconds < 1 and seconds != 0:
        return f"{round(seconds * 1000)}ms"
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [
        f"{hours}h" if hours else "",
        f"{minutes}m" if minutes else "",
        f"{secs}s" if secs else "",
    ]
    return "".join(parts) or "0s"
