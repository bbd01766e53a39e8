"""The option every `carctl mock` control command shares: which mock it acts on."""

from __future__ import annotations

import click

URL_OPTION = click.option(
    "--url",
    metavar="URL",
    help="Act on a served mock (started with --admin) instead of the built-in one.",
)
