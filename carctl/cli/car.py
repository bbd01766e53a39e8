"""`carctl lock`, `unlock`, `honk`, `flash`: the doors and the signals, each with its safety.

What may happen late is decided in `carctl.vehicle.safety`: a lock is queued for
two minutes at most by default; an unlock, a honk and a flash are never queued
and never sent twice. An unlock on a terminal asks first, naming the car and how
long ago carctl last heard from it; a script says `--yes`.
"""

from __future__ import annotations

from typing import Any

import click

from carctl.cli.context import AppContext, pass_app
from carctl.cli.vehicle import _report, read_options, run_options, selected_car, with_service
from carctl.errors import CarctlError, UsageError

YES = click.option("--yes", "-y", is_flag=True, help="Do it without asking (for scripts).")
# the commands of the short-expiry class (`carctl.vehicle.safety`): lock, sentry on, charge stop
SHORT_EXPIRY = click.option(
    "--expires-in",
    metavar="DURATION",
    help="If queued, give up after this long (default 2m, at most 10m).",
)


def _short_expiry(app: AppContext, expires_in: str | None, what: str = "a lock") -> float:
    """A short-expiry command's deadline: 2 minutes, or `--expires-in` up to 10."""
    from carctl.durations import parse_duration
    from carctl.vehicle.safety import MAX_SHORT_EXPIRY_S, SHORT_EXPIRY_S

    seconds = SHORT_EXPIRY_S
    if expires_in is not None:
        seconds = parse_duration(expires_in, option="--expires-in")
        if seconds > MAX_SHORT_EXPIRY_S:
            raise UsageError(
                f"--expires-in {expires_in}: {what} is worth sending for at most 10 minutes",
                hint="give 10m or less, or leave it out (2 minutes)",
            )
    return app.clock.now() + seconds


@click.command()
@SHORT_EXPIRY
@run_options
@pass_app
def lock(app: AppContext, expires_in: str | None, timeout: float, wake_timeout: float) -> None:
    """Lock the car (queued for 2 minutes at most).

    When the API fails, the lock is queued for 2 minutes (`--expires-in` up to
    10m): a lock that comes much later is a surprise, not a help."""
    from carctl.vehicle import car_routines

    deadline = _short_expiry(app, expires_in)
    result = with_service(
        app,
        lambda service: car_routines.lock(
            service, selected_car(app), locked=True, timeout=wake_timeout, expires_at=deadline
        ),
        deadline_s=timeout,
    )
    _report(app, result)


@click.group()
def sentry() -> None:
    """Sentry mode on (kept 2 minutes at most) or off (never queued).

    When the vehicle API fails, `sentry on` waits in the queue for 2 minutes
    (`--expires-in` up to 10m); `sentry off` is never queued: carried out late,
    it would leave the car unwatched."""


@sentry.command("on")
@SHORT_EXPIRY
@run_options
@pass_app
def sentry_on(app: AppContext, expires_in: str | None, timeout: float, wake_timeout: float) -> None:
    """Turn sentry mode on; when the API fails, queued for 2 minutes at most."""
    _sentry(app, True, _short_expiry(app, expires_in, "sentry on"), timeout, wake_timeout)


@sentry.command("off")
@run_options
@pass_app
def sentry_off(app: AppContext, timeout: float, wake_timeout: float) -> None:
    """Turn sentry mode off; never queued (later, the car would stand unwatched)."""
    _sentry(app, False, None, timeout, wake_timeout)


def _sentry(
    app: AppContext, on: bool, deadline: float | None, timeout: float, wake_timeout: float
) -> None:
    from carctl.vehicle import car_routines

    result = with_service(
        app,
        lambda service: car_routines.sentry(
            service, selected_car(app), on=on, timeout=wake_timeout, expires_at=deadline
        ),
        deadline_s=timeout,
    )
    _report(app, result)


@click.command()
@YES
@run_options
@pass_app
def unlock(app: AppContext, yes: bool, timeout: float, wake_timeout: float) -> None:
    """Unlock the car (never queued; asks first).

    On a terminal it asks first; scripts say --yes. Never queued and never
    sent twice: unlocked late, the car would stand open with nobody beside it.
    When the API fails it says so at once."""
    from carctl.vehicle import car_routines

    _confirm(app, yes)
    result = with_service(
        app,
        lambda service: car_routines.lock(
            service, selected_car(app), locked=False, timeout=wake_timeout
        ),
        deadline_s=timeout,
    )
    _report(app, result)


@click.command()
@run_options
@pass_app
def honk(app: AppContext, timeout: float, wake_timeout: float) -> None:
    """Honk the horn once (never queued).

    A honk long after you asked for it helps nobody: never queued, never sent twice."""
    _signal(app, "honk_horn", timeout, wake_timeout)


@click.command()
@run_options
@pass_app
def flash(app: AppContext, timeout: float, wake_timeout: float) -> None:
    """Flash the lights once (never queued).

    Lights long after you asked for them help nobody: never queued, never sent twice."""
    _signal(app, "flash_lights", timeout, wake_timeout)


@click.group()
def trunk() -> None:
    """The rear trunk: open, or close a powered tailgate.

    Never queued: the API moves the trunk whichever way it is, so a late
    command could open what someone closed. carctl reads it first, and sends
    nothing when it is already as asked."""


