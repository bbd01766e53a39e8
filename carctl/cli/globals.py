"""Global options anywhere on the line, and click's mistakes in carctl's own voice.

`--vehicle`, `--json`, `--quiet`, `-v`, `--profile`, `--insecure`,
`--no-queue` and `--no-worker` mean the same before or after the command
words (`carctl climate on --vehicle "Model 3" --json`), as gh and llm users
expect. The root group parses them before the command; every command and
group also accepts them (listed in its `--help`), and a value given there is
written into the run's `AppContext` while the line is parsed — before any
command runs.
"""

from __future__ import annotations

import re
from types import MethodType
from typing import Any

import click

from carctl.errors import UsageError

_MARK = "_carctl_global_options"


def _store(ctx: click.Context, param: click.Parameter, value: Any) -> None:
    from carctl.cli.context import AppContext

    if value in (None, False, 0):
        return  # not given here: whatever came before the command stands
    app = ctx.find_object(AppContext)
    if app is None:
        return
    name = param.name or ""
    if name == "verbose":
        app.verbose += int(value)
    elif name == "json_":
        app.json = True
    else:
        setattr(app, name, value)


def _options() -> list[click.Option]:
    from carctl.cli.completers import complete_profiles, complete_vehicles

    def flag(*decls: str, help: str, count: bool = False) -> click.Option:
        return click.Option(
            list(decls),
            is_flag=not count,
            count=count,
            default=0 if count else False,
            expose_value=False,
            callback=_store,
            help=help,
        )

    def valued(decl: str, metavar: str, help: str, complete: Any) -> click.Option:
        return click.Option(
            [decl],
            metavar=metavar,
            expose_value=False,
            callback=_store,
            help=help,
            shell_complete=complete,
        )

    return [
        valued("--vehicle", "CAR", "Car by name, VIN or id.", complete_vehicles),
        valued("--profile", "NAME", "Settings profile to use.", complete_profiles),
        flag("--json", "json_", help="Print one JSON document on stdout."),
        flag("-q", "--quiet", "quiet", help="Print nothing on success."),
        flag("-v", "--verbose", "verbose", help="Explain what carctl does.", count=True),
        flag("--insecure", "insecure", help="Allow plain http:// to another computer."),
        flag("--no-queue", "no_queue", help="When the API fails, do not queue."),
        flag("--no-worker", "no_worker", help="Queue, but start no background worker."),
    ]


def accept_global_options(command: click.Command) -> click.Command:
    """Let `command` (and, for a group, every command under it) take the global options."""
    if getattr(command, _MARK, False):
        return command
    own = {opt for param in command.params for opt in getattr(param, "opts", [])}
    added = [o for o in _options() if not own.intersection(o.opts)]
    for option in added:
        setattr(option, _MARK, True)
    command.params.extend(added)
    command.format_options = MethodType(_format_options, command)  # type: ignore[method-assign]
    setattr(command, _MARK, True)
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            accept_global_options(sub)
    return command


def _format_options(
    self: click.Command, ctx: click.Context, formatter: click.HelpFormatter
) -> None:
    """The command's own options, then the global ones under their own heading."""
    own: list[tuple[str, str]] = []
    shared: list[tuple[str, str]] = []
    arguments: list[tuple[str, str]] = []
    for param in self.get_params(ctx):
        record = param.get_help_record(ctx)
        if record is None:
            continue
        if isinstance(param, click.Argument):  # the usage line names it; listed if described
            if record[1]:
                arguments.append(record)
            continue
        (shared if getattr(param, _MARK, False) else own).append(record)
    if arguments:
        with formatter.section("Arguments"):
            formatter.write_dl(arguments)
    if own:
        with formatter.section("Options"):
            formatter.write_dl(own)
    if shared:
        with formatter.section("Global options (also before the command)"):
            formatter.write_dl(shared)
    if isinstance(self, click.Group):
        _format_commands(self, ctx, formatter)


def _format_commands(
    group: click.Group, ctx: click.Context, formatter: click.HelpFormatter
) -> None:
    """Each subcommand with its whole first sentence, wrapped, never cut off with "…"."""
    if hasattr(group, "lazy"):  # the top level lists from its table: nothing imported
        group.format_commands(ctx, formatter)
        return
    rows = []
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        if command is not None and not command.hidden:
            rows.append((name, command.get_short_help_str(limit=10_000)))
    if rows:
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def usage_error(exc: click.ClickException) -> UsageError:
    """click's parsing errors as one `error:` line and a hint, with a "did you mean"."""
    message = exc.format_message()
    hint = None
    ctx = getattr(exc, "ctx", None)
    where = (
        f"carctl {ctx.command_path.split(' ', 1)[1]}"
        if ctx and " " in ctx.command_path
        else "carctl"
    )
    if isinstance(exc, click.NoSuchOption):
        message = f"{where} has no option {exc.option_name}"
        if exc.possibilities:
            hint = (
                f"did you mean {sorted(exc.possibilities)[0]}? `{where} --help` lists the options"
            )
        else:
            hint = f"`{where} --help` lists the options"
    elif type(exc).__name__ == "NoSuchCommand":  # click >= 8.2; older ones say it as usage
        name = getattr(exc, "command_name", "")
        possibilities = sorted(getattr(exc, "possibilities", None) or [])
        message = f"{where} has no command {name!r}"
        hint = (
            f"did you mean `{where} {possibilities[0]}`? `{where} --help` lists the commands"
            if possibilities
            else f"`{where} --help` lists the commands"
        )
    elif isinstance(exc, click.BadParameter | click.MissingParameter | click.BadOptionUsage):
        hint = f"`{where} --help` shows what it takes"
        choices = re.search(r"\.?\s*Choose from:\s*(.*)", message, re.DOTALL)
        if choices:  # click lists them one a line, indented with tabs: say them in one
            names = [c.strip(" ,\t\n") for c in choices.group(1).split(",") if c.strip(" ,\t\n")]
            listed = ", ".join(names[:-1]) + f" or {names[-1]}" if len(names) > 1 else names[0]
            message = message[: choices.start()] + f"; choose {listed}"
    elif message == "Missing command." and ctx is not None and isinstance(ctx.command, click.Group):
        names = ctx.command.list_commands(ctx)
        message = f"{where} needs a command: {', '.join(names[:-1])} or {names[-1]}"
        hint = f"`{where} --help` says what each does"
    elif isinstance(exc, click.UsageError):
        message = message[0].lower() + message[1:] if message else message
        message = message.rstrip(".")
        hint = f"`{where} --help` shows how to use it"
    message = message.rstrip(".")
    error = UsageError(message[:1].lower() + message[1:] if message else "usage error", hint=hint)
    if exc.exit_code not in (0, 2):
        error.exit_code = exc.exit_code  # type: ignore[assignment]
    return error
