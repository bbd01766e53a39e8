"""The vehicle API and the car: listing the cars (which never wakes one), the car's state,
signed commands and the month's cost."""

from __future__ import annotations

import time
from typing import Any

from carctl.doctor import verdict as judges
from carctl.doctor.history import failure_story, recent_failures
from carctl.doctor.model import (
    FAIL,
    PASS,
    REGISTRY,
    SERVICE,
    SKIP,
    VEHICLE,
    WARN,
    Doctor,
    Finding,
    in_thread,
)
from carctl.errors import AuthError, CarctlError
from carctl.text import plural
from carctl.timefmt import hhmm


@REGISTRY.check(
    "api",
    "vehicle API",
    order=70,
    needs=("session", "network"),
    network=True,
    timeout_s=20,
    blames=SERVICE,
    judge=judges.service_failing,
)
def api(doc: Doctor) -> Finding:
    from carctl.vehicle.model import Vehicle

    assert doc.settings is not None and doc.endpoint is not None
    facts: dict[str, Any] = {}
    listing: Any = None
    latency = 0.0
    try:
        with doc.client() as client:
            started = time.monotonic()
            listing = client.request("GET", "/api/1/vehicles")  # never wakes a car
            latency = (time.monotonic() - started) * 1000
    except CarctlError as exc:
        facts["error"] = exc
    notes = _recent_story(doc, facts)
    error = facts.get("error")
    if isinstance(error, CarctlError):
        status = f"HTTP {error.http.status}" if error.http and error.http.status else error.code
        txid = f" (txid {error.http.txid})" if error.http and error.http.txid else ""
        hint = (
            "sign in again: carctl auth login"
            if isinstance(error, AuthError)
            else "the fault is the service's: queued commands are delivered when it recovers"
        )
        detail = f"listing the cars failed: {status}{txid}; " + "; ".join(notes)
        return Finding(FAIL, detail, hint, facts)
    by_vin = doc.endpoint.by_vin
    cars = (
        [Vehicle.from_api(item, by_vin=by_vin) for item in listing]
        if isinstance(listing, list)
        else []
    )
    facts["vehicles"] = cars
    facts["latency_ms"] = latency
    detail = f"{plural(len(cars), 'car')} listed in {latency:.0f} ms; " + "; ".join(notes)
    if facts["breaker"] != "closed" or facts["history"]["streak"]:
        return Finding(
            WARN,
            detail,
            "it answers again; queued commands go out with the next worker pass",
            facts,
        )
    return Finding(PASS, detail, facts=facts)


def _recent_story(doc: Doctor, facts: dict[str, Any]) -> list[str]:
    """The breaker, a wait the service asked for, the failures still going on (this check's
    request included): notes for the detail, kept in `facts` for the verdict."""
    assert doc.endpoint is not None
    origin = doc.endpoint.origin
    history = in_thread(lambda: recent_failures(doc), 5.0)
    health = in_thread(lambda: doc.stack.health(origin).read(), 5.0)
    now = doc.clock.now()
    breaker = health.describe_state(now)
    facts.update({"history": history, "breaker": breaker})
    notes = [f"breaker {breaker}"]
    if health.retry_after_until and health.retry_after_until > now:
        notes.append(f"asked to wait until {hhmm(health.retry_after_until)}")
    story = failure_story(history)
    if story:
        notes.append(story)
    return notes


