"""Seeds, scenario files and fault rules: parsing, and errors that point at the line."""

from __future__ import annotations

from pathlib import Path

import pytest

from carctl.mock.durations import format_duration, parse_duration
from carctl.mock.faults import SCENARIOS, FaultRuleError, parse_rule, scenario_rules
from carctl.mock.seed import SeedError, load_seed


def test_default_seed_is_the_morning_of_the_story() -> None:
    seed = load_seed()
    assert [(a.email, a.password) for a in seed.accounts] == [
        ("owner@example.com", "ventilate-0600")
    ]
    model3, model_y = seed.vehicles
    assert (model3.display_name, model3.state) == ("Model 3", "asleep")
    assert (model3.latitude, model3.longitude) == (37.5665, 126.9780)
    assert (model3.outside_temp, model3.inside_temp) == (2.0, 4.0)
    assert (model_y.display_name, model_y.state) == ("Model Y", "online")
    assert seed.settings.wake_delay == 4.0
    assert seed.settings.rate_limits.wakes_per_minute == 3


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_toml_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "seed.toml", '[settings]\nwake_delay = "1s"\n[[accounts]\n')
    with pytest.raises(SeedError, match=r"seed\.toml, line 3: invalid TOML"):
        load_seed(path)


def test_json_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "seed.json", '{\n  "accounts": [\n    {"email": }\n  ]\n}\n')
    with pytest.raises(SeedError, match=r"seed\.json, line 3: invalid JSON"):
        load_seed(path)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[settings]\nwake_delay = "soon"\n', r"line 2: settings\.wake_delay: expected a duration"),
        (
            '[[accounts]]\nemail = "a@b.c"\npassword = "p"\n[[vehicles]]\nowner = "x@y.z"\n',
            r"line 5: vehicles\[0\]\.owner: expected the e-mail of an account",
        ),
        (
            '[[accounts]]\nemail = "a@b.c"\npassword = "p"\n[[vehicles]]\nowner = "a@b.c"\n'
            'state = "dozing"\n',
            r"line 6: vehicles\[0\]\.state: expected online or asleep or offline",
        ),
        (
            '[[accounts]]\nemail = "a@b.c"\npassword = "p"\n[[vehicles]]\nowner = "a@b.c"\n'
            "driver_temp_setting = 40\n",
            r"line 6: .*driver_temp_setting: expected a number from 15 to 28",
        ),
        (
            '[[accounts]]\nemail = "a@b.c"\n',
            r"line 1: accounts\[0\]\.password: expected a non-empty string, got nothing",
        ),
        ("accounts = 3\n", r"line 1: expected \[\[accounts\]\] tables"),
    ],
)
def test_seed_value_errors_say_what_was_expected(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(SeedError, match=expected):
        load_seed(write(tmp_path, "seed.toml", text))


def test_missing_seed_file(tmp_path: Path) -> None:
    with pytest.raises(SeedError, match="cannot read the file"):
        load_seed(tmp_path / "absent.toml")


def test_a_small_custom_seed(tmp_path: Path) -> None:
    seed = load_seed(
        write(
            tmp_path,
            "s.json",
            '{"settings": {"wake_delay": 0}, "accounts": '
            '[{"email": "A@B.C", "password": "p"}], "vehicles": '
            '[{"owner": "a@b.c", "state": "offline"}]}',
        )
    )
    assert seed.settings.wake_delay == 0.0
    assert seed.vehicles[0].owner == "a@b.c" and seed.vehicles[0].state == "offline"


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("500ms", 0.5),
        ("30s", 30),
        ("2m", 120),
        ("1h30m", 5400),
        ("45", 45),
        (12, 12),
        ("1.5s", 1.5),
    ],
)
def test_durations(text: str | int, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "soon", "5x", "-3", "1m-2s", "s"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


def test_format_duration() -> None:
    assert [format_duration(s) for s in (0, 0.25, 59, 90, 3600)] == [
        "0s",
        "250ms",
        "59s",
        "1m30s",
        "1h",
    ]


def test_rule_words() -> None:
    rule = parse_rule(
        "status=500 path=/api/1/* rate=0.25 count=3 after=5s for=1m latency=100ms "
        "method=post body=html retry_after=10s"
    )
    assert (rule.status, rule.path, rule.rate, rule.count) == (500, "/api/1/*", 0.25, 3)
    assert (rule.after, rule.duration, rule.latency, rule.retry_after) == (5, 60, 0.1, 10)
    assert rule.method == "POST" and rule.body == "html"
    installed = rule.installed(1000.0)
    assert (installed.starts_at, installed.ends_at) == (1005.0, 1065.0)
    assert (
        installed.active(1005.0) and not installed.active(1004.9) and not installed.active(1065.0)
    )
    assert parse_rule("drop=true").drop is True


def test_absolute_window() -> None:
    rule = parse_rule("status=500 from=2021-11-20T06:00:00+09:00 until=2021-11-20T11:00:00+09:00")
    assert rule.ends_at - rule.starts_at == 5 * 3600


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty fault rule"),
        ("status", "is not key=value"),
        ("status=500 status=502", "status is given twice"),
        ("status=600", "error status from 400 to 599"),
        ("status=500 rate=x", "rate must be a number"),
        ("status=500 count=0", "count must be a whole number"),
        ("status=500 for=ever", "for: expected a duration"),
        ("status=500 body=xml", "body must be one of json, html, empty, truncated"),
        ("status=500 drop=perhaps", "drop must be true or false"),
        ("status=500 path=api", "path must start with /"),
        ("status=500 from=yesterday", "from must be an ISO 8601 time"),
        ("path=/x", "needs an effect"),
        ("status='500", "cannot split"),
    ],
)
def test_bad_rules(text: str, message: str) -> None:
    with pytest.raises(FaultRuleError, match=message):
        parse_rule(text)


def test_named_scenarios_parse() -> None:
    assert set(SCENARIOS) == {"outage", "flaky", "gateway", "rate-limited", "2021-11-20"}
    for name in SCENARIOS:
        assert scenario_rules(name)
    assert [r.status for r in scenario_rules("gateway")] == [502, 504]


def test_scenario_file(tmp_path: Path) -> None:
    path = write(tmp_path, "s.toml", 'rules = ["status=500 path=/api/1/* for=10s"]\n\n[[extra]]\n')
    assert scenario_rules(str(path))[0].duration == 10
    tables = write(
        tmp_path, "t.toml", '[[rules]]\nstatus = 503\npath = "/status"\n\n[[rules]]\nstatus = 999\n'
    )
    with pytest.raises(SeedError, match=r"t\.toml, line 5: rules\[1\]: status must be"):
        scenario_rules(str(tables))
    with pytest.raises(FaultRuleError, match="unknown scenario 'nope'"):
        scenario_rules("nope")


def test_the_example_seed_of_a_car_that_needs_signed_commands() -> None:
    from pathlib import Path

    from carctl.mock.seed import load_seed

    path = Path(__file__).resolve().parents[2] / "examples" / "seeds" / "newer-car.toml"
    seed = load_seed(path)
    (car,) = seed.vehicles
    assert car.command_signing == "required" and car.plugged_in and car.charge_limit_soc == 90
