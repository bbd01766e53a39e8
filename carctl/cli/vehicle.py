"""The owner's commands: vehicles, status, wake, climate, vent, precondition."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from carctl.api import DEADLINE_S
from carctl.cli.context import AppContext, pass_app, vehicle_service

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])


def run_options(f: F, *, queues: bool = True) -> F:
    """--timeout (the run's deadline for retries) and --wake-timeout (the wait for the car)."""
    f = click.option(
        "--wake-timeout",
        type=click.FloatRange(1, 600),
        default=60.0,
        show_default=True,
        metavar="SECONDS",
        help="How long to wait for a sleeping car to wake.",
    )(f)
    return click.option(
        "--timeout",
        type=click.FloatRange(1, 600),
        default=DEADLINE_S,
        show_default=True,
        metavar="SECONDS",
        help="Stop retrying a failing API after this long"
        + (" (the command is then queued)." if queues else "."),
    )(f)


def read_options(f: F) -> F:
    """The run options of commands that only ask the car, and so never queue anything."""
    return run_options(f, queues=False)


def expiry_options(f: F) -> F:
    f = click.option(
        "--expires-at", metavar="HH:MM", help="If queued, give up at this time, e.g. 06:45."
    )(f)
    return click.option(
        "--expires-in", metavar="DURATION", help="If queued, give up after this long, e.g. 40m."
    )(f)


def with_service(app: AppContext, work: Callable[[Any], T], *, deadline_s: float = DEADLINE_S) -> T:
    def go() -> T:
        with vehicle_service(app, deadline_s=deadline_s) as service:
            return work(service)

    return app.run(go)


def selected_car(app: AppContext) -> str | None:
    value = app.settings.get("vehicle")
    return str(value) if value is not None else None


def units_of(app: AppContext) -> str:
    return str(app.settings.get("units"))


def temperature_option(app: AppContext, text: str | None, option: str = "--temp") -> float | None:
    from carctl.vehicle.inputs import parse_temperature

    return None if text is None else parse_temperature(text, units=units_of(app), option=option)


def _expiry(app: AppContext, expires_in: str | None, expires_at: str | None) -> float | None:
    from carctl.vehicle.inputs import expiry

    return expiry(expires_in=expires_in, expires_at=expires_at, now=app.clock.now())


@click.command()
@pass_app
def vehicles(app: AppContext) -> None:
    """List the cars on the account (never wakes one)."""
    from carctl.cli.default_car import current_default
    from carctl.cli.render import vehicles_table

    cars = with_service(app, lambda service: service.vehicles())
    default = current_default(app, cars)
    app.output.result(
        app.command,
        [{**car.to_json(), "default": car == default} for car in cars],
        human=vehicles_table(app.output, cars, default),
    )


@click.command()
@click.option("--wake", "wake_first", is_flag=True, help="Wake the car first for live data.")
@read_options
@pass_app
def status(app: AppContext, wake_first: bool, timeout: float, wake_timeout: float) -> None:
    """What the car reports, without waking it.

    State, temperatures, climate, windows and battery.

    Without --wake, a sleeping car stays asleep and carctl shows what it
    reported last.
    """
    from carctl.cli.render import status_lines
    from carctl.vehicle.status import status as read_status

    result = with_service(
        app,
        lambda service: read_status(
            service, selected_car(app), wake_first=wake_first, timeout=wake_timeout
        ),
        deadline_s=timeout,
    )
    now = app.clock.now()
    if result.failure is not None:  # the API fails: what carctl last read, then why (exit 75)
        error = result.failure
        error.data = {**(error.data or {}), **result.to_json(now)}
        error.vehicle = result.vehicle.ref()
        if not app.output.json_mode and not app.output.quiet:
            app.output.console().print(status_lines(result, units_of(app), now), markup=False)
        raise error
    app.output.result(
        app.command,
        result.to_json(now),
        vehicle=result.vehicle.ref(),
        human=status_lines(result, units_of(app), now),
    )


@click.command()
@read_options
@pass_app
def wake(app: AppContext, timeout: float, wake_timeout: float) -> None:
    """Wake the car and wait until it is online.

    On a terminal a spinner shows the time it takes.

    --wake-timeout is how long to wait for the car, as for every command that
    wakes it; --timeout bounds the retries when the API itself fails.
    """
    from carctl.cli.render import wake_line
    from carctl.vehicle import routines

    result = with_service(
        app,
        lambda service: routines.wake(service, selected_car(app), timeout=wake_timeout),
        deadline_s=timeout,
    )
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
        human=routine_lines(app.output, result, units_of(app)),
    )


