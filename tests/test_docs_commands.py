"""Every `carctl …` line the README and docs/ show parses, and docs/commands.md is current.

The lines come from the code blocks and inline code of README.md and every
page in docs/; each is parsed by carctl's own command line (root options, then
each command's), without running it — options, arguments and their types are
checked, nothing is sent. A wrong order of options, a removed flag or a renamed
command fails the suite.
"""

from __future__ import annotations

import re
import shlex
import sys
from pathlib import Path

import click
import pytest

from carctl.cli import cli

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SHELL_STOPS = {"<", ">", ">>", "|", "&&", ";", "2>", "2>&1"}
PLACEHOLDERS = {"ID": "4", "N": "4", "CHECK": "session"}


def page_commands(page: Path) -> list[str]:
    found: list[str] = []
    inside = False
    for line in page.read_text().splitlines():
        if line.startswith("```"):
            inside = not inside
            continue
        text = line.strip().removeprefix("$ ")
        if inside and text.startswith("carctl ") and _is_command(text):
            found.append(text.split("  #", 1)[0].strip())
        elif not inside:
            found += re.findall(r"`(carctl [^`]+)`", line)
    return found


def _is_command(text: str) -> bool:
    """A command line, not prose that starts with the name (help texts are prose too)."""
    second = text.split()[1]
    ctx = cli.make_context("carctl", [], resilient_parsing=True)
    return second.startswith("-") or second in cli.list_commands(ctx)


def documented_commands() -> list[str]:
    return sorted({line for page in PAGES for line in page_commands(page)})


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


COMMANDS = documented_commands()


def test_the_pages_show_commands() -> None:
    assert len(COMMANDS) > 80
    assert "carctl climate on --temp 21" in page_commands(ROOT / "README.md")
    assert any(c.startswith("carctl mock serve --flavor") for c in COMMANDS)


@pytest.mark.parametrize("line", COMMANDS)
def test_each_documented_command_parses(line: str) -> None:
    try:
        dry_parse(words_of(line))
    except click.ClickException as exc:
        pytest.fail(f"docs: `{line}` does not parse: {exc.format_message()}")


def test_the_command_reference_is_current() -> None:
    sys.path.insert(0, str(ROOT / "docs"))
    try:
        import gen_commands
    finally:
        sys.path.pop(0)
    page = ROOT / "docs" / "commands.md"
    assert page.read_text() == gen_commands.render(), (
        "docs/commands.md is stale: run `python docs/gen_commands.py`"
    )


def test_the_readme_stays_short_and_every_old_section_has_a_home() -> None:
    assert len((ROOT / "README.md").read_bytes()) < 12 * 1024
    homes = "".join(page.read_text() for page in PAGES)
    for section in (
        "When the vehicle API fails",
        "When something is wrong: `carctl doctor`",
        "The mock vehicle API",
        "Output and exit codes",
        "Signing in",
        "Using a real car",
        "Settings",
        "Files",
        "Performance",
        "Reliability",
        "Architecture",
        "Dependencies",
        "Mornings that do not depend on the cloud: the car keeps the schedule",
    ):
        assert f"## {section}\n" in homes, section


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


def test_every_link_between_the_pages_leads_somewhere() -> None:
    broken = []
    for page in PAGES:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text()):
            if target.startswith(("http://", "https://", "mailto:")):
                continue
            if not (page.parent / target).exists():
                broken.append(f"{page.relative_to(ROOT)} -> {target}")
    assert not broken, broken
