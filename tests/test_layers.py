"""The layer picture in docs/architecture.md is true of the code: arrows point down, no cycles.

Every import of a carctl module counts — at the top of a file, inside a
function (lazy) and under TYPE_CHECKING — because a hidden arrow is still an
arrow: it is what makes a module impossible to use or test without the one
above it.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "carctl"

# Lower numbers are lower layers; a module imports only its own layer or below.
RANKS = {
    "api": 1,
    "vehicle": 2,
    "delivery": 3,
    "stack": 5,
    "doctor": 6,
    "demo": 6,
    "output": 7,
    "cli": 8,
    "__main__": 9,
}
CORE = 0  # errors, settings, state, clock, files, text, timefmt, notify, … (carctl/*.py)


def modules() -> dict[str, Path]:
    found = {}
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("carctl"))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            if not module.startswith("carctl"):
                continue
            for alias in node.names:
                full = f"{module}.{alias.name}"
                found.add(full if full in known else module)
    return {m for m in found if m in known and m != name}


def area(name: str) -> str:
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else "carctl"


def rank(name: str) -> int:
    return RANKS.get(area(name), CORE)


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports(name, path, known) for name, path in known.items()}


def test_arrows_point_down() -> None:
    upward = [
        f"{a} -> {b}"
        for a, targets in graph().items()
        for b in sorted(targets)
        if rank(b) > rank(a) or (rank(b) == rank(a) != CORE and area(a) != area(b))
    ]
    assert not upward, "imports against the layers:\n" + "\n".join(upward)


def test_the_mock_stands_alone_and_is_mounted_in_one_place() -> None:
    """The mock imports nothing of carctl's but the protocol primitives of `signing`, which
    stand alone themselves: the car verifies with the spec's rules, not carctl's client."""
    edges = graph()
    leaving = [
        f"{a} -> {b}"
        for a, targets in edges.items()
        if area(a) == "mock"
        for b in targets
        if area(b) not in ("mock", "signing")
    ]
    assert not leaving, leaving
    borrowed = {b for a, targets in edges.items() if area(a) == "mock" for b in targets}
    assert {b for b in borrowed if area(b) == "signing"} <= {
        "carctl.signing.actions",
        "carctl.signing.crypto",
        "carctl.signing.messages",
        "carctl.signing.wire",
    }
    signing_leaves = [
        f"{a} -> {b}"
        for a, targets in edges.items()
        if area(a) == "signing" and a != "carctl.signing.store"
        for b in targets
        if area(b) != "signing"
    ]
    assert not signing_leaves, signing_leaves
    mounting = sorted(
        a
        for a, targets in edges.items()
        if area(a) != "mock" and any(area(b) == "mock" for b in targets)
    )
    assert mounting == ["carctl.api.builtin", "carctl.cli.mock"], mounting


def test_no_cycles() -> None:
    edges = graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in edges[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    assert not cycles, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in cycles)


def test_the_checker_sees_lazy_and_type_checking_imports() -> None:
    """The graph is not hollow: it finds arrows of every kind that the code has."""
    edges = graph()
    assert "carctl.errors" in edges["carctl.cli"]  # a top-level import
    assert "carctl.mock" in edges["carctl.api.builtin"] or any(
        m.startswith("carctl.mock") for m in edges["carctl.api.builtin"]
    )  # lazy, inside functions
    assert rank("carctl.cli.queue") > rank("carctl.delivery.queue") > rank("carctl.state")
