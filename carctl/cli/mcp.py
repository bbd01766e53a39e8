"""`carctl mcp`: carctl for assistants, over the Model Context Protocol (stdio)."""

from __future__ import annotations

from typing import Any

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
    serve({"read", *allow}, max_cost, lambda: cars_seen(app))


def cars_seen(app: AppContext) -> list[dict[str, Any]]:
    """carctl's cache of the cars (`carctl://cars`): each one's last report and when, read
    as `carctl status` reads it for a sleeping car, without a request."""
    cache = app.stack.cache()
    cars = []
    for car in cache.vehicles():
        snapshot = cache.snapshot(car.id)
        cars.append(
            {
                "name": car.display_name,
                "vin": car.vin,
                "state": car.state,
                "last_seen": cache.last_seen(car.id),
                "report": None if snapshot is None else snapshot.data,
                "report_at": None if snapshot is None else snapshot.at,
            }
        )
    return cars
