"""An owner's first hour, as a script of real processes on a fresh home: nothing fails.

install → `carctl demo` → `carctl auth login` on a pseudo-terminal (e-mail,
password, which car is the default) → the demo's own "try it yourself" lines
→ a command for the other car → status, auth status and the queue as JSON.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest

from carctl.mock.store import MemoryStore
from tests.conftest import OWNER, PASSWORD, Served, invoke, make_seed, run_carctl, sign_in
from tests.support.terminal import run_in_terminal


def test_a_new_owners_first_session(carctl_home: Path) -> None:
    demo = run_carctl("demo")
    assert demo.returncode == 0, demo.stderr
    found = re.search(r"Now try it yourself: (carctl [^,]+), then (carctl [^.]+)\.", demo.stdout)
    assert found, demo.stdout[-400:]
    login_line, first_command = found.group(1), found.group(2)
    assert login_line == "carctl auth login"

    login = run_in_terminal(
        *login_line.split()[1:],
        answers=[("E-mail", OWNER), ("Password", PASSWORD), ("Default car [1]", "")],
    )
    assert login.code == 0, login.raw
    assert "1. Model 3" in login.raw and "2. Model Y" in login.raw
    assert "Default car: Model 3. Change it with `carctl config set vehicle NAME`." in login.raw

    steps = [
        first_command.split()[1:],  # the demo's line, exactly as printed
        ["vent", "--vehicle", "Model Y"],
        ["status", "--json"],
        ["auth", "status", "--json"],
        ["queue", "list", "--all", "--json"],
    ]
    for words in steps:
        result = run_carctl(*words)
        assert result.returncode == 0, (words, result.stdout, result.stderr)
        if "--json" in words:
            assert json.loads(result.stdout)["ok"] is True
    listing = invoke("--json", "vehicles").json()["data"]
    assert [car["display_name"] for car in listing if car["default"]] == ["Model 3"]


def test_one_car_is_the_default_without_asking(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed = make_seed(wake_delay=0.0)
    served.app.state.api.store = MemoryStore(dataclasses.replace(seed, vehicles=seed.vehicles[1:]))
    monkeypatch.setenv("CARCTL_API_URL", served.url)
    result = sign_in()
    assert "Default car: Model Y (the only car on the account)." in result.stdout
    assert invoke("config", "get", "vehicle").stdout.strip() == "Model Y"
    assert invoke("climate", "on").code == 0


def test_several_cars_never_prompt_a_script(carctl_home: Path) -> None:
    result = sign_in()
    assert "This account has 2 cars; choose the default with" in result.stdout
    assert '`carctl config set vehicle "Model 3"`' in result.stdout
    ambiguous = invoke("climate", "on")
    assert ambiguous.code == 2
    assert "this account has 2 cars: Model 3" in ambiguous.stderr
    assert 'carctl config set vehicle "Model 3"' in ambiguous.stderr


def test_config_set_vehicle_checks_the_name(carctl_home: Path) -> None:
    sign_in()
    unknown = invoke("config", "set", "vehicle", "Model S")
    assert unknown.code == 2, unknown.output
    assert "no car 'Model S' on this account; its cars: Model 3" in unknown.stderr
    known = invoke("config", "set", "vehicle", "model y")
    assert known.code == 0, known.output
    assert known.stdout.strip() == "vehicle = Model Y (profile default)"  # its own name
    table = invoke("vehicles")
    assert re.search(r"Model Y\s+\S+\s+\S+\s+\d+\s+default", table.stdout), table.stdout


def test_config_set_vehicle_offline_uses_the_cars_seen_last(
    carctl_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sign_in()
    monkeypatch.setenv("CARCTL_API_URL", "http://127.0.0.1:9")  # nothing listens there
    invoke("config", "set", "api_url", "builtin")
    from carctl.api.connect import endpoint_for

    assert endpoint_for("builtin").origin == "builtin"
    monkeypatch.delenv("CARCTL_API_URL")
    with_outage = invoke("mock", "fault", "add", "status=500 path=/api/1/*")
    assert with_outage.code == 0, with_outage.output
    offline = invoke("config", "set", "vehicle", "Model Y")
    assert offline.code == 0, offline.output
    assert "warning: checked 'Model Y' against the cars carctl saw last" in offline.stderr
    refused = invoke("config", "set", "vehicle", "Roadster")
    assert refused.code == 2
    assert "its cars: Model 3" in refused.stderr
