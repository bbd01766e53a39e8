"""The time the queue judges expiry by: a clock that cannot run backwards.

The highest time ever recorded in `state.db`, carried forward by the
system-wide monotonic clock within one boot, so a wall clock stepped back (or
fast for a while) cannot make an expired command look fresh.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Callable

CONFIRM_SLACK_S = 60.0  # how far the wall clock may run ahead of the since-boot clock
MAX_AHEAD_S = 10 * 365 * 86400.0  # a recorded time further ahead than this was never real


class TrustedTime:
    """Reads and advances the record in `clock_high`, inside the caller's transaction."""

    def __init__(self, monotonic: Callable[[], float], boot: Callable[[], str]) -> None:
        self.monotonic = monotonic
        self.boot = boot

    def now(self, db: sqlite3.Connection, wall: float) -> float:
        """The time to judge expiry by (see `both`)."""
        return self.both(db, wall)[0]

    def both(self, db: sqlite3.Connection, wall: float) -> tuple[float, float]:
        """The time to judge expiry by, and the confirmed time to count durations from.

        The first is never earlier than any confirmed time before.

        The record is the highest *confirmed* time with the since-boot clock's
        reading at that moment; within the same boot it is carried forward by
        that clock (shared by every process, counting suspend), so real elapsed
        time counts even when the wall clock is later stepped back. A wall
        reading ahead of the carried time by more than `CONFIRM_SLACK_S` is a
        jump the since-boot clock does not confirm: this run still judges by it
        (so a command is never sent late), but it is not recorded, so one run
        with a clock a month fast cannot expire the commands of the weeks after.
        Across a reboot nothing can confirm a reading; the wall clock is taken.
        A duration (a queued command's time to live) counts from the confirmed
        time: a fast clock cannot lengthen it.
        """
        mono, boot = self.monotonic(), self.boot()
        row = db.execute("SELECT wall, mono, boot FROM clock_high WHERE id = 1").fetchone()
        carried, confirmed = wall, True
        if row is not None:
            high, then, then_boot = row
            try:
                carried = float(high)
                if then_boot == boot and boot and float(then) <= mono:
                    carried += mono - float(then)
                    confirmed = wall <= carried + CONFIRM_SLACK_S
            except (TypeError, ValueError):
                carried = wall  # an unreadable row: start again from the wall clock
            if not math.isfinite(carried) or carried > wall + MAX_AHEAD_S:
                carried = wall  # a record no clock could have made: start again
        now = max(wall, carried)
        db.execute(
            "INSERT OR REPLACE INTO clock_high (id, wall, mono, boot) VALUES (1, ?, ?, ?)",
            (now if confirmed else carried, mono, boot),
        )
        return now, (now if confirmed else carried)