@click.group()
def climate() -> None:
    """Turn the climate on or off, or set the temperature.

    Temperatures are 15–28 °C, or in °F such as 70F."""


@climate.command("on")
@click.option("--temp", metavar="TEMP", help="Temperature, e.g. 21 or 70F.")
@run_options
@expiry_options
@pass_app
def climate_on(
    app: AppContext,
    temp: str | None,
    timeout: float,
    wake_timeout: float,
    expires_in: str | None,
    expires_at: str | None,
) -> None:
    """Wake the car if needed and turn the climate on."""
    from carctl.vehicle import routines

    celsius = temperature_option(app, temp)
    deadline = _expiry(app, expires_in, expires_at)
    result = with_service(
        app,
        lambda service: routines.climate(
            service,
            selected_car(app),
            on=True,
            temp=celsius,
            timeout=wake_timeout,
            expires_at=deadline,
        ),
        deadline_s=timeout,
    )
    _report(app, result)


@climate.command("off")
@run_options
@expiry_options
@pass_app
def climate_off(
    app: AppContext,
    timeout: float,
    wake_timeout: float,
    expires_in: str | None,
    expires_at: str | None,
) -> None:
    """Turn the climate off."""
    from carctl.vehicle import routines

    deadline = _expiry(app, expires_in, expires_at)
    result = with_service(
        app,
        lambda service: routines.climate(
            service, selected_car(app), on=False, timeout=wake_timeout, expires_at=deadline
        ),
        deadline_s=timeout,
    )
    _report(app, result)


@climate.command("set")
@click.option("--temp", metavar="TEMP", required=True, help="Driver's side, e.g. 21 or 70F.")
@click.option("--passenger", metavar="TEMP", help="Passenger's side (default: the same).")
@run_options
@expiry_options
@pass_app
def climate_set(
    app: AppContext,
    temp: str,
    passenger: str | None,
    timeout: float,
    wake_timeout: float,
    expires_in: str | None,
    expires_at: str | None,
) -> None:
    """Set the temperature without turning the climate on."""
    from carctl.vehicle import routines

    driver = temperature_option(app, temp)
    other = temperature_option(app, passenger, "--passenger")
    deadline = _expiry(app, expires_in, expires_at)
    assert driver is not None
    result = with_service(
        app,
        lambda service: routines.set_temperature(
            service,
            selected_car(app),
            temp=driver,
            passenger=other,
            timeout=wake_timeout,
            expires_at=deadline,
        ),
        deadline_s=timeout,
    )
    _report(app, result)


@click.command()
@click.option("--close", is_flag=True, help="Close the windows instead (uses the car's position).")
@run_options
@expiry_options
@pass_app
def vent(
    app: AppContext,
    close: bool,
    timeout: float,
    wake_timeout: float,
    expires_in: str | None,
    expires_at: str | None,
) -> None:
    """Vent the windows, or close them with --close.

    Venting opens them a little; closing needs the car's position."""
    from carctl.vehicle import routines

    deadline = _expiry(app, expires_in, expires_at)
    result = with_service(
        app,
        lambda service: routines.windows(
            service, selected_car(app), close=close, timeout=wake_timeout, expires_at=deadline
        ),
        deadline_s=timeout,
    )
    _report(app, result)


