"""How vehicle results look to a person: spinner, tables, one-line results.

Only the command line imports this (it uses rich through `Output`). Pipes and
`NO_COLOR` get the same words without colour, box drawing or a spinner.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from carctl.output import Output
from carctl.text import literal
from carctl.timefmt import hhmm
from carctl.vehicle.inputs import format_temperature

if TYPE_CHECKING:
    from carctl.delivery.queue import Entry
    from carctl.plain import Surface
    from carctl.queued import QueuedStep
    from carctl.vehicle.model import Vehicle
    from carctl.vehicle.service import Wake
    from carctl.vehicle.status import Status
    from carctl.vehicle.steps import Result


class Spinner:
    """A spinner with the elapsed time on stderr, only when a person watches it."""

    def __init__(self, output: Output) -> None:
        self.output = output
        self._progress: Any = None
        self.enabled = output.color and not output.quiet and not output.json_mode

    def begin(self, text: str) -> None:
        if not self.enabled or self._progress is not None:
            return
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}", markup=False),
            TimeElapsedColumn(),
            console=self.output.rich(stderr=True),
            transient=True,
        )
        self._progress.start()
        self._progress.add_task(literal(text) + "…", total=None)

    def end(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


def _mark(output: Output) -> Any:
    return output.styled("✓", "green") if output.color else "ok"


def ago(seconds: float) -> str:
    seconds = max(0, round(seconds))
    if seconds < 90:
        return f"{seconds} s ago"
    if seconds < 5400:
        return f"{round(seconds / 60)} min ago"
    if seconds < 172800:
        return f"{round(seconds / 3600)} h ago"
    return f"{round(seconds / 86400)} days ago"


def vehicles_table(output: Output, vehicles: list[Vehicle], default: Vehicle | None) -> Any:
    def draw(console: Surface) -> None:
        from rich import box
        from rich.table import Table

        from carctl.vehicle.service import set_default_command

        table = Table(box=box.SIMPLE if output.color else None, show_edge=False, pad_edge=False)
        table.add_column("Name", overflow="fold")  # a long name wraps; it is never cut
        by_vin = all(vehicle.id == vehicle.vin for vehicle in vehicles)  # the VIN is the id
        for column in ("State", "VIN") if by_vin else ("State", "VIN", "ID"):
            table.add_column(column)
        table.add_column("Default")
        for vehicle in vehicles:
            state = vehicle.state + (" (in service)" if vehicle.in_service else "")
            if vehicle.needs_signing:
                state += ", signed commands only"
            mark = "default" if vehicle == default else ""
            ids = [vehicle.vin] if by_vin else [vehicle.vin, vehicle.id]
            table.add_row(vehicle.label, state, *ids, mark)
        console.print(table)
        if default is None and len(vehicles) > 1:
            example = set_default_command(vehicles[0].display_name)
            console.print(f"No default car: name one with --vehicle, or `{example}`.")

    return draw


def queued_step(step: QueuedStep, units: str) -> str:
    """ "climate on", "temperature set to 21.0 °C": a queued command in the owner's words."""
    from carctl.vehicle.commands import Command
    from carctl.vehicle.words import describe

    return describe(Command(step.command, dict(step.params)), units)[1]


def wake_line(result: Wake) -> str:
    if not result.woke:
        return f"{result.vehicle.label} was already online."
    return f"{result.vehicle.label} is online (woke in {result.waited_s:.1f} s)."


def charge_lines(status: Status, now: float) -> str:
    """`carctl charge`: the car, then its charge in one line."""
    v = status.vehicle
    battery = status.battery
    if status.as_of is None or battery is None:
        return (
            f"{v.label} ({v.vin}) is {v.state}; carctl has no recent charge data from it "
            "(`carctl charge --wake` wakes it for live data)."
        )
    age = "" if status.live else f" (as of {hhmm(status.as_of)}, {ago(now - status.as_of)})"
    reach = f", {battery['range_km']} km" if battery.get("range_km") is not None else ""
    return f"{v.label} is {v.state}{age}.\n  battery   {charge_words(battery)}{reach}"


def charge_words(battery: dict[str, Any]) -> str:
    """ "charging at 11 kW (16 A), 62 % of an 80 % limit, full in 1 h 20 min"."""
    level, limit = battery.get("level"), battery.get("limit")
    state = battery.get("charging_state") or "unknown"
    of = f"{'–' if level is None else level} %"
    if limit is not None:
        of += f" of an {limit} % limit" if limit in (80, 88) else f" of a {limit} % limit"
    if state == "Charging":
        power = battery.get("power_kw")
        amps = battery.get("amps")
        how = f"charging at {power:g} kW" if power else "charging"
        how += f" ({amps} A)" if amps else ""
        minutes = battery.get("minutes_to_full")
        full = f", full in {_duration(minutes)}" if minutes else ""
        return f"{how}, {of}{full}"
    plugged = battery.get("plugged_in")
    cable = "" if plugged is None else ("cable in" if plugged else "no cable")
    return f"not charging ({state}{', ' + cable if cable else ''}), {of}"


def _duration(minutes: int) -> str:
    hours, rest = divmod(int(minutes), 60)
    return f"{hours} h {rest} min" if hours else f"{rest} min"


def _windows_words(windows: dict[str, Any] | None) -> str:
    if not windows:
        return "–"
    if windows.get("vented"):
        return "vented"
    if windows.get("closed"):
        return "closed"
    return "partly open"


