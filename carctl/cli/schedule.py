"""`carctl schedule`: the car's own preconditioning schedules — list, set, off."""

from __future__ import annotations

from typing import Any

import click

from carctl.cli.complete import schedule_days, schedule_ids
from carctl.cli.context import AppContext, pass_app
from carctl.cli.vehicle import (
    arm_schedule,
    read_options,
    run_options,
    selected_car,
    units_of,
    with_service,
)


def report(app: AppContext, result: Any, human: Any) -> None:
    app.output.result(app.command, result.to_json(), vehicle=result.vehicle.ref(), human=human)


@click.group(invoke_without_command=True)
@read_options
@pass_app
@click.pass_context
def schedule(ctx: click.Context, app: AppContext, timeout: float, wake_timeout: float) -> None:
    """The car's own schedules: it warms itself, API or not.

    Without a subcommand, lists what the car holds and when each next runs.
    Times are the car's local time.
    """
    if ctx.invoked_subcommand is not None:
        return
    from carctl.cli.render_schedules import listing_lines
    from carctl.vehicle import on_car

    result = with_service(
        app,
        lambda service: on_car.listing(service, selected_car(app), timeout=wake_timeout),
        deadline_s=timeout,
    )
    if result.failure is not None:  # the API fails: what the car held when last read (75)
        from carctl.cli.render import ago
        from carctl.timefmt import hhmm

        error = result.failure
        error.data = {**(error.data or {}), **result.to_json()}
        error.vehicle = result.vehicle.ref()
        if not app.output.json_mode and not app.output.quiet:
            console = app.output.console()
            console.print(
                f"As of {hhmm(result.as_of)}, {ago(result.now - (result.as_of or result.now))}: "
                "the last schedules carctl read",
                markup=False,
            )
            listing_lines(app.output, result, units_of(app))(console)
        raise error
    report(app, result, listing_lines(app.output, result, units_of(app)))


@schedule.command("set", short_help="Arm one: the cabin is ready at HH:MM (the car's time).")
@click.argument("time", metavar="HH:MM")
@click.option(
    "--days",
    default="all",
    show_default=True,
    metavar="DAYS",
    help="weekdays, weekends, all, or days such as mon,wed,fri.",
    shell_complete=schedule_days,
)
@click.option("--temp", metavar="TEMP", help="The cabin temperature, e.g. 21 or 70F.")
@click.option("--once", is_flag=True, help="Run only at the next HH:MM, then forget it.")
@click.option(
    "--if-missing",
    is_flag=True,
    help="Leave a different schedule for those days as it is, and say so (for scripts).",
)
@run_options
@pass_app
def schedule_set(
    app: AppContext,
    time: str,
    days: str,
    temp: str | None,
    once: bool,
    if_missing: bool,
    timeout: float,
    wake_timeout: float,
) -> None:
    """Arm a schedule on the car: the cabin is ready at HH:MM (the car's time).

    Reads the car first: a schedule it already holds is not sent again, so
    this is safe to run every evening. If the vehicle API is down, the arming
    is queued until the first ready time.
    """
    arm_schedule(
        app,
        time=time,
        days=days,
        temp=temp,
        once=once,
        if_missing=if_missing,
        timeout=timeout,
        wake_timeout=wake_timeout,
    )


@schedule.command("off", short_help="Remove schedules by ID, or --all.")
@click.argument(
    "ids",
    nargs=-1,
    type=click.IntRange(min=0),
    metavar="[ID]...",
    shell_complete=schedule_ids,
)
@click.option("--all", "all_", is_flag=True, help="Remove every schedule the car holds.")
@read_options
@pass_app
def schedule_off(
    app: AppContext, ids: tuple[int, ...], all_: bool, timeout: float, wake_timeout: float
) -> None:
    """Remove schedules from the car by ID (see `carctl schedule`), or --all."""
    from carctl.cli.render_schedules import removed_lines
    from carctl.errors import UsageError
    from carctl.vehicle import on_car

    if bool(ids) == all_:
        raise UsageError(
            "name the schedules to remove, or --all (not both)",
            hint="`carctl schedule` lists them with their IDs",
        )
    result = with_service(
        app,
        lambda service: on_car.remove(
            service, selected_car(app), ids=None if all_ else list(ids), timeout=wake_timeout
        ),
        deadline_s=timeout,
    )
    report(app, result, removed_lines(app.output, result, units_of(app)))
