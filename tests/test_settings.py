"""Settings: profiles, precedence, validation, atomic writes, `carctl config`."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from carctl.errors import ConfigError, UsageError
from carctl.settings import load_settings, set_value, to_toml
from tests.conftest import run_carctl


def test_defaults_without_a_file(tmp_path: Path) -> None:
    settings = load_settings(tmp_path / "config.toml", env={})
    assert settings.profile == "default" and settings.api_url == "builtin"
    assert settings.values["api_url"].source == "default"
    assert settings.get("vehicle") is None and settings.get("auth.require_keyring") is False


def test_precedence_option_env_file_default(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    set_value(path, "vehicle", "Model 3", profile="default")
    set_value(path, "api_url", "http://127.0.0.1:9000/", profile="default")
    assert load_settings(path, env={}).get("vehicle") == "Model 3"
    assert load_settings(path, env={}).api_url == "http://127.0.0.1:9000"
    env = {"CARCTL_VEHICLE": "Model Y", "CARCTL_API_URL": "builtin"}
    from_env = load_settings(path, env=env)
    assert (from_env.get("vehicle"), from_env.values["vehicle"].source) == ("Model Y", "env")
    assert from_env.api_url == "builtin"
    from_option = load_settings(path, env=env, vehicle="5YJ3E7EA1MF000621")
    assert from_option.values["vehicle"].source == "option"


def test_profiles(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    set_value(path, "api_url", "http://127.0.0.1:8787", profile="served")
    assert load_settings(path, env={}, profile="served").api_url == "http://127.0.0.1:8787"
    assert load_settings(path, env={"CARCTL_PROFILE": "served"}).profile == "served"
    assert load_settings(path, env={}).api_url == "builtin"
    with pytest.raises(ConfigError, match="no profile 'work'") as info:
        load_settings(path, env={}, profile="work")
    assert "known profiles: default, served" in (info.value.hint or "")


def test_a_broken_file_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[profiles.default]\napi_url = "builtin"\nvehicle = \n')
    with pytest.raises(ConfigError, match=r"config\.toml, line 3: "):
        load_settings(path, env={})


def test_a_bad_value_in_the_file(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[profiles.default]\napi_url = "ftp://example.com"\n')
    with pytest.raises(
        ConfigError, match=r"api_url: expected \"builtin\", \"fleet\", .* or an http\(s\)://"
    ):
        load_settings(path, env={})


def test_a_directory_where_the_file_should_be(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.mkdir()
    with pytest.raises(ConfigError, match="is a directory"):
        load_settings(path, env={})


def test_set_rejects_unknown_keys_and_bad_values(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    with pytest.raises(UsageError, match="unknown setting 'colour'"):
        set_value(path, "colour", "red", profile="default")
    with pytest.raises(UsageError, match="units: expected"):
        set_value(path, "units", "furlongs", profile="default")
    assert not path.exists()


def test_writes_are_atomic_and_leave_no_temporary_files(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    for index in range(5):
        set_value(path, "vehicle", f"Car {index}", profile="default")
    assert [p.name for p in tmp_path.iterdir()] == ["config.toml"]
    assert tomllib.loads(path.read_text())["profiles"]["default"]["vehicle"] == "Car 4"


@given(
    st.dictionaries(
        st.text(min_size=1, max_size=10),
        st.text(max_size=20) | st.booleans() | st.integers(),
        max_size=4,
    )
)
def test_toml_writer_round_trips(profile: dict[str, object]) -> None:
    data = {"profiles": {"default": profile}, "auth": {"require_keyring": True}}
    assert tomllib.loads(to_toml(data)) == data


def test_config_commands_as_a_user_runs_them(carctl_home: Path) -> None:
    assert run_carctl("config", "set", "api_url", "http://127.0.0.1:8787").returncode == 0
    got = run_carctl("config", "get", "api_url")
    assert got.stdout.strip() == "http://127.0.0.1:8787"
    listed = json.loads(run_carctl("--json", "config", "list").stdout)
    assert listed["data"]["settings"]["api_url"] == {
        "value": "http://127.0.0.1:8787",
        "source": "file",
        "help": 'vehicle API: "builtin" (the in-process mock), "fleet" (Tesla\'s Fleet API), '
        '"proxy" (Tesla\'s signing proxy), "teslemetry", or an http(s) URL',
    }
    assert run_carctl("config", "set", "provider_url", "https://pi.local:4443").returncode == 0
    unset = run_carctl("config", "unset", "provider_url")
    assert unset.returncode == 0 and "provider_url removed (profile default)" in unset.stdout
    assert run_carctl("config", "get", "provider_url").stdout.strip() == ""
    again = run_carctl("config", "unset", "provider_url")
    assert again.returncode == 0 and "was not set" in again.stdout
    assert run_carctl("config", "get", "api_url").stdout.strip() == "http://127.0.0.1:8787"
    unknown = run_carctl("config", "unset", "colour")
    assert unknown.returncode == 2 and "unknown setting 'colour'" in unknown.stderr
    paths = json.loads(run_carctl("--json", "config", "path").stdout)["data"]
    assert paths["config"] == str(carctl_home / "config" / "config.toml")
    bad = run_carctl("config", "set", "units", "furlongs")
    assert bad.returncode == 2
    assert bad.stderr.startswith('error: units: expected "metric" or "imperial"')
    (carctl_home / "config" / "config.toml").write_text("[profiles.default\n")
    broken = run_carctl("config", "list")  # still lists, and says what is wrong where
    assert broken.returncode == 0
    assert "config.toml, line 1:" in broken.stderr and "Traceback" not in broken.stderr
    assert run_carctl("vehicles").returncode == 78  # what needs the file stops
