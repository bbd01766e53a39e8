"""The owner's commands: vehicles, status, wake, climate, vent, precondition."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click

from carctl.cli.context import AppContext, pass_app, vehicle_service

T = TypeVar("T")

WAKE_TIMEOUT = click.option(
    "--timeout",
    type=click.FloatRange(1, 600),
    default=60.0,
    show_default=True,
    metavar="SECONDS",
    help="How long to wait for the car to wake.",
)


def _run(app: AppContext, work: Callable[[Any], Awaitable[T]]) -> T:
    async def go() -> T:
        async with vehicle_service(app) as service:
            return await work(service)

    return app.run(go())


def _selector(app: AppContext) -> str | None:
    value = app.settings.get("vehicle")
    return str(value) if value is not None else None


def _units(app: AppContext) -> str:
    return str(app.settings.get("units"))


def _temperature(app: AppContext, text: str | None, option: str = "--temp") -> float | None:
    from carctl.vehicle.inputs import parse_temperature

    return None if text is None else parse_temperature(text, units=_units(app), option=option)


@click.command()
@pass_app
def vehicles(app: AppContext) -> None:
    """List the cars on the account (never wakes one)."""
    from carctl.cli.render import vehicles_table

    cars = _run(app, lambda service: service.vehicles())
    app.output.result(
        app.command, [car.to_json() for car in cars], human=vehicles_table(app.output, cars)
    )


@click.command()
@click.option("--wake", "wake_first", is_flag=True, help="Wake the car first for live data.")
@WAKE_TIMEOUT
@pass_app
def status(app: AppContext, wake_first: bool, timeout: float) -> None:
    """What the car reports: state, temperatures, climate, windows, battery.

    Without --wake, a sleeping car stays asleep and carctl shows what it
    reported last.
    """
    from carctl.cli.render import status_lines
    from carctl.vehicle import routines

    result = _run(
        app,
        lambda service: routines.status(
            service, _selector(app), wake_first=wake_first, timeout=timeout
        ),
    )
    app.output.result(
        app.command,
        result.to_json(),
        vehicle=result.vehicle.ref(),
        human=status_lines(result, _units(app), app.clock.now()),
    )


@click.command()
@WAKE_TIMEOUT
@pass_app
def wake(app: AppContext, timeout: float) -> None:
    """Wake the car and wait until it is online (a spinner shows the time)."""
    from carctl.cli.render import wake_line
    from carctl.vehicle import routines

    result = _run(app, lambda service: routines.wake(service, _selector(app), timeout=timeout))
    app.output.result(
        app.command,
        {
            "state": result.vehicle.state,
            "woke": result.woke,
            "waited_s": round(result.waited_s, 1),
        },
        vehicle=result.vehicle.ref(),
        human=wake_line(result),
    )


def _report(app: AppContext, result: Any) -> None:
    from carctl.cli.render import routine_lines

    app.output.result(
        app.command,
        result.to_json(),
        vehicle=result.vehicle.ref(),
        human=routine_lines(app.output, result, _units(app)),
    )


@click.group()
def climate() -> None:
    """Turn the climate on or off, or set the temperature (15–28 °C, or e.g. 70F)."""


@climate.command("on")
@click.option("--temp", metavar="TEMP", help="Temperature, e.g. 21 or 70F.")
@WAKE_TIMEOUT
@pass_app
def climate_on(app: AppContext, temp: str | None, timeout: float) -> None:
    """Wake the car if needed and turn the climate on."""
    from carctl.vehicle import routines

    celsius = _temperature(app, temp)
    result = _run(
        app,
        lambda service: routines.climate(
            service, _selector(app), on=True, temp=celsius, timeout=timeout
        ),
    )
    _report(app, result)


@climate.command("off")
@WAKE_TIMEOUT
@pass_app
def climate_off(app: AppContext, timeout: float) -> None:
    """Turn the climate off."""
    from carctl.vehicle import routines

    result = _run(
        app, lambda service: routines.climate(service, _selector(app), on=False, timeout=timeout)
    )
    _report(app, result)


@climate.command("set")
@click.option("--temp", metavar="TEMP", required=True, help="Driver's side, e.g. 21 or 70F.")
@click.option("--passenger", metavar="TEMP", help="Passenger's side (default: the same).")
@WAKE_TIMEOUT
@pass_app
def climate_set(app: AppContext, temp: str, passenger: str | None, timeout: float) -> None:
    """Set the temperature without turning the climate on."""
    from carctl.vehicle import routines

    driver = _temperature(app, temp)
    other = _temperature(app, passenger, "--passenger")
    assert driver is not None
    result = _run(
        app,
        lambda service: routines.set_temperature(
            service, _selector(app), temp=driver, passenger=other, timeout=timeout
        ),
    )
    _report(app, result)


@click.command()
@click.option("--close", is_flag=True, help="Close the windows instead (uses the car's position).")
@WAKE_TIMEOUT
@pass_app
def vent(app: AppContext, close: bool, timeout: float) -> None:
    """Vent the windows a little, or close them with --close."""
    from carctl.vehicle import routines

    result = _run(
        app,
        lambda service: routines.windows(service, _selector(app), close=close, timeout=timeout),
    )
    _report(app, result)


@click.command()
@click.option("--temp", metavar="TEMP", help="Temperature, e.g. 21 or 70F.")
@click.option("--vent", "vent_", is_flag=True, help="Also vent the windows.")
@click.option("--expires-in", metavar="DURATION", help="Give up after this long, e.g. 40m.")
@click.option("--expires-at", metavar="HH:MM", help="Give up at this time of day, e.g. 06:45.")
@WAKE_TIMEOUT
@pass_app
def precondition(
    app: AppContext,
    temp: str | None,
    vent_: bool,
    expires_in: str | None,
    expires_at: str | None,
    timeout: float,
) -> None:
    """The morning routine: wake, set the temperature, climate on, vent — step by step."""
    from carctl.vehicle import routines
    from carctl.vehicle.inputs import expiry

    celsius = _temperature(app, temp)
    deadline = expiry(expires_in=expires_in, expires_at=expires_at, now=app.clock.now())
    result = _run(
        app,
        lambda service: routines.precondition(
            service,
            _selector(app),
            temp=celsius,
            vent=vent_,
            expires_at=deadline,
            timeout=timeout,
        ),
    )
    _report(app, result)
