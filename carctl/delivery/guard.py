"""One request, sent politely: breaker first, then up to three attempts within budget.

The guard wraps every API request of a run. Before the first attempt it asks
the breaker (shared by all processes) whether anything may be sent; between
attempts it asks the budget whether a retry is allowed, waits the jittered
delay (never before `Retry-After`), and never waits past the run's deadline.
Any answer that is not a retryable failure proves the service is up and
counts as a success.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from functools import partial
from typing import TypeVar

from carctl.clock import Clock
from carctl.delivery import breaker as health_rules
from carctl.delivery.breaker import HealthStore
from carctl.delivery.policy import MAX_ATTEMPTS, next_delay
from carctl.errors import CarctlError, RateLimitedError, TemporaryError
from carctl.text import plural
from carctl.timefmt import hhmmss

T = TypeVar("T")


class BreakerOpenError(TemporaryError):
    """Nothing was sent: the vehicle API has been failing and carctl is giving it air."""

    code = "breaker_open"


class Guard:
    def __init__(
        self,
        store: HealthStore,
        *,
        clock: Clock,
        rng: random.Random,
        deadline: float,
        probe_now: bool = False,
    ) -> None:
        self.store = store
        self.probe_now = probe_now  # the owner asked for one attempt now (`queue retry`)
        self.clock = clock
        self.rng = rng
        self.deadline = deadline
        self.attempts = 0  # requests sent in this run

    def refused(self, admission: health_rules.Admission) -> BreakerOpenError:
        health = self.store.read()
        since = f" since {hhmmss(health.first_failure_at)}" if health.first_failure_at else ""
        last = f" (last: {health.last_failure})" if health.last_failure else ""
        when = f"; next try after {hhmmss(admission.until)}" if admission.until else ""
        if admission.reason == "retry_after":
            message = f"the vehicle API asked carctl to wait{when}"
        else:
            message = (
                f"the vehicle API has been failing{since}: "
                f"{plural(health.failures, 'failure')} in a row"
                f"{last}; carctl sends nothing until it has had time to recover{when}"
            )
        error = BreakerOpenError(message, hint="`carctl queue` shows what waits to be delivered")
        error.retry_at = admission.until  # a worker waits until then, instead of asking again
        return error

    def call(self, attempt: Callable[[], T], *, retry: bool = True) -> T:
        now = self.clock.now()
        admission = self.store.transact(partial(health_rules.admit, now=now))
        if not admission.send and self.probe_now and admission.reason != "retry_after":
            # one probe on the owner's word, even before the cool-down is over; a
            # `Retry-After` is the service's own request, and is still honoured
            admission = health_rules.Admission(True, probe=True)
        self.probe_now = False
        if not admission.send:
            raise self.refused(admission)
        tries = 0
        while True:
            self.attempts += 1
            try:
                value = attempt()
            except CarctlError as exc:
                if not exc.retryable:
                    if exc.http is not None and exc.http.status is not None:
                        self.store.transact(
                            partial(health_rules.record_success, now=self.clock.now())
                        )
                    raise
                exc.attempts = tries + 1
                failed_at = self.clock.now()
                self.store.transact(
                    partial(
                        health_rules.record_failure,
                        error=exc,
                        now=failed_at,
                        rng=self.rng,
                        probe=admission.probe,
                    )
                )
                if admission.probe or not retry or tries + 1 >= MAX_ATTEMPTS:
                    raise
                if isinstance(exc, RateLimitedError) and exc.retry_at is None:
                    raise  # a 429 is billed: tried again only when the service says when
                if not self.store.transact(partial(health_rules.can_retry, now=failed_at)):
                    tokens = self.store.read().tokens
                    exc.message += (
                        "; not retried: the retry budget is spent after the recent failures "
                        f"({tokens:.1f} of 10 tokens, retries need more than 5; one comes back "
                        "each minute)"
                    )
                    raise
                delay = next_delay(exc, tries, now=failed_at, rng=self.rng)
                if failed_at + delay > self.deadline:
                    raise
                self.clock.sleep(delay)
                tries += 1
                again = self.store.transact(partial(health_rules.admit, now=self.clock.now()))
                if not again.send:  # another process opened the breaker meanwhile
                    raise
                admission = again
                continue
            self.store.transact(partial(health_rules.record_success, now=self.clock.now()))
            return value
