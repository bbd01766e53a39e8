"""The layer picture in docs/architecture.md is true of the code, and the guard can fail.

The layers are import-linter contracts in pyproject.toml, checked by
`lint-imports` in .ci/run. Here each contract is shown to break on a planted
violation in a copy of the package — a top-level import, a lazy one inside a
function, one under TYPE_CHECKING — because a guard that cannot fail guards
nothing. Every import counts: a hidden arrow is still an arrow, what makes a
module impossible to use or test without the one above it.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "carctl"


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


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports(name, path, known) for name, path in known.items()}


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


LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
PYPROJECT = ROOT.parent / "pyproject.toml"

# contract id -> (module to plant in, the planted lines)
PLANTED = {
    "layers": ("carctl/api/client.py", "from carctl.vehicle import model as _planted\n"),
    "layers-lazy": (
        "carctl/vehicle/model.py",
        "def _planted() -> None:\n    from carctl.delivery import queue  # noqa\n",
    ),
    "layers-type-checking": (
        "carctl/delivery/guard.py",
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from carctl.stack import Stack\n",
    ),
    "core": ("carctl/settings.py", "def _planted() -> None:\n    import carctl.api.usage\n"),
    "mock-apart": ("carctl/mock/app.py", "from carctl import errors as _planted\n"),
    "mock-mounted-once": ("carctl/vehicle/model.py", "import carctl.mock.app as _planted\n"),
    "httpx-in-api": ("carctl/doctor/history.py", "import httpx as _planted\n"),
    "click-rich-in-face": ("carctl/delivery/queue.py", "import rich as _planted\n"),
}


def lint(tree: Path) -> subprocess.CompletedProcess[str]:
    assert LINT_IMPORTS.exists(), f"import-linter is not installed: {LINT_IMPORTS}"
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--config", str(tree / "pyproject.toml")],
        cwd=tree,
        env={**os.environ, "PYTHONPATH": str(tree)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def tree() -> Iterator[Path]:
    """A copy of the package to plant in; removed at once (it holds the mock's seed
    password, which the secrets scan would rightly find in a test's leftovers)."""
    with tempfile.TemporaryDirectory(prefix="carctl-layers-") as where:
        copy = Path(where)
        shutil.copytree(ROOT, copy / "carctl", ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copy(PYPROJECT, copy / "pyproject.toml")
        yield copy


def contract_names() -> dict[str, str]:
    config = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["tool"]["importlinter"]
    return {c["id"]: c["name"] for c in config["contracts"]}


def test_the_code_keeps_every_contract(tree: Path) -> None:
    ran = lint(tree)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert f"Contracts: {len(contract_names())} kept, 0 broken" in ran.stdout


@pytest.mark.parametrize("plant", sorted(PLANTED))
def test_each_contract_breaks_on_a_planted_violation(plant: str, tree: Path) -> None:
    module, lines = PLANTED[plant]
    target = tree / module
    target.write_text(target.read_text(encoding="utf-8") + "\n" + lines, encoding="utf-8")
    ran = lint(tree)
    assert ran.returncode != 0, ran.stdout
    name = contract_names()[plant.split("-lazy")[0].split("-type-checking")[0]]
    broken = [line for line in ran.stdout.splitlines() if "BROKEN" in line]
    assert any(name[:40] in line for line in broken) or f"{name} BROKEN" in " ".join(
        ran.stdout.split()
    ), ran.stdout
    assert "1 broken" in ran.stdout, ran.stdout  # that contract alone
