"""carctl: a terminal companion for car owners.

The package root stays import-light on purpose: `carctl --help` must start in a
few milliseconds, so nothing here imports httpx, rich, keyring or the mock.

It does one thing before any of carctl's modules can import httpx: httpx's
package root imports its own command-line client (`httpx._main`), which pulls
in rich, pygments and click's help machinery — about 30 ms and 5 MiB of every
command, for a program carctl never runs. `_defer_httpx_cli` registers a
stand-in for that module whose `main` loads the real one when called (it never
is, in carctl's process); nothing else about httpx changes.
"""

import sys
import types

__version__ = "0.1.0"


def _defer_httpx_cli() -> None:
    if "httpx" in sys.modules or "httpx._main" in sys.modules:
        return  # httpx came first (a test runner, an embedding program): keep it whole
    stand_in = types.ModuleType("httpx._main", "httpx's command line, loaded on first use")

    def main() -> None:  # pragma: no cover - httpx's own CLI, never run by carctl
        del sys.modules["httpx._main"]
        from httpx._main import main as real_main

        real_main()

    stand_in.main = main  # type: ignore[attr-defined]
    sys.modules["httpx._main"] = stand_in


_defer_httpx_cli()
