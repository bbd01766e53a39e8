"""Write docs/commands.md: every command's `--help`, from the command line itself.

The page is generated, never written by hand, so it cannot drift from what
carctl accepts: `tests/test_docs_commands.py` regenerates it in memory and
fails while the committed page differs. Run `python docs/gen_commands.py`
after changing a command, an option or a help text.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from click.testing import CliRunner

PAGE = Path(__file__).resolve().parent / "commands.md"
WIDTH = 80
INTRO = """# Every command and option

Generated from carctl's own command line by `python docs/gen_commands.py`
(a test fails while this page is stale). Global options mean the same before
or after the command words. Exit codes and the JSON envelope are in
[scripting.md](scripting.md).
"""


def _paths() -> list[list[str]]:
    """Every command path, depth first, in the order `--help` lists them."""
    from carctl.cli import cli

    found: list[list[str]] = []

    def walk(command: click.Command, path: list[str]) -> None:
        found.append(path)
        if isinstance(command, click.Group):
            ctx = click.Context(command, info_name=" ".join(["carctl", *path]))
            for name in command.list_commands(ctx):
                sub = command.get_command(ctx, name)
                if sub is not None and not getattr(sub, "hidden", False):
                    walk(sub, [*path, name])

    walk(cli, [])
    return found


def _help(path: list[str]) -> str:
    from carctl.cli import cli

    result = CliRunner().invoke(
        cli, [*path, "--help"], terminal_width=WIDTH, prog_name="carctl", env={"COLUMNS": "80"}
    )
    if result.exit_code != 0:
        raise SystemExit(f"carctl {' '.join(path)} --help failed: {result.output}")
    return result.output.rstrip() + "\n"


def render() -> str:
    sections = [INTRO]
    paths = _paths()
    sections.append("## Contents\n")
    sections.append(
        "\n".join(f"- [{' '.join(['carctl', *p])}](#{'-'.join(['carctl', *p])})" for p in paths)
        + "\n"
    )
    for path in paths:
        title = " ".join(["carctl", *path])
        sections.append(f"## {title}\n\n```\n{_help(path)}```\n")
    return "\n".join(sections)


def main() -> int:
    PAGE.write_text(render(), encoding="utf-8")
    print(f"wrote {PAGE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
