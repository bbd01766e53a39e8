"""`carctl mock …` as users run it: real processes, real sockets, exit codes, messages."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.conftest import OWNER, PASSWORD, invoke, password_grant, run_carctl, sign_in
from tests.support.serving import carctl_serve


def test_serve_with_the_outage_scenario_fails_then_recovers() -> None:
    with (
        carctl_serve("--scenario", "outage", "--admin") as (url, proc),
        httpx.Client(base_url=url) as client,
    ):
        token = client.post(
            "/oauth2/v3/token",
            data=password_grant("ownerapi"),
        ).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        failed = client.get("/api/1/vehicles", headers=auth)
        assert failed.status_code == 500 and failed.headers["x-txid"]
        assert client.get("/status").status_code == 503
        client.post("/__mock__/clock", json={"advance": 61})  # the scenario's 60 s pass
        assert client.get("/api/1/vehicles", headers=auth).status_code == 200
        assert client.get("/status").text == "ok"
        stats = client.get("/__mock__/stats").json()
        assert {"method": "GET", "path": "/api/1/vehicles", "status": 500, "count": 1} in stats[
            "requests"
        ]
        assert {"method": "GET", "path": "/api/1/vehicles", "status": 200, "count": 1} in stats[
            "requests"
        ]
    assert proc.returncode in (0, 130)
    assert "Traceback" not in (proc.stderr.read() if proc.stderr else "")


def test_serve_without_admin_hides_the_control_api() -> None:
    with (
        carctl_serve("--fault", "status=503 path=/status count=1") as (url, _),
        httpx.Client(base_url=url) as client,
    ):
        assert client.get("/status").status_code == 503
        assert client.get("/status").status_code == 200
        assert client.get("/__mock__/stats").status_code == 404


def test_serve_json_announces_itself() -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "carctl",
            "--json",
            "mock",
            "serve",
            "--port",
            "0",
            "--fault",
            "status=500 path=/api/1/* for=5m",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        document = json.loads(proc.stdout.readline())
        assert document["ok"] is True and document["command"] == "mock serve"
        assert document["data"]["url"].startswith("http://127.0.0.1:")
        assert document["data"]["faults"] == ["status=500 path=/api/1/* for=5m"]
        ws = "ws" + document["data"]["url"][4:]
        assert document["data"]["streams"] == {
            "streaming": f"{ws}/streaming/",
            "fleet_telemetry": f"{ws}/fleet_telemetry/VIN",
        }
        assert document["error"] is None
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:  # never leave a server behind, and say so
            proc.kill()
            proc.wait()
            pytest.fail("carctl mock serve did not stop within 10 s of Ctrl-C")


def test_serve_on_a_taken_port_is_one_line_and_exit_78() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_carctl("mock", "serve", "--port", str(port))
    assert result.returncode == 78
    assert result.stderr.strip() == (
        f"error: port {port} on 127.0.0.1 is already in use; "
        "choose another with --port (0 picks a free one)"
    )
    assert result.stdout == ""


def test_serve_with_a_broken_seed_names_file_and_line(tmp_path: Path) -> None:
    seed = tmp_path / "seed.toml"
    seed.write_text('[settings]\nwake_delay = "later"\n')
    result = run_carctl("mock", "serve", "--port", "0", "--seed", str(seed))
    assert result.returncode == 78
    assert f"error: {seed}, line 2: settings.wake_delay: expected a duration" in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_with_a_bad_rule_is_a_usage_error() -> None:
    result = run_carctl("mock", "serve", "--port", "0", "--fault", "status=500 rate=9")
    assert result.returncode == 2
    assert "rate must be a number from 0 to 1, got '9'" in result.stderr


def test_serve_with_an_unknown_scenario() -> None:
    result = run_carctl("--json", "mock", "serve", "--port", "0", "--scenario", "meteor")
    assert result.returncode == 2
    document = json.loads(result.stdout)
    assert document["ok"] is False and document["error"]["code"] == "usage"
    assert "unknown scenario 'meteor'" in document["error"]["message"]


def test_builtin_fault_commands_round_trip() -> None:
    added = run_carctl(
        "--json",
        "mock",
        "fault",
        "add",
        "status=500 path=/api/1/* for=60s",
        "--scenario",
        "gateway",
    )
    assert added.returncode == 0, added.stderr
    rules = json.loads(added.stdout)["data"]["rules"]
    assert [r["status"] for r in rules] == [502, 504, 500]
    listed = run_carctl("mock", "fault", "list")
    assert listed.returncode == 0
    assert "status=500 path=/api/1/* for=1m  (active, " in listed.stdout  # the rule as written
    cleared = run_carctl("--json", "mock", "fault", "clear")
    assert json.loads(cleared.stdout)["data"]["rules"] == []
    assert "no fault rules" in run_carctl("mock", "fault", "list").stdout


def test_a_listed_rule_keeps_its_own_words_as_its_time_runs_down() -> None:
    assert run_carctl("mock", "fault", "add", "status=503 path=/api/1/* for=90s").returncode == 0
    assert run_carctl("mock", "clock", "--advance", "30s").returncode == 0
    listed = run_carctl("mock", "fault", "list")
    assert "1. status=503 path=/api/1/* for=1m30s  (active, " in listed.stdout, listed.stdout
    assert re.search(r"\(active, (1m|5\ds) left; fired 0×\)", listed.stdout)  # about 60 s
    assert run_carctl("mock", "clock", "--advance", "2m").returncode == 0
    ended = run_carctl("mock", "fault", "list")
    assert "1. status=503 path=/api/1/* for=1m30s  (" in ended.stdout, ended.stdout
    assert "for=0s" not in ended.stdout


def test_builtin_fault_add_needs_a_rule() -> None:
    result = run_carctl("mock", "fault", "add")
    assert result.returncode == 2
    assert "error: give at least one rule or --scenario" in result.stderr


def test_builtin_show_reset_clock_and_stats(carctl_home: Path) -> None:
    shown = run_carctl("--json", "mock", "show")
    assert shown.returncode == 0
    cars = json.loads(shown.stdout)["data"]["vehicles"]
    assert [(c["display_name"], c["state"]) for c in cars] == [
        ("Model 3", "asleep"),
        ("Model Y", "online"),
    ]
    assert (carctl_home / "state" / "state.db").exists()
    human = run_carctl("mock", "show")
    assert "Model 3" in human.stdout and "\x1b[" not in human.stdout  # piped: no colour
    moved = run_carctl("--json", "mock", "clock", "--advance", "20m")
    assert moved.returncode == 0
    later = json.loads(run_carctl("--json", "mock", "show").stdout)["data"]["vehicles"]
    assert later[1]["state"] == "asleep"  # the Model Y fell asleep after 15 idle minutes
    assert run_carctl("mock", "reset").returncode == 0
    assert (
        json.loads(run_carctl("--json", "mock", "show").stdout)["data"]["vehicles"][1]["state"]
        == "online"
    )
    stats = json.loads(run_carctl("--json", "mock", "stats").stdout)
    assert set(stats["data"]) == {
        "requests",
        "commands",
        "executions",
        "executed",
        "concurrency",
        "billing",
        "streamed",
    }
    bad = run_carctl("mock", "clock", "--advance", "soon")
    assert bad.returncode == 2 and "--advance 'soon' is not a duration" in bad.stderr
    # one grammar for durations: what --expires-in refuses, --advance refuses too
    bare = run_carctl("mock", "clock", "--advance", "90")
    expires = run_carctl("climate", "on", "--expires-in", "90")
    assert bare.returncode == expires.returncode == 2, (bare.stderr, expires.stderr)
    assert "'90' is not a duration" in bare.stderr and "'90' is not a duration" in expires.stderr
    assert "hint: e.g. 40m, 1h30m or 90s" in bare.stderr
    days = run_carctl("--json", "mock", "clock", "--advance", "2d")
    assert days.returncode == 0, days.stderr


def test_mock_clock_shows_what_the_cars_did_on_their_own(carctl_home: Path) -> None:
    login = run_carctl("auth", "login", "--email", OWNER, "--password-stdin", input=PASSWORD)
    assert login.returncode == 0, login.stderr
    armed = run_carctl("--vehicle", "Model Y", "schedule", "set", "06:30", "--days", "all")
    assert armed.returncode == 0, armed.stderr
    shown = run_carctl("mock", "show")
    assert "Asia/Seoul" in shown.stdout and "schedules: 1: every day 06:30" in shown.stdout
    moved = run_carctl("mock", "clock", "--advance", "1d")
    assert moved.returncode == 0, moved.stderr
    assert "last run: schedule 1, warming from 06:00, ready 06:30 on " in moved.stdout


def test_control_commands_reach_a_served_mock() -> None:
    with carctl_serve("--admin") as (url, _):
        added = run_carctl("mock", "fault", "add", "--url", url, "status=503 path=/status count=1")
        assert added.returncode == 0, added.stderr
        assert httpx.get(url + "/status").status_code == 503
    with carctl_serve() as (url, _):
        refused = run_carctl("mock", "fault", "list", "--url", url)
        assert refused.returncode == 2
        assert "does not offer its control API" in refused.stderr


def test_control_command_against_nothing_is_temporary() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = run_carctl("mock", "stats", "--url", f"http://127.0.0.1:{port}")
    assert result.returncode == 75
    assert result.stderr.startswith(f"error: cannot reach the mock at http://127.0.0.1:{port}")


def test_a_corrupt_state_database_is_a_clear_error(carctl_home: Path) -> None:
    db = carctl_home / "state" / "state.db"
    db.parent.mkdir(parents=True)
    db.write_bytes(b"garbage" * 200)
    result = run_carctl("mock", "show")
    assert result.returncode == 78
    assert str(db) in result.stderr and "Traceback" not in result.stderr


def test_scenarios_are_listed() -> None:
    result = run_carctl("--json", "mock", "scenarios")
    names = [s["name"] for s in json.loads(result.stdout)["data"]]
    assert names == ["outage", "flaky", "gateway", "rate-limited", "2021-11-20"]


def test_help_imports_nothing_heavy() -> None:
    code = (
        "import sys\nfrom carctl.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('httpx', 'rich', 'keyring', 'carctl.mock', 'starlette', 'uvicorn')"
        " if m in sys.modules]\nprint('HEAVY', heavy)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ}, check=True
    )
    assert "HEAVY []" in result.stdout
    listed = [line.split()[0] for line in result.stdout.splitlines() if line.startswith("  ")]
    assert "mock" in listed  # the lazy command is still listed, as a command


def test_version() -> None:
    from carctl import __version__

    assert run_carctl("--version").stdout.strip() == f"carctl, version {__version__}"


def test_unknown_command_is_a_usage_error() -> None:
    result = run_carctl("fly")
    assert result.returncode == 2
    assert (
        result.stderr
        == "error: there is no command 'fly'\nhint: `carctl --help` lists the commands\n"
    )


def test_an_unexpected_exception_is_exit_70_with_the_log_path(
    carctl_home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import click

    from carctl import cli as cli_module

    @click.command()
    def boom() -> None:
        raise RuntimeError("kaboom")

    monkeypatch.setitem(cli_module.cli.commands, "boom", boom)
    monkeypatch.setattr("carctl.cli.context.last_app", None)
    with pytest.raises(SystemExit) as exit_info:
        cli_module.main(["boom"])
    assert exit_info.value.code == 70
    err = capsys.readouterr().err
    assert "error: internal error: RuntimeError: kaboom" in err
    assert str(carctl_home / "log" / "carctl.log") in err
    assert "Traceback" not in err
    assert "Traceback" in (carctl_home / "log" / "carctl.log").read_text()


def test_mock_stats_is_a_table_with_headers(carctl_home: Path) -> None:
    assert invoke("mock", "stats").stdout.strip() == "No requests yet."
    sign_in()
    assert invoke("--vehicle", "Model Y", "vent").code == 0
    shown = invoke("mock", "stats")
    assert shown.code == 0, shown.output
    lines = shown.stdout.splitlines()
    assert lines[0].split() == ["Count", "Status", "Method", "Path"]
    assert any(line.split()[:3] == ["1", "200", "POST"] for line in lines[1:])
    assert "Executed on a car:" in lines
    header = lines[lines.index("Executed on a car:") + 1]
    assert header.split() == ["At", "Car", "Command", "Parameters"]
    assert "window_control" in shown.stdout


def test_signed_commands_through_the_signing_proxy_stand_in(carctl_home: Path) -> None:
    with carctl_serve("--admin", "--signing-proxy-port", "0") as (url, proc):
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(3)]
        proxy_line = next(line for line in lines if "signing proxy stand-in:" in line)
        proxy = proxy_line.split("stand-in: ", 1)[1].split(" ", 1)[0]
        assert proxy.startswith("http://127.0.0.1:") and proxy != url
        with httpx.Client(base_url=url) as client:
            changed = client.patch(
                "/__mock__/vehicles/1492931337131",
                json={"command_signing": "required", "wake_delay": 0},
            )
            assert changed.status_code == 200
        for base in (url, proxy):
            assert run_carctl("config", "set", "api_url", base).returncode == 0
            login = run_carctl(
                "auth", "login", "--email", OWNER, "--password-stdin", input=PASSWORD
            )
            assert login.returncode == 0, login.stderr
        assert run_carctl("config", "set", "api_url", url).returncode == 0
        plain = run_carctl("--vehicle", "Model 3", "climate", "on")
        assert plain.returncode == 77, plain.stderr
        assert "this car takes only commands signed with Tesla's Vehicle Command Protocol" in (
            plain.stderr
        )
        assert "tesla-http-proxy" in plain.stderr and "Traceback" not in plain.stderr
        assert "queued" not in plain.stderr  # a refusal the same request would meet again
        assert run_carctl("config", "set", "api_url", proxy).returncode == 0
        signed = run_carctl("--vehicle", "Model 3", "climate", "on")
        assert signed.returncode == 0, signed.stderr
        assert "Confirmed by the car: climate on" in signed.stdout
        with httpx.Client(base_url=url) as client:
            executed = client.get("/__mock__/stats").json()["commands"]
        assert [c["name"] for c in executed] == ["auto_conditioning_start"]


def test_mock_show_and_clock_speak_the_profiles_units(carctl_home: Path) -> None:
    """With `units = imperial` every temperature carctl prints is in °F: the mock's too."""
    assert run_carctl("config", "set", "units", "imperial").returncode == 0
    shown = run_carctl("mock", "show")
    assert shown.returncode == 0
    assert "°C" not in shown.stdout, shown.stdout
    assert "cabin 39 °F" in shown.stdout and "outside 36 °F" in shown.stdout  # 4.0 and 2.0 °C
    assert run_carctl("config", "set", "units", "metric").returncode == 0
    assert "cabin 4.0 °C" in run_carctl("mock", "show").stdout


def test_serving_beyond_loopback_with_admin_says_the_control_api_is_reachable() -> None:
    """Listening on every interface (no traffic leaves this machine: nothing connects)."""
    with carctl_serve("--host", "0.0.0.0", "--admin") as (_, proc):  # noqa: S104
        pass
    assert proc.stderr is not None
    warning = proc.stderr.read()
    assert "serving on 0.0.0.0: anyone who can reach it" in warning
    assert "drive the control API (--admin)" in warning


def test_mock_stats_fits_80_columns_without_breaking_a_word(carctl_home: Path) -> None:
    from tests.support.terminal import run_in_terminal

    sign_in()
    invoke("--vehicle", "Model Y", "climate", "on")
    screen = run_in_terminal("mock", "stats", columns=80)
    assert screen.code == 0, screen.text
    assert "/command/auto_conditioning_start" in screen.text, screen.text
    assert "…7242/command/auto_conditioning_start" in screen.text
    assert all(len(line) <= 80 for line in screen.text.splitlines())
