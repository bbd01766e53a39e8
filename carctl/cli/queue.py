"""`carctl queue`: what waits to be delivered, and delivering it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from carctl.cli.complete import queue_ids
from carctl.cli.context import AppContext, pass_app
from carctl.cli.render import entry_words
from carctl.errors import ExitCode, TemporaryError
from carctl.text import literal
from carctl.timefmt import day_and_time, hhmm, hhmmss

if TYPE_CHECKING:
    from carctl.delivery.queue import Entry
    from carctl.plain import Surface


def _add_wait() -> None:
    from carctl.cli.queue_wait import wait

    queue.add_command(wait)


def _queue(app: AppContext) -> Any:
    return app.stack.queue


def _age(app: AppContext, moment: float) -> str:
    from carctl.cli.render import ago

    return ago(app.clock.now() - moment)


def _short_error(entry: Entry) -> str:
    """A table cell: "HTTP 500", "breaker open", "by #5" (superseded), "at 06:41:07" (done)."""
    if entry.status in ("delivered", "cancelled", "expired") and entry.finished_at:
        return f"at {hhmmss(entry.finished_at)}"  # the status says what; this says when
    if entry.status == "failed":
        return f"HTTP {entry.last_status}" if entry.last_status else "refused"
    if entry.status == "superseded":
        by = (entry.last_error or "").rsplit("superseded by ", 1)[-1]
        return f"by {by}" if by else "superseded"
    if entry.last_status:  # "500 · 06:02": what the service said, and when
        return f"{entry.last_status} · {hhmm(entry.failed_at or entry.created_at)}"
    text = (entry.last_error or "").lower()
    if "sends nothing" in text or "asked carctl to wait" in text:
        return "breaker open"
    if text:
        return "no answer" if "connect" in text or "answer" in text else text[:20]
    return ""


def _short_age(app: AppContext, moment: float) -> str:
    seconds = max(0, round(app.clock.now() - moment))
    if seconds < 90:
        return f"{seconds} s"
    if seconds < 5400:
        return f"{round(seconds / 60)} min"
    return f"{round(seconds / 3600)} h"


def _shortentry_words(entry: Entry, units: str) -> str:
    """The owner's words, short enough for a column: "21.0 °C", "climate on", "vent"."""
    params = entry.arguments if entry.command in ("set_temps", "window_control") else {}
    if entry.command == "set_temps":
        from carctl.vehicle.inputs import format_temperature

        driver = params.get("driver_temp")
        if isinstance(driver, int | float):
            return f"set {format_temperature(float(driver), units)}"
        return "set temperature"
    if entry.command == "window_control":
        return "close windows" if params.get("command") == "close" else "vent"
    return entry_words(entry, units)


def _parameters_text(params: dict[str, Any], units: str) -> str:
    """ "driver 21.0 °C, passenger 21.0 °C", "command vent": words, not a Python dict.

    A position is left out: it is the car's, added when the command is sent."""
    from carctl.vehicle.inputs import format_temperature

    words = []
    for key, value in params.items():
        if key in ("lat", "lon", "long"):
            continue
        if key.endswith("_temp") and isinstance(value, int | float):
            words.append(f"{key.removesuffix('_temp')} {format_temperature(float(value), units)}")
        elif isinstance(value, bool):
            words.append(f"{key} {'yes' if value else 'no'}")
        else:
            words.append(f"{key} {literal(str(value))}")
    return ", ".join(words)


def _error_text(entry: Entry) -> str:
    if not entry.last_error:
        return ""
    status = f"HTTP {entry.last_status} " if entry.last_status else ""
    txid = f" (txid {entry.last_txid})" if entry.last_txid else ""
    return f"{status}{entry.last_error}{txid}"


def _breaker(app: AppContext) -> dict[str, Any]:
    health = app.stack.health().read()
    return health.to_json(app.clock.now())


@click.group(invoke_without_command=True)
@click.option("--all", "all_", is_flag=True, help="With no subcommand: list finished ones too.")
@click.pass_context
def queue(ctx: click.Context, all_: bool) -> None:
    """What waits to be delivered: list, retry, cancel, run, wait.

    Also `show` (one entry in full) and `worker` (deliver until stopped).

    Commands that could not be sent because the vehicle API was failing wait
    here until they are delivered, or until they expire.
    """
    if ctx.invoked_subcommand is None:
        ctx.invoke(list_, all_=all_)


