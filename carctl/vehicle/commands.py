"""A command for a car: what it changes (its slot, for supersession), which are queued,
and the car's answer read as the owner means it ("already so" is done; a refusal is said
with its reason)."""

from __future__ import annotations

import uuid
from dataclasses import field
from typing import Any

from carctl.errors import RefusedError, TemporaryError
from carctl.records import record
from carctl.vehicle.model import Vehicle

# The commands carctl ever queues: a row in the queue asking for anything else was not
# written by carctl, and is never sent.
QUEUED_COMMANDS = frozenset(
    {
        "auto_conditioning_start",
        "auto_conditioning_stop",
        "set_temps",
        "window_control",
        "add_precondition_schedule",
        "remove_precondition_schedule",
        "set_scheduled_departure",
        "door_lock",  # short expiry: `carctl.vehicle.safety`
        "set_sentry_mode",  # on only: sentry off is never queued
        "charge_start",
        "charge_stop",  # short expiry
        "set_charge_limit",
        "set_charging_amps",
        "charge_port_door_close",
        "remote_seat_heater_request",
        "remote_steering_wheel_heater_request",
        "set_preconditioning_max",
    }
)


@record(frozen=True)
class Command:
    """One command for one car; `slot` names what it changes (for supersession)."""

    name: str
    params: dict[str, Any] = field(default_factory=dict)
    idempotency_key: str = field(default_factory=lambda: uuid.uuid4().hex)

    @property
    def slot(self) -> str:
        """What it changes: a newer command of the same slot makes an older one pointless."""
        if self.name == "remote_seat_heater_request":  # one per seat
            return f"seat heat {self.params.get('heater')}"
        if self.name == "add_precondition_schedule":  # one per days and time: others coexist
            days, time = self.params.get("days_of_week"), self.params.get("precondition_time")
            return f"schedule {days} {time}"
        if self.name == "remove_precondition_schedule":
            return f"unschedule {self.params.get('id')}"
        return _SLOTS.get(self.name, self.name)


_SLOTS = {
    "auto_conditioning_start": "climate",
    "auto_conditioning_stop": "climate",
    "set_temps": "temperature",
    "window_control": "windows",
    "charge_start": "charging",
    "charge_stop": "charging",
    "charge_port_door_open": "charge port",
    "charge_port_door_close": "charge port",
    "door_lock": "locks",
    "door_unlock": "locks",
}


# The car's "no" that means "it is so already": the owner's wish holds, so it is a success
# (Tesla answers `result: false` with these reasons; timdorr/tesla-api, "Charging").
ALREADY = {
    "set_charge_limit": ("already_set",),
    "charge_start": ("is_charging",),
    "charge_stop": ("not_charging",),
}


@record(frozen=True)
class Outcome:
    result: bool
    reason: str


def describe_done(name: str) -> str:
    """ "unlocked": what a never-queued command does, for a message about its outcome."""
    return {
        "door_unlock": "unlocked",
        "actuate_trunk": "opened the trunk",
        "charge_port_door_open": "opened the charge port",
        "honk_horn": "honked",
        "flash_lights": "flashed its lights",
        "set_sentry_mode": "turned sentry off",
    }.get(name, f"carried out {name}")


def outcome_unknown(exc: TemporaryError, vehicle: Vehicle, command: Command) -> None:
    """A command sent once whose answer did not come back: the car may have done it."""
    what = describe_done(command.name)
    exc.message += (
        f"; the outcome is unknown: {vehicle.label} may have {what}, and carctl "
        "does not send it again"
    )
    exc.hint = f"check with `carctl status` before you try again; {exc.hint or ''}"
    exc.hint = exc.hint.rstrip("; ")


def judged(outcome: Outcome, vehicle: Vehicle, command: Command) -> Outcome:
    """The car's answer: done, already so (done too), or refused with its reason."""
    if not outcome.result and outcome.reason in ALREADY.get(command.name, ()):
        return Outcome(True, outcome.reason)  # the car is as asked already: done
    if not outcome.result:
        raise RefusedError(
            f"{vehicle.label} refused {command.name}: {outcome.reason or 'no reason given'}",
            hint=_refusal_hint(outcome.reason),
        )
    return outcome


def _refusal_hint(reason: str) -> str | None:
    hints: dict[str, str] = {
        "user_too_far": "closing windows needs a position within 1 km of the car",
        "schedule_limit_reached": "remove one first: carctl schedule off ID",
        "not_supported": "this car keeps only a scheduled departure: --days all or weekdays",
        "cabin comfort remote settings not enabled": "enable remote climate in the car",
        "disconnected": "plug the charging cable in first",
        "complete": "the battery is already at its charge limit: raise it with "
        "`carctl charge limit 90`",
        "cable connected": "unplug the cable first",
        "vehicle_not_in_park": "the car is being driven: it does that only in park",
        "no_powered_tailgate": "this car's trunk closes by hand",
    }
    return hints.get(reason)
