"""How a routine runs: its steps (recorded, so an error says how far the morning got),
the car woken once for all of them, the commands queued together when the API fails, and
what the car reports afterwards."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import field
from functools import partial
from typing import Any, TypeVar

from carctl.errors import (
    CarctlError,
)
from carctl.records import record
from carctl.timefmt import iso
from carctl.vehicle import fields
from carctl.vehicle.commands import Command
from carctl.vehicle.model import Vehicle
from carctl.vehicle.service import VehicleService, Wake
from carctl.vehicle.words import describe

T = TypeVar("T")


WINDOWS = ("fd_window", "fp_window", "rd_window", "rp_window")


CLIMATE_FIELDS = (
    "inside_temp",
    "outside_temp",
    "driver_temp_setting",
    "passenger_temp_setting",
    "is_climate_on",
    "is_preconditioning",
)


@record
class Step:
    name: str
    detail: str  # in metric units: what `data.steps` says
    elapsed_s: float
    command: Command | None = None  # to say it again in the owner's units

    def describe(self, units: str) -> str:
        return describe(self.command, units)[1] if self.command is not None else self.detail

    def to_json(self) -> dict[str, Any]:
        return {"step": self.name, "detail": self.detail, "elapsed_s": round(self.elapsed_s, 1)}


@record
class Steps:
    service: VehicleService
    done: list[Step] = field(default_factory=list)
    vehicle: Vehicle | None = None

    def run(
        self, name: str, detail: str, work: Callable[[], T], command: Command | None = None
    ) -> T:
        started = self.service.clock.now()
        try:
            value = work()
        except CarctlError as exc:
            exc.data = {**(exc.data or {}), "steps": [s.to_json() for s in self.done]}
            if self.vehicle is not None and exc.vehicle is None:
                exc.vehicle = self.vehicle.ref()
            raise
        self.done.append(Step(name, detail, self.service.clock.now() - started, command))
        return value

    def to_json(self) -> list[dict[str, Any]]:
        return [step.to_json() for step in self.done]

    def woke(self, wake: Wake) -> None:
        """A wake that happened inside another step (the car fell asleep after being seen)."""
        label = wake.vehicle.label
        self.done.append(Step("wake", f"woke {label} in {wake.waited_s:.1f} s", wake.waited_s))


TEMPERATURES = ("inside_temp", "outside_temp", "driver_temp_setting", "passenger_temp_setting")


def climate_summary(data: dict[str, Any]) -> dict[str, Any] | None:
    climate = fields.section(data, "climate_state")
    if climate is None:
        return None
    return {
        key: (
            fields.number(climate, key, "climate_state")
            if key in TEMPERATURES
            else fields.flag(climate, key, "climate_state")
        )
        for key in CLIMATE_FIELDS
    }


def windows_summary(data: dict[str, Any]) -> dict[str, Any] | None:
    state = fields.section(data, "vehicle_state")
    if state is None:
        return None
    positions = {key: fields.number(state, key, "vehicle_state") for key in WINDOWS}
    values = [v for v in positions.values() if v is not None]
    return {
        **positions,
        "vented": bool(values) and all(v > 0 for v in values),
        "closed": bool(values) and all(v == 0 for v in values),
    }


@record
class Result:
    """What a routine did and what the car reports afterwards."""

    vehicle: Vehicle
    steps: Steps
    confirmed: bool | None = None  # None: the read-back failed
    climate: dict[str, Any] | None = None
    windows: dict[str, Any] | None = None
    expires_at: float | None = None
    read_back_error: str | None = None
    locked: bool | None = None  # lock and unlock: what the car reports afterwards
    sentry: bool | None = None  # sentry on and off: the same
    battery: dict[str, Any] | None = None  # the charge commands: `charge_state` afterwards
    skipped: dict[str, float] | None = None  # `--if-below`: not cold enough, nothing sent
    fact: str | None = None  # what the read-back confirmed, when no summary says it

    def to_json(self) -> dict[str, Any]:
        data = {
            "state": self.vehicle.state,
            "steps": self.steps.to_json(),
            "confirmed": self.confirmed,
            "climate": self.climate,
            "windows": self.windows,
            "expires_at": iso(self.expires_at),
        }
        if self.locked is not None:
            data["locked"] = self.locked
        if self.sentry is not None:
            data["sentry_mode"] = self.sentry
        if self.battery is not None:
            data["battery"] = self.battery
        if self.skipped is not None:
            data["skipped"] = self.skipped
        return data


def awaken(steps: Steps, vehicle: Vehicle, timeout: float) -> Vehicle:
    """The car, online: woken (and the wake recorded as a step) only when it is not."""
    steps.vehicle = vehicle
    if vehicle.state == "online":
        return vehicle
    woke = steps.run(
        "wake", f"woke {vehicle.label}", lambda: steps.service.wake(vehicle, timeout=timeout)
    )
    steps.done[-1].detail = f"woke {vehicle.label} in {woke.waited_s:.1f} s"
    return woke.vehicle


def perform(
    steps: Steps,
    selector: str | None,
    plan: list[Command],
    *,
    timeout: float,
    expires_at: float | None = None,
) -> Vehicle:
    """Find the car, wake it if needed, send the plan in order.

    When a step fails in a way that may pass, that step and the ones after it
    are queued together (same idempotency keys) before the error is raised.
    """
    service = steps.service
    vehicle: Vehicle | None = None
    sent = 0
    try:
        # on a paid provider: the plan and its read-back must fit under the month's cap
        # before anything is sent, and a wake too before the car is woken for it
        service.afford(commands=len(plan), reads=1)
        vehicle = service.locate(selector)
        service.check_signing(vehicle)
        if vehicle.state != "online":
            service.afford(wakes=1, commands=len(plan), reads=1)
        vehicle = awaken(steps, vehicle, timeout)
        for command in plan:
            name, detail = describe(command)
            steps.run(
                name,
                detail,
                partial(service.command, vehicle, command, timeout=timeout, on_wake=steps.woke),
                command,
            )
            sent += 1
            if service.delivery is not None:
                service.delivery.sent(vehicle, command)
    except CarctlError as exc:
        if service.delivery is not None:
            known = vehicle or service.known(selector)
            kept = service.delivery.keep_for_later(
                exc, known, plan[sent:], expires_at=expires_at, selector=selector
            )
            if kept is not None:
                exc.kept(kept)
        raise
    return vehicle


def _read_back(result: Result, sections: list[str]) -> dict[str, Any] | None:
    """What the car reports after the commands; a read-back that fails, or that carries
    what carctl cannot read, leaves the commands reported as sent, unconfirmed."""
    try:
        data = result.steps.service.data(result.vehicle, sections)
        result.climate = climate_summary(data) if "climate_state" in sections else None
        result.windows = windows_summary(data) if "vehicle_state" in sections else None
    except CarctlError as exc:
        result.climate = result.windows = None
        result.read_back_error = exc.message
        return None
    return data
