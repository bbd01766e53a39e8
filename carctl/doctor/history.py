"""The request log's story of the vehicle API's recent failures: told by the API check and
by the verdict, in the same words."""

from __future__ import annotations

from typing import Any

from carctl.doctor.model import Doctor
from carctl.timefmt import hhmm


def recent_failures(doc: Doctor) -> dict[str, Any]:
    """The request log's recent failures, grouped by status, with times and txids."""
    rows = doc.stack.request_log.recent(doc.stack.endpoint.origin, limit=500)
    now = doc.clock.now()
    recent = [r for r in rows if now - r.at <= 3600]
    groups: dict[str, dict[str, Any]] = {}
    streak: list[Any] = []
    for row in recent:
        if row.path.startswith("/oauth2/"):  # the sign-in service: not the vehicle API's story
            continue
        if row.outcome == "ok" or (row.status is not None and row.status < 500):
            streak = []
            continue
        streak.append(row)
        key = str(row.status) if row.status is not None else row.outcome
        group = groups.setdefault(key, {"count": 0, "first": row.at, "txids": []})
        group["count"] += 1
        group["last"] = row.at
        if row.txid:
            group["txids"] = [*group["txids"], row.txid][-3:]
    return {"groups": groups, "streak": streak, "total": len(recent)}


def failure_story(history: dict[str, Any], *, txids: bool = True) -> str:
    """The failures that are still going on, told once: the check and the verdict both say it.

    Only the unbroken run of failures up to now counts; a success ends a story, so
    the report never mixes this morning's count with the last hour's.
    """
    streak = history.get("streak", [])
    if not streak:
        return ""
    statuses = "/".join(sorted({str(r.status or r.outcome) for r in streak}))
    ids = ", ".join(r.txid for r in streak[-3:] if r.txid) if txids else ""
    what = (
        "the last request"
        if len(streak) == 1
        else f"the last {len(streak)} requests since {hhmm(streak[0].at)}"
    )
    verb = "returned" if statuses[:1].isdigit() else "ended in"
    return f"{what} {verb} {statuses}" + (f" (txids {ids})" if ids else "")
