"""What a new user does, as real processes: the demo, then sign-in and climate on,
against the built-in endpoint and against `carctl mock serve`."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import OWNER, PASSWORD, run_carctl
from tests.support.serving import carctl_serve


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


def test_the_whole_car_in_a_new_users_hour(carctl_home: Path) -> None:
    """Issue 30's session on a fresh home, as real processes, each confirmed from the mock."""
    import json

    from carctl.api import builtin

    login = run_carctl("auth", "login", "--email", OWNER, "--password-stdin", input=PASSWORD)
    assert login.returncode == 0, login.stderr
    assert run_carctl("config", "set", "vehicle", "Model 3").returncode == 0
    state_db = carctl_home / "state" / "state.db"

    def car() -> dict[str, object]:
        cars = builtin.control(state_db, "GET", "/__mock__/vehicles")["vehicles"]
        return next(c for c in cars if c["display_name"] == "Model 3")  # type: ignore[no-any-return]

    first = run_carctl("charge")  # a sleeping car carctl has never read: it says how
    assert first.returncode == 0 and "`carctl charge --wake`" in first.stdout
    session = [
        ("charge", "--wake"),
        ("charge", "limit", "80"),
        ("lock",),
        ("sentry", "on"),
        ("where",),
        ("unlock", "--yes"),
        ("--json", "status"),
    ]
    answers = {}
    for words in session:
        done = run_carctl(*words)
        assert done.returncode == 0, (words, done.stderr)
        answers[words] = done.stdout
    assert "battery   not charging (Disconnected" in answers[("charge", "--wake")]
    assert "Confirmed by the car: locked." in answers[("lock",)]
    assert "Confirmed by the car: sentry on." in answers[("sentry", "on")]
    assert "Model 3: 37.56650, 126.97800" in answers[("where",)]
    assert "Confirmed by the car: unlocked." in answers[("unlock", "--yes")]
    summary = json.loads(answers[("--json", "status")])["data"]
    assert summary["locks"]["locked"] is False and summary["locks"]["sentry_mode"] is True
    assert summary["battery"]["limit"] == 80 and summary["position_fix_at"] is not None
    seen = car()
    assert seen["locked"] is False and seen["sentry_mode"] is True
    stats = builtin.control(state_db, "GET", "/__mock__/stats")
    assert [c["name"] for c in stats["commands"]] == [
        "set_charge_limit",  # "already_set" on a car at 80 %: the car's own answer
        "door_lock",
        "set_sentry_mode",
        "door_unlock",
    ]