@queue.command("list")
@click.option("--all", "all_", is_flag=True, help="Include delivered, failed and expired entries.")
@pass_app
def list_(app: AppContext, all_: bool) -> None:
    """List queued commands, the breaker's state and whether a worker runs."""
    from carctl.cli.context import tell_news
    from carctl.delivery.worker import running

    store = _queue(app)
    if all_:  # the outcomes are on the screen: none of them is news any more
        if app.output.interactive:
            app.stack.news.looked(app.clock.now())
    else:
        tell_news(app)
    entries, unreadable = store.listing(now=app.clock.now(), include_finished=all_)
    for problem in unreadable:
        app.output.warn(
            f"{store.unreadable_error(problem).message}; "
            f"`carctl queue cancel {problem.entry_id}` drops it"
        )
    breaker = _breaker(app)
    worker = running(app.paths)
    data = {
        "entries": [e.to_json() for e in entries],
        "breaker": breaker,
        "worker_running": worker,
    }
    history = _history(app) if all_ else None
    if history is not None:
        data["history"] = history

    def draw(console: Surface) -> None:
        if not entries:
            console.print("Nothing queued." if not all_ else "The queue is empty.", markup=False)
        else:
            console.print(_table(app, entries))
        console.print(_breaker_line(app, breaker), markup=False)
        console.print(f"worker: {'running' if worker else 'not running'}", markup=False)
        if history is not None:
            console.print(
                f"history: finished entries are kept {history['retention']}"
                " (setting queue.retention)",
                markup=False,
            )

    app.output.result(app.command, data, human=draw)


def _history(app: AppContext) -> dict[str, Any]:
    """How far back `queue list --all` goes: finished entries older are pruned."""
    from carctl.timefmt import iso

    kept = app.stack.queue.retention_s
    return {
        "retention": str(app.settings.get("queue.retention")),
        "kept_s": kept,
        "since": iso(app.clock.now() - kept),
    }


def _table(app: AppContext, entries: list[Entry]) -> Any:
    from rich import box
    from rich.table import Table

    table = Table(
        box=box.SIMPLE if app.output.color else None,
        show_edge=False,
        pad_edge=False,
        padding=(0, 1),
    )
    units = str(app.settings.get("units"))
    table.add_column("#", justify="right", no_wrap=True)
    table.add_column("What", no_wrap=True, overflow="ellipsis", max_width=14)
    table.add_column("Car", no_wrap=True, overflow="ellipsis", max_width=10)
    table.add_column("Status", no_wrap=True)
    table.add_column("Age", no_wrap=True, justify="right")
    table.add_column("Expires", no_wrap=True)
    table.add_column("Tries", no_wrap=True, justify="right")
    table.add_column("Last", no_wrap=True, overflow="ellipsis", max_width=14)
    for e in entries:
        table.add_row(
            str(e.id),
            _shortentry_words(e, units),
            literal(e.vehicle_name),
            e.status,
            _short_age(app, e.created_at),
            hhmm(e.expires_at),
            str(e.attempts),
            _short_error(e),
        )
    return table


def _breaker_line(app: AppContext, breaker: dict[str, Any]) -> str:
    state = breaker["state"]
    # a cool-down that is over has no time to wait for: the next try probes
    said = "half-open (the next try probes)" if state == "half-open" else state
    line = f"{app.endpoint.label}: breaker {said}, retry budget {breaker['tokens']:.1f}/10"
    until = breaker.get("open_until")
    if state == "open" and until and until > app.clock.now():
        line += f", next try at {hhmmss(until)}"
    return line


@queue.command()
@click.argument("entry_id", type=int, metavar="ID", shell_complete=queue_ids)
@pass_app
def show(app: AppContext, entry_id: int) -> None:
    """Everything about one entry."""
    from carctl.errors import CarctlError

    store = _queue(app)
    entry = store.get(entry_id)
    if entry is None:
        raise CarctlError(
            f"there is no queue entry #{entry_id}", hint="`carctl queue list --all` lists them"
        )
    data = entry.to_json()  # JSON keeps ISO times and the parameters as sent
    units = str(app.settings.get("units"))
    lines = [
        f"#{entry.id} {entry_words(entry, units)} for {literal(entry.vehicle_name)}: "
        f"{entry.status}",
        f"  queued       {hhmm(entry.created_at)} ({_age(app, entry.created_at)})",
        f"  expires      {hhmm(entry.expires_at)}",
        f"  attempts     {entry.attempts}",
    ]
    details = _parameters_text(entry.arguments, units)
    if details:
        lines.insert(1, f"  parameters   {details}")
    if entry.status == "pending":
        now = app.clock.now()
        if entry.last_status == 429 and entry.next_attempt_at > now:
            # the service's own Retry-After: a day is a day
            waits = day_and_time(entry.next_attempt_at, now)
            lines.append(f"  not before   {waits} (the service asked carctl to wait)")
        else:
            lines.append(f"  next try     {hhmm(max(entry.next_attempt_at, now))}")
    if entry.last_error:
        lines.append(f"  last error   {_error_text(entry)}")
    if entry.finished_at:
        lines.append(f"  finished     {hhmm(entry.finished_at)}")
    app.output.result(app.command, data, human="\n".join(lines))


