"""Completion callbacks for the global options, importable without the rest of the CLI.

They import `carctl.cli.complete` only when a shell asks, so `carctl --help`
stays light, and they live apart from `carctl.cli` so that the global-option
helpers can use them without importing the root group.
"""

from __future__ import annotations

from typing import Any

import click


def complete_profiles(ctx: click.Context, param: click.Parameter, incomplete: str) -> Any:
    from carctl.cli.complete import profiles

    return profiles(ctx, param, incomplete)


def complete_vehicles(ctx: click.Context, param: click.Parameter, incomplete: str) -> Any:
    from carctl.cli.complete import vehicles

    return vehicles(ctx, param, incomplete)
