"""The command line: parse arguments, call the core, render. No HTTP, no SQL.

Subcommand groups are imported only when used, so `carctl --help` imports
click and carctl's small modules, never httpx, rich, keyring or the mock.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
from typing import Any

import click

from carctl import __version__
from carctl.cli.completers import complete_profiles, complete_vehicles
from carctl.errors import CarctlError, Interrupted, UsageError

# name -> (module, attribute, one-line help shown by `carctl --help` without importing it)
LAZY_COMMANDS: dict[str, tuple[str, str, str]] = {
    "api": ("carctl.cli.api", "api", "Send one request to the vehicle API and print its response."),
    "auth": ("carctl.cli.auth", "auth", "Sign in, see where the session lives, sign out."),
    "charge": (
        "carctl.cli.charge",
        "charge",
        "Battery and charging: state, start, stop, limit, amps, port.",
    ),
    "climate": (
        "carctl.cli.vehicle",
        "climate",
        "Turn the climate on or off, or set the temperature.",
    ),
    "doctor": (
        "carctl.cli.doctor",
        "doctor",
        "Find out what is wrong: setup, network, service or car.",
    ),
    "demo": ("carctl.cli.demo", "demo", "The morning of 20 November 2021, end to end, built in."),
    "defrost": (
        "carctl.cli.comfort",
        "defrost",
        "Defrost: the most heat, front and rear, on or off.",
    ),
    "seat": (
        "carctl.cli.comfort",
        "seat",
        "Seat heating: carctl seat heat driver 3 (0 turns it off).",
    ),
    "wheel": ("carctl.cli.comfort", "wheel", "Steering wheel heating: carctl wheel heat on|off."),
    "precondition": (
        "carctl.cli.vehicle",
        "precondition",
        "The morning routine: wake, temperature, climate on, vent.",
    ),
    "queue": (
        "carctl.cli.queue",
        "queue",
        "What waits to be delivered: list, retry, cancel, run, wait.",
    ),
    "schedule": (
        "carctl.cli.schedule",
        "schedule",
        "The car's own schedules: it warms itself, API or not.",
    ),
    "status": ("carctl.cli.vehicle", "status", "What the car reports, without waking it."),
    "vehicles": (
        "carctl.cli.vehicle",
        "vehicles",
        "List the cars on the account (never wakes one).",
    ),
    "mcp": (
        "carctl.cli.mcp",
        "mcp",
        "Serve carctl's tools to an assistant over MCP (stdin/stdout).",
    ),
    "usage": (
        "carctl.cli.usage",
        "usage",
        "The month's calls to a paid vehicle API: cost and cap.",
    ),
    "lock": ("carctl.cli.car", "lock", "Lock the car (queued for 2 minutes at most)."),
    "unlock": ("carctl.cli.car", "unlock", "Unlock the car (never queued; asks first)."),
    "honk": ("carctl.cli.car", "honk", "Honk the horn once (never queued)."),
    "trunk": (
        "carctl.cli.car",
        "trunk",
        "The rear trunk: open, or close a powered tailgate.",
    ),
    "frunk": (
        "carctl.cli.car",
        "frunk",
        "The front trunk: open it (never queued; it closes by hand).",
    ),
    "sentry": (
        "carctl.cli.car",
        "sentry",
        "Sentry mode on (kept 2 minutes at most) or off (never queued).",
    ),
    "flash": ("carctl.cli.car", "flash", "Flash the lights once (never queued)."),
    "vent": ("carctl.cli.vehicle", "vent", "Vent the windows, or close them with --close."),
    "where": ("carctl.cli.car", "where", "Where the car is, and how old that fix is."),
    "wake": ("carctl.cli.vehicle", "wake", "Wake the car and wait until it is online."),
    "completion": (
        "carctl.cli.completion",
        "completion",
        "Print the shell completion script (bash, zsh or fish).",
    ),
    "config": ("carctl.cli.config", "config", "Show and change settings (config.toml)."),
    "mock": ("carctl.cli.mock", "mock", "Run and control the mock vehicle API."),
    "key": (
        "carctl.cli.key",
        "key",
        "The key that signs commands: generate, show, pair, status.",
    ),
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use."""

    def __init__(self, *args: Any, lazy: dict[str, tuple[str, str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = lazy

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy:
            module, attribute, _ = self.lazy[cmd_name]
            command = getattr(importlib.import_module(module), attribute)
            assert isinstance(command, click.Command)
            from carctl.cli.globals import accept_global_options

            return accept_global_options(command)
        return super().get_command(ctx, cmd_name)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        """An unknown command is a usage error with a "did you mean" from the table."""
        name = args[0] if args else ""
        if name and not name.startswith("-") and self.get_command(ctx, name) is None:
            import difflib

            close = difflib.get_close_matches(name, self.list_commands(ctx), n=1, cutoff=0.6)
            raise UsageError(
                f"there is no command {name!r}",
                hint=(f"did you mean `carctl {close[0]}`? " if close else "")
                + "`carctl --help` lists the commands",
            )
        return super().resolve_command(ctx, args)

    def shell_complete(self, ctx: click.Context, incomplete: str) -> list[Any]:
        """Command names from the table (no imports: Tab must be instant), then options."""
        from click.shell_completion import CompletionItem

        items = [
            CompletionItem(name, help=help_text)
            for name, (_, _, help_text) in sorted(self.lazy.items())
            if name.startswith(incomplete)
        ]
        return items + click.Command.shell_complete(self, ctx, incomplete)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """List commands from the table, so that --help imports nothing more."""
        rows = [(name, help_text) for name, (_, _, help_text) in sorted(self.lazy.items())]
        rows += [
            (name, cmd.get_short_help_str(60))
            for name, cmd in sorted(self.commands.items())
            if not cmd.hidden
        ]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(sorted(rows))


@click.group(
    cls=LazyGroup, lazy=LAZY_COMMANDS, context_settings={"help_option_names": ["-h", "--help"]}
)
@click.option(
    "--profile",
    metavar="NAME",
    envvar="CARCTL_PROFILE",
    help="Settings profile to use.",
    shell_complete=complete_profiles,
)
@click.option(
    "--vehicle",
    metavar="CAR",
    envvar="CARCTL_VEHICLE",
    help="Car by name, VIN or id (needed only with several cars).",
    shell_complete=complete_vehicles,
)
@click.option(
    "--json", "json_", is_flag=True, help="Print one JSON document on stdout (for scripts)."
)
@click.option("-q", "--quiet", is_flag=True, help="Print nothing on success.")
@click.option("-v", "--verbose", count=True, help="Explain what carctl does (repeat for more).")
@click.option(
    "--insecure",
    is_flag=True,
    help="Allow plain http:// to a vehicle API that is not on this computer.",
)
@click.option(
    "--no-queue", is_flag=True, help="When the API fails, do not queue the command (exit 75)."
)
@click.option("--no-worker", is_flag=True, help="Queue, but do not start a background worker.")
@click.version_option(__version__, "-V", "--version", prog_name="carctl")
@click.pass_context
def cli(
    ctx: click.Context,
    profile: str | None,
    vehicle: str | None,
    json_: bool,
    quiet: bool,
    verbose: int,
    insecure: bool,
    no_queue: bool,
    no_worker: bool,
) -> None:
    """carctl: wake your car, warm it, vent it — even when the vehicle API is failing."""
    from carctl.cli.context import AppContext  # not at import: `carctl --help` never needs it
    from carctl.cli.environment import Environment

    given = ctx.obj if isinstance(ctx.obj, Environment) else Environment()
    ctx.obj = AppContext(
        environment=given,
        profile=profile,
        vehicle=vehicle,
        json=json_,
        quiet=quiet,
        verbose=verbose,
        insecure=insecure,
        no_queue=no_queue,
        no_worker=no_worker,
    )
    ctx.call_on_close(ctx.obj.close)


def _json_requested(argv: list[str]) -> bool:
    return "--json" in argv or os.environ.get("CARCTL_JSON", "").lower() in (
        "1",
        "true",
        "yes",
        "on",
    )


def root_help() -> str:
    """`carctl --help` as click writes it (kept by `carctl.help_cache` for the next time)."""
    with cli.make_context("carctl", [], resilient_parsing=True) as ctx:
        return ctx.get_help() + "\n"


def main(argv: list[str] | None = None) -> None:
    """Run carctl and exit with the code from the table in docs/scripting.md; never a traceback."""
    args = sys.argv[1:] if argv is None else argv
    os.umask(0o077)  # whatever carctl creates (state, logs, bundles) is the owner's alone
    try:
        code = _run(args)
    except KeyboardInterrupt:
        sys.stderr.write("\n")  # Ctrl-C at a prompt leaves the cursor mid-line
        code = _report(args, Interrupted("interrupted"))
    sys.exit(code)


def _not_utf8(args: list[str]) -> CarctlError | None:
    """An argument the terminal or a script passed in another encoding (Python keeps its
    bytes as lone surrogates): said once, before any command sees it."""
    for index, arg in enumerate(args, start=1):
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            shown = arg.encode("utf-8", "backslashreplace").decode("ascii", "backslashreplace")
            return UsageError(
                f"an argument is not valid UTF-8: argument {index} ({shown})",
                hint="carctl reads arguments as UTF-8: check the terminal's or the script's "
                "encoding (locale), and type the value again",
            )
    return None


def _run(args: list[str], environment: Any = None) -> int:
    """One run; `environment` (a `carctl.cli.environment.Environment`): its streams,
    variables and clock, the process's own when None."""
    wrong = _not_utf8(args)
    if wrong is not None:
        return _report([a for a in args if a.isascii()], wrong)
    try:
        returned = cli.main(args=args, prog_name="carctl", standalone_mode=False, obj=environment)
        if isinstance(returned, int) and returned:  # a command's click.exceptions.Exit(code)
            return returned
    except click.exceptions.Abort:  # Ctrl-C or end of input at a prompt
        sys.stderr.write("\n")
        return _report(args, Interrupted("interrupted"))
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        return _click_mistake(args, exc)
    except CarctlError as exc:
        return _report(args, exc)
    except OSError as exc:
        # EPIPE: the reader of our output went away (`| head`): nothing to say, nobody to hear
        return 0 if exc.errno == 32 else _report(args, _internal(exc))
    except Exception as exc:
        damaged = type(exc).__module__ == "sqlite3"  # the state database, damaged on disk
        return _report(args, _state_damaged(exc) if damaged else _internal(exc))
    return 0


def _click_mistake(args: list[str], exc: click.ClickException) -> int:
    """A usage mistake click found, in carctl's voice; a group alone shows its help."""
    from carctl.cli.globals import usage_error

    if type(exc).__name__ == "NoArgsIsHelpError" and not _json_requested(args):
        ctx = getattr(exc, "ctx", None)
        click.echo(ctx.get_help() if ctx is not None else exc.format_message())
        return 0  # `carctl` or `carctl auth` alone: the help, as gh and git do
    return _report(args, usage_error(exc))


def _state_damaged(exc: Exception) -> CarctlError:
    """A database error no layer below turned into words: the file is damaged (or full).

    The last net under every reader of `state.db` (cache, request log, breaker,
    queue): one line naming the file and what to do, never a traceback."""
    import sqlite3

    from carctl.paths import resolve_paths
    from carctl.state import unusable

    damaged = exc if isinstance(exc, sqlite3.Error) else sqlite3.DatabaseError(str(exc))
    return unusable(resolve_paths().state_db, damaged)


def _internal(exc: BaseException) -> CarctlError:
    """Log the traceback to the log file and say where it is."""
    import logging
    import traceback

    from carctl.logs import setup_logging
    from carctl.paths import resolve_paths

    log_file = resolve_paths().log_file
    setup_logging(log_file)
    logging.getLogger("carctl").error(
        "internal error\n%s", "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    )
    from carctl.errors import InternalError

    return InternalError(
        f"internal error: {type(exc).__name__}: {exc}",
        hint=f"this is a bug in carctl; the details are in {log_file}",
    )


def _report(args: list[str], error: CarctlError) -> int:
    from carctl.cli import context
    from carctl.output import Output

    app = context.last_app
    output = app.output if app is not None else Output.create(json_flag=_json_requested(args))
    units = "metric"
    if app is not None and error.queued is not None:
        with contextlib.suppress(CarctlError):  # the owner's units, when the config says
            units = str(app.settings.get("units"))
    output.error(app.command if app else "", error, units=units)
    return int(error.exit_code)
