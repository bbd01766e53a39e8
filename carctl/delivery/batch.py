"""Delivering one car's queued entries (the worker, `carctl queue run`): ask the car's
state without waking it, wake it once for all of them, and send each in order, each checked
right before every request that can execute it.
"""

from __future__ import annotations

import logging
import random
from dataclasses import field

from carctl.clock import Clock
from carctl.delivery.guard import BreakerOpenError
from carctl.delivery.policy import queue_delay
from carctl.delivery.queue import BY_NAME, Entry, Queue
from carctl.errors import (
    BadRequestError,
    CarctlError,
    NotFoundError,
    RefusedError,
    UsageError,
)
from carctl.processes import Holder
from carctl.records import record
from carctl.vehicle.commands import Command
from carctl.vehicle.model import Vehicle
from carctl.vehicle.service import VehicleService

log = logging.getLogger("carctl.delivery")
WAKE_TIMEOUT_S = 90.0


class Withdrawn(CarctlError):
    """A queued entry must not be sent after all: superseded, cancelled or expired meanwhile."""

    code = "withdrawn"


def permanent(error: CarctlError) -> bool:
    """Failures a later try cannot fix: the entry fails instead of waiting."""
    if isinstance(error, BadRequestError | NotFoundError | UsageError):
        return True  # a bad request, a car no longer on the account, an ambiguous name
    return isinstance(error, RefusedError) and error.http is None  # the car said no


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


@record
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
