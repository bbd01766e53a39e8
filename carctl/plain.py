"""Lines for a pipe, written without rich.

A script that runs `carctl climate on | tee -a log` wants one line; rich costs
tens of milliseconds to import for it. When stdout (or stderr) is not a
terminal and there is no colour, `Output` draws through a `PlainConsole`: the
same words rich would print there (parts joined by a space, controls escaped,
a line never wrapped), written directly. Anything richer than a string — a
table — is handed to a rich console made on first use, so what a pipe shows is
the same either way; only the cost of the common case changes.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import IO, TYPE_CHECKING, Any, Protocol

from carctl.text import literal_lines

if TYPE_CHECKING:
    from rich.console import Console


class Surface(Protocol):
    """What carctl's drawing code uses of a console: rich's, or the plain one below."""

    @property
    def width(self) -> int: ...

    def print(self, *objects: Any, style: str | None = None, markup: bool | None = None) -> None:
        """One line (or a renderable) of output."""


class PlainConsole:
    """Writes strings as rich writes them to a pipe; delegates anything else to rich."""

    def __init__(
        self, file: IO[str], environ: Mapping[str, str], rich: Callable[[], Console]
    ) -> None:
        self.file = file
        self._environ = environ
        self._rich_factory = rich
        self._rich: Console | None = None

    @property
    def width(self) -> int:
        """rich's width on a pipe: $COLUMNS when it is a number, else 80."""
        columns = self._environ.get("COLUMNS", os.environ.get("COLUMNS", ""))
        return int(columns) if columns.isdigit() and int(columns) > 0 else 80

    def print(self, *objects: Any, style: str | None = None, markup: bool | None = None) -> None:
        if all(isinstance(part, str | int | float) for part in objects):
            self.file.write(literal_lines(" ".join(str(part) for part in objects)) + "\n")
            self.file.flush()
            return
        if self._rich is None:
            self._rich = self._rich_factory()
        self._rich.print(*objects, style=style, markup=markup)