@queue.command()
@click.argument("entry_id", type=int, metavar="ID", required=False, shell_complete=queue_ids)
@click.option("--all", "all_", is_flag=True, help="Cancel every pending entry.")
@pass_app
def cancel(app: AppContext, entry_id: int | None, all_: bool) -> None:
    """Cancel a pending entry (or --all), so it is never sent."""

    _one_or_all(entry_id, all_)
    store = _queue(app)
    ids = store.cancel(entry_id, now=app.clock.now())
    human = (
        "Nothing was pending."
        if not ids
        else f"Cancelled {', '.join(f'#{i}' for i in ids)}; it will not be sent."
        if len(ids) == 1
        else f"Cancelled {', '.join(f'#{i}' for i in ids)}; they will not be sent."
    )
    app.output.result(app.command, {"cancelled": ids}, human=human)


def _one_or_all(entry_id: int | None, all_: bool) -> None:
    """`cancel` and `retry` take exactly one of an entry ID and --all."""
    from carctl.errors import UsageError

    if (entry_id is None) == (not all_):
        raise UsageError("give an entry ID or --all", hint="`carctl queue` lists the IDs")


def _runner(app: AppContext, *, probe_now: bool = False, notify: bool = False) -> Any:
    """A queue runner; with `notify`, outcomes also become a desktop notification."""
    import random

    from carctl.delivery.worker import desktop_notifier

    tell = None
    if notify:
        units = str(app.settings.get("units"))
        tell = desktop_notifier(str(app.settings.get("notify")), app.env, units)
    return app.stack.queue_runner(rng=random.Random(), probe_now=probe_now, on_outcomes=tell)


@queue.command()
@click.argument("entry_id", type=int, metavar="ID", required=False, shell_complete=queue_ids)
@click.option("--all", "all_", is_flag=True, help="Try every pending entry now.")
@pass_app
def retry(app: AppContext, entry_id: int | None, all_: bool) -> None:
    """Try a queued entry (or --all) now, for when you know the service is back.

    The first request goes out as a single probe even while the breaker is
    open (a Retry-After from the service is still honoured); it counts
    against the retry budget like any other. Exits 0 when it was delivered.
    """

    _one_or_all(entry_id, all_)
    store = _queue(app)
    ids = store.due_now(entry_id, now=app.clock.now())
    runner = _runner(app, probe_now=True)
    result = app.run(lambda: runner.one_pass(due_only=True))
    entries = [e for e in (runner.queue.get(i) for i in ids) if e is not None]
    data = {"entries": [e.to_json() for e in entries], "pending": result.pending}
    lines = [
        f"#{e.id} {entry_words(e, str(app.settings.get('units')))}: {e.status}" for e in entries
    ]
    waiting = [e for e in entries if e.status == "pending"]
    if not ids:
        app.output.result(app.command, data, human="Nothing was pending.")
        return
    if waiting:
        error = TemporaryError(
            "; ".join(lines) + (f" ({waiting[0].last_error})" if waiting[0].last_error else ""),
            hint="the worker keeps trying until it expires; `carctl queue show "
            f"{waiting[0].id}` has the details",
        )
        error.data = data
        raise error
    app.output.result(app.command, data, human="\n".join(lines))


@queue.command()
@pass_app
def run(app: AppContext) -> None:
    """Make one pass over everything pending (for cron).

    Exits 0 when nothing is left pending, 75 when something still waits.
    """
    runner = _runner(app, notify=not app.output.interactive)  # cron: nobody watches
    result = app.run(lambda: runner.one_pass(due_only=False))
    data = {
        "delivered": result.delivered,
        "failed": result.failed,
        "expired": result.expired,
        "pending": result.pending,
    }
    text = (
        f"Delivered {result.delivered}, failed {result.failed}, expired {len(result.expired)}; "
        f"{result.pending} still pending."
    )
    if result.pending:
        error = TemporaryError(text, hint="`carctl queue` shows why; the next run tries again")
        error.data = data
        raise error
    app.output.result(app.command, data, human=text)


@queue.command()
@click.option("--until-empty", is_flag=True, help="Exit when nothing is pending.")
@pass_app
def worker(app: AppContext, until_empty: bool) -> None:
    """Deliver queued commands as they become due, until stopped (systemd, launchd).

    Only one worker runs at a time; a second one exits at once.
    """
    import signal
    import threading

    from carctl.delivery.worker import single_worker

    with single_worker(app.paths) as mine:
        if not mine:
            app.output.result(
                app.command,
                {"started": False, "reason": "another worker is running"},
                human="Another worker is already running.",
            )
            return
        runner = _runner(app, notify=True)

        def main() -> Any:
            """SIGTERM and Ctrl-C end the worker between passes, never mid-send."""
            stop = threading.Event()
            for signum in (signal.SIGTERM, signal.SIGINT):
                signal.signal(signum, lambda _signum, _frame: stop.set())
            return runner.loop(until_empty=until_empty, stop=stop)

        result = app.run(main)
    app.output.result(
        app.command,
        {"delivered": result.delivered, "failed": result.failed, "pending": result.pending},
        human=f"Worker stopped: delivered {result.delivered}, {result.pending} pending.",
    )
    if result.pending and until_empty:
        raise click.exceptions.Exit(int(ExitCode.TEMPFAIL))


_add_wait()
