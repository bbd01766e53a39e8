"""The seeded Model 3 as the tests see it through the mock: its ids, what it executed,
its state, and the queue beside it. The fixtures that sign in to it (`car`, `awake_car`)
are in tests/conftest.py."""

from __future__ import annotations

import sqlite3
from typing import Any

from tests.conftest import Endpoint

M3 = "1492931337131"
M3_VIN = "5YJ3E7EA1MF000621"
SEOUL = (37.5665, 126.978)
OUTAGE = {"status": 500, "path": "/api/1/*"}


def executed(endpoint: Endpoint) -> list[dict[str, Any]]:
    """The commands the mock's car carried out, in order (from its stats)."""
    return endpoint.admin("GET", "/__mock__/stats")["commands"]  # type: ignore[no-any-return]


def m3(endpoint: Endpoint) -> dict[str, Any]:
    cars = endpoint.admin("GET", "/__mock__/vehicles")["vehicles"]
    return next(c for c in cars if str(c["id"]) == M3)  # type: ignore[no-any-return]


def queue_rows(endpoint: Endpoint) -> list[Any]:
    """Every queue row's command and status, read from the state file itself."""
    with sqlite3.connect(endpoint.state_db) as db:
        return db.execute("SELECT command, status FROM queue").fetchall()
