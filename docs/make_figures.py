"""Draw every figure docs/ shows, from real runs: `python docs/make_figures.py`.

- docs/images/outage-timeline.svg: one outage, second by second
  (`benchmarks/outage.py --svg`, the served mock on simulated time);
- docs/images/fleet-load.svg: a million owners' requests per second during a
  five-hour outage, client by client (`benchmarks/fleet_sim.py --svg`);
- docs/images/screen-*.svg: carctl's screens as an owner sees them, captured
  in a pseudo-terminal at 80 columns (`tests/test_screens.py`, which also
  rewrites the golden text screens; every run of it checks that each picture
  still shows what carctl prints).

Run it after a change to what carctl prints or how it delivers, and commit
the pictures with the change.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IMAGES = ROOT / "docs" / "images"


def run(*args: str, env: dict[str, str] | None = None) -> None:
    print("$", " ".join(args), flush=True)
    subprocess.run(args, cwd=ROOT, check=True, env={**os.environ, **(env or {})})  # noqa: S603 - our own scripts


def main() -> int:
    IMAGES.mkdir(parents=True, exist_ok=True)
    python = sys.executable
    run(python, "benchmarks/outage.py", "--svg", str(IMAGES / "outage-timeline.svg"))
    run(python, "benchmarks/fleet_sim.py", "--svg", str(IMAGES / "fleet-load.svg"))
    run(
        python,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "tests/test_screens.py",
        env={"CARCTL_UPDATE_SCREENS": "1"},
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