@trunk.command("open")
@YES
@run_options
@pass_app
def trunk_open(app: AppContext, yes: bool, timeout: float, wake_timeout: float) -> None:
    """Open the rear trunk (asks first on a terminal; --yes for scripts)."""
    _confirm(app, yes, "Open the trunk of", "open the trunk", "carctl trunk open --yes")
    _trunk(app, "rear", True, timeout, wake_timeout)


@trunk.command("close")
@run_options
@pass_app
def trunk_close(app: AppContext, timeout: float, wake_timeout: float) -> None:
    """Close a powered tailgate (nothing is sent when it is closed already)."""
    _trunk(app, "rear", False, timeout, wake_timeout)


@click.group()
def frunk() -> None:
    """The front trunk: open it (never queued; it closes by hand)."""


@frunk.command("open")
@YES
@run_options
@pass_app
def frunk_open(app: AppContext, yes: bool, timeout: float, wake_timeout: float) -> None:
    """Open the frunk (asks first on a terminal; --yes for scripts)."""
    _confirm(app, yes, "Open the frunk of", "open the frunk", "carctl frunk open --yes")
    _trunk(app, "front", True, timeout, wake_timeout)


def _trunk(app: AppContext, which: str, open_: bool, timeout: float, wake_timeout: float) -> None:
    from carctl.vehicle import car_routines

    result = with_service(
        app,
        lambda service: car_routines.trunk(
            service, selected_car(app), which=which, open_=open_, timeout=wake_timeout
        ),
        deadline_s=timeout,
    )
    _report(app, result)


@click.command()
@click.option("--link", is_flag=True, help="Also print a map link (OpenStreetMap).")
@click.option("--wake", "wake_first", is_flag=True, help="Wake a sleeping car for a fresh fix.")
@read_options
@pass_app
def where(
    app: AppContext, link: bool, wake_first: bool, timeout: float, wake_timeout: float
) -> None:
    """Where the car is, and how old that fix is.

    It never wakes the car without --wake: a sleeping car is parked where it
    last reported.
    On Tesla's Fleet API the position needs the vehicle_location scope."""
    from carctl.vehicle import car_routines

    found = with_service(
        app,
        lambda service: car_routines.where(
            service, selected_car(app), wake_first=wake_first, timeout=wake_timeout
        ),
        deadline_s=timeout,
    )
    data = found.to_json()
    url = _map_link(found.latitude, found.longitude)
    if link:
        data["link"] = url
    app.output.result(
        app.command,
        data,
        vehicle=found.vehicle.ref(),
        human=_where_lines(app, found, url if link else None),
    )


def _map_link(lat: float | None, lon: float | None) -> str | None:
    if lat is None or lon is None:
        return None
    # short enough for one line at 80 columns: a wrapped link does not copy
    return f"https://www.openstreetmap.org/?mlat={lat:.5f}&mlon={lon:.5f}&zoom=17"


def _where_lines(app: AppContext, found: Any, url: str | None) -> str:
    from carctl.cli.render import ago

    car = found.vehicle
    if found.latitude is None or found.longitude is None:
        return (
            f"{car.label} is {car.state} and carctl has no position from it yet: "
            "`carctl where --wake` asks the car"
        )
    age = f", {ago(app.clock.now() - found.fix_at)}" if found.fix_at else ""
    how = "now" if found.live else f"when it last reported (it is {car.state})"
    lines = [f"{car.label}: {found.latitude:.5f}, {found.longitude:.5f} — {how}{age}"]
    moving = f"{found.speed_kmh} km/h" if found.speed_kmh else "parked"
    heading = f", heading {found.heading:.0f}°" if found.heading is not None else ""
    lines.append(f"  {moving}{heading}")
    if url:
        lines.append(f"  {url}")
    return "\n".join(lines)


def _signal(app: AppContext, name: str, timeout: float, wake_timeout: float) -> None:
    from carctl.vehicle import car_routines

    result = with_service(
        app,
        lambda service: car_routines.signal(
            service, selected_car(app), name=name, timeout=wake_timeout
        ),
        deadline_s=timeout,
    )
    _report(app, result)


def _confirm(
    app: AppContext,
    yes: bool,
    ask: str = "Unlock",
    doing: str = "unlock",
    command: str = "carctl unlock --yes",
) -> None:
    """Ask on a terminal; without one, `--yes` or exit 2 (a script never hangs on a prompt)."""
    if yes:
        return
    if not app.output.interactive:
        raise UsageError(
            f"{' '.join(command.split()[1:-1])} asks for confirmation, and there is no "
            "terminal to ask on",
            hint=f"add --yes: {command}",
        )
    car = _known_car(app)
    question = f"{ask} {car}?" if car else f"{ask} the car?"
    if not click.confirm(question, default=False, err=True):
        raise CarctlError(f"did not {doing}: you said no, and nothing was sent")


def _known_car(app: AppContext) -> str | None:
    """ "Model 3 (last heard from 5 min ago)": the car as the cache knows it, no request."""
    from carctl.cli.render import ago

    found = app.stack.known_car(selected_car(app))
    if found is None:
        return None
    name, seen_at = found
    when = f" (last heard from {ago(app.clock.now() - seen_at)})" if seen_at else ""
    return f"{name}{when}"
