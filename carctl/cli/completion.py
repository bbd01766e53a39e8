"""`carctl completion bash|zsh|fish`: the completion script for a shell."""

from __future__ import annotations

import click

SHELLS = ("bash", "zsh", "fish")
FILES = {"bash": "carctl.bash", "zsh": "_carctl", "fish": "carctl.fish"}


def script(shell: str) -> str:
    """What `completions/` holds for this shell: generated from the click app."""
    from click.shell_completion import get_completion_class

    from carctl.cli import cli

    complete = get_completion_class(shell)
    assert complete is not None
    return complete(cli, {}, "carctl", "_CARCTL_COMPLETE").source().rstrip("\n") + "\n"


@click.command()
@click.argument("shell", type=click.Choice(SHELLS))
def completion(shell: str) -> None:
    """Print the shell completion script (bash, zsh or fish).

    \b
    bash:  carctl completion bash > ~/.local/share/bash-completion/completions/carctl
    zsh:   carctl completion zsh > ~/.zfunc/_carctl   (with fpath+=(~/.zfunc) before compinit)
    fish:  carctl completion fish > ~/.config/fish/completions/carctl.fish
    """
    click.echo(script(shell), nl=False)
