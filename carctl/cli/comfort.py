"""`carctl seat heat`, `carctl wheel heat`, `carctl defrost`: comfort beyond the climate.

Queued like climate when the API fails (a warm seat is still welcome a little
later), and read back from the car's `climate_state`.
"""

from __future__ import annotations

from typing import Any

import click

from carctl.cli.context import AppContext, pass_app
from carctl.cli.vehicle import (
    _expiry,
    _report,
    expiry_options,
    run_options,
    selected_car,
    with_service,
)

ON_OFF = click.Choice(["on", "off"])


def _run(
    app: AppContext,
    command: Any,
    timeout: float,
    wake_timeout: float,
    expires_in: str | None,
    expires_at: str | None,
) -> None:
    from carctl.vehicle import car_routines

    deadline = _expiry(app, expires_in, expires_at)
    result = with_service(
        app,
        lambda service: car_routines.comfort(
            service, selected_car(app), command, timeout=wake_timeout, expires_at=deadline
        ),
        deadline_s=timeout,
    )
    _report(app, result)


@click.group()
def seat() -> None:
    """Seat heating: carctl seat heat driver 3 (0 turns it off)."""


@seat.command("heat")
@click.argument("which", metavar="SEAT")
@click.argument("level", type=int, metavar="LEVEL")
@run_options
@expiry_options
@pass_app
def seat_heat(
    app: AppContext,
    which: str,
    level: int,
    timeout: float,
    wake_timeout: float,
    expires_in: str | None,
    expires_at: str | None,
) -> None:
    """Heat SEAT (driver, passenger, rear-left, rear-center, rear-right) at LEVEL 0–3."""
    from carctl.vehicle.car_routines import seat_heat as command

    _run(app, command(which.strip().lower(), level), timeout, wake_timeout, expires_in, expires_at)


@click.group()
def wheel() -> None:
    """Steering wheel heating: carctl wheel heat on|off."""


@wheel.command("heat")
@click.argument("state", type=ON_OFF, metavar="on|off")
@run_options
@expiry_options
@pass_app
def wheel_heat(
    app: AppContext,
    state: str,
    timeout: float,
    wake_timeout: float,
    expires_in: str | None,
    expires_at: str | None,
) -> None:
    """Turn the steering wheel heater on or off."""
    from carctl.vehicle.commands import Command

    command = Command("remote_steering_wheel_heater_request", {"on": state == "on"})
    _run(app, command, timeout, wake_timeout, expires_in, expires_at)


@click.command()
@click.argument("state", type=ON_OFF, metavar="on|off")
@run_options
@expiry_options
@pass_app
def defrost(
    app: AppContext,
    state: str,
    timeout: float,
    wake_timeout: float,
    expires_in: str | None,
    expires_at: str | None,
) -> None:
    """Defrost: the most heat, front and rear, on or off.

    The Fleet API's set_preconditioning_max; the climate comes on with it."""
    from carctl.vehicle.commands import Command

    command = Command("set_preconditioning_max", {"on": state == "on"})
    _run(app, command, timeout, wake_timeout, expires_in, expires_at)
