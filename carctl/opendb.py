"""The one place carctl opens an SQLite file (the mock, apart, has its own).

Kept in a module of its own, importing nothing else, so that shell completion
can read the vehicle cache without loading the state layer.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any


def sqlite(target: str | Path, **options: Any) -> sqlite3.Connection:
    """A connection to a file, a URI (`uri=True`: read-only views) or `:memory:`."""
    db: sqlite3.Connection = sqlite3.connect(target, **options)
    return db
