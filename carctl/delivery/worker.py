"""The queue worker: one at a time, in the background or the foreground.

- `spawn` starts a detached `carctl queue worker --until-empty` after a run
  queued something; it exits when nothing is pending.
- `carctl queue worker` runs the same loop until stopped (systemd, launchd).
- `carctl queue run` makes one pass over everything pending (cron).

A lock file keeps the looping worker single; `queue run` does not need it,
because claiming entries is itself exclusive (leases in one transaction).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import random
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import field
from functools import partial
from pathlib import Path
from typing import Any

from carctl.api import DEADLINE_S
from carctl.clock import Clock
from carctl.delivery.batch import deliver_batch
from carctl.delivery.outcomes import OUTCOMES, outcome
from carctl.delivery.queue import Entry, Queue
from carctl.errors import CarctlError, StateError
from carctl.files import private_dir
from carctl.paths import Paths
from carctl.processes import this_process
from carctl.records import record
from carctl.settings import Value, load_settings
from carctl.vehicle.model import Vehicle

log = logging.getLogger("carctl.worker")
MIN_SLEEP_S = 0.2
MAX_SLEEP_S = 30.0
RUN_DEADLINE_S = DEADLINE_S  # each delivery attempt, as a direct run


def lock_path(paths: Paths) -> Path:
    return paths.state_dir / "worker.lock"


@contextlib.contextmanager
def single_worker(paths: Paths) -> Iterator[bool]:
    """Hold the worker lock if nobody else does; yields whether we got it."""
    from carctl.locks import unless_held

    with contextlib.ExitStack() as stack:
        try:
            fd = stack.enter_context(unless_held(lock_path(paths)))
        except (OSError, StateError):  # a read-only home: no worker can be running there
            yield True
            return
        if fd is not None:
            os.ftruncate(fd, 0)
            os.write(fd, str(os.getpid()).encode())  # who holds it, for a person looking
        yield fd is not None


def running(paths: Paths) -> bool:
    """Is a looping worker alive (holding the lock)?"""
    with single_worker(paths) as free:
        return not free


# What a worker needs from the caller's environment; nothing else is passed on.
WORKER_ENV = (
    "HOME", "USER", "LOGNAME", "PATH", "LANG", "LANGUAGE", "TZ", "TMPDIR",
    "DBUS_SESSION_BUS_ADDRESS", "DISPLAY", "WAYLAND_DISPLAY",  # keyring, notifications
    "SSL_CERT_FILE", "SSL_CERT_DIR", "PYTHON_KEYRING_BACKEND",
    "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY",
    "http_proxy", "https_proxy", "all_proxy", "no_proxy",
    "SYSTEMROOT", "APPDATA", "LOCALAPPDATA", "USERPROFILE",  # Windows' platform directories
)  # fmt: skip
WORKER_ENV_PREFIXES = ("CARCTL_", "LC_", "XDG_", "KEYRING_")

# The worker's entry point under `python -I`: carctl's own import locations are
# appended after the standard library, so no module of the caller's directory
# (a `random.py`, a `carctl.py`) can stand in for one carctl imports.
_BOOT = (
    "import json, sys; sys.path += json.loads(sys.argv.pop(1)); sys.argv[0] = 'carctl'; "
    "import runpy; runpy.run_module('carctl', run_name='__main__')"
)


def worker_env(env: Mapping[str, str]) -> dict[str, str]:
    """The caller's environment reduced to what a worker needs (and what carctl reads)."""
    return {
        key: value
        for key, value in env.items()
        if key in WORKER_ENV or key.startswith(WORKER_ENV_PREFIXES)
    }


def import_path() -> list[str]:
    """Where this carctl and its libraries were imported from; never the working directory."""
    import carctl

    here = str(Path(carctl.__file__).resolve().parent.parent)
    try:
        cwd = str(Path.cwd().resolve())
    except OSError:
        cwd = ""
    entries = []
    for entry in sys.path:
        if not entry or not Path(entry).is_absolute():
            continue
        resolved = str(Path(entry).resolve())
        if resolved == cwd and resolved != here:
            continue
        if resolved not in entries:
            entries.append(resolved)
    if here not in entries:
        entries.append(here)
    return entries


def worker_command(*args: str) -> list[str]:
    """`carctl ARGS` as a worker runs: Python's isolated mode, carctl's own import path."""
    return [sys.executable, "-I", "-c", _BOOT, json.dumps(import_path()), *args]


def spawn(paths: Paths, env: Mapping[str, str], *, insecure: bool = False) -> str:
    """Start a detached worker unless one runs; "started" or "running".

    `insecure`: the run that queued said --insecure (plain HTTP to its own network),
    and so does the worker it starts.

    Nothing from the caller's directory or environment steers it: isolated
    mode, the state directory as its working directory, and only the
    environment variables carctl needs.
    """
    if running(paths):
        return "running"
    private_dir(paths.log_file.parent)
    private_dir(paths.state_dir)
    subprocess.Popen(  # noqa: S603 - our own interpreter, our own arguments
        worker_command(*(["--insecure"] if insecure else []), "queue", "worker", "--until-empty"),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # survives the terminal; never a child we must reap
        close_fds=True,
        cwd=paths.state_dir,
        env=worker_env(env),
    )
    return "started"


