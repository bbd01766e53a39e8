"""What became of queued commands, in the owner's words.

One vocabulary for every place that tells it: the line the next command
prints ("since you last looked"), the desktop notification, the worker's log,
and `carctl queue wait` in the morning script's log.
"""

from __future__ import annotations

from collections.abc import Sequence

from carctl.delivery.queue import Entry
from carctl.timefmt import hhmm

OUTCOMES = ("delivered", "expired", "failed")
VERBS = {"delivered": "delivered", "expired": "expired unsent", "failed": "refused by the car"}
MOST = 3  # named one by one; beyond that, counted


def what(entry: Entry, units: str = "metric") -> str:
    """ "climate on for Model 3", "temperature set to 21.0 °C for Model Y"."""
    from carctl.vehicle.commands import Command
    from carctl.vehicle.words import describe

    try:
        words = describe(Command(entry.command, entry.arguments), units)[1]
    except (TypeError, ValueError):
        words = entry.command
    return f"{words} for {entry.vehicle_name or entry.vehicle_id}"


def outcome(entry: Entry, units: str = "metric") -> str:
    """ "#4 climate on for Model 3: delivered at 06:21"."""
    verb = VERBS.get(entry.status, entry.status)
    return f"#{entry.id} {what(entry, units)}: {verb} at {hhmm(entry.finished_at)}"


def summary(entries: Sequence[Entry], units: str = "metric") -> str:
    """One sentence for any number of outcomes, the first few named."""
    named = [
        f"{what(e, units)} {VERBS.get(e.status, e.status)} at {hhmm(e.finished_at)}"
        for e in entries[:MOST]
    ]
    more = len(entries) - MOST
    text = "; ".join(named)
    if more > 0:
        text += f"; and {more} more (`carctl queue list --all`)"
    return text


def since_you_looked(entries: Sequence[Entry], units: str = "metric") -> str:
    """The line a command on a terminal prints when queued commands finished meanwhile."""
    return f"Since you last looked: {summary(entries, units)}."


def notification(entries: Sequence[Entry], units: str = "metric") -> tuple[str, str]:
    """A desktop notification's title and body."""
    delivered = sum(1 for e in entries if e.status == "delivered")
    if delivered == len(entries):
        title = "carctl: delivered" if delivered == 1 else f"carctl: {delivered} delivered"
    else:
        title = "carctl: queued commands finished"
    return title, summary(entries, units)[:1].upper() + summary(entries, units)[1:] + "."
