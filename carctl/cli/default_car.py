"""The default car: chosen at sign-in, checked when set, marked in `carctl vehicles`.

An account with one car makes it the default at sign-in. With several, a
person at a terminal picks one from a numbered list (Enter takes the first);
a script is never asked, and later commands say which cars there are and the
exact command that sets one. `carctl config set vehicle NAME` checks the name
against the account — or, when the API cannot be asked, against the cars
carctl saw last, with a warning.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from carctl.errors import CarctlError, RefusedError, UsageError

if TYPE_CHECKING:
    from carctl.cli.context import AppContext
    from carctl.vehicle.model import Vehicle


def current_default(app: AppContext, cars: list[Vehicle]) -> Vehicle | None:
    """The configured car among `cars` (None when none is set or it is not among them)."""
    from carctl.vehicle.service import choose

    selector = app.settings.get("vehicle")
    if selector is None or not cars:
        return None
    try:
        return choose(cars, str(selector))
    except (UsageError, RefusedError):
        return None


def save_default(app: AppContext, car: Vehicle) -> None:
    from carctl.settings import DEFAULT_PROFILE, set_value

    profile = app.profile or app.env.get("CARCTL_PROFILE") or DEFAULT_PROFILE
    set_value(app.paths.config_file, "vehicle", car.display_name, profile=profile)


def choose_at_sign_in(app: AppContext, cars: list[Vehicle]) -> tuple[Vehicle | None, str]:
    """The default car after signing in, and one line saying so (or how to choose)."""
    from carctl.vehicle.service import set_default_command

    if not cars:
        return None, ""
    existing = current_default(app, cars)
    if existing is not None:
        return existing, f"Default car: {existing.display_name}."
    if len(cars) == 1:
        save_default(app, cars[0])
        return cars[0], f"Default car: {cars[0].display_name} (the only car on the account)."
    if not app.output.interactive:
        return None, (
            f"This account has {len(cars)} cars; choose the default with "
            f"`{set_default_command(cars[0].display_name)}` (or pass --vehicle NAME)."
        )
    chosen = _ask(cars)
    save_default(app, chosen)
    return chosen, (
        f"Default car: {chosen.display_name}. Change it with `carctl config set vehicle NAME`."
    )


def _ask(cars: list[Vehicle]) -> Vehicle:
    from carctl.text import literal

    click.echo("Which car should carctl use when you do not name one?", err=True)
    for number, car in enumerate(cars, start=1):
        click.echo(f"  {number}. {literal(car.display_name)} ({car.vin or car.id})", err=True)
    while True:
        answer = click.prompt("Default car", default="1", err=True).strip()
        if answer.isdigit() and 1 <= int(answer) <= len(cars):
            return cars[int(answer) - 1]
        named = [c for c in cars if answer.casefold() == c.display_name.casefold()]
        if named:
            return named[0]
        click.echo(f"Type a number from 1 to {len(cars)}.", err=True)


def check_name(app: AppContext, name: str) -> tuple[str, str | None]:
    """The car's own name for `name`, and a warning when the account could not be asked."""
    from carctl.cli.context import vehicle_service
    from carctl.vehicle.service import choose

    def ask() -> list[Any]:
        with vehicle_service(app, deadline_s=10.0) as service:
            return service.vehicles()

    warning = None
    try:
        cars = app.run(ask)
    except CarctlError as exc:
        cars = app.stack.cache().vehicles()
        if not cars:
            return name, f"could not check {name!r} against the account ({exc.message})"
        warning = f"checked {name!r} against the cars carctl saw last ({exc.message})"
    car = choose(cars, name)  # an unknown or ambiguous name: UsageError listing the cars
    return car.display_name, warning
