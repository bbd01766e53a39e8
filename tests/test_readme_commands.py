"""Every `carctl …` line the README shows parses: a wrong option order fails the suite.

The lines come from the README's code blocks and its inline code; each is
parsed by carctl's own command line (root options, then each command's), without
running it — options, arguments and their types are checked, nothing is sent.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import click
import pytest

from carctl.cli import cli

README = Path(__file__).resolve().parent.parent / "README.md"
SHELL_STOPS = {"<", ">", ">>", "|", "&&", ";", "2>", "2>&1"}
PLACEHOLDERS = {"ID": "4", "N": "4", "CHECK": "session"}


def readme_commands() -> list[str]:
    found: list[str] = []
    inside = False
    for line in README.read_text().splitlines():
        if line.startswith("```"):
            inside = not inside
            continue
        text = line.strip().removeprefix("$ ")
        if inside and text.startswith("carctl "):
            found.append(text.split("  #", 1)[0].strip())
        elif not inside:
            found += re.findall(r"`(carctl [^`]+)`", line)
    return sorted(set(found))


def words_of(line: str) -> list[str]:
    """The arguments carctl would get: optional parts included, the shell's parts cut off."""
    line = line.replace("[", " ").replace("]", " ")
    words = []
    for word in shlex.split(line)[1:]:
        if word in SHELL_STOPS or word.startswith((">", "<", "2>")):
            break
        words.append(PLACEHOLDERS.get(word, word))
    return words


def _rest(ctx: click.Context) -> list[str]:
    # what a group leaves for its subcommand (click keeps it apart from `args`)
    return [*getattr(ctx, "_protected_args", []), *ctx.args]


def dry_parse(args: list[str]) -> None:
    """Parse like `carctl ARGS` would, down to the last command, invoking nothing."""
    try:
        ctx = cli.make_context("carctl", list(args))
        command: click.Command = cli
        rest = _rest(ctx)
        while isinstance(command, click.Group) and rest:
            name, sub, rest = command.resolve_command(ctx, rest)
            assert sub is not None and name is not None
            ctx = sub.make_context(name, rest, parent=ctx)
            command = sub
            rest = _rest(ctx)
        assert not rest, f"left over: {rest}"
    except click.exceptions.Exit:
        return  # --help, --version: parsed, and done


COMMANDS = readme_commands()


def test_the_readme_shows_commands() -> None:
    assert len(COMMANDS) > 40
    assert "carctl auth status --json" in COMMANDS or "carctl auth status [--json]" in COMMANDS


@pytest.mark.parametrize("line", COMMANDS)
def test_each_readme_command_parses(line: str) -> None:
    try:
        dry_parse(words_of(line))
    except click.ClickException as exc:
        pytest.fail(f"README: `{line}` does not parse: {exc.format_message()}")


def test_a_wrong_line_would_fail() -> None:
    from carctl.errors import UsageError

    with pytest.raises(click.NoSuchOption):
        dry_parse(["climate", "on", "--tmp", "21"])
    with pytest.raises(click.BadParameter):
        dry_parse(["queue", "show", "four"])
    with pytest.raises(UsageError):
        dry_parse(["climat", "on"])
    with pytest.raises(click.UsageError, match="unexpected extra argument"):
        dry_parse(["vehicles", "extra"])
