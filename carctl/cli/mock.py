"""`carctl mock`: serve the mock vehicle API, and control it (faults, reset, clock).

Without `--url`, the control commands act on the built-in endpoint (the
default API of carctl, kept in the state directory); with `--url` they act on
a mock served with `carctl mock serve --admin`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from carctl.cli.context import AppContext, pass_app
from carctl.cli.mock_options import URL_OPTION
from carctl.errors import UsageError


@click.group()
def mock() -> None:
    """Run and control the mock vehicle API.

    carctl ships a faithful imitation of the Tesla Owner API with a simulated
    car and fault injection. It is carctl's default endpoint ("builtin"), and
    `carctl mock serve` serves it over HTTP for scripts and other clients.
    The seeded account is owner@example.com, password ventilate-0600.
    """


def _add_serve() -> None:
    from carctl.cli.mock_drive import drive
    from carctl.cli.mock_serve import serve

    mock.add_command(serve)
    mock.add_command(drive)


_add_serve()


@mock.command()
@pass_app
def scenarios(app: AppContext) -> None:
    """List the named fault scenarios."""
    from carctl.mock.faults import SCENARIOS

    data = [
        {"name": name, "description": text, "rules": list(rules)}
        for name, (text, rules) in SCENARIOS.items()
    ]
    human = "\n".join(
        f"{item['name']:<14} {item['description']}\n"
        + "\n".join(f"{'':<14}   {rule}" for rule in item["rules"])
        for item in data
    )
    app.output.result(app.command, data, human=human)


@mock.group()
def fault() -> None:
    """Add, list and clear fault rules.

    \b
    Rule words (key=value):
      status=500|502|503|504|429|408   answer with this status
      path=/api/1/*                    glob on the request path (default *)
      method=POST                      only this method
      rate=0.5                         share of matching requests that fail (0-1)
      count=3                          only the next N matching requests
      after=10s for=60s                window, counted from now
      from=ISO until=ISO               absolute window
      latency=2s                       delay the answer
      body=json|html|empty|truncated   error body kind (truncated alone:
                                       the real answer, cut in half)
      drop=true                        close the connection without answering
      retry_after=30s                  Retry-After header
    """


@fault.command("add")
@click.argument("rules", nargs=-1)
@click.option(
    "--scenario",
    "scenario_names",
    multiple=True,
    metavar="NAME|FILE",
    help="Add the rules of a named scenario or scenario file.",
)
@URL_OPTION
@pass_app
def fault_add(
    app: AppContext, rules: tuple[str, ...], scenario_names: tuple[str, ...], url: str | None
) -> None:
    """Add fault rules, e.g. carctl mock fault add "status=500 path=/api/1/* for=60s"."""
    from carctl.api.builtin import control, fault_rules

    if not rules and not scenario_names:
        raise UsageError(
            "give at least one rule or --scenario",
            hint='e.g. carctl mock fault add "status=500 path=/api/1/* for=60s"',
        )
    data = control(
        app.paths.state_db,
        "POST",
        "/__mock__/faults",
        {"rules": fault_rules(rules, scenario_names)},
        url=url,
    )
    app.output.result(app.command, data, human=_plan_text(data))


@fault.command("list")
@URL_OPTION
@pass_app
def fault_list(app: AppContext, url: str | None) -> None:
    """Show the fault plan with each rule's remaining time."""
    from carctl.api.builtin import control

    data = control(app.paths.state_db, "GET", "/__mock__/faults", url=url)
    app.output.result(app.command, data, human=_plan_text(data))


@fault.command("clear")
@URL_OPTION
@pass_app
def fault_clear(app: AppContext, url: str | None) -> None:
    """Remove every fault rule."""
    from carctl.api.builtin import control

    data = control(app.paths.state_db, "DELETE", "/__mock__/faults", url=url)
    app.output.result(app.command, data, human="fault plan cleared")


def _drive_lines(car: dict[str, Any]) -> list[str]:
    """A car on the road (`carctl mock drive`): its speed and what is left of the route."""
    if not car.get("speed_kph"):
        return []
    left = car["route_left"]
    return [
        f"{'':13}driving at {car['speed_kph']:g} km/h, {left} point{'s' if left != 1 else ''} to go"
    ]


def _schedule_lines(car: dict[str, Any]) -> list[str]:
    """The car's own clock and schedules: what it will do with no request at all."""
    from carctl.vehicle.schedules import clock_text, days_text

    held = [
        f"{s['id']}: {'once' if s['one_time'] else days_text(s['days_of_week'])} "
        f"{clock_text(s['precondition_time'])}" + ("" if s["enabled"] else " (off)")
        for s in car.get("schedules") or []
    ]
    departure = car.get("departure") or {}
    if departure.get("enabled") and departure.get("preconditioning_enabled"):
        held.append(f"departure {clock_text(departure['departure_time'])}")
    lines = [
        f"  {'':<10} {car['time_zone']}, {car['local_time']} on the car; schedules: "
        + ("; ".join(held) if held else "none")
    ]
    for run in (car.get("schedule_runs") or [])[-1:]:
        start, ready = (_on_car(run[key], car["time_zone"]) for key in ("started_at", "ready_at"))
        outcome = (
            f"skipped: {run['skipped']}" if run.get("skipped") else f"warming from {start:%H:%M}"
        )
        lines.append(
            f"  {'':<10} last run: schedule {run['schedule']}, {outcome}, ready {ready:%H:%M}"
            f" on {ready:%a %d %b}"
        )
    return lines


def _degrees(app: AppContext) -> Any:
    """Temperatures in the profile's units, as every other screen shows them."""
    from functools import partial

    from carctl.vehicle.inputs import format_temperature

    return partial(format_temperature, units=str(app.settings.get("units")))


def _on_car(moment: str, zone: str) -> Any:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    return datetime.fromisoformat(moment.replace("Z", "+00:00")).astimezone(ZoneInfo(zone))


def _plan_text(data: dict[str, Any]) -> str:
    rules = data.get("rules", [])
    if not rules:
        return "no fault rules: the mock answers normally"
    lines = []
    for index, rule in enumerate(rules, 1):
        if not rule["active"]:
            state = "starts in " + _secs(rule["starts_in"]) if rule["starts_in"] else "ended"
        elif rule["remaining"] is None:
            state = "active"
        else:
            state = f"active, {_secs(rule['remaining'])} left"
        lines.append(f"{index}. {rule['text']}  ({state}; fired {rule['fired']}×)")
    return "\n".join(lines)


def _secs(value: float) -> str:
    from carctl.mock.durations import format_duration

    return format_duration(value)


@mock.command()
@URL_OPTION
@pass_app
def reset(app: AppContext, url: str | None) -> None:
    """Restore the seed: cars, accounts and tokens. Fault rules stay (see `fault clear`)."""
    from carctl.api.builtin import control

    data = control(app.paths.state_db, "POST", "/__mock__/reset", url=url)
    app.output.result(app.command, data, human="mock reset to its seed")


@mock.command()
@URL_OPTION
@pass_app
def show(app: AppContext, url: str | None) -> None:
    """Show the simulated cars as they are now, without waking them."""
    from carctl.api.builtin import control

    data = control(app.paths.state_db, "GET", "/__mock__/vehicles", url=url)
    plan = control(app.paths.state_db, "GET", "/__mock__/faults", url=url)
    data["faults"] = plan["rules"]

    degrees = _degrees(app)
    lines = [f"mock vehicle API ({url or 'builtin'}) at {data['now']}"]
    for car in data["vehicles"]:
        state = car["state"] + (f" (wakes in {car['wake_in']}s)" if car["wake_in"] else "")
        climate = f"on → {degrees(car['driver_temp_setting'])}" if car["is_climate_on"] else "off"
        windows = "vented" if any(car["windows"].values()) else "closed"
        lines.append(
            f"  {car['display_name']:<10} {car['vin']}  {state:<8} cabin "
            f"{degrees(car['inside_temp'])}  outside {degrees(car['outside_temp'])}  climate "
            f"{climate}  windows {windows}  battery {car['battery_level']}%"
        )
        lines.extend(_drive_lines(car))
        lines.extend(_schedule_lines(car))
    lines.append(_plan_text(plan))
    human = "\n".join(lines)

    app.output.result(app.command, data, human=human)


@mock.command()
@URL_OPTION
@pass_app
def stats(app: AppContext, url: str | None) -> None:
    """Show what the mock was asked and what it executed on a car."""
    from carctl.api.builtin import control

    data = control(app.paths.state_db, "GET", "/__mock__/stats", url=url)
    app.output.result(app.command, data, human=_stats_tables(app, data))


def _short_path(path: str) -> str:
    """A path that fits its column whole: a car's long id or VIN shown by its last four
    characters ("…7242"), as people tell cars apart; `--json` keeps every character."""
    return "/".join(
        f"…{part[-4:]}"
        if len(part) > 8 and part.isalnum() and any(c.isdigit() for c in part)
        else part
        for part in path.split("/")
    )


def _bill_lines(book: dict[str, Any]) -> list[str]:
    """What the Fleet API flavours billed, per account and month: "Billed as Tesla bills:
    owner@example.com, 2026-12: 12 data requests, 3 commands, 1 wake (16 calls answered)"."""
    from carctl.text import plural

    names = {"data": "data request", "command": "command", "wake": "wake"}
    lines = []
    for who, months in book.items():
        for month, kinds in months.items():
            billed = ", ".join(
                plural(row["billed"], names.get(kind, kind)) for kind, row in kinds.items()
            )
            calls = sum(row["calls"] for row in kinds.values())
            lines.append(f"Billed as Tesla bills: {who}, {month}: {billed} ({calls} calls)")
    return lines + ([""] if lines else [])


def _stats_tables(app: AppContext, data: dict[str, Any]) -> Any:
    """Two tables with headers: what was asked, and what was executed on a car."""
    import json

    def draw(console: Any) -> None:
        from rich import box
        from rich.table import Table

        if not data["requests"]:
            console.print("No requests yet.")
            return
        style = box.SIMPLE if app.output.color else None
        asked = Table(box=style, show_edge=False, pad_edge=False, title=None)
        for column, justify in (("Count", "right"), ("Status", "right"), ("Method", "left")):
            asked.add_column(column, justify=justify)  # type: ignore[arg-type]
        asked.add_column("Path", overflow="fold")
        for row in data["requests"]:
            status = str(row["status"]) if row["status"] else "dropped"
            asked.add_row(str(row["count"]), status, row["method"], _short_path(row["path"]))
        console.print(asked)
        console.print()
        for line in _bill_lines(data.get("billing") or {}):
            console.print(line, markup=False)
        if not data["commands"]:
            console.print("Executed on a car: nothing.")
            return
        done = Table(box=style, show_edge=False, pad_edge=False)
        for column in ("At", "Car", "Command"):
            done.add_column(column, no_wrap=True)
        done.add_column("Parameters", overflow="fold")
        for command in data["commands"]:
            params = json.dumps(command["params"], sort_keys=True) if command["params"] else ""
            done.add_row(command["at"], str(command["vehicle"]), command["name"], params)
        console.print("Executed on a car:")
        console.print(done)

    return draw


@mock.command()
@click.option("--advance", metavar="DURATION", help="Move the simulated time forward, e.g. 5m.")
@URL_OPTION
@pass_app
def clock(app: AppContext, advance: str | None, url: str | None) -> None:
    """Show, or move forward, the mock's simulated time."""
    from carctl.api.builtin import control
    from carctl.durations import parse_duration

    if advance is None:
        data = control(app.paths.state_db, "GET", "/__mock__/clock", url=url)
    else:
        seconds = parse_duration(advance, option="--advance", most=10 * 365 * 86400.0)
        data = control(app.paths.state_db, "POST", "/__mock__/clock", {"advance": seconds}, url=url)
    cars = control(app.paths.state_db, "GET", "/__mock__/vehicles", url=url)["vehicles"]
    lines = [f"mock time: {data['now']}"]
    degrees = _degrees(app)
    for car in cars:  # what the cars did on their own meanwhile
        climate = (
            f"climate on, cabin {degrees(car['inside_temp'])}"
            if car["is_climate_on"]
            else "climate off"
        )
        lines.append(f"  {car['display_name']:<10} {car['state']:<8} {climate}")
        lines.extend(_drive_lines(car))
        lines.extend(_schedule_lines(car))
    app.output.result(app.command, data, human="\n".join(lines))


@mock.command("pair")
@click.option("--vin", metavar="VIN", help="The car (default: every car that needs signing).")
@click.option(
    "--public-key",
    "public_key_file",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="A public key as PEM (default: this profile's signing key).",
)
@click.option("--remove", is_flag=True, help="Take the key off the car's whitelist instead.")
@URL_OPTION
@pass_app
def pair_key(
    app: AppContext,
    vin: str | None,
    public_key_file: str | None,
    remove: bool,
    url: str | None,
) -> None:
    """Pair a key with the mock's cars: the stand-in for tapping the key card.

    The mock's cars then execute commands signed with it, as a real car does
    once the Tesla app's pairing is approved at the console.
    """
    from carctl.api.builtin import control

    pem = _public_key_text(app, public_key_file)
    if vin is None:
        cars = control(app.paths.state_db, "GET", "/__mock__/vehicles", url=url)["vehicles"]
        vins = [c["vin"] for c in cars if c.get("command_signing") == "required"]
        if not vins:
            raise UsageError(
                "no car of the mock takes only signed commands; name one with --vin VIN"
            )
    else:
        vins = [vin.strip().upper()]
    method = "DELETE" if remove else "POST"
    results = [
        control(
            app.paths.state_db, method, f"/__mock__/vehicles/{v}/keys", {"public_key": pem}, url=url
        )
        for v in vins
    ]
    verb = "removed from" if remove else "paired with"
    lines = [f"key {verb} {r['vin']}" for r in results]
    app.output.result(app.command, results, human="\n".join(lines))


def _public_key_text(app: AppContext, path: str | None) -> str:
    if path is not None:
        try:
            return Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"cannot read --public-key {path}: {exc}") from None
    from carctl.api.keys import public_pem

    vault = app.stack.key_vault()
    stored = vault.load()
    if stored is None:
        raise UsageError(
            "this profile has no signing key to pair",
            hint="carctl key generate, or name a public key: --public-key FILE",
        )
    return public_pem(stored.key)


@mock.command()
@click.argument("vin")
@URL_OPTION
@pass_app
def reboot(app: AppContext, vin: str, url: str | None) -> None:
    """Reboot a car: new epochs, so every signing client must handshake again."""
    from carctl.api.builtin import control

    data = control(app.paths.state_db, "POST", f"/__mock__/vehicles/{vin}/reboot", url=url)
    app.output.result(app.command, data, human=f"{data['vin']} rebooted: new session epochs")
