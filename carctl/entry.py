"""The console script: what needs no click is answered before click loads.

A Tab that carctl's state can answer (`carctl.completions`) and `carctl --help`
once click has written it (`carctl.help_cache`); everything else is
`carctl.cli.main`. Completing a car's name took ~70 ms and the help screen
~55 ms, most of it importing click and the command tree.
"""

from __future__ import annotations

import os
import sys


def main() -> None:
    if "_CARCTL_COMPLETE" in os.environ:
        from carctl.completions import main_fast

        if main_fast():
            sys.exit(0)
    argv = sys.argv[1:]
    if argv in (["--help"], ["-h"]):
        from carctl import help_cache

        if help_cache.show(argv, os.environ, sys.stdout.write):
            sys.exit(0)
        from carctl.cli import root_help

        screen = root_help()
        sys.stdout.write(screen)
        help_cache.keep(os.environ, screen)
        sys.exit(0)
    from carctl.cli import main as run

    run()
