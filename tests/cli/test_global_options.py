"""Global options mean the same before and after the command words, for every command."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import click
import pytest

from carctl.cli import LAZY_COMMANDS, cli
from carctl.cli.context import AppContext
from carctl.cli.globals import accept_global_options
from tests.conftest import OUTPUTS, invoke

GLOBALS: list[tuple[list[str], dict[str, Any]]] = [
    (["--vehicle", "Model Y"], {"vehicle": "Model Y"}),
    (["--profile", "work"], {"profile": "work"}),
    (["--json"], {"json": True}),
    (["-q"], {"quiet": True}),
    (["--quiet"], {"quiet": True}),
    (["-v"], {"verbose": 1}),
    (["--verbose"], {"verbose": 1}),
    (["--insecure"], {"insecure": True}),
    (["--no-queue"], {"no_queue": True}),
    (["--no-worker"], {"no_worker": True}),
]


def _sample(param: click.Parameter) -> str:
    if isinstance(param.type, click.Choice):
        return str(param.type.choices[0])
    if isinstance(param.type, click.types.IntParamType):
        return "1"
    return "x"


def leaves() -> Iterator[tuple[list[str], click.Command]]:
    """Every command (groups included) with the words that reach it."""
    ctx = click.Context(cli)
    for name in sorted(LAZY_COMMANDS):
        command = cli.get_command(ctx, name)
        assert command is not None
        stack = [([name], command)]
        while stack:
            words, current = stack.pop()
            yield words, current
            if isinstance(current, click.Group):
                for sub_name, sub in sorted(current.commands.items()):
                    stack.append(([*words, sub_name], accept_global_options(sub)))


def required_arguments(command: click.Command) -> list[str]:
    words = [_sample(p) for p in command.params if isinstance(p, click.Argument) and p.required]
    for option in command.params:
        if isinstance(option, click.Option) and option.required:
            words += [option.opts[0], "21" if option.name == "temp" else _sample(option)]
    return words


COMMANDS = sorted((tuple(words), tuple(required_arguments(command))) for words, command in leaves())


@pytest.fixture
def captured(monkeypatch: pytest.MonkeyPatch) -> list[AppContext]:
    """Every command's callback replaced by one that records the run's AppContext."""
    seen: list[AppContext] = []

    def record(**_: Any) -> None:
        app = click.get_current_context().find_object(AppContext)
        assert app is not None
        seen.append(app)

    for _, command in leaves():
        if not isinstance(command, click.Group):
            monkeypatch.setattr(command, "callback", record)
        else:
            monkeypatch.setattr(command, "invoke_without_command", True)
            monkeypatch.setattr(command, "no_args_is_help", False)
            monkeypatch.setattr(command, "callback", record)
    return seen


@pytest.mark.parametrize(("words", "arguments"), COMMANDS, ids=[" ".join(w) for w, _ in COMMANDS])
def test_every_global_option_in_both_positions(
    captured: list[AppContext], words: tuple[str, ...], arguments: tuple[str, ...]
) -> None:
    for option, expected in GLOBALS:
        before = invoke(*option, *words, *arguments)
        after = invoke(*words, *arguments, *option)
        assert before.code == 0, (option, words, before.output)
        assert after.code == 0, (option, words, after.output)
        first, second = captured[-2], captured[-1]
        for key, value in expected.items():
            assert getattr(first, key) == value, (option, words, key)
            assert getattr(second, key) == value, (option, words, key)


def test_each_command_lists_the_global_options_in_its_help() -> None:
    for words, _ in leaves():
        shown = invoke(*words, "--help")
        OUTPUTS.pop()  # static help, which names the mock's published demo password
        assert shown.code == 0, words
        assert "Global options (also before the command):" in shown.stdout, words
        for option in ("--vehicle CAR", "--json", "--no-worker"):
            assert option in shown.stdout, (words, option)


def test_the_same_command_either_way(monkeypatch: pytest.MonkeyPatch) -> None:
    """A real run, not a parse: the vehicle chosen after the words is the one used."""
    assert invoke("demo", "--help").code == 0
    before = invoke("--json", "--vehicle", "Model 3", "status")
    after = invoke("status", "--vehicle", "Model 3", "--json")
    assert before.code == after.code == 77  # not signed in, in both
    assert before.stdout.replace("status", "") == after.stdout.replace("status", "")


def test_mistakes_answer_in_carctls_voice() -> None:
    typo = invoke("climat", "on")
    assert typo.code == 2
    assert typo.stderr.splitlines() == [
        "error: there is no command 'climat'",
        "hint: did you mean `carctl climate`? `carctl --help` lists the commands",
    ]
    option = invoke("climate", "on", "--tmp", "21")
    assert option.code == 2
    assert option.stderr.splitlines() == [
        "error: carctl climate on has no option --tmp",
        "hint: did you mean --temp? `carctl climate on --help` lists the options",
    ]
    assert "Usage:" not in typo.output + option.output
    as_json = invoke("--json", "vnet")
    assert as_json.code == 2
    assert as_json.json()["error"]["hint"].startswith("did you mean `carctl vent`?")


def test_the_command_list_says_what_each_command_says_of_itself() -> None:
    """`carctl --help` lists commands without importing them: its words must not drift."""
    import importlib

    from carctl.cli import LAZY_COMMANDS

    for name, (module, attribute, short) in LAZY_COMMANDS.items():
        command = getattr(importlib.import_module(module), attribute)
        first = (command.help or "").strip().split("\n\n")[0].replace("\n", " ")
        assert first == short, (name, short, first)
        assert len(f"  {name:<14}{short}") <= 80, name
