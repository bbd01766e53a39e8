"""benchmarks/outage.py runs on the synchronous core and draws its timeline.

It had been left on the asynchronous API when the core became synchronous and
failed at its first `async with`; nothing ran it. Now a short outage is run
here (simulated time: a few seconds) and its targets and picture checked.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_a_short_outage_meets_its_targets_and_draws_its_timeline(tmp_path: Path) -> None:
    picture = tmp_path / "timeline.svg"
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "outage.py"), "--outage", "20", "--svg",
         str(picture)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "all targets hold" in result.stdout
    assert "executions per idempotency key       [1]" in result.stdout
    drawn = picture.read_text()
    assert drawn.startswith("<svg") and "An outage of 20 s, a command every 3 s" in drawn
    assert "delivered, each once" in drawn and drawn.count("<circle") >= 1
