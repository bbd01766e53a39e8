"""The verdict: which one of setup, network, service or car is at fault, with the evidence.

The checks are read in their order; the first that has something to say
decides (`Check.verdict`: by default, a failure blames what the check
declares). The judges below are the checks' own words where the default is
not enough, given to the registry with the check they belong to.
"""

from __future__ import annotations

from carctl.doctor.history import failure_story
from carctl.doctor.model import (
    FAIL,
    NETWORK,
    PASS,
    SERVICE,
    SETUP,
    SKIP,
    VEHICLE,
    Check,
    Doctor,
    Result,
    Verdict,
    sentence,
)


def verdict(doc: Doctor, checks: list[Check]) -> Verdict:
    """The first thing at fault, in the checks' order; or everything is well."""
    for check in checks:
        result = doc.results.get(check.id)
        if result is None:
            continue
        found = check.verdict(doc, result)
        if found is not None:
            return found
    return _all_well(doc)


def fine(doc: Doctor, *checks: str, tls: bool = False) -> str:
    """'your config and the credential store are fine': only what this run found fine."""
    words = {
        "config": "your config",
        "credentials": "the credential store",
        "network": "your network",
        "session": "sign-in",
    }
    named = [words[check] for check in words if check in checks and doc.passed(check)]
    if tls and doc.passed("network"):
        named.insert(named.index("your network") + 1, "TLS")
    if not named:
        return ""
    listed = ", ".join(named[:-1]) + " and " + named[-1] if len(named) > 1 else named[0]
    return f"{listed} {'are' if len(named) > 1 else 'is'} fine"


# -- the checks' own words -------------------------------------------------------------------


def setup_attention(doc: Doctor, check: Check, result: Result) -> Verdict | None:
    """carctl itself, its config, state and credential store."""
    if result.status != FAIL:
        return None
    return Verdict(
        SETUP, sentence(f"your setup needs attention: {result.detail}", result.remediation)
    )


def unreachable(doc: Doctor, check: Check, result: Result) -> Verdict | None:
    """The network check: the API cannot be reached from here (or says it is down)."""
    if result.status != FAIL:
        if "api" not in doc.results:  # only the road was checked: its /status is the evidence
            return _down(doc, result)
        return None
    api = doc.endpoint.api_url if doc.endpoint else "the vehicle API"
    proxy = result.facts.get("proxy")
    where = f"the proxy {proxy}" if proxy else "this computer's connection (Wi-Fi, VPN, firewall)"
    good = fine(doc, "config", "credentials")
    return Verdict(
        NETWORK,
        sentence(
            f"cannot reach {api}{f' through the proxy {proxy}' if proxy else ''}: {result.detail}",
            f"{good}; check {where}" if good else f"check {where}",
        ),
    )


def not_signed_in(doc: Doctor, check: Check, result: Result) -> Verdict | None:
    """The session check."""
    if result.status != FAIL:
        return None
    lead = "you are not signed in" if result.facts.get("signed_in") is False else result.title
    return Verdict(SETUP, sentence(f"{lead}: {result.detail}", result.remediation))


def service_failing(doc: Doctor, check: Check, result: Result) -> Verdict | None:
    """The API check: the request log's story of the failures, or a sign-in to renew."""
    if "error" not in result.facts or "sign in" in result.remediation:
        network = doc.results.get("network")
        if network is not None and result.status != PASS:
            found = _down(doc, network)
            if found is not None:
                return found
        if result.status != FAIL:
            return None
        kind = SETUP if "sign in" in result.remediation else SERVICE
        return Verdict(
            kind, sentence(f"the vehicle API failed: {result.detail}", result.remediation)
        )
    story = failure_story(result.facts.get("history", {}), txids=False) or result.detail
    https = bool(doc.endpoint and doc.endpoint.api_url.startswith("https"))
    good = fine(doc, "network", "session", tls=https)
    return Verdict(
        SERVICE,
        sentence(
            f"the vehicle service is failing: {story}",
            f"{good}; queued commands will be delivered when it recovers"
            if good
            else "queued commands will be delivered when it recovers",
        ),
    )


def car_at_fault(doc: Doctor, check: Check, result: Result) -> Verdict | None:
    """The vehicle check."""
    if result.status != FAIL:
        return None
    return Verdict(
        VEHICLE,
        sentence(
            f"the car is the problem: {result.detail}",
            "your setup, network and the vehicle service are fine",
            result.remediation,
        ),
    )


def _down(doc: Doctor, network: Result) -> Verdict | None:
    """The service's own /status says it is down, though the network reached it."""
    status = network.facts.get("status")
    if not (isinstance(status, int) and status >= 500):
        return None
    return Verdict(
        SERVICE,
        sentence(
            f"the vehicle service reports it is down (/status answered {status})",
            "your network reached it; queued commands will be delivered when it recovers",
        ),
    )


def _all_well(doc: Doctor) -> Verdict:
    account = doc.fact("session", "account") or "you"
    results = doc.results
    if doc.offline or "api" not in results or results["api"].status == SKIP:
        return Verdict(
            "ok",
            sentence(
                f"setup looks right: signed in as {account}; the network, the vehicle API "
                "and the car were not checked" + (" (--offline)" if doc.offline else "")
            ),
        )
    cars = doc.fact("vehicle", "vehicles") or []
    car_text = (
        "; " + ", ".join(f"{c['display_name']} is {c['state']}" for c in cars) if cars else ""
    )
    return Verdict(
        "ok",
        sentence(f"everything works: signed in as {account}, the vehicle API answers{car_text}"),
    )
