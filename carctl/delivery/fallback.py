"""What a direct run does with a command it could not send: `Delivery` keeps it for
later (the vehicle layer's `Fallback`), with the steps after it, the idempotency keys it was
sent with and the diagnosis, and starts a worker; or says why it did not (a command never
queued, `--no-queue`). It returns a `Kept` value; the error that ended the run takes it on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from carctl.api.request_log import RequestLog
from carctl.clock import Clock
from carctl.delivery.breaker import HealthStore
from carctl.delivery.diagnosis import diagnose
from carctl.delivery.queue import BY_NAME, NewCommand, Queue
from carctl.errors import (
    CarctlError,
    TemporaryError,
)
from carctl.queued import Kept, Queued, QueuedStep
from carctl.records import record
from carctl.timefmt import day_and_time, hhmm
from carctl.vehicle.commands import Command
from carctl.vehicle.model import Vehicle
from carctl.vehicle.safety import Safety, safety_of, why_not_queued

log = logging.getLogger("carctl.delivery")


def queueable(error: CarctlError) -> bool:
    """Failures that may pass: the command should wait in the queue, not be dropped."""
    return isinstance(error, TemporaryError)


@record
class Delivery:
    """A direct run's link to the queue."""

    queue: Queue
    health: HealthStore
    request_log: RequestLog | None
    scope: str
    origin: str  # the endpoint's origin: what the request log and the breaker are keyed by
    api_url: str  # the address the queue delivers to
    clock: Clock
    ttl_s: float
    use_queue: bool = True
    start_worker: Callable[[], str] | None = None  # returns "started", "running" or "off"

    def sent(self, vehicle: Vehicle, command: Command) -> None:
        """A direct success supersedes older queued commands in its slot, claimed or not."""
        superseded = self.queue.supersede(
            scope=self.scope,
            vehicle=vehicle,
            slot=command.slot,
            now=self.clock.now(),
            by=f"a direct {command.name}",
        )
        if superseded:
            log.info("%d queued %s superseded by a direct command", superseded, command.slot)

    def learned(self, vehicles: list[Vehicle], complete: bool) -> None:
        """A lookup learned cars' ids: entries queued by a car's name now carry its id."""
        if self.use_queue:
            self.queue.adopt(
                scope=self.scope, vehicles=vehicles, complete=complete, now=self.clock.now()
            )

    def keep_for_later(
        self,
        error: CarctlError,
        vehicle: Vehicle | None,
        commands: list[Command],
        *,
        expires_at: float | None,
        selector: str | None = None,
    ) -> Kept | None:
        """Queue the commands a run could not send; what was queued, or why nothing was, for
        the error the caller re-raises (None: the failure is not one to wait out).

        A car the API could not be asked about, and that the cache does not know,
        is queued by the name the user gave; the worker finds it on delivery.
        """
        if not queueable(error) or not commands:
            return None
        now = self.clock.now()
        recent = self.request_log.recent(self.origin, limit=50) if self.request_log else []
        diagnosis = diagnose(error, self.health.read(), recent, now=now)
        unsafe = [c for c in commands if safety_of(c.name, c.params) is Safety.NEVER_QUEUED]
        if unsafe:  # late, it would be an open car: said at once, never kept for later
            why = why_not_queued(unsafe[0].name)
            check = (
                "check with `carctl status`, then " if "outcome is unknown" in error.message else ""
            )
            hint = f"not queued: {why}; {check}try again yourself when the vehicle API answers"
            return Kept(hint, diagnosis)
        if not self.use_queue:
            return Kept("--no-queue was given, so nothing was queued; try again later", diagnosis)
        if vehicle is None:
            vehicle = Vehicle(
                id=BY_NAME + (selector or "").strip().casefold(),
                vin="",
                display_name=selector or "your car",
                state="unknown",
            )
        queued = self._add(error, vehicle, commands, expires_at=expires_at, now=now)
        return Kept(
            _queued_hint(queued, vehicle, now),
            diagnosis,
            queued,
            None if vehicle.id.startswith(BY_NAME) else vehicle.ref(),
        )

    def _add(
        self,
        error: CarctlError,
        vehicle: Vehicle,
        commands: list[Command],
        *,
        expires_at: float | None,
        now: float,
    ) -> Queued:
        """The commands in the queue, together, and a worker started to deliver them."""
        entries = self.queue.add(
            scope=self.scope,
            api_url=self.api_url,
            vehicle_id=vehicle.id,
            vehicle_name=vehicle.display_name,
            commands=[NewCommand(c.name, c.params, c.slot, c.idempotency_key) for c in commands],
            expires_at=expires_at,
            ttl_s=self.ttl_s,
            now=now,
            error=error,
            vin=vehicle.vin,
        )
        not_before = entries[0].next_attempt_at
        return Queued(
            ids=tuple(e.id for e in entries),
            steps=tuple(QueuedStep(e.command, e.arguments) for e in entries),
            vehicle=vehicle.display_name,
            expires_at=entries[0].expires_at,
            worker=self.start_worker() if self.start_worker else "off",
            not_before=not_before if not_before > now + 60 and error.retry_at is not None else None,
        )


def _queued_hint(queued: Queued, vehicle: Vehicle, now: float) -> str:
    """The error's hint when its commands were queued: ids, expiry, how they are delivered."""
    what = ", ".join(f"#{i} {c}" for i, c in zip(queued.ids, queued.commands, strict=True))
    delivery = {
        "started": "a background worker will deliver it when the API recovers",
        "running": "the background worker will deliver it when the API recovers",
        "off": "`carctl queue run` (or `carctl queue worker`) delivers it",
    }[queued.worker]
    if queued.not_before is not None:
        waits = day_and_time(queued.not_before, now)
        if queued.not_before >= queued.expires_at:
            delivery = (
                f"the service asked carctl to wait until {waits}, past its expiry, so it "
                "will expire unsent unless you send it again later"
            )
        else:
            delivery = f"not before {waits}, as the service asked; {delivery}"
    ids = queued.ids
    return (
        f"{what} for {vehicle.label}, expires {hhmm(queued.expires_at)}; {delivery}. "
        f"`carctl queue` shows it, `carctl queue cancel {ids[0]}` cancels it"
        + (" (and the rest with --all)" if len(ids) > 1 else "")
        + "; --no-queue does not queue"
    )
