"""The reliability suite's numbers, printed at the end of the run (see conftest)."""

from __future__ import annotations

NUMBERS: dict[str, dict[str, int]] = {}


def record(suite: str, **counts: int) -> None:
    totals = NUMBERS.setdefault(suite, {})
    for key, value in counts.items():
        totals[key] = totals.get(key, 0) + value
