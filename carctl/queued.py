"""What a run kept for later: the typed result of queueing a command it could not send.

The delivery layer makes it (`Delivery.keep_for_later`), the error that ended
the run carries it to the face, and the face renders it: three lines on a
terminal, the envelope's `queued` object in JSON. Times stay numbers until
they are shown, and are shown by `carctl.timefmt` alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import field
from typing import Any

from carctl.records import record
from carctl.timefmt import iso


@record(frozen=True)
class QueuedStep:
    """One command waiting in the queue, as it will be sent."""

    command: str
    params: Mapping[str, Any] = field(default_factory=dict)


@record(frozen=True)
class Queued:
    """Commands kept for later, in the order they will be sent."""

    ids: tuple[int, ...]
    steps: tuple[QueuedStep, ...]
    vehicle: str  # the car's name, as the owner knows it
    expires_at: float  # after this, the commands are dropped unsent
    worker: str  # "started", "running", or "off" (`carctl queue run` delivers)
    not_before: float | None = None  # the service asked carctl to wait until then

    @property
    def commands(self) -> list[str]:
        return [step.command for step in self.steps]

    def to_json(self) -> dict[str, Any]:
        """The envelope's `queued` object (docs/scripting.md)."""
        document: dict[str, Any] = {
            "ids": list(self.ids),
            "commands": self.commands,
            "expires_at": iso(self.expires_at),
            "worker": self.worker,
            "steps": [{"command": s.command, "params": dict(s.params)} for s in self.steps],
            "vehicle": self.vehicle,
        }
        if self.not_before is not None:
            document["not_before"] = iso(self.not_before)
        return document


@record(frozen=True)
class Kept:
    """What `keep_for_later` did with a run's failure: queued (`queued`), or not, and why
    (`hint`); with the diagnosis of the failure either way."""

    hint: str | None
    diagnosis: Mapping[str, Any] | None = None
    queued: Queued | None = None
    vehicle: Mapping[str, Any] | None = None  # the car it concerned, when known by id