def _battery_line(battery: dict[str, Any], units: str) -> str:
    """ "72 % (310 km); charging to 80 %, full in 1 h 5 min" """
    distance, level = battery.get("range_km"), battery.get("level")
    if distance is None:
        reach = ""  # the car did not say: nothing, rather than "None km"
    elif units == "imperial":
        reach = f" ({round(distance / 1.609344)} mi)"
    else:
        reach = f" ({distance} km)"
    charge = ""
    if battery.get("charging_state") == "Charging":
        minutes = battery.get("minutes_to_full")
        full = f", full in {_duration(minutes)}" if minutes else ""
        charge = f"; charging to {battery.get('limit')} %{full}"
    elif battery.get("limit") is not None:
        plugged = "; plugged in, not charging" if battery.get("plugged_in") else ""
        charge = f"; limit {battery['limit']} %{plugged}"
    return f"{'–' if level is None else level} %{reach}{charge}"


def status_lines(status: Status, units: str, now: float) -> str:
    v = status.vehicle
    head = f"{v.label} ({v.vin}) is {v.state}" + (", in service" if v.in_service else "")
    if status.woke is not None and status.woke.woke:
        head += f" (woke in {status.woke.waited_s:.1f} s)"
    if status.as_of is None:
        return (
            head + ".\ncarctl has no recent data from it; `carctl status --wake` wakes it for "
            "live data."
        )
    if status.failure is not None:
        head = (
            f"{v.label} ({v.vin}) as of {hhmm(status.as_of)}, {ago(now - status.as_of)}: "
            "the last state carctl read"
        )
        lines = [head]
    else:
        lines = [head + ("" if status.live else f"; last reported {ago(now - status.as_of)}")]
    climate = status.climate or {}
    if status.climate is not None:
        lines.append(
            f"  cabin     {format_temperature(climate.get('inside_temp'), units)}"
            f"   outside {format_temperature(climate.get('outside_temp'), units)}"
        )
        setting = format_temperature(climate.get("driver_temp_setting"), units)
        lines.append(
            f"  climate   {'on' if climate.get('is_climate_on') else 'off'} (set to {setting})"
        )
    if status.windows is not None:
        lines.append(f"  windows   {_windows_words(status.windows)}")
    if status.battery is not None:
        lines.append(f"  battery   {_battery_line(status.battery, units)}")
    if status.locks is not None:
        lines.append(f"  locks     {_locks_words(status.locks)}")
    if status.fix_at is not None:
        lines.append(f"  position  last fix {ago(now - status.fix_at)} (`carctl where`)")
    return "\n".join(lines)


def _locks_words(locks: dict[str, Any]) -> str:
    """ "locked; doors closed; trunk open; sentry on"."""
    locked = locks.get("locked")
    words = ["lock unknown" if locked is None else ("locked" if locked else "unlocked")]
    open_ = [
        name
        for name, key in (
            ("doors", "doors_closed"),
            ("frunk", "frunk_closed"),
            ("trunk", "trunk_closed"),
        )
        if locks.get(key) is False
    ]
    words.append(f"{' and '.join(open_)} open" if open_ else "doors and trunks closed")
    sentry = locks.get("sentry_mode")
    if sentry is not None:
        words.append("sentry on" if sentry else "sentry off")
    return "; ".join(words)


def routine_lines(output: Output, result: Result, units: str) -> Any:
    def draw(console: Surface) -> None:
        mark = _mark(output)
        for step in result.steps.done:
            console.print(mark, step.describe(units))
        console.print(_verdict(result, units))

    return draw


def _verdict(result: Result, units: str) -> str:
    if result.fact is not None and result.fact.endswith("nothing was sent"):
        return result.fact[0].upper() + result.fact[1:] + "."
    if result.skipped is not None:
        outside = format_temperature(result.skipped["outside_temp"], units)
        limit = format_temperature(result.skipped["if_below"], units)
        return f"Skipped: {outside} outside, not below {limit}; nothing was sent."
    if result.confirmed is None:
        return f"Sent; not yet confirmed (reading the car back failed: {result.read_back_error})."
    facts = []
    if result.climate is not None:
        climate = result.climate
        facts.append(
            f"climate {'on' if climate.get('is_climate_on') else 'off'}, set to "
            f"{format_temperature(climate.get('driver_temp_setting'), units)}, cabin "
            f"{format_temperature(climate.get('inside_temp'), units)}"
        )
    if result.windows is not None:
        facts.append(f"windows {_windows_words(result.windows)}")
    if result.locked is not None:
        facts.append("locked" if result.locked else "unlocked")
    if result.sentry is not None:
        facts.append("sentry on" if result.sentry else "sentry off")
    if result.battery is not None:
        facts.append(charge_words(result.battery))
    if result.fact is not None:
        facts = [result.fact]
    reported = "; ".join(facts)
    if not facts:
        return "The car carried it out."
    if result.confirmed:
        return f"Confirmed by the car: {reported}."  # carried out: no expiry to speak of
    return f"Sent, not yet confirmed: the car reports {reported}."


def entry_words(entry: Entry, units: str = "metric") -> str:
    """ "climate on", "temperature set to 21.0 °C" (or °F): the owner's words for it."""
    from carctl.vehicle.commands import Command
    from carctl.vehicle.words import describe

    try:
        return describe(Command(entry.command, entry.arguments), units)[1]
    except (TypeError, ValueError):
        return entry.command
