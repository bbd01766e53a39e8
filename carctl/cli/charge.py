"""`carctl charge`: the battery and charging, and the commands that change them.

`charge` alone shows the charge state without waking the car (what it reported
last when it sleeps). `start`, `limit`, `amps` and `port close` are queued like
climate when the API fails; `stop` for two minutes at most; `port open` never
(`carctl.vehicle.safety`).
"""

from __future__ import annotations

from typing import Any

import click

from carctl.cli.car import SHORT_EXPIRY, _short_expiry
from carctl.cli.context import AppContext, pass_app
from carctl.cli.vehicle import (
    _expiry,
    _report,
    expiry_options,
    read_options,
    run_options,
    selected_car,
    with_service,
)


@click.group(invoke_without_command=True)
@click.option("--wake", "wake_first", is_flag=True, help="Wake a sleeping car for live data.")
@read_options
@pass_app
@click.pass_context
def charge(
    ctx: click.Context, app: AppContext, wake_first: bool, timeout: float, wake_timeout: float
) -> None:
    """Battery and charging: state, start, stop, limit, amps, port.

    Without a subcommand, shows the charge state without waking the car: level,
    range, limit, whether it charges and how fast, time to full, the cable."""
    if ctx.invoked_subcommand is not None:
        return
    from carctl.cli.render import charge_lines
    from carctl.vehicle.status import status as read_status

    result = with_service(
        app,
        lambda service: read_status(
            service, selected_car(app), wake_first=wake_first, timeout=wake_timeout
        ),
        deadline_s=timeout,
    )
    now = app.clock.now()
    document = result.to_json(now)
    data = {k: document[k] for k in ("state", "live", "stale", "age_s", "as_of", "battery")}
    if result.failure is not None:  # the API fails: what the car reported last (exit 75)
        error = result.failure
        error.data = {**(error.data or {}), **data}
        error.vehicle = result.vehicle.ref()
        if not app.output.json_mode and not app.output.quiet:
            app.output.console().print(charge_lines(result, now), markup=False)
        raise error
    app.output.result(
        app.command, data, vehicle=result.vehicle.ref(), human=charge_lines(result, now)
    )


def _run(
    app: AppContext, command: Any, timeout: float, wake_timeout: float, deadline: float | None
) -> None:
    from carctl.vehicle import car_routines

    result = with_service(
        app,
        lambda service: car_routines.charge(
            service, selected_car(app), command, timeout=wake_timeout, expires_at=deadline
        ),
        deadline_s=timeout,
    )
    _report(app, result)


@charge.command("start")
@run_options
@expiry_options
@pass_app
def charge_start(
    app: AppContext,
    timeout: float,
    wake_timeout: float,
    expires_in: str | None,
    expires_at: str | None,
) -> None:
    """Start charging (the cable must be in)."""
    from carctl.vehicle.car_routines import charge_command

    deadline = _expiry(app, expires_in, expires_at)
    _run(app, charge_command("charge_start"), timeout, wake_timeout, deadline)


@charge.command("stop")
@SHORT_EXPIRY
@run_options
@pass_app
def charge_stop(
    app: AppContext, expires_in: str | None, timeout: float, wake_timeout: float
) -> None:
    """Stop charging; when the API fails, queued for 2 minutes at most."""
    from carctl.vehicle.car_routines import charge_command

    deadline = _short_expiry(app, expires_in, "charge stop")
    _run(app, charge_command("charge_stop"), timeout, wake_timeout, deadline)


@charge.command("limit")
@click.argument("percent", type=int, metavar="PERCENT")
@run_options
@expiry_options
@pass_app
def charge_limit(
    app: AppContext,
    percent: int,
    timeout: float,
    wake_timeout: float,
    expires_in: str | None,
    expires_at: str | None,
) -> None:
    """Charge up to PERCENT (50–100)."""
    from carctl.vehicle.car_routines import charge_command

    command = charge_command("set_charge_limit", percent)
    _run(app, command, timeout, wake_timeout, _expiry(app, expires_in, expires_at))


@charge.command("amps")
@click.argument("amps", type=int, metavar="AMPS")
@run_options
@expiry_options
@pass_app
def charge_amps(
    app: AppContext,
    amps: int,
    timeout: float,
    wake_timeout: float,
    expires_in: str | None,
    expires_at: str | None,
) -> None:
    """Charge at AMPS amperes (1–48, and at most what the charger gives)."""
    from carctl.vehicle.car_routines import charge_command

    command = charge_command("set_charging_amps", amps)
    _run(app, command, timeout, wake_timeout, _expiry(app, expires_in, expires_at))


@charge.command("port")
@click.argument("action", type=click.Choice(["open", "close"]), metavar="open|close")
@run_options
@pass_app
def charge_port(app: AppContext, action: str, timeout: float, wake_timeout: float) -> None:
    """Open or close the charge port (open is never queued)."""
    from carctl.vehicle.car_routines import charge_command

    _run(app, charge_command(f"charge_port_door_{action}"), timeout, wake_timeout, None)
