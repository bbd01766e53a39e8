"""Times and durations, said and read one way everywhere in carctl.

Clock times for people are local (`06:45`, or `06:45:07` where seconds
matter); times in JSON are UTC ISO 8601 with a `Z`. Durations are what people
type: `40m`, `1h30m`, `90s`, `1.5h`, `2d` — a bare number is refused, because
"90" could mean seconds or minutes.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from carctl.errors import UsageError

DAY_S = 24 * 3600.0
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(d|h|min|m|sec|s)", re.IGNORECASE)
_SECONDS = {"d": 86400.0, "h": 3600.0, "m": 60.0, "min": 60.0, "s": 1.0, "sec": 1.0}


def hhmm(moment: float | None) -> str:
    """ "06:45" in local time; "–" for no time at all."""
    return "–" if moment is None else datetime.fromtimestamp(moment).strftime("%H:%M")


def hhmmss(moment: float | None) -> str:
    """ "06:45:07": for the moments where seconds matter (a next try)."""
    return "–" if moment is None else datetime.fromtimestamp(moment).strftime("%H:%M:%S")


def day_and_time(moment: float, now: float) -> str:
    """ "07:12" today, "07:12 tomorrow", or "Tue 8 Dec 07:12": a time that may not be today."""
    at = datetime.fromtimestamp(moment)
    days = (at.date() - datetime.fromtimestamp(now).date()).days
    if days == 0:
        return at.strftime("%H:%M")
    if days == 1:
        return at.strftime("%H:%M tomorrow")
    return f"{at.strftime('%a')} {at.day} {at.strftime('%b %H:%M')}"


def iso(moment: float | None) -> str | None:
    """ "2021-11-19T21:45:00Z": a moment in JSON."""
    if moment is None:
        return None
    return datetime.fromtimestamp(moment, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


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
