"""The state every command shares: global options, output, paths.

Created once per run by the root group and handed to commands with
`pass_app`, so commands never read global options or the environment directly.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import field
from functools import cached_property, update_wrapper
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

import click

from carctl.api import DEADLINE_S
from carctl.output import Output
from carctl.paths import Paths, resolve_paths
from carctl.records import record

if TYPE_CHECKING:
    from carctl.api.client import ApiClient
    from carctl.api.connect import Endpoint
    from carctl.api.request_log import Exchange
    from carctl.cli.environment import Environment
    from carctl.clock import Clock
    from carctl.settings import Settings
    from carctl.stack import Stack
    from carctl.vehicle.service import VehicleService


def _environment() -> Environment:
    from carctl.cli.environment import Environment

    return Environment()


P = ParamSpec("P")
R = TypeVar("R")


@record
class AppContext:
    profile: str | None = None
    vehicle: str | None = None
    json: bool = False
    quiet: bool = False
    verbose: int = 0
    insecure: bool = False
    no_queue: bool = False
    no_worker: bool = False
    command: str = ""
    environment: Environment = field(default_factory=lambda: _environment())

    @property
    def env(self) -> Mapping[str, str]:
        return self.environment.environ

    @cached_property
    def output(self) -> Output:
        from carctl.cli.render import queued_step

        return Output.create(
            json_flag=self.json,
            quiet=self.quiet,
            env=self.env,
            stdout=self.environment.stdout,
            stderr=self.environment.stderr,
            verbose=self.verbose,
            describe=queued_step,
        )

    @cached_property
    def paths(self) -> Paths:
        return resolve_paths(self.env)

    @cached_property
    def stack(self) -> Stack:
        """This run's carctl, built on demand (see carctl.stack); closed when the run ends."""
        from carctl.stack import Stack

        return Stack(
            settings=self._load_settings,
            paths=self.paths,
            env=self.env,
            clock=self.environment.clock,
            insecure=self.insecure,
            observer=self._observe,
            warn=self.output.warn,
        )

    def _load_settings(self) -> Settings:
        from carctl.settings import load_settings

        return load_settings(
            self.paths.config_file, env=self.env, profile=self.profile, vehicle=self.vehicle
        )

    @property
    def settings(self) -> Settings:
        return self.stack.settings

    @property
    def endpoint(self) -> Endpoint:
        return self.stack.endpoint

    @property
    def clock(self) -> Clock:
        return self.stack.clock

    def reload_settings(self) -> None:
        """Read the config file again (a command changed it): settings and endpoint anew."""
        self.stack = self.stack.reloaded()

    def close(self) -> None:
        """The run is over: its state connection is closed."""
        if "stack" in self.__dict__:
            self.stack.close()

    def run(self, work: Callable[[], R]) -> R:
        """Run the core's `work`; the log file is set up first, so failures land in it."""
        from carctl.logs import setup_logging

        setup_logging(self.paths.log_file, verbose=self.verbose)
        return work()

    def _observe(self, exchange: Exchange) -> None:
        """`-v`: one line per HTTP exchange on stderr (never a header or a body)."""
        import logging

        result = str(exchange.status) if exchange.status is not None else exchange.outcome
        line = f"{exchange.method} {exchange.path} -> {result} in {exchange.duration_ms} ms"
        if exchange.txid:
            line += f" (txid {exchange.txid})"
        logging.getLogger("carctl.http").info("%s", line)
        if self.verbose:
            self.output.info(line)

    def api(
        self,
        *,
        with_session: bool = True,
        credentials: Any = None,
        total_timeout_s: float | None = None,
    ) -> contextlib.AbstractContextManager[ApiClient]:
        """A client without a guard, from the stack: sign-in, `carctl api`, look-ups."""
        return self.stack.client(
            with_session=with_session, credentials=credentials, total_timeout_s=total_timeout_s
        )


def pass_app(f: Callable[Concatenate[AppContext, P], R]) -> Callable[P, R]:
    """Like click.pass_obj, typed, and tolerant of a command run without the root group."""

    def new_func(*args: P.args, **kwargs: P.kwargs) -> R:
        ctx = click.get_current_context()
        app = ctx.find_object(AppContext)
        if app is None:
            app = ctx.ensure_object(AppContext)
        app.command = command_name(ctx)
        global last_app
        last_app = app
        return f(app, *args, **kwargs)

    return update_wrapper(new_func, f)


def command_name(ctx: click.Context) -> str:
    """`mock fault add`, for the JSON envelope's `command`."""
    parts: list[str] = []
    current: click.Context | None = ctx
    while current is not None and current.parent is not None:
        if current.info_name:
            parts.append(current.info_name)
        current = current.parent
    return " ".join(reversed(parts))


# The context of the command being run, so that errors raised from it are
# rendered with its output settings and command name.
last_app: AppContext | None = None


@contextlib.contextmanager
def vehicle_service(app: AppContext, *, deadline_s: float = DEADLINE_S) -> Iterator[VehicleService]:
    """One run of a car command, as the stack builds it, with a spinner and the queue."""
    from carctl.cli.render import Spinner
    from carctl.durations import parse_duration
    from carctl.stack import Queueing

    queueing = Queueing(
        ttl_s=parse_duration(str(app.settings.get("queue.ttl")), option="queue.ttl"),
        use_queue=not app.no_queue,
        start_worker=_worker_starter(app),
    )
    with app.stack.car_run(
        deadline_s=deadline_s, reporter=Spinner(app.output), queueing=queueing
    ) as run:
        tell_news(app)
        if app.verbose:
            state = run.health.read()
            pending = run.queue.pending() if run.queue is not None else 0
            app.output.info(
                f"breaker {state.describe_state(app.clock.now())}, retry budget "
                f"{state.tokens:.1f}/10, {pending} queued"
            )
        yield run.service


def tell_news(app: AppContext) -> None:
    """On a terminal: one line about queued commands delivered or expired meanwhile.

    Told once (the queue marks them seen); never on a pipe, in JSON or with
    --quiet, where a script reads the output; never a reason for a command to fail.
    """
    if not app.output.interactive or app.output.quiet:
        return
    from carctl.delivery.outcomes import since_you_looked

    try:
        news = app.stack.news.news(app.clock.now())
    except Exception:  # a read-only or damaged state file: the command says so itself
        return
    if news:
        line = since_you_looked(news, str(app.settings.get("units")))
        app.output.console(stderr=True).print(app.output.styled(line, "cyan"))


def start_worker(app: AppContext) -> str | None:
    """A background worker for what is queued, when the settings allow one."""
    start = _worker_starter(app)
    return start() if start is not None else None


def _worker_starter(app: AppContext) -> Callable[[], str] | None:
    """A background worker, unless --no-worker, queue.auto_worker = false, or CI is set."""
    if app.no_worker or not app.settings.get("queue.auto_worker") or app.env.get("CI"):
        return None

    def start() -> str:
        from carctl.delivery.worker import spawn

        return spawn(app.paths, app.env, insecure=app.insecure)

    return start
