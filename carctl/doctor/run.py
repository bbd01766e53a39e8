"""Running the checks and reaching a verdict.

Each check runs under its own time limit; one that raises or overruns becomes
a `fail` with the error, and the run goes on. A check whose prerequisite did
not pass is `skip`, with the reason.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from carctl.api.transport import within
from carctl.doctor import checks
from carctl.doctor.model import FAIL, PASS, SKIP, WARN, Check, Doctor, Result, Verdict
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


def verdict(doc: Doctor) -> Verdict:
    """Which of setup, network, service or car is at fault (see `carctl.doctor.verdict`)."""
    from carctl.doctor.verdict import verdict as judge

    return judge(doc, list(checks.REGISTRY))


def summary(results: list[Result]) -> dict[str, int]:
    counts = {PASS: 0, WARN: 0, FAIL: 0, SKIP: 0}
    for result in results:
        counts[result.status] += 1
    return counts
