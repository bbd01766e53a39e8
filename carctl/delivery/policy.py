"""The retry policy: which failures are retried, and how long to wait. Pure.

Full jitter (after the AWS architecture blog and gRPC): the n-th retry waits

    random(0, min(CAP, BASE · 2^n))        BASE = 0.5 s, CAP = 4 s

so that many clients failing together do not come back together. A server's
`Retry-After` is a floor: carctl never comes back before it. At most
`MAX_ATTEMPTS` attempts per request, and never past the run's deadline.

Queued entries back off the same way on a longer scale (`queue_delay`).
"""

from __future__ import annotations

import random

from carctl.errors import CarctlError

MAX_ATTEMPTS = 3
BASE_S = 0.5
CAP_S = 4.0
QUEUE_BASE_S = 2.0
QUEUE_CAP_S = 60.0


def backoff(retry: int, rng: random.Random, *, base: float = BASE_S, cap: float = CAP_S) -> float:
    """Seconds before retry number `retry` (0 for the first retry)."""
    return rng.uniform(0.0, min(cap, base * 2**retry))


def next_delay(error: CarctlError, retry: int, *, now: float, rng: random.Random) -> float:
    """The wait before the next attempt: jittered backoff, but never before Retry-After."""
    delay = backoff(retry, rng)
    if error.retry_at is not None:
        delay = max(delay, error.retry_at - now)
    return max(0.0, delay)


def queue_delay(attempts: int, rng: random.Random) -> float:
    """The wait before a queued entry is tried again, after `attempts` failed deliveries."""
    ceiling = min(QUEUE_CAP_S, QUEUE_BASE_S * 2 ** max(0, attempts - 1))
    return rng.uniform(ceiling / 2, ceiling)
