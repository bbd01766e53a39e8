"""How the car's schedules look to a person: what is armed, when it next runs, in whose time."""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any

from carctl.output import Output
from carctl.vehicle.inputs import format_temperature
from carctl.vehicle.schedules import LEAD_S, when_text

if TYPE_CHECKING:
    from carctl.plain import Surface
    from carctl.vehicle.on_car import Armed, Listing, Removed
    from carctl.vehicle.schedules import CarSchedule

RUNS_ON_CAR = "runs on the car even when the vehicle API is down"


def yours(ready: float, zone: tzinfo) -> str | None:
    """When the owner's clock differs from the car's: the ready time on the owner's."""
    from carctl.vehicle.schedules import local_zone

    car = datetime.fromtimestamp(ready, zone)
    here = datetime.fromtimestamp(ready).astimezone()
    if car.utcoffset() == here.utcoffset():
        return None
    return f"your time ({local_zone()[1]}): {here:%a %d %b %H:%M}"


def _next_line(ready: float | None, zone: tzinfo, zone_name: str, zone_known: bool) -> list[str]:
    if ready is None:
        return []
    start = datetime.fromtimestamp(ready - LEAD_S, zone)
    lines = [f"Next: {when_text(ready, zone)}, warming from {start:%H:%M} ({zone_name})."]
    note = yours(ready, zone)
    if note:
        lines.append(f"In {note}.")
    if not zone_known:
        lines.append(f"The car did not name its time zone; carctl assumed yours ({zone_name}).")
    return lines


def _step_lines(output: Output, console: Surface, steps: Any, units: str) -> None:
    mark = output.styled("✓", "green") if output.color else "ok"
    for step in steps.done:
        console.print(mark, step.describe(units))


def _armed_words(schedule: CarSchedule, temp: float | None, units: str) -> str:
    setting = f", {format_temperature(temp, units)}" if temp is not None else ""
    return f"{schedule.describe()}{setting}"


def armed_lines(output: Output, result: Armed, units: str) -> Any:
    def draw(console: Surface) -> None:
        label = result.vehicle.label
        holding = result.holding
        shown = result.schedule or result.wanted
        _step_lines(output, console, result.steps, units)
        if result.state == "differs":
            console.print(_differs(result, units))
            return
        words = _armed_words(shown, holding.temp, units)
        if result.state == "already":
            console.print(f"Already armed on {label}: {words}; nothing sent.")
            console.print(f"It {RUNS_ON_CAR}.")
        elif result.confirmed is None:
            console.print(
                f"Sent to {label}: {words}; not yet confirmed (reading the car back failed). "
                "Check with `carctl schedule`."
            )
        elif not result.confirmed:
            console.print(
                f"Sent to {label}, but the car does not show {words} yet. "
                "Check with `carctl schedule`."
            )
        else:
            console.print(f"Armed on {label}: {words}.")
            console.print(f"It {RUNS_ON_CAR}.")
        if result.replaced is not None and not result.replaced.same_as(shown):
            console.print(f"It replaced the scheduled departure at {result.replaced.ready}.")
        for line in _next_line(
            result.next_ready, holding.zone, holding.zone_name, holding.zone_known
        ):
            console.print(line)

    return draw


def _differs(result: Armed, units: str) -> str:
    label = result.vehicle.label
    held = result.holding
    if result.differs:
        rows = "\n".join(f"  ID {s.id}: {s.describe()}" for s in result.differs)
        head = f"{label} holds a different schedule for those days:\n{rows}"
    else:
        head = (
            f"{label} holds that schedule, but its cabin is set to "
            f"{format_temperature(held.temp, units)}."
        )
    wanted = _armed_words(result.wanted, result.temp, units)
    commands = "\n".join(f"  {c}" for c in result.replace_command().split(" && "))
    return (
        f"{head}\nLeft as it is: the car still runs it. Wanted: {wanted}.\n"
        f"To replace it:\n{commands}"
    )


SHOWN = 20  # schedules a listing shows on a terminal


def listing_lines(output: Output, result: Listing, units: str) -> Any:
    def draw(console: Surface) -> None:
        from rich import box
        from rich.table import Table

        holding = result.holding
        label = result.vehicle.label
        _step_lines(output, console, result.steps, units)
        rows = holding.upcoming(result.now)
        if not rows:
            console.print(
                f"{label} holds no schedules. Arm one: carctl schedule set 06:30 --days weekdays"
            )
            return
        count = f"{len(rows)} schedule" + ("s" if len(rows) != 1 else "")
        console.print(f"{label} holds {count} (the car's time, {holding.zone_name}):")
        table = Table(box=box.SIMPLE if output.color else None, show_edge=False, pad_edge=False)
        for column in ("ID", "Days", "Ready", "Next"):
            table.add_column(column)
        for schedule, ready in rows[:SHOWN]:
            days = (
                "departure" if schedule.kind == "departure" else schedule.describe().split(",")[0]
            )
            if not schedule.enabled:
                days += " (off)"
            table.add_row(
                str(schedule.id),
                days,
                schedule.ready,
                when_text(ready, holding.zone) if ready is not None else "–",
            )
        console.print(table)
        if len(rows) > SHOWN:  # a car holds a handful; a hostile server may send thousands
            console.print(
                f"… and {len(rows) - SHOWN} more (`carctl --json schedule` lists them all)"
            )
        setting = format_temperature(holding.temp, units)
        them = "them" if len(rows) > 1 else "it"
        console.print(f"Cabin set to {setting}. The car runs {them} even when the API is down.")
        following = holding.next_run(result.now)
        if following is not None:
            note = yours(following[1], holding.zone)
            if note:
                console.print(f"The next in {note}.")

    return draw


def removed_lines(output: Output, result: Removed, units: str) -> Any:
    def draw(console: Surface) -> None:
        label = result.vehicle.label
        _step_lines(output, console, result.steps, units)
        if not result.removed:
            console.print(f"{label} holds no schedules; nothing to remove.")
            return
        gone = "; ".join(f"{s.describe()} (ID {s.id})" for s in result.removed)
        left = len(result.holding.schedules)
        rest = f"it holds {left} more" if left else "it holds no other schedules"
        if result.confirmed is False:
            console.print(f"Sent to {label}, but the car still shows {gone}.")
        else:
            console.print(f"Removed from {label}: {gone}; {rest}.")

    return draw
