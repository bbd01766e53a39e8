"""The console script: a Tab that carctl's state can answer is answered before click loads.

Everything else is `carctl.cli.main`. Completing a car's name took ~70 ms, most
of it importing click and the command tree; `carctl.completions` answers it in
the time Python takes to start.
"""

from __future__ import annotations

import os
import sys


def main() -> None:
    if "_CARCTL_COMPLETE" in os.environ:
        from carctl.completions import main_fast

        if main_fast():
            sys.exit(0)
    from carctl.cli import main as run

    run()
