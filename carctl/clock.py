"""Time for carctl's core, injected so that tests never wait.

Token expiry, retries, the breaker and the queue all read the time through a
`Clock`; the command line gives them `SystemClock`, tests a fake one.
"""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the epoch."""
        ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def now(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        time.sleep(max(0.0, seconds))