@REGISTRY.check(
    "vehicle",
    "the car",
    order=80,
    needs=("api",),
    network=True,
    blames=VEHICLE,
    judge=judges.car_at_fault,
)
def vehicle(doc: Doctor) -> Finding:
    """The chosen car — or, with several and none chosen, every car — without waking one."""
    from carctl.vehicle.service import choose

    assert doc.settings is not None
    cars = doc.fact("api", "vehicles", [])
    selector = doc.settings.get("vehicle")
    if selector is not None:
        chosen = [choose(cars, str(selector))]
    elif len(cars) > 1:
        chosen = list(cars)  # no default: every car is someone's morning
    else:
        chosen = [choose(cars, None)]  # one car (or none: the account has no car)
    facts: dict[str, Any] = {"vehicles": [car.to_json() for car in chosen]}
    if len(chosen) == 1:
        facts["vehicle"] = chosen[0].to_json()
    problems, states = [], []
    for car in chosen:  # signing is the next check's (carctl signs on the Fleet API)
        name = f"{car.label} ({car.vin})"
        if car.in_service:
            problems.append((f"{name} is in service", "commands work again after the visit"))
        elif car.state == "offline":
            problems.append(
                (
                    f"{name} is offline: it has no connection to the vehicle service",
                    "the car needs mobile coverage (a garage or car park may block it); it "
                    "cannot be woken until it is back online",
                )
            )
        else:
            states.append(f"{name} is {car.state}")
    if problems:
        return Finding(
            FAIL,
            "; ".join(p for p, _ in problems) + ("; " + "; ".join(states) if states else ""),
            problems[0][1],
            facts,
        )
    asleep = any(car.state == "asleep" for car in chosen)
    note = " (doctor does not wake a car; commands do)" if asleep else ""
    return Finding(PASS, "; ".join(states) + note, facts=facts)


def _signs_itself(doc: Doctor) -> bool:
    """carctl signs on the Fleet API and Teslemetry: elsewhere the check means nothing."""
    from carctl.doctor.signing_checks import applies

    return applies(doc)


@REGISTRY.check(
    "signing",
    "signed commands",
    order=85,
    needs=("api",),
    network=True,
    timeout_s=20,
    applies=_signs_itself,
)
def signing(doc: Doctor) -> Finding:
    """Key, domain, .well-known, scopes, pairing: see `carctl.doctor.signing_checks`."""
    from carctl.doctor.signing_checks import signing as check

    return check(doc, lambda: doc.client())


def _billed(doc: Doctor) -> bool:
    """Only a paid provider's calls are counted and capped."""
    from carctl.api.connect import billed_account

    if doc.settings is None or doc.endpoint is None:
        return False
    return billed_account(doc.settings, doc.endpoint) is not None


@REGISTRY.check(
    "usage", "this month's cost", order=65, needs=("config",), applies=_billed, timeout_s=10
)
def usage(doc: Doctor) -> Finding:
    """The month's spending against the cap, from carctl's ledger (no request): a cap that
    is reached explains every refusal after it, so it is named before the API is blamed."""
    from carctl.api import usage as rules

    def read() -> rules.Month | None:
        meter = doc.stack.meter()
        return meter.month() if meter is not None else None

    month = in_thread(read, 8.0)
    if month is None:
        return Finding(SKIP, "this vehicle API is not billed")
    facts = month.to_json()
    limit = month.prices.limit
    spent = f"US${month.cost:.2f} spent in {month.month}"
    raise_it = "raise the cap: carctl config set usage.monthly_limit 20 (or off)"
    if limit is None:
        return Finding(PASS, f"{spent}; no cap", facts=facts)
    share = f"{spent} of the US${limit:.2f} cap ({month.cost / limit:.0%})" if limit else spent
    cheapest = min(month.prices.of(c) for c in (rules.DATA, rules.COMMAND))
    if rules.over_limit(month.cost, cheapest, limit):
        return Finding(
            FAIL,
            f"{share}: the cap is reached, so carctl sends nothing until next month",
            f"`carctl usage` shows where it went; {raise_it}",
            facts,
        )
    projected = month.projected
    if month.cost >= limit * rules.WARN_AT:
        return Finding(WARN, f"{share}: nearly at the cap", raise_it, facts)
    if projected is not None and projected > limit:
        return Finding(
            WARN,
            f"{share}; at this rate the month comes to US${projected:.2f}, past the cap",
            f"fewer calls (on-car schedules need none: `carctl schedule set 06:30`), or {raise_it}",
            facts,
        )
    return Finding(PASS, share, facts=facts)