@click.command()
@click.option("--temp", metavar="TEMP", help="Temperature, e.g. 21 or 70F.")
@click.option("--vent", "vent_", is_flag=True, help="Also vent the windows.")
@click.option(
    "--if-below",
    metavar="TEMP",
    help="Only when the car reads an outside temperature below TEMP, e.g. 5 or 41F.",
)
@click.option(
    "--defrost", is_flag=True, help="Below 0 °C outside, also ask for the most heat (defrost)."
)
@click.option(
    "--at",
    metavar="HH:MM",
    help="Arm the car to warm itself, ready at HH:MM (the car's time), instead of now.",
)
@run_options
@expiry_options
@pass_app
def precondition(
    app: AppContext,
    temp: str | None,
    vent_: bool,
    if_below: str | None,
    defrost: bool,
    at: str | None,
    timeout: float,
    wake_timeout: float,
    expires_in: str | None,
    expires_at: str | None,
) -> None:
    """The morning routine: wake, temperature, climate on, vent.

    Step by step, each confirmed or reported.

    If the vehicle API fails part-way, the remaining steps are queued together
    and delivered when it recovers, unless --expires-in/--expires-at has passed.

    With --if-below, the car's outside temperature is read first, and nothing
    is sent when it is not below TEMP ("skipped", exit 0). With --defrost, the
    most heat is asked for too when it is below 0 °C outside.

    With --at, nothing happens now: a one-time schedule on the car warms the
    cabin for HH:MM, and runs even if the vehicle API is down by then.
    """
    from carctl.errors import UsageError
    from carctl.vehicle import routines
    from carctl.vehicle.inputs import parse_threshold

    if at is not None:
        if if_below is not None or defrost:
            raise UsageError(
                "--if-below and --defrost decide now, from what the car reads; a schedule "
                "armed with --at runs whatever the weather",
                hint="drop --at, or drop --if-below/--defrost",
            )
        _precondition_at(app, at, temp, vent_, expires_in or expires_at, timeout, wake_timeout)
        return
    below = None if if_below is None else parse_threshold(if_below, units=units_of(app))
    celsius = temperature_option(app, temp)
    deadline = _expiry(app, expires_in, expires_at)
    result = with_service(
        app,
        lambda service: routines.precondition(
            service,
            selected_car(app),
            temp=celsius,
            vent=vent_,
            expires_at=deadline,
            timeout=wake_timeout,
            if_below=below,
            defrost=defrost,
        ),
        deadline_s=timeout,
    )
    _report(app, result)


def _precondition_at(
    app: AppContext,
    at: str,
    temp: str | None,
    vent_: bool,
    expiry: str | None,
    timeout: float,
    wake_timeout: float,
) -> None:
    from carctl.errors import UsageError

    if vent_:
        raise UsageError(
            "--vent cannot be scheduled on the car: its schedules warm the cabin only",
            hint="drop --vent, or run `carctl vent` at the time",
        )
    if expiry is not None:
        raise UsageError(
            "--at arms the car, which needs no expiry: the schedule runs at the time itself",
            hint="drop --expires-in/--expires-at",
        )
    arm_schedule(
        app,
        time=at,
        days="all",
        temp=temp,
        once=True,
        if_missing=False,
        timeout=timeout,
        wake_timeout=wake_timeout,
        option="--at",
    )


def arm_schedule(
    app: AppContext,
    *,
    time: str,
    days: str,
    temp: str | None,
    once: bool,
    if_missing: bool,
    timeout: float,
    wake_timeout: float,
    option: str = "the ready time",
) -> None:
    """Arm a schedule and say what the car holds (`schedule set`, `precondition --at`)."""
    from carctl.cli.render_schedules import armed_lines
    from carctl.vehicle import on_car
    from carctl.vehicle.schedules import parse_days, parse_ready_time

    minutes = parse_ready_time(time, option=option)
    mask = parse_days(days)
    celsius = temperature_option(app, temp)
    result = with_service(
        app,
        lambda service: on_car.arm(
            service,
            selected_car(app),
            minutes=minutes,
            days=mask,
            temp=celsius,
            once=once,
            timeout=wake_timeout,
            if_missing=if_missing,
        ),
        deadline_s=timeout,
    )
    app.output.result(
        app.command,
        result.to_json(),
        vehicle=result.vehicle.ref(),
        human=armed_lines(app.output, result, units_of(app)),
    )
