"""carctl is put together in one place: `carctl/stack.py` builds every object of a run.

The guards read the code (its syntax tree), so they cannot be fooled by a
comment and fail the moment a constructor is called elsewhere: a store opened
on the side is a second connection, a client built on the side skips the
meter, the guard or the policy check.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "carctl"

# What only the stack builds; the state database's stores are handed the one StateDB.
BUILT_BY_THE_STACK = {
    "Queue",
    "HealthStore",
    "VehicleCache",
    "VehicleService",
    "ApiClient",
    "RequestLog",
    "Ledger",
    "Meter",
    "SessionStore",
    "StateDB",
    "News",
    "QueueRunner",
    "Delivery",
    "Guard",
    "Stack",
}
# Who else may build a stack: the command line's context (one per run), and the demo (its
# own throw-away home).
STACK_BUILDERS = {"carctl/cli/context.py", "carctl/demo.py"}


def calls(path: Path) -> list[tuple[str, int]]:
    """The names called in a module, with their lines: `Queue(...)`, `x.Queue(...)`."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            found.append((name, node.lineno))
    return found


def test_only_the_stack_builds_carctls_objects() -> None:
    outside = []
    for path in sorted(ROOT.rglob("*.py")):
        where = str(path.relative_to(ROOT.parent))
        if where == "carctl/stack.py" or where.startswith("carctl/mock/"):
            continue
        for name, line in calls(path):
            if name == "Stack" and where in STACK_BUILDERS:
                continue
            if name in BUILT_BY_THE_STACK:
                outside.append(f"{where}:{line} {name}(...)")
    assert not outside, "built outside carctl/stack.py:\n" + "\n".join(outside)


def test_the_guard_sees_a_constructor_called_elsewhere(tmp_path: Path) -> None:
    """The reader is not hollow: it finds a call in a function body and through a module."""
    planted = tmp_path / "planted.py"
    planted.write_text(
        "from carctl.delivery import queue\n"
        "def run(db):\n"
        "    return queue.Queue(db), HealthStore(db, 'x')\n",
        encoding="utf-8",
    )
    names = {name for name, _ in calls(planted)}
    assert {"Queue", "HealthStore"} <= names


def test_sqlite_is_opened_in_one_place() -> None:
    """One `sqlite3.connect` in carctl (the mock, which imports nothing of carctl's, has its
    own for the simulated world)."""
    opened = []
    for path in sorted(ROOT.rglob("*.py")):
        where = str(path.relative_to(ROOT.parent))
        if where.startswith("carctl/mock/"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Attribute)
                and node.attr == "connect"
                and isinstance(node.value, ast.Name)
                and node.value.id == "sqlite3"
            ):
                opened.append(where)
    assert opened == ["carctl/opendb.py"], opened
