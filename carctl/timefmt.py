"""Times, said one way everywhere in carctl.

Clock times for people are local (`06:45`, or `06:45:07` where seconds
matter); times in JSON are UTC ISO 8601 with a `Z`, from `iso` alone.
Durations people type are read by `carctl.durations`.
"""

from __future__ import annotations

from datetime import UTC, datetime


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
