"""What a new user does, as real processes: the demo, then sign-in and climate on,
against the built-in endpoint and against `carctl mock serve`."""

from __future__ import annotations

from pathlib import Path

from tests.cli.test_mock_cli import carctl_serve
from tests.conftest import OWNER, PASSWORD, run_carctl


def test_demo_then_sign_in_and_climate_on_builtin(carctl_home: Path) -> None:
    demo = run_carctl("demo")
    assert demo.returncode == 0, demo.stderr
    assert "Climate on at 21.0 °C — confirmed by the car" in demo.stdout
    assert not carctl_home.exists()  # the demo ran in its own throw-away home

    login = run_carctl("auth", "login", "--email", OWNER, "--password-stdin", input=PASSWORD)
    assert login.returncode == 0, login.stderr
    climate = run_carctl("--vehicle", "Model 3", "climate", "on", "--temp", "21")
    assert climate.returncode == 0, climate.stderr
    assert "Confirmed by the car: climate on, set to 21.0 °C" in climate.stdout


def test_sign_in_and_climate_on_against_a_served_mock() -> None:
    with carctl_serve() as (url, _process):
        assert run_carctl("config", "set", "api_url", url).returncode == 0
        login = run_carctl("auth", "login", "--email", OWNER, "--password-stdin", input=PASSWORD)
        assert login.returncode == 0, login.stderr
        assert f"Signed in to {url}" in login.stdout
        climate = run_carctl("--vehicle", "Model 3", "climate", "on", "--temp", "21")
        assert climate.returncode == 0, climate.stderr
        assert "ok woke Model 3 in" in climate.stdout
        assert "Confirmed by the car: climate on, set to 21.0 °C" in climate.stdout
        status = run_carctl("--json", "auth", "status")
        assert status.returncode == 0 and '"api": "' + url + '"' in status.stdout
