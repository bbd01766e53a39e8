"""Time for the mock, injected so that tests drive the simulated car.

The simulated car is computed from timestamps, never from background tasks, so
everything time-dependent (wake delays, sleeping, cabin temperature, fault
windows, rate limits) follows whatever clock the application is given.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol


class Clock(Protocol):
    """Wall-clock seconds since the epoch, and a way to wait."""

    def now(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real clock: what `carctl mock serve` and the built-in endpoint use."""

    def now(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


class ManualClock:
    """A clock that only moves when told to; sleeping advances it at once.

    Tests use it to step through a wake or an outage without waiting.
    """

    def __init__(self, start: float = 1_637_355_600.0) -> None:
        # Default start: 2021-11-20 06:00 in Seoul (21:00 UTC the day before).
        self._now = start
        self.slept: list[float] = []

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += seconds

    def set(self, when: float) -> None:
        self._now = when

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self._now += max(0.0, seconds)
        await asyncio.sleep(0)
