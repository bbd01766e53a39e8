"""What carctl keeps for later: the queue and its worker, and the schedules each car holds
(from the vehicle cache: no request)."""

from __future__ import annotations

from typing import Any

from carctl.doctor.model import PASS, REGISTRY, WARN, Doctor, Finding, in_thread
from carctl.errors import CarctlError


@REGISTRY.check("queue", "queue and worker", order=90, needs=("config",))
def queue(doc: Doctor) -> Finding:
    from carctl.delivery.worker import running

    path = doc.paths.state_db
    if not path.exists():
        return Finding(PASS, "nothing queued")

    def read() -> dict[str, Any]:
        entries = doc.stack.queue.entries(include_finished=True, limit=1000)
        pending = [e for e in entries if e.status == "pending"]
        day = doc.clock.now() - 86400
        expired = [e for e in entries if e.status == "expired" and (e.finished_at or 0) > day]
        return {
            "pending": len(pending),
            "expired_24h": len(expired),
            "oldest": min((e.created_at for e in pending), default=None),
            "worker": running(doc.paths),
        }

    facts = in_thread(read, 8.0)
    if not facts["pending"]:
        expired = (
            f"; {facts['expired_24h']} expired in the last 24 h" if facts["expired_24h"] else ""
        )
        return Finding(PASS, f"nothing queued{expired}", facts=facts)
    age = (doc.clock.now() - facts["oldest"]) / 60
    detail = (
        f"{facts['pending']} pending, the oldest {age:.0f} min old; "
        f"{facts['expired_24h']} expired in the last 24 h; worker "
        + ("running" if facts["worker"] else "not running")
    )
    if not facts["worker"]:
        return Finding(
            WARN, detail, "run `carctl queue run` (or `carctl queue worker`) to deliver", facts
        )
    return Finding(PASS, detail, facts=facts)


@REGISTRY.check("schedule", "schedules on the car", order=85, needs=("config",))
def schedule(doc: Doctor) -> Finding:
    """Whether each car holds a schedule and when it next runs: information, never a failure.

    Doctor never wakes a car, nor keeps one awake with a read: each car is
    described from what it held when carctl last read it (`carctl schedule`,
    the evening arming), with the age of that reading — which also works while
    the API fails, when the owner most wants to know that the morning is safe.
    """
    from carctl.vehicle.model import Vehicle

    assert doc.settings is not None and doc.endpoint is not None
    now = doc.clock.now()
    chosen = doc.fact("vehicle", "vehicles")  # the car check's choice, failed or not
    cars = (
        [Vehicle(c["id"], c["vin"], c["display_name"], c["state"]) for c in chosen]
        if chosen is not None
        else in_thread(lambda: _cached_cars(doc), 5.0)
    )
    notes, unknown, facts = [], [], {}
    for car in cars:
        described, fact = _schedules_of(doc, car, now)
        if described is None:
            unknown.append(car.display_name)
        else:
            notes.append(described)
        facts[car.id] = fact
    if unknown:
        their = "its" if len(unknown) == 1 else "their"
        notes.append(
            f"{' and '.join(unknown)}: not known yet (carctl has not read {their} schedules; "
            "`carctl schedule` does)"
        )
    if not notes:
        return Finding(PASS, "no car known yet", facts=facts)
    return Finding(PASS, "; ".join(notes), facts=facts)


def _cached_cars(doc: Doctor) -> list[Any]:
    """The cars carctl knows, when the API cannot list them: the chosen one, or all."""
    from carctl.vehicle.service import choose

    assert doc.settings is not None
    cars = doc.stack.cache().vehicles()
    selector = doc.settings.get("vehicle")
    if selector is None or not cars:
        return cars
    try:
        return [choose(cars, str(selector))]
    except CarctlError:
        return cars


def _schedules_of(doc: Doctor, car: Any, now: float) -> tuple[str | None, dict[str, Any]]:
    """What the car holds, in words (None: not known), and as facts."""
    from carctl.vehicle.on_car import Holding
    from carctl.vehicle.schedules import departure_from, when_text

    snapshot = in_thread(lambda: doc.stack.cache().snapshot(car.id), 5.0)
    seen = snapshot is not None and (
        "preconditioning_schedule_data" in snapshot.data
        or departure_from(snapshot.data.get("charge_state")) is not None
    )
    if snapshot is None or not seen:
        return None, {"armed": None}
    source = f"as read {_age(now - snapshot.at)} ago"
    holding = Holding.from_data(car, snapshot.data).still_held(snapshot.at, now)
    following = holding.next_run(now)
    if following is None:
        return (
            f"{car.display_name}: no schedule armed ({source}); mornings depend on the "
            "vehicle API at the time — `carctl schedule set 06:30` lets the car keep one",
            {"armed": False},
        )
    armed, ready = following
    return (
        f"{car.display_name}: {armed.describe()}, next {when_text(ready, holding.zone)} "
        f"{holding.zone_name} ({source}); it runs on the car even when the API is down",
        {"armed": True, "next_ready": ready},
    )


def _age(seconds: float) -> str:
    minutes = max(0, round(seconds / 60))
    return f"{minutes} min" if minutes < 90 else f"{round(minutes / 60)} h"
