"""Small modules, short functions: a newcomer reads one screen to change one thing.

No module of `carctl/` is over 500 lines and no function over 60, except those
listed in `[tool.carctl.sizes]` of pyproject.toml, each with its reason; an
exception that is no longer needed must leave the list, so it cannot hide the
next one.
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SIZES = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["carctl"][
    "sizes"
]


def modules() -> dict[str, int]:
    return {
        str(path.relative_to(ROOT)): len(path.read_text(encoding="utf-8").splitlines())
        for path in sorted((ROOT / "carctl").rglob("*.py"))
    }


def functions() -> dict[str, int]:
    found = {}
    for path in sorted((ROOT / "carctl").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                assert node.end_lineno is not None
                found[f"{path.relative_to(ROOT)}:{node.name}"] = node.end_lineno - node.lineno + 1
    return found


def over_the_limit(sizes: dict[str, int], limit: int, allowed: dict[str, str]) -> None:
    """Nothing over `limit` that is not listed; nothing listed that is no longer over."""
    over = {name: size for name, size in sizes.items() if size > limit}
    unexplained = sorted(set(over) - set(allowed))
    assert not unexplained, f"over {limit} lines: {[(n, over[n]) for n in unexplained]}"
    stale = sorted(set(allowed) - set(over))
    assert not stale, f"no longer over {limit} lines, remove from the list: {stale}"
    assert all(str(reason).strip() for reason in allowed.values())


def test_no_module_is_over_the_limit_unless_explained() -> None:
    over_the_limit(modules(), SIZES["max_module_lines"], SIZES["modules"])


def test_no_function_is_over_the_limit_unless_explained() -> None:
    over_the_limit(functions(), SIZES["max_function_lines"], SIZES["functions"])


def test_the_limits_are_the_ones_the_design_names() -> None:
    assert (SIZES["max_module_lines"], SIZES["max_function_lines"]) == (500, 60)
