"""Durations as people type them: `40m`, `1h30m`, `90s`, `1.5h`, `2d`.

A bare number is refused, because "90" could mean seconds or minutes.
"""

from __future__ import annotations

import re

from carctl.errors import UsageError

DAY_S = 24 * 3600.0
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(d|h|min|m|sec|s)", re.IGNORECASE)
_SECONDS = {"d": 86400.0, "h": 3600.0, "m": 60.0, "min": 60.0, "s": 1.0, "sec": 1.0}


def parse_duration(text: str, *, option: str = "--expires-in", most: float = DAY_S) -> float:
    """Seconds from `40m`, `1h30m`, `90s`, `1.5h`, `2d`; more than zero, at most `most`."""
    compact = text.strip().replace(" ", "")
    parts = list(_PART.finditer(compact))
    if not compact or not parts or "".join(p.group(0) for p in parts) != compact:
        raise UsageError(f"{option} {text!r} is not a duration", hint="e.g. 40m, 1h30m or 90s")
    seconds = sum(float(p.group(1)) * _SECONDS[p.group(2).lower()] for p in parts)
    if seconds <= 0:
        raise UsageError(f"{option} {text!r} must be longer than zero")
    if seconds > most:
        limit = f"{most / 3600:g} hours" if most < 2 * DAY_S else f"{most / DAY_S:g} days"
        raise UsageError(f"{option} {text!r} is more than {limit}", hint="e.g. 40m")
    return seconds