@record
class PassResult:
    delivered: int = 0
    failed: int = 0
    waiting: int = 0
    skipped: int = 0
    pending: int = 0
    expired: list[int] = field(default_factory=list)

    def add(self, counts: dict[str, int]) -> None:
        for key, value in counts.items():
            setattr(self, key, getattr(self, key) + value)


# The stack's `car_run` (carctl.stack), for the entry's settings: a context manager
# yielding a run whose `service` delivers. Given, not imported: the delivery layer does
# not reach above itself.
OpenRun = Callable[..., AbstractContextManager[Any]]


class QueueRunner:
    """Deliver queued entries with the credentials of the profile that queued them."""

    def __init__(
        self,
        queue: Queue,
        paths: Paths,
        env: Mapping[str, str],
        *,
        clock: Clock,
        rng: random.Random,
        open_run: OpenRun,
        probe_now: bool = False,
        on_outcomes: Callable[[list[Entry]], None] | None = None,
    ) -> None:
        self.open_run = open_run  # the stack's `car_run`, given by the stack that builds this
        self.on_outcomes = on_outcomes  # told once a pass what was delivered, expired, failed
        self.probe_now = probe_now  # `queue retry`: the first request is sent as a probe
        self.paths = paths
        self.env = env
        self.clock = clock
        self.rng = rng
        self.queue = queue
        self.owner = this_process()

    def deliver(self, batch: list[Entry]) -> dict[str, int]:
        first = batch[0]
        base = load_settings(self.paths.config_file, env=self.env, profile=first.profile)
        settings = dataclasses.replace(
            base, values={**base.values, "api_url": Value("api_url", first.api_url, "queue")}
        )
        probe_now, self.probe_now = self.probe_now, False
        try:
            with self.open_run(
                settings=settings,
                rng=self.rng,
                deadline_s=RUN_DEADLINE_S,
                observer=lambda _: self.queue.renew(batch, owner=self.owner, now=self.clock.now()),
                probe_now=probe_now,
                on_seen=partial(self._adopt, first.scope),
            ) as run:
                return deliver_batch(
                    run.service, self.queue, batch, owner=self.owner, clock=self.clock, rng=self.rng
                )
        except CarctlError as exc:  # e.g. the profile's settings no longer load
            self.queue.retry_later(batch, exc, now=self.clock.now(), wait=60, tried=False)
            return {"waiting": len(batch)}

    def _adopt(self, scope: str, cars: list[Vehicle], complete: bool) -> None:
        """A lookup learned cars' ids: entries queued by name now carry them."""
        self.queue.adopt(scope=scope, vehicles=cars, complete=complete, now=self.clock.now())

    def one_pass(self, *, due_only: bool) -> PassResult:
        result = PassResult()
        before = self.queue.pending_ids()  # all of them: a pass may deliver thousands
        tried: set[int] = set()
        while True:
            batch = self.queue.claim(owner=self.owner, now=self.clock.now(), due_only=due_only)
            if not batch:
                break
            if batch[0].id in tried:  # already tried in this pass: leave it for the next
                self.queue.release(batch)
                break
            tried.update(e.id for e in batch)
            result.add(self.deliver(batch))
        self.queue.expire_now(self.clock.now())
        after = {e.id: e for e in self.queue.many(before)}
        result.expired = sorted(i for i in before if after.get(i) and after[i].status == "expired")
        result.pending = self.queue.pending()
        outcomes = [after[i] for i in sorted(before) if i in after and after[i].status in OUTCOMES]
        for entry in outcomes:
            if entry.status == "expired":  # delivered and failed are logged as they happen
                log.info("queue: %s", outcome(entry))
        if outcomes and self.on_outcomes is not None:
            try:
                self.on_outcomes(outcomes)
            except Exception:  # telling the owner must never cost a delivery
                log.exception("telling the owner of the outcomes failed")
        return result

    def loop(self, *, until_empty: bool, stop: threading.Event | None = None) -> PassResult:
        total = PassResult()
        while stop is None or not stop.is_set():
            result = self.one_pass(due_only=True)
            total.delivered += result.delivered
            total.failed += result.failed
            total.expired += result.expired
            total.pending = result.pending
            if until_empty and result.pending == 0:
                break
            self._sleep(stop)
        return total

    def _sleep(self, stop: threading.Event | None) -> None:
        now = self.clock.now()
        due = self.queue.next_due()
        wait = MAX_SLEEP_S if due is None else due - now
        wait = min(MAX_SLEEP_S, max(MIN_SLEEP_S, wait))
        if stop is None:
            self.clock.sleep(wait)
            return
        stop.wait(timeout=wait)


def desktop_notifier(
    mode: str, env: Mapping[str, str], units: str = "metric"
) -> Callable[[list[Entry]], None]:
    """Outcomes as one desktop notification a pass (see carctl.notify)."""

    def tell(entries: list[Entry]) -> None:
        from carctl.delivery.outcomes import notification
        from carctl.notify import notify

        title, body = notification(entries, units)
        shown = notify(title, body, mode=mode, env=env)
        log.info("notification: %s", shown)

    return tell
