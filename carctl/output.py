"""The one place that decides how results and errors are shown.

- `--json` (or `CARCTL_JSON=1`): exactly one JSON document on stdout, the
  envelope `{"ok", "command", "vehicle", "data", "queued", "error", "warnings"}`;
  diagnostics go to stderr.
- Not a terminal, `NO_COLOR`, or `--json`: no colour, no spinners, no prompts.
  `FORCE_COLOR` draws as on a terminal (colour, spinner) even on a pipe — for
  terminals that are not detected, and for tests of what people see.
- `--quiet`: nothing on success.

rich is imported only when something is drawn for a person, and the Console is
created per run, never at import. That console never parses markup and shows
every control character escaped (`carctl.text.literal`), whatever string it is
given: a car's name, an API's message or a config value reaches the terminal
as the characters it is, never as markup or an escape sequence. Styles come
only from `Text` objects carctl builds itself.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import field
from typing import IO, TYPE_CHECKING, Any

from carctl.errors import CarctlError
from carctl.plain import PlainConsole, Surface
from carctl.records import record
from carctl.text import literal, literal_lines

if TYPE_CHECKING:
    from rich.console import Console, RenderableType
    from rich.text import Text

    from carctl.queued import Queued, QueuedStep

Human = Callable[[Surface], None]


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


@record
class Output:
    json_mode: bool = False
    quiet: bool = False
    color: bool = False
    interactive: bool = False
    stdout: IO[str] = field(default_factory=lambda: sys.stdout)
    stderr: IO[str] = field(default_factory=lambda: sys.stderr)
    warnings: list[str] = field(default_factory=list)
    verbose: int = 0  # -v: transaction ids, attempts and evidence in full
    # a queued step in the owner's words ("climate on"); given by the face, which knows the
    # vehicle layer's words (this module does not import it)
    describe: Callable[[QueuedStep, str], str] = field(default=lambda step, _: step.command)
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)
    _consoles: dict[str, Surface] = field(default_factory=dict)

    @classmethod
    def create(
        cls,
        *,
        json_flag: bool = False,
        quiet: bool = False,
        env: Mapping[str, str] | None = None,
        stdout: IO[str] | None = None,
        stderr: IO[str] | None = None,
        verbose: int = 0,
        describe: Callable[[QueuedStep, str], str] | None = None,
    ) -> Output:
        environ = os.environ if env is None else env
        out = stdout or sys.stdout
        err = stderr or sys.stderr
        json_mode = json_flag or _truthy(environ.get("CARCTL_JSON"))
        tty = _isatty(out)
        forced = bool(environ.get("FORCE_COLOR"))  # force-color.org: colour even on a pipe
        color = (
            (tty or forced)
            and not json_mode
            and "NO_COLOR" not in environ
            and (forced or environ.get("TERM") != "dumb")
        )
        interactive = tty and _isatty(sys.stdin) and not json_mode
        return cls(
            json_mode=json_mode,
            quiet=quiet,
            color=color,
            interactive=interactive,
            stdout=out,
            stderr=err,
            verbose=verbose,
            describe=describe or _command_name,
            environ=environ,
        )

    # -- drawing ---------------------------------------------------------------

    def console(self, *, stderr: bool = False) -> Surface:
        """Where a person's lines go: rich on a terminal or with colour; on a pipe without
        colour, the plain writer (rich only if a table is drawn there)."""
        key = "err" if stderr else "out"
        if key not in self._consoles:
            file = self.stderr if stderr else self.stdout
            if self.color or _isatty(file):
                self._consoles[key] = self.rich_console(file)
            else:
                self._consoles[key] = PlainConsole(
                    file, self.environ, lambda: self.rich_console(file)
                )
        return self._consoles[key]

    def rich(self, *, stderr: bool = False) -> Console:
        """The rich console itself, for what only rich can do (a spinner): with colour on."""
        console = self.console(stderr=stderr)
        if isinstance(console, PlainConsole):
            raise TypeError("rich is drawn only with colour; a pipe gets plain lines")
        return console  # type: ignore[return-value]

    def rich_console(self, file: IO[str]) -> Console:
        return literal_console()(
            file=file,
            no_color=not self.color,
            color_system="auto" if self.color else None,
            force_terminal=self.color,
            highlight=False,
            # on a terminal, long lines wrap between words; on a pipe, a line stays whole
            soft_wrap=not (self.color or _isatty(file)),
            emoji=False,
            markup=False,
        )

    def styled(self, text: str, style: str) -> Text | str:
        """carctl's own words in a style when there is colour (the only styled text)."""
        if not self.color:
            return text
        from rich.text import Text

        return Text(text, style=style)

    def print(self, renderable: RenderableType | str) -> None:
        """Human output on stdout (nothing in JSON or quiet mode)."""
        if self.json_mode or self.quiet:
            return
        self.console().print(renderable)

    def info(self, message: str) -> None:
        """A diagnostic line on stderr; never mixed into JSON on stdout."""
        if self.quiet:
            return
        self.console(stderr=True).print(message, markup=False)

    def warn(self, message: str) -> None:
        self.warnings.append(message)
        if not self.json_mode:
            style = "yellow" if self.color else ""
            self.console(stderr=True).print(f"warning: {message}", style=style, markup=False)

    # -- results ---------------------------------------------------------------

    def result(
        self,
        command: str,
        data: Any,
        *,
        human: Human | str | None = None,
        vehicle: Any = None,
        queued: Any = None,
        ok: bool = True,
    ) -> None:
        if self.json_mode:
            self._emit(self.envelope(command, ok=ok, data=data, vehicle=vehicle, queued=queued))
            return
        if self.quiet or human is None:
            return
        if isinstance(human, str):
            self.console().print(human, markup=False)
        else:
            human(self.console())

    def error(self, command: str, error: CarctlError, *, units: str = "metric") -> None:
        """A failure, with what was queued instead (`error.queued`) and what was done first;
        `units`: how the queued commands' temperatures are said."""
        data, queued = error.data, error.queued
        if self.json_mode:
            self._emit(
                self.envelope(
                    command,
                    ok=False,
                    data=data,
                    vehicle=error.vehicle,
                    queued=queued.to_json() if queued is not None else None,
                    error=error.to_json(),
                )
            )
            return
        console = self.console(stderr=True)
        if queued is not None and not self.verbose:
            self.queued_message(console, error, queued, units)
            return
        self._labelled(console, "error:", "bold red", error.message)
        if error.http is not None:
            parts = [
                f"HTTP {error.http.status}" if error.http.status else "no response",
                f"{error.http.method} {error.http.path}",
            ]
            if error.http.txid:
                parts.append(f"txid {error.http.txid}")
            if error.attempts:
                parts.append(f"{error.attempts} attempt{'s' if error.attempts > 1 else ''}")
            console.print("  " + " · ".join(parts), markup=False, style="dim" if self.color else "")
        details = data if isinstance(data, dict) else {}
        if details.get("steps"):
            done = " · ".join(str(step.get("detail")) for step in details["steps"])
            console.print(f"  done before it failed: {done}", markup=False)
        diagnosis = details.get("diagnosis")
        if isinstance(diagnosis, dict) and diagnosis.get("evidence"):
            console.print(f"  why: {diagnosis['evidence']}", markup=False)
        if error.hint:
            self._labelled(
                console, "queued:" if queued is not None else "hint:", "bold", error.hint
            )

    def _labelled(self, console: Surface, label: str, style: str, text: str) -> None:
        """ "error: …" as one paragraph, so a long message wraps within the terminal's width
        counting its label (printed apart, the label pushed the first line past the edge)."""
        if isinstance(console, PlainConsole):
            console.print(label, text)
            return
        from rich.text import Text

        console.print(Text.assemble((label, style if self.color else ""), " ", literal_lines(text)))

    def queued_message(
        self, console: Surface, error: CarctlError, queued: Queued, units: str = "metric"
    ) -> None:
        """Three lines of good news about a bad situation: what waits, why, what comes next.

        Transaction ids, attempts and the request history are for `-v`, `--json`,
        `carctl queue show` and the log.
        """
        from carctl.timefmt import hhmm

        words = [self.describe(step, units) for step in queued.steps]
        car = literal(queued.vehicle or "your car")
        what = ", ".join(words[:-1]) + (" and " if len(words) > 1 else "") + words[-1]
        diagnosis = (error.data or {}).get("diagnosis")
        why = (diagnosis or {}).get("summary") or error.message
        until = hhmm(queued.expires_at)
        ids = queued.ids
        one = len(ids) == 1
        it = "it" if one else "them"
        if queued.worker != "off":
            by = "sent on recovery until"
        else:
            by = f"`carctl queue run` sends {it} until"
        drop = f"or `carctl queue cancel {ids[0] if one else 'ID'}`"
        headline = f"{what} for {car}"
        if not one:
            headline += f" ({', '.join(f'#{i}' for i in ids)})"
        follow = " — `carctl queue` to follow"
        if len("queued: " + headline + follow) <= min(console.width, 80):
            headline += follow
        console.print(self.styled("queued:", "bold yellow"), headline)
        console.print(self.styled("why:", "bold"), why)
        console.print(self.styled("next:", "bold"), f"{by} {until}, {drop}")

    def envelope(
        self,
        command: str,
        *,
        ok: bool,
        data: Any = None,
        vehicle: Any = None,
        queued: Any = None,
        error: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        return {
            "ok": ok,
            "command": command,
            "vehicle": vehicle,
            "data": data,
            "queued": queued,
            "error": error,
            "warnings": list(self.warnings),
        }

    def _emit(self, document: dict[str, Any]) -> None:
        self.stdout.write(json.dumps(document, ensure_ascii=False, default=str) + "\n")
        self.stdout.flush()


def _command_name(step: QueuedStep, units: str) -> str:
    return step.command


def literal_console() -> type[Console]:
    """A rich Console whose strings are always literal: no markup, controls escaped."""
    global _LITERAL_CONSOLE
    if _LITERAL_CONSOLE is None:
        from rich.console import Console

        class LiteralConsole(Console):
            def render_str(self, text: str, **kwargs: Any) -> Text:
                kwargs["markup"] = False
                kwargs["emoji"] = False
                return super().render_str(literal_lines(text), **kwargs)

        _LITERAL_CONSOLE = LiteralConsole
    return _LITERAL_CONSOLE


_LITERAL_CONSOLE: type[Console] | None = None


def _isatty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
