"""What one run of carctl is given from outside: its streams, its variables, its clock.

`main()` gives the process's own; a test, an embedding program or a
simulation gives its own (as httpie's `Environment` does), so nothing has to
patch carctl's modules to run a command on a virtual clock or capture what it
printed.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import field
from typing import IO, TYPE_CHECKING

from carctl.records import record

if TYPE_CHECKING:
    from carctl.clock import Clock


def _system_clock() -> Clock:
    from carctl.clock import SystemClock

    return SystemClock()


@record
class Environment:
    stdin: IO[str] = field(default_factory=lambda: sys.stdin)
    stdout: IO[str] = field(default_factory=lambda: sys.stdout)
    stderr: IO[str] = field(default_factory=lambda: sys.stderr)
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    clock: Clock = field(default_factory=_system_clock)
