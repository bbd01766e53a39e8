"""Hostile input: arguments, config files, seed and scenario files, environment.

Every rejection must be a clear one-line message with exit 2 (usage) or 78
(configuration) — never a traceback, never exit 70 (a bug).
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import invoke

EXITS = {0, 1, 2, 69, 75, 77, 78}
SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
words = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=30
)


def check(result: object, allowed: set[int] = EXITS) -> None:
    code, output, stderr = result.code, result.output, result.stderr  # type: ignore[attr-defined]
    assert "Traceback" not in output
    assert code in allowed, output
    assert code != 70, output
    if code in (2, 78):
        first = stderr.splitlines()[0] if stderr else ""
        assert first.startswith(("error: ", "Error: ", "Usage: ")), stderr


TEMPLATES = [
    ("climate", "on", "--temp", "{}"),
    ("climate", "set", "--temp", "21", "--passenger", "{}"),
    ("precondition", "--expires-in", "{}"),
    ("precondition", "--expires-at", "{}"),
    ("--vehicle", "{}", "status"),
    ("wake", "--timeout", "{}"),
    ("queue", "show", "{}"),
    ("queue", "cancel", "{}"),
    ("doctor", "{}"),
    ("config", "set", "{}", "x"),
    ("config", "set", "api_url", "{}"),
    ("config", "set", "queue.ttl", "{}"),
    ("config", "get", "{}"),
    ("api", "{}"),
    ("mock", "fault", "add", "{}"),
    ("completion", "{}"),
]


@SETTINGS
@given(template=st.sampled_from(TEMPLATES), value=words)
def test_arguments(template: tuple[str, ...], value: str) -> None:
    args = [part.format(value) if "{}" in part else part for part in template]
    check(invoke("--no-worker", *args))


@SETTINGS
@given(text=words | st.text(max_size=200))
def test_config_files(carctl_home: Path, text: str) -> None:
    path = carctl_home / "config" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    result = invoke("config", "list")
    check(result, {0, 78})
    if result.code == 78:
        assert str(path) in result.stderr


@SETTINGS
@given(
    variable=st.sampled_from(
        ["CARCTL_API_URL", "CARCTL_PROFILE", "CARCTL_VEHICLE", "CARCTL_JSON", "CARCTL_TOKEN"]
    ),
    value=words.filter(lambda v: v.strip() != ""),
)
def test_environment(variable: str, value: str) -> None:
    check(invoke("status", env={variable: value}))


@pytest.fixture(scope="module")
def taken_port() -> Iterator[int]:
    """A port in use, so that a valid seed stops at binding instead of serving."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        yield sock.getsockname()[1]


@SETTINGS
@given(
    text=st.one_of(
        words,
        st.text(max_size=300),
        st.sampled_from(
            [
                "[settings]\nwake_delay = 'soon'\n",
                "[[accounts]]\nemail = 3\n",
                "[[vehicles]]\nid = 'x'\n",
                '{"accounts": [], "vehicles": "no"}',
                "rules = ['status=999']",
                "rules = [1, 2]",
                "[[rules]]\nstatus = 500\nfor = -1\n",
            ]
        ),
    ),
    suffix=st.sampled_from([".toml", ".json"]),
)
def test_seed_and_scenario_files(
    tmp_path_factory: pytest.TempPathFactory, taken_port: int, text: str, suffix: str
) -> None:
    path = tmp_path_factory.mktemp("files") / f"input{suffix}"
    path.write_text(text, encoding="utf-8")
    seed = invoke("mock", "serve", "--seed", str(path), "--port", str(taken_port))
    check(seed, {2, 78})
    scenario = invoke("mock", "fault", "add", "--scenario", str(path))
    check(scenario, {0, 2, 78})
