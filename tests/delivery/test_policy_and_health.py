"""The retry policy, the budget and the breaker as pure rules on an injected clock."""

from __future__ import annotations

import random

import pytest

from carctl.delivery import breaker as rules
from carctl.delivery.breaker import Health
from carctl.delivery.policy import backoff, next_delay, queue_delay
from carctl.errors import HttpDetails, RateLimitedError, ServiceError

T0 = 1_637_355_600.0


def failure(status: int = 500, retry_at: float | None = None) -> ServiceError:
    error = ServiceError("boom", http=HttpDetails(status, "GET", "/api/1/vehicles"))
    error.retry_at = retry_at
    return error


def test_full_jitter_bounds_and_a_seeded_run() -> None:
    rng, twin = random.Random(42), random.Random(42)
    delays = [backoff(n, rng) for n in range(5)]
    # random(0, min(4, 0.5 · 2^n)): the formula, drawn from an identical generator
    assert delays == [twin.uniform(0, min(4.0, 0.5 * 2**n)) for n in range(5)]
    for n, bound in enumerate([0.5, 1.0, 2.0, 4.0, 4.0, 4.0]):
        assert all(0 <= backoff(n, random.Random(s)) <= bound for s in range(200))


def test_retry_after_is_a_floor() -> None:
    rng = random.Random(1)
    assert next_delay(failure(retry_at=T0 + 30), 0, now=T0, rng=rng) == 30
    assert next_delay(failure(retry_at=T0 - 30), 0, now=T0, rng=rng) <= 0.5


def test_queue_delay_grows_and_is_capped() -> None:
    rng = random.Random(3)
    assert 1 <= queue_delay(1, rng) <= 2
    assert 4 <= queue_delay(3, rng) <= 8
    assert 30 <= queue_delay(20, rng) <= 60


def test_budget_costs_refunds_and_threshold() -> None:
    health = Health("o", tokens_at=T0)
    rng = random.Random(0)
    for _ in range(4):
        rules.record_failure(health, error=failure(), now=T0, rng=rng, probe=False)
        rules.record_success(health, now=T0)  # keeps the breaker closed; refunds 0.1
    assert health.tokens == pytest.approx(10 - 4 + 0.4)
    assert rules.can_retry(health, now=T0)
    rules.record_failure(health, error=failure(), now=T0, rng=rng, probe=False)
    assert health.tokens == pytest.approx(5.4)
    assert rules.can_retry(health, now=T0)
    rules.record_failure(health, error=failure(), now=T0, rng=rng, probe=False)
    assert health.tokens == pytest.approx(4.4)
    assert not rules.can_retry(health, now=T0)  # retries only while tokens > 5
    assert health.state == "closed"  # the budget limits retries, not first attempts
    assert rules.admit(health, now=T0).send  # the next command's first request goes out


def test_only_consecutive_failures_open_the_breaker() -> None:
    health = Health("o", tokens_at=T0, tokens=3.0)  # a spent budget after an outage
    rng = random.Random(0)
    for count in range(1, 5):
        rules.record_failure(health, error=failure(), now=T0, rng=rng, probe=False)
        assert health.state == "closed", count
    rules.record_failure(health, error=failure(), now=T0, rng=rng, probe=False)
    assert health.state == "open"  # the fifth in a row


def test_tokens_come_back_with_quiet_time() -> None:
    health = Health("o", tokens=3.0, tokens_at=T0)
    rules.regenerate(health, T0 + 120)
    assert health.tokens == pytest.approx(5.0)
    rules.regenerate(health, T0 + 3600)
    assert health.tokens == 10.0
    rules.regenerate(health, T0)  # a clock that went backwards takes nothing away
    assert health.tokens == 10.0


def test_breaker_opens_after_five_failures_and_probes_once() -> None:
    health = Health("o", tokens_at=T0)
    rng = random.Random(5)
    for i in range(4):
        rules.record_failure(health, error=failure(), now=T0 + i, rng=rng, probe=False)
        assert health.state == "closed"
    rules.record_failure(health, error=failure(), now=T0 + 4, rng=rng, probe=False)
    assert health.state == "open"
    assert health.open_until is not None
    assert T0 + 4 + 15 <= health.open_until <= T0 + 4 + 30  # jittered cool-down
    refused = rules.admit(health, now=T0 + 5)
    assert not refused.send and refused.reason == "breaker_open"
    probe = rules.admit(health, now=health.open_until)
    assert probe.send and probe.probe
    second = rules.admit(health, now=health.open_until + 1)
    assert not second.send and second.reason == "probe_in_flight"
    rules.record_success(health, now=health.open_until + 2)
    assert health.state == "closed" and health.failures == 0
    assert rules.admit(health, now=health.open_until or T0 + 60).send


def test_failed_probes_double_the_cool_down_up_to_five_minutes() -> None:
    health = Health("o", tokens_at=T0)
    rng = random.Random(9)
    now = T0
    for _ in range(5):
        rules.record_failure(health, error=failure(), now=now, rng=rng, probe=False)
    cooldowns = []
    for _ in range(6):
        assert health.open_until is not None
        now = health.open_until
        admission = rules.admit(health, now=now)
        assert admission.probe
        rules.record_failure(health, error=failure(), now=now, rng=rng, probe=True)
        cooldowns.append(health.cooldown)
        assert health.open_until - now <= (health.cooldown or 0)
    assert cooldowns == [60, 120, 240, 300, 300, 300]


def test_a_retry_after_deadline_holds_everything_back() -> None:
    health = Health("o", tokens_at=T0)
    limited = RateLimitedError("slow down")
    limited.retry_at = T0 + 40
    rules.record_failure(health, error=limited, now=T0, rng=random.Random(0), probe=False)
    assert health.failures == 0  # a rate limit is not a server failure
    waiting = rules.admit(health, now=T0 + 39)
    assert not waiting.send and waiting.reason == "retry_after" and waiting.until == T0 + 40
    assert rules.admit(health, now=T0 + 40).send


def test_clock_jumps_never_stall_the_breaker() -> None:
    health = Health("o", tokens_at=T0, state="open", cooldown=30, open_until=T0 + 30)
    # the clock jumps back a day: the breaker must not wait a day
    earlier = T0 - 86400
    refused = rules.admit(health, now=earlier)
    assert not refused.send and refused.until is not None
    assert refused.until - earlier <= 30
    # a Retry-After far in the future after a backward jump is dropped
    health = Health("o", tokens_at=T0, retry_after_until=T0 + 10)
    assert rules.admit(health, now=T0 - 2 * 86400).send
