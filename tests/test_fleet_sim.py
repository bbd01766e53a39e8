"""The fleet simulation's claim for on-car schedules, at its default scale (load, not timing)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str) -> str:
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "fleet_sim.py"), *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def row(output: str, name: str) -> list[str]:
    line = next(line for line in output.splitlines() if line.startswith(name))
    return line[len(name) :].split()


def test_with_the_mornings_on_the_car_the_load_stays_within_capacity(tmp_path: Path) -> None:
    chart = tmp_path / "load.svg"
    output = run("--only", "carctl", "--svg", str(chart))
    assert "floor" in output.splitlines()[2]  # the physical floor beside p50/p99
    schedules = row(output, "carctl + on-car schedules (100%)")
    today = row(output, "carctl ")
    during, after = float(schedules[1].rstrip("x")), float(schedules[2].rstrip("x"))
    assert during <= 1.0 and after <= 1.0, schedules
    delivered = int(schedules[3].replace(",", ""))
    assert delivered > 2 * int(today[3].replace(",", ""))  # the car keeps the morning
    assert "736,750 owners' mornings armed the evening before" in output
    drawn = chart.read_text()  # the chart docs/ shows, drawn from the same run
    assert drawn.startswith("<svg") and drawn.count("<polyline") == 3
    assert "carctl + on-car schedules (100%)" in drawn and "peak 0.5x capacity" in drawn


def test_the_share_of_armed_mornings_is_a_parameter() -> None:
    output = run("--only", "on-car", "--scheduled", "0.5", "--owners", "100000")
    assert "carctl + on-car schedules (50%)" in output
    bad = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "fleet_sim.py"), "--scheduled", "2"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 2 and "--scheduled must be between 0 and 1" in bad.stderr
