"""Delivering commands: queueing what a run could not send, and sending queued entries.

`Delivery` is what a direct run uses when a command fails in a way that may
pass (5xx, network, 429, breaker open): the command and the steps after it go
to the queue together, with the idempotency keys they were sent with, and a
background worker is started. `deliver_batch` is what the worker (and
`carctl queue run`) does with one car's claimed entries: ask the car's state
(without waking), wake it once for all of them, send each in order.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from carctl.api.request_log import RequestLog
from carctl.clock import Clock
from carctl.delivery.diagnosis import diagnose
from carctl.delivery.guard import BreakerOpenError
from carctl.delivery.health import HealthStore
from carctl.delivery.policy import queue_delay
from carctl.delivery.queue import BY_NAME, Entry, NewCommand, Queue
from carctl.errors import (
    BadRequestError,
    CarctlError,
    NotFoundError,
    RefusedError,
    TemporaryError,
    UsageError,
)
from carctl.processes import Holder
from carctl.queued import Kept, Queued, QueuedStep
from carctl.timefmt import day_and_time, hhmm
from carctl.vehicle.commands import Command
from carctl.vehicle.model import Vehicle
from carctl.vehicle.safety import Safety, safety_of, why_not_queued
from carctl.vehicle.service import VehicleService

log = logging.getLogger("carctl.delivery")
WAKE_TIMEOUT_S = 90.0


class Withdrawn(CarctlError):
    """A queued entry must not be sent after all: superseded, cancelled or expired meanwhile."""

    code = "withdrawn"


def queueable(error: CarctlError) -> bool:
    """Failures that may pass: the command should wait in the queue, not be dropped."""
    return isinstance(error, TemporaryError)


def permanent(error: CarctlError) -> bool:
    """Failures a later try cannot fix: the entry fails instead of waiting."""
    if isinstance(error, BadRequestError | NotFoundError | UsageError):
        return True  # a bad request, a car no longer on the account, an ambiguous name
    return isinstance(error, RefusedError) and error.http is None  # the car said no


@dataclass
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


def deliver_batch(
    service: VehicleService,
    queue: Queue,
    batch: list[Entry],
    *,
    owner: Holder,
    clock: Clock,
    rng: random.Random,
) -> dict[str, int]:
    """Send one car's entries in order, sharing one wake. Returns counts by outcome.

    Each entry is checked (still pending, still ours, not expired) and marked as
    being sent right before every request that can execute it; one that fails
    the check is skipped, never sent.
    """
    run = _Batch(service, queue, owner, clock, rng)
    if run.reach(batch):
        for index, entry in enumerate(batch):
            if not run.send(entry, batch[index:]):
                break
    return run.counts


@dataclass
class _Batch:
    """One pass over one car's entries: the car reached once, each entry sent in turn."""

    service: VehicleService
    queue: Queue
    owner: Holder
    clock: Clock
    rng: random.Random
    counts: dict[str, int] = field(
        default_factory=lambda: {"delivered": 0, "failed": 0, "waiting": 0, "skipped": 0}
    )
    vehicle: Vehicle | None = None

    def reach(self, batch: list[Entry]) -> bool:
        """Find the car (by its id, or the name it was queued by) and wake it once for all."""
        first = batch[0]
        self.vehicle = Vehicle(first.vehicle_id, "", first.vehicle_name, "unknown")
        try:
            if first.vehicle_id.startswith(BY_NAME):
                vehicle = self.service.locate(first.vehicle_id[len(BY_NAME) :] or None)
            else:
                vehicle = self.service.current(self.vehicle)
            if vehicle.state != "online":
                vehicle = (self.service.wake(vehicle, timeout=WAKE_TIMEOUT_S)).vehicle
        except CarctlError as exc:
            if permanent(exc):
                for entry in batch:
                    self.queue.failed(entry.id, exc, now=self.clock.now())
                self.counts["failed"] += len(batch)
            else:
                self.later(batch, exc, tried=not isinstance(exc, BreakerOpenError))
            return False
        self.vehicle = vehicle
        return True

    def send(self, entry: Entry, rest: list[Entry]) -> bool:
        """Send `entry` (checked right before each request); False: the rest must wait."""
        queue, clock, owner = self.queue, self.clock, self.owner
        assert self.vehicle is not None
        if queue.begin_send(entry.id, owner=owner, now=clock.now()) is None:
            self.counts["skipped"] += 1  # superseded, cancelled or expired meanwhile
            return True

        def still_wanted() -> None:
            if queue.begin_send(entry.id, owner=owner, now=clock.now()) is None:
                raise Withdrawn(f"#{entry.id} is no longer to be sent")

        command = Command(entry.command, entry.arguments, entry.idempotency_key)
        try:
            self.service.command(
                self.vehicle,
                command,
                timeout=WAKE_TIMEOUT_S,
                before_send=still_wanted,
                deadline=entry.expires_at,  # a signing car refuses it itself once late
            )
        except Withdrawn:
            self.counts["skipped"] += 1
            now_entry = queue.get(entry.id)
            log.info(
                "queue: #%d %s not sent: %s meanwhile",
                entry.id,
                entry.command,
                now_entry.status if now_entry else "gone",
            )
            return True
        except CarctlError as exc:
            if not permanent(exc):
                self.later(rest, exc, tried=not isinstance(exc, BreakerOpenError))
                return False
            queue.failed(entry.id, exc, now=clock.now())
            self.counts["failed"] += 1
            log.warning("queue: #%d %s failed: %s", entry.id, entry.command, exc.message)
            return True
        queue.delivered(entry.id, now=clock.now())
        self.counts["delivered"] += 1
        log.info(
            "queue: delivered #%d %s to %s", entry.id, entry.command, self.vehicle.display_name
        )
        return True

    def later(self, entries: list[Entry], error: CarctlError, *, tried: bool) -> None:
        """Back to the queue for a while (the service's Retry-After, at least)."""
        now = self.clock.now()
        wait = queue_delay(entries[0].attempts + (1 if tried else 0), self.rng)
        if error.retry_at is not None:
            wait = max(wait, error.retry_at - now)
        self.queue.retry_later(entries, error, now=now, wait=wait, tried=tried)
        self.counts["waiting"] += len(entries)
        if entries[0].last_error != error.message:  # a state is logged once, not every pass
            log.info(
                "queue: %s for %s waits %.0f s: %s",
                ", ".join(f"#{e.id}" for e in entries),
                self.vehicle.display_name if self.vehicle else "the car",
                wait,
                error.message,
            )
