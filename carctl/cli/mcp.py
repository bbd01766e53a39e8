"""`carctl mcp`: carctl for assistants, over the Model Context Protocol (stdio)."""

from __future__ import annotations

import click

from carctl.cli.context import AppContext, pass_app
from carctl.cli.mcp_tools import TIERS
from carctl.errors import ConfigError


@click.command()
@click.option(
    "--allow",
    "allow",
    type=click.Choice(TIERS),
    multiple=True,
    help="What the assistant may do besides read: commands, unlock (asks the person "
    "each time), location. Repeatable. Default: read only.",
)
@click.option(
    "--max-cost",
    type=click.FloatRange(0, 1000),
    metavar="USD",
    help="On a paid vehicle API: refuse any call once this session has cost this much "
    "(carctl's own ledger, as `carctl usage` counts).",
)
@pass_app
def mcp(app: AppContext, allow: tuple[str, ...], max_cost: float | None) -> None:
    """Serve carctl's tools to an assistant over MCP (stdin/stdout).

    Add it to the assistant's MCP configuration as the command `carctl mcp`;
    docs/assistants.md shows how.
    """
    try:
        from carctl.cli.mcp_server import serve
    except ModuleNotFoundError as exc:
        if not (exc.name or "").startswith("mcp"):
            raise
        raise ConfigError(
            "carctl mcp needs the Model Context Protocol SDK, which is not installed",
            hint="pip install 'carctl[assistants]'",
        ) from None
    if app.environment.stdin.isatty():  # a person, not an assistant, started it
        app.output.warn("carctl mcp waits for an assistant on stdin (MCP); Ctrl-C to stop")
    serve({"read", *allow}, max_cost)
