"""The core's first pieces: paths, the error hierarchy, the output envelope, redaction."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from carctl.errors import (
    AuthError,
    CarctlError,
    ConfigError,
    ExitCode,
    HttpDetails,
    Interrupted,
    RefusedError,
    TemporaryError,
    UnreachableError,
    UsageError,
)
from carctl.logs import redact
from carctl.output import Output
from carctl.paths import resolve_paths


def test_carctl_home_puts_everything_under_one_directory(tmp_path: Path) -> None:
    paths = resolve_paths({"CARCTL_HOME": str(tmp_path)})
    assert paths.config_file == tmp_path / "config" / "config.toml"
    assert paths.state_db == tmp_path / "state" / "state.db"
    assert paths.log_file == tmp_path / "log" / "carctl.log"


def test_platform_directories_without_carctl_home() -> None:
    paths = resolve_paths({})
    assert paths.config_file.name == "config.toml" and "carctl" in str(paths.config_dir)


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (UsageError, ExitCode.USAGE),
        (ConfigError, 78),
        (AuthError, 77),
        (UnreachableError, 69),
        (TemporaryError, 75),
        (RefusedError, 1),
        (Interrupted, 130),
        (CarctlError, 1),
    ],
)
def test_exit_codes_follow_sysexits(error: type[CarctlError], code: int) -> None:
    assert error("x").exit_code == code


def envelope_of(output: Output) -> dict:
    stream = output.stdout
    assert isinstance(stream, io.StringIO)
    return json.loads(stream.getvalue())


def test_json_envelope_of_a_result() -> None:
    out = Output.create(json_flag=True, stdout=io.StringIO(), stderr=io.StringIO(), env={})
    out.warn("careful")
    out.result("mock show", {"a": 1}, human="ignored in JSON", vehicle={"vin": "X"})
    assert envelope_of(out) == {
        "ok": True,
        "command": "mock show",
        "vehicle": {"vin": "X"},
        "data": {"a": 1},
        "queued": None,
        "error": None,
        "warnings": ["careful"],
    }
    assert out.stderr.getvalue() == ""  # type: ignore[attr-defined]


def test_json_envelope_of_an_error() -> None:
    out = Output.create(
        json_flag=False, stdout=io.StringIO(), stderr=io.StringIO(), env={"CARCTL_JSON": "1"}
    )
    error = TemporaryError(
        "the vehicle service answered 500",
        hint="try later",
        attempts=3,
        http=HttpDetails(500, "POST", "/api/1/vehicles/1/wake_up", "abc"),
    )
    out.error("wake", error)
    assert envelope_of(out)["error"] == {
        "code": "temporary",
        "message": "the vehicle service answered 500",
        "hint": "try later",
        "http": {
            "status": 500,
            "method": "POST",
            "path": "/api/1/vehicles/1/wake_up",
            "txid": "abc",
            "elapsed_ms": None,
            "excerpt": None,
        },
        "attempts": 3,
    }


def test_human_error_is_plain_when_piped() -> None:
    out = Output.create(stdout=io.StringIO(), stderr=io.StringIO(), env={})
    out.error(
        "wake",
        AuthError(
            "not signed in",
            hint="run `carctl auth login`",
            http=HttpDetails(401, "GET", "/api/1/vehicles", "t1"),
        ),
    )
    text = out.stderr.getvalue()  # type: ignore[attr-defined]
    assert text.splitlines() == [
        "error: not signed in",
        "  HTTP 401 · GET /api/1/vehicles · txid t1",
        "hint: run `carctl auth login`",
    ]
    assert "\x1b[" not in text and out.color is False


def test_quiet_prints_nothing_on_success() -> None:
    out = Output.create(quiet=True, stdout=io.StringIO(), stderr=io.StringIO(), env={})
    out.result("x", {}, human="done")
    out.info("diagnostic")
    assert out.stdout.getvalue() == "" and out.stderr.getvalue() == ""  # type: ignore[attr-defined]


def test_redaction_of_secrets_in_log_text() -> None:
    line = (
        'Authorization: Bearer abc.def.ghi password=hunter2 {"refresh_token": "r1"} '
        "eyJhbGciOi.eyJzdWIiOi.c2lnbmF0dXJl"
    )
    cleaned = redact(line)
    for secret in ("abc.def.ghi", "hunter2", "r1", "eyJhbGciOi.eyJzdWIiOi.c2lnbmF0dXJl"):
        assert secret not in cleaned
