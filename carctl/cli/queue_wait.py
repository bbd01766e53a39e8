"""`carctl queue wait`: watch queued entries until each is delivered or expires, one
line as each finishes (the morning script waits for its steps this way)."""

from __future__ import annotations

import sys
from dataclasses import field
from typing import TYPE_CHECKING, Any

import click

from carctl.cli.complete import queue_ids
from carctl.cli.context import AppContext, pass_app
from carctl.cli.render import entry_words
from carctl.errors import TemporaryError
from carctl.records import record
from carctl.text import literal

if TYPE_CHECKING:
    from carctl.delivery.queue import Entry

WAIT_POLL_S = 1.0


@click.command()
@click.argument("entry_ids", type=int, metavar="[ID]...", nargs=-1, shell_complete=queue_ids)
@click.option("--all", "all_", is_flag=True, help="Wait for every entry pending now.")
@click.option(
    "--timeout",
    metavar="DURATION",
    help="Give up waiting after this long (e.g. 45m); the entries stay queued.",
)
@pass_app
def wait(app: AppContext, entry_ids: tuple[int, ...], all_: bool, timeout: str | None) -> None:
    """Wait until queued entries are delivered or expire, one line each (for scripts).

    The worker delivers; this only watches (and starts a worker when none
    runs). Exits 0 when each was delivered (or replaced by a later command),
    1 when one expired, was refused or was cancelled, 75 when --timeout came first.
    """
    from carctl.durations import parse_duration
    from carctl.errors import UsageError

    if bool(entry_ids) == all_:
        raise UsageError("give entry IDs or --all", hint="`carctl queue` lists the IDs")
    limit = parse_duration(timeout, option="--timeout") if timeout else None
    units = str(app.settings.get("units"))
    store = app.stack.queue

    watcher = _Watch(app, store, units, limit)
    ids, done = app.run(lambda: watcher.watch(_ids_to_watch(store, entry_ids, all_=all_)))
    _waited(app, ids, done, watcher.gone, timeout)


def _ids_to_watch(store: Any, entry_ids: tuple[int, ...], *, all_: bool) -> list[int]:
    from carctl.errors import CarctlError

    if all_:
        return [e.id for e in store.entries()]
    for entry_id in entry_ids:
        if store.get(entry_id) is None:
            raise CarctlError(
                f"there is no queue entry #{entry_id}", hint="`carctl queue list --all` lists them"
            )
    return list(entry_ids)


@record
class _Watch:
    """Watching entries until each is done (or the time is up), one line as each finishes."""

    app: AppContext
    store: Any
    units: str
    limit: float | None
    gone: list[int] = field(default_factory=list)
    done: dict[int, Entry] = field(default_factory=dict)

    def watch(self, ids: list[int]) -> tuple[list[int], dict[int, Entry]]:
        from carctl.cli.context import start_worker

        app = self.app
        started = app.clock.now()
        if ids:
            start_worker(app)
        while True:
            self.store.expire_now(app.clock.now())  # a deadline passes even with no worker
            for entry_id in list(ids):
                self._look(entry_id, ids)
            over = self.limit is not None and app.clock.now() - started >= self.limit
            if len(self.done) == len(ids) or over:
                return ids, self.done
            app.clock.sleep(WAIT_POLL_S)

    def _look(self, entry_id: int, ids: list[int]) -> None:
        from carctl.delivery.outcomes import OUTCOMES, outcome

        entry = self.store.get(entry_id)
        if entry is None:  # the state file was replaced under us: nothing to wait for
            self.app.output.warn(f"entry #{entry_id} is no longer in the queue")
            ids.remove(entry_id)
            self.gone.append(entry_id)
            return
        if entry_id in self.done or entry.status == "pending":
            return
        self.done[entry_id] = entry
        self.app.output.print(
            outcome(entry, self.units)
            if entry.status in OUTCOMES
            else f"#{entry.id} {entry_words(entry, self.units)} for {literal(entry.vehicle_name)}: "
            f"{entry.status}"
        )
        _flush()


def _waited(
    app: AppContext, ids: list[int], done: dict[int, Entry], gone: list[int], timeout: str | None
) -> None:
    """The result: all delivered (0), one not (1), or the time ran out first (75)."""
    from carctl.errors import CarctlError
    from carctl.text import plural

    pending = [i for i in ids if i not in done]
    data = {"entries": [e.to_json() for e in done.values()], "pending": pending, "gone": gone}
    bad = [
        f"#{e.id} {e.status}"
        for e in done.values()
        if e.status in ("expired", "failed", "cancelled")
    ]
    bad += [f"#{i} no longer in the queue" for i in gone]
    if pending:
        error: CarctlError = TemporaryError(
            f"{plural(len(pending), 'entry', 'entries')} still pending after {timeout}",
            hint="they stay queued and the worker keeps trying; `carctl queue` to follow",
        )
    elif bad:
        error = CarctlError(
            f"{len(bad)} of {plural(len(done) + len(gone), 'entry', 'entries')} not delivered: "
            + ", ".join(bad),
            hint="`carctl queue show ID` says why",
        )
    else:
        app.output.result(app.command, data, human=None if done else "Nothing was pending.")
        return
    error.data = data
    raise error


def _flush() -> None:
    """Each outcome reaches a pipe (the morning script's log) as it happens."""
    sys.stdout.flush()
