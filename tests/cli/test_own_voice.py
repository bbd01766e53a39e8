"""Mistakes answered in carctl's voice, with hints that never send the owner in a circle."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.conftest import OWNER, PASSWORD, Endpoint, invoke, sign_in
from tests.support.terminal import run_in_terminal


def test_a_mistyped_password_is_asked_again_on_a_terminal(carctl_home: Path) -> None:
    screen = run_in_terminal(
        "auth",
        "login",
        answers=[
            ("E-mail:", OWNER),
            ("Password:", "wrong-password"),
            ("Password:", "wrong-password"),
            ("Password:", PASSWORD),
            ("Default car [1]", ""),
        ],
        timeout=30,
    )
    assert screen.code == 0, screen.raw
    assert "wrong password for owner@example.com; 2 more tries" in screen.raw
    assert "wrong password for owner@example.com; 1 more try" in screen.raw
    assert "Signed in to the built-in mock as owner@example.com" in screen.raw


def test_three_wrong_passwords_end_the_attempt(carctl_home: Path) -> None:
    screen = run_in_terminal(
        "auth",
        "login",
        answers=[("E-mail:", OWNER)] + [("Password:", "wrong-password")] * 3,
        timeout=30,
    )
    assert screen.code == 77, screen.raw
    assert screen.raw.count("Password:") == 3
    assert "error: wrong password for owner@example.com" in screen.text


def test_a_script_is_told_at_once(carctl_home: Path) -> None:
    result = invoke("auth", "login", "--email", OWNER, "--password-stdin", input="wrong-password")
    assert result.code == 77
    assert "error: wrong password for owner@example.com" in result.stderr


def test_a_rejected_environment_refresh_token_names_the_variable(endpoint: Endpoint) -> None:
    result = invoke("vehicles", env={"CARCTL_REFRESH_TOKEN": "not-a-refresh-token-at-all"})
    assert result.code == 77, result.output
    assert "hint: CARCTL_REFRESH_TOKEN is set and holds a session the API no longer accepts" in (
        result.stderr
    )
    assert "unset CARCTL_REFRESH_TOKEN" in result.stderr
    assert "hint: run `carctl auth login`" not in result.stderr


def test_a_broken_config_file_still_shows_where_and_what(carctl_home: Path) -> None:
    config = carctl_home / "config" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text('units = "metric"\n[profiles.default\n')
    path = invoke("config", "path")
    assert path.code == 0 and str(config) in path.stdout
    listing = invoke("config", "list")
    assert listing.code == 0, listing.output
    assert f"warning: {config}, line 2: Expected ']' at the end of a table declaration" in (
        listing.stderr
    )
    assert "api_url" in listing.stdout
    other = invoke("vehicles")
    assert other.code == 78
    assert f"error: {config}, line 2:" in other.stderr
    assert "`carctl config path` shows where the file is" in other.stderr


def test_logout_removes_every_stored_credential_whatever_the_setting(carctl_home: Path) -> None:
    sign_in()  # no keyring here: the session is in the file
    store = carctl_home / "state" / "credentials.json"
    assert store.exists()
    assert invoke("config", "set", "auth.require_keyring", "true").code == 0
    out = invoke("auth", "logout")
    assert out.code == 0, out.output
    assert not store.exists() or "refresh_token" not in store.read_text()
    assert invoke("--json", "auth", "status").code == 77


def test_ctrl_c_stops_the_served_mock_quietly(carctl_home: Path) -> None:
    screen = run_in_terminal("mock", "serve", "--port", "0", interrupt_after="Ctrl-C to stop")
    code, text = screen.code, screen.text
    assert code == 0, text
    assert "error:" not in text and "Traceback" not in text
    assert text.rstrip().endswith("carctl mock: stopped.")


def test_ctrl_c_at_the_password_prompt_ends_the_line(carctl_home: Path) -> None:
    screen = run_in_terminal("auth", "login", "--email", OWNER, interrupt_after="Password: ")
    code, text = screen.code, screen.raw
    assert code == 130, text
    after_prompt = text.split("Password: ", 1)[1]
    assert after_prompt.lstrip(" ").startswith("\r\n"), repr(after_prompt)  # not "Password: error:"
    assert "interrupted" in after_prompt


def test_unknown_things_that_are_not_usage_mistakes(carctl_home: Path) -> None:
    sign_in()
    missing = invoke("queue", "show", "99")
    assert missing.code == 1
    assert missing.stderr.splitlines()[0] == "error: there is no queue entry #99"
    nope = invoke("api", "/nope")
    assert nope.code == 1, nope.output
    assert "GET /nope does not exist" in nope.stderr
    scenario = invoke("mock", "fault", "add", "--scenario", "meteor")
    assert scenario.code == 2
    assert "hint: `carctl mock scenarios` lists them" in scenario.stderr


def test_counts_agree_with_their_words() -> None:
    from carctl.text import plural

    assert [plural(n, "failure") for n in (0, 1, 2)] == ["0 failures", "1 failure", "2 failures"]
    assert plural(1, "more try", "more tries") == "1 more try"


def _every_command() -> list[list[str]]:
    import click

    from carctl.cli import cli

    found: list[list[str]] = []

    def walk(command: click.Command, path: list[str]) -> None:
        found.append(path)
        if isinstance(command, click.Group):
            ctx = click.Context(command)
            for name in command.list_commands(ctx):
                sub = command.get_command(ctx, name)
                if sub is not None:
                    walk(sub, [*path, name])

    walk(cli, [])
    return found


def _help(path: list[str]) -> Any:
    """A help screen at 80 columns (not kept among the run's outputs: the built-in mock's
    help names its published demo password, which the secrets scan looks for)."""
    from click.testing import CliRunner

    from carctl.cli import cli

    return CliRunner().invoke(cli, [*path, "--help"], env={"COLUMNS": "80"}, terminal_width=80)


def test_help_screens_list_no_bare_argument_under_options() -> None:
    import re

    for path in _every_command():
        shown = _help(path)
        assert shown.exit_code == 0, (path, shown.output)
        options = shown.stdout.split("Options:\n", 1)[-1].split("\n\n", 1)[0]
        for line in options.splitlines():
            assert not re.fullmatch(r"\s+\[?[A-Z_]+\]?(\.\.\.)?", line), (path, line)


def test_command_summaries_are_never_cut_mid_phrase() -> None:
    for path in _every_command():
        shown = _help(path)
        commands = shown.stdout.split("Commands:\n", 1)
        if len(commands) == 2:
            for line in commands[1].splitlines():
                assert not line.rstrip().endswith("..."), (path, line)


def test_the_same_mistake_has_the_same_exit_code(car: Endpoint) -> None:
    """An entry or a schedule that is not there: not a usage mistake (1), said alike."""
    queue = invoke("queue", "cancel", "99")
    schedule = invoke("--vehicle", "Model 3", "schedule", "off", "7")
    assert (queue.code, schedule.code) == (1, 1), (queue.output, schedule.output)
    assert queue.stderr.startswith("error: there is no queue entry #99")


def test_a_missing_choice_is_listed_on_one_line() -> None:
    result = invoke("completion")
    assert result.code == 2
    assert "\\t" not in result.stderr and "\t" not in result.stderr, result.stderr
    assert result.stderr.startswith(
        "error: missing argument '{bash|zsh|fish}'; choose bash, zsh or fish"
    )


def test_a_mistyped_subcommand_is_answered_in_carctls_voice() -> None:
    result = invoke("climate", "onn")
    assert result.code == 2
    assert result.stderr.splitlines() == [
        "error: carctl climate has no command 'onn'",
        "hint: did you mean `carctl climate on`? `carctl climate --help` lists the commands",
    ], result.stderr
