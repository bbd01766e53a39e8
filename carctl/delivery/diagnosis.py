"""Whose fault is it? One sentence of evidence from what carctl itself saw.

It reads the error, the breaker's history and the request log — it sends
nothing, because asking a failing service more questions is part of the
problem.
"""

from __future__ import annotations

from typing import Any

from carctl.api.request_log import Exchange
from carctl.delivery.breaker import Health
from carctl.errors import CarctlError, NetworkError, RateLimitedError
from carctl.timefmt import hhmm

WINDOW_S = 30 * 60.0


SUMMARY_WIDTH = 75


def diagnose(
    error: CarctlError, health: Health, recent: list[Exchange], *, now: float
) -> dict[str, Any]:
    """`{"likely": network|service|gateway|rate_limit, "evidence": "…"}`."""
    window = [e for e in recent if now - e.at <= WINDOW_S]
    failing: list[Exchange] = []
    for exchange in reversed(window):  # the unbroken run of failures up to now
        if exchange.outcome == "ok" or (exchange.status is not None and exchange.status < 500):
            break
        failing.append(exchange)
    failing.reverse()
    answered = [e for e in failing if e.status is not None]
    since = f" since {hhmm(failing[0].at)}" if failing else ""
    txids = ", ".join(e.txid for e in answered[-3:] if e.txid)
    txid_text = f" (txids {txids})" if txids else ""
    if isinstance(error, RateLimitedError):
        return {
            "likely": "rate_limit",
            "evidence": "The vehicle API is limiting requests for this car; carctl waits as asked.",
            "summary": "the vehicle API is limiting requests for this car; carctl waits as asked",
        }
    if isinstance(error, NetworkError) and not answered:
        return {
            "likely": "network",
            "evidence": f"No answer from the vehicle API{since}: {error.message}. Your network "
            "or the service's front door is down; `carctl doctor` tells which.",
            "summary": f"no answer from the vehicle API{since} (`carctl doctor` tells whose)",
        }
    gateway = bool(error.http and error.http.excerpt and "gateway" in error.http.excerpt)
    count = len(failing) or 1
    statuses = "/".join(sorted({str(e.status) for e in answered})) or "errors"
    evidence = (
        f"The vehicle service is failing: the last {count} request{'s' if count > 1 else ''}"
        f"{since} {'all ' if count > 1 else ''}returned {statuses}{txid_text}. "
        + ("The HTML error pages come from a gateway in front of it. " if gateway else "")
        + "Your network reached the server, and your sign-in is fine."
    )
    if health.state == "open":
        evidence += " carctl has paused sending to give it air."
    what = "the service's gateway has failed" if gateway else f"the service has failed ({statuses})"
    summary = f"{what}{since}, not your network or sign-in"
    if len(summary) > SUMMARY_WIDTH:  # one line at 80 columns, after "why: "
        summary = f"{what}{since}, not your network"
    return {"likely": "gateway" if gateway else "service", "evidence": evidence, "summary": summary}
