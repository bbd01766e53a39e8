"""`carctl demo`: the 06:00 story, end to end, in a throw-away home."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import click

from carctl.cli.context import AppContext, pass_app


@click.command()
@click.option(
    "--keep", is_flag=True, help="Keep the throw-away home directory and print where it is."
)
@pass_app
def demo(app: AppContext, keep: bool) -> None:
    """The morning of 20 November 2021, end to end, built in.

    It runs against the built-in vehicle API.

    Signs in with the demo account, finds the sleeping Model 3, wakes it, turns
    the climate on, vents the windows and shows the status; lives through an
    outage; then arms the car's own schedule, so that the next morning the car
    warms itself with the API down. It runs in a throw-away directory: your own
    config, state and keyring are not touched.
    """
    from carctl.cli.render import Spinner
    from carctl.demo import run_demo
    from carctl.logs import setup_logging
    from carctl.paths import resolve_paths

    narrator = ScreenNarrator(app)
    directory = tempfile.mkdtemp(prefix="carctl-demo-")
    try:
        # the demo logs into its own home: the user's files stay untouched
        setup_logging(resolve_paths({"CARCTL_HOME": directory}).log_file)
        story = run_demo(Path(directory), narrator=narrator, reporter=Spinner(app.output))
    finally:
        if not keep:
            import shutil

            shutil.rmtree(directory, ignore_errors=True)
    if keep:
        app.output.info(f"The demo's home is kept in {directory} (CARCTL_HOME={directory}).")
    else:
        story["home"] = None
    app.output.result(
        app.command,
        story,
        human="\nNothing was lost, nothing ran twice.\n"
        "Now try it yourself: carctl auth login, then carctl climate on --temp 21.",
    )


class ScreenNarrator:
    """The story on stdout: acts under their story time, steps ticked, colour on a terminal."""

    def __init__(self, app: AppContext) -> None:
        self.output = app.output
        self.app = app
        self.silent = app.output.json_mode or app.output.quiet
        self.acts = 0

    def act(self, clock: str, title: str) -> None:
        if self.silent:
            return
        console = self.output.console()
        if self.acts:
            console.print()
        self.acts += 1
        console.print(self.output.styled(clock, "bold cyan"), self.output.styled(title, "bold"))

    def say(self, text: str, *, ok: bool = False) -> None:
        if self.silent:
            return
        mark = self.output.styled("✓", "green") if ok else " "
        for number, line in enumerate(text.splitlines()):
            self.output.console().print(" ", mark if number == 0 else " ", line.strip())

    def queued(self, error: Any) -> None:
        if self.silent:
            return
        console = self.output.console()
        self.output.queued_message(console, error, error.queued)
