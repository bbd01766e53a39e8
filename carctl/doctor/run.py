"""Running the checks and reaching a verdict.

Each check runs under its own time limit; one that raises or overruns becomes
a `fail` with the error, and the run goes on. A check whose prerequisite did
not pass is `skip`, with the reason.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from carctl.api.transport import within
from carctl.doctor import checks
from carctl.doctor.model import FAIL, PASS, SKIP, WARN, Check, Doctor, Result
from carctl.errors import CarctlError

log = logging.getLogger("carctl.doctor")


def run_checks(doc: Doctor, only: list[str] | None = None) -> list[Result]:
    registry = checks.REGISTRY
    wanted = {c.id for c in registry if only is None or c.id in only}
    results = []
    for check in registry:
        if check.id not in wanted and not _needed(check.id, wanted):
            continue
        if check.applies is not None and not check.applies(doc):
            continue
        result = _run_one(doc, check)
        doc.results[check.id] = result
        if check.id in wanted:
            results.append(result)
    return results


def _needed(check_id: str, wanted: set[str]) -> bool:
    """A check runs quietly when a chosen one depends on it (config feeds everyone)."""
    pending = list(wanted)
    seen: set[str] = set()
    while pending:
        current = pending.pop()
        for need in checks.REGISTRY.get(current).needs:
            if need == check_id:
                return True
            if need not in seen:
                seen.add(need)
                pending.append(need)
    return False


def _run_one(doc: Doctor, check: Check) -> Result:
    started = time.monotonic()

    def result(status: str, detail: str, remediation: str = "", facts: Any = None) -> Result:
        return Result(
            check.id,
            check.title,
            status,
            detail,
            remediation,
            round((time.monotonic() - started) * 1000),
            facts or {},
        )

    if check.network and doc.offline:
        return result(SKIP, "skipped: --offline")
    missing = [need for need in check.needs if not doc.passed(need)]
    if missing:
        needed = ", ".join(checks.REGISTRY.get(need).title for need in missing)
        return result(SKIP, f"skipped: needs a working {needed}")
    try:
        with within(check.timeout_s):  # every exchange of the check ends by then
            finding = check.run(doc)
    except TimeoutError as exc:  # a blocking step (keyring, DNS, a file) ran out of time
        limit = exc.args[0] if exc.args and isinstance(exc.args[0], float) else check.timeout_s
        return result(
            FAIL,
            f"did not finish within {limit:g} s",
            "run it again; if it hangs "
            "again, something on the way (keyring, DNS, firewall) is not answering",
        )
    except CarctlError as exc:
        return result(FAIL, exc.message, exc.hint or "")
    except Exception as exc:  # a check that crashes is a finding, never the end of the run
        log.exception("doctor check %s crashed", check.id)
        return result(FAIL, f"the check itself failed: {type(exc).__name__}: {exc}")
    return result(finding.status, finding.detail, finding.remediation, finding.facts)


@dataclass(frozen=True)
class Verdict:
    verdict: str  # ok | setup | network | service | vehicle
    evidence: str


def _failed(results: dict[str, Result], check: str) -> Result | None:
    result = results.get(check)
    return result if result is not None and result.status == FAIL else None


def sentence(*parts: str) -> str:
    """Clauses joined into readable sentences: each capitalized, each ended once."""
    done = []
    for part in parts:
        text = part.strip().rstrip(".").strip()
        if text:
            done.append(text[:1].upper() + text[1:] + ".")
    return " ".join(done)


# What a verdict may call fine, by the check that must have passed to say so.
FINE = (
    ("config", "your config"),
    ("credentials", "the credential store"),
    ("network", "your network"),
    ("session", "sign-in"),
)


def fine(doc: Doctor, among: tuple[str, ...], *, tls: bool = False) -> str:
    """'your config and the credential store are fine' — only what this run found fine."""
    named = [words for check, words in FINE if check in among and doc.passed(check)]
    if tls and doc.passed("network"):
        named.insert(named.index("your network") + 1, "TLS")
    if not named:
        return ""
    listed = ", ".join(named[:-1]) + " and " + named[-1] if len(named) > 1 else named[0]
    return f"{listed} {'are' if len(named) > 1 else 'is'} fine"


def verdict(doc: Doctor) -> Verdict:
    results = doc.results
    for check in ("versions", "config", "state", "credentials"):
        failed = _failed(results, check)
        if failed:
            return Verdict(
                "setup",
                sentence(f"your setup needs attention: {failed.detail}", failed.remediation),
            )
    failed = _failed(results, "network")
    if failed:
        api = doc.endpoint.api_url if doc.endpoint else "the vehicle API"
        proxy = failed.facts.get("proxy")
        where = (
            f"the proxy {proxy}" if proxy else "this computer's connection (Wi-Fi, VPN, firewall)"
        )
        good = fine(doc, ("config", "credentials"))
        return Verdict(
            "network",
            sentence(
                f"cannot reach {api}{f' through the proxy {proxy}' if proxy else ''}: "
                f"{failed.detail}",
                f"{good}; check {where}" if good else f"check {where}",
            ),
        )
    failed = _failed(results, "session")
    if failed:
        lead = "you are not signed in" if failed.facts.get("signed_in") is False else failed.title
        return Verdict("setup", sentence(f"{lead}: {failed.detail}", failed.remediation))
    failed = _failed(results, "usage")  # the month's cap: every call after it is refused
    if failed:
        return Verdict("setup", sentence(f"{failed.title}: {failed.detail}", failed.remediation))
    service = _service_evidence(doc)
    if service:
        return Verdict("service", service)
    failed = _failed(results, "api")
    if failed:
        kind = "setup" if "sign in" in failed.remediation else "service"
        return Verdict(
            kind, sentence(f"the vehicle API failed: {failed.detail}", failed.remediation)
        )
    failed = _failed(results, "vehicle")
    if failed:
        return Verdict(
            "vehicle",
            sentence(
                f"the car is the problem: {failed.detail}",
                "your setup, network and the vehicle service are fine",
                failed.remediation,
            ),
        )
    failed = next((r for r in results.values() if r.status == FAIL), None)
    if failed:
        return Verdict("setup", sentence(f"{failed.title}: {failed.detail}", failed.remediation))
    account = doc.fact("session", "account") or "you"
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


def _service_evidence(doc: Doctor) -> str | None:
    """The vehicle service is failing: from the API check and the request log."""
    from carctl.doctor.checks import failure_story

    api = doc.results.get("api")
    if api is None or "error" not in api.facts or "sign in" in api.remediation:
        status = doc.fact("network", "status")
        if isinstance(status, int) and status >= 500 and (api is None or api.status != PASS):
            return sentence(
                f"the vehicle service reports it is down (/status answered {status})",
                "your network reached it; queued commands will be delivered when it recovers",
            )
        return None
    story = failure_story(api.facts.get("history", {}), txids=False) or api.detail
    https = bool(doc.endpoint and doc.endpoint.api_url.startswith("https"))
    good = fine(doc, ("network", "session"), tls=https)
    return sentence(
        f"the vehicle service is failing: {story}",
        f"{good}; queued commands will be delivered when it recovers"
        if good
        else "queued commands will be delivered when it recovers",
    )


def summary(results: list[Result]) -> dict[str, int]:
    counts = {PASS: 0, WARN: 0, FAIL: 0, SKIP: 0}
    for result in results:
        counts[result.status] += 1
    return counts
