"""Settings: profiles, precedence, validation, atomic writes, `carctl config`."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from carctl.errors import ConfigError, UsageError
from carctl.settings import load_settings, set_value
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
        st.sampled_from(["vehicle", "units", "api_url", "notify", "region"]),
        st.text(max_size=20),
        max_size=4,
    ),
)
def test_the_toml_round_trip_writes_what_is_read(profile: dict[str, str]) -> None:
    import tomlkit

    document = tomlkit.parse("# kept\n[profiles.default]\n")
    for name, value in profile.items():
        document["profiles"]["default"][name] = value
    text = tomlkit.dumps(document)
    assert text.startswith("# kept\n")
    assert tomllib.loads(text) == {"profiles": {"default": profile}}


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


HAND_WRITTEN = """\
# my carctl settings — keep these notes
units = "metric"

[profiles.default]
vehicle = "Model 3"  # the car I drive
tags = ["morning", "cron"]
since = 2026-11-20

[profiles.cron]
# the cron job's profile
api_url = "builtin"
"""


def test_config_set_keeps_what_the_owner_wrote(carctl_home: Path) -> None:
    path = carctl_home / "config" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HAND_WRITTEN)
    assert run_carctl("config", "set", "units", "imperial").returncode == 0
    assert run_carctl("config", "set", "vehicle", "Model Y").returncode == 0
    assert run_carctl("--profile", "cron", "config", "unset", "api_url").returncode == 0
    text = path.read_text()
    assert "# my carctl settings — keep these notes" in text
    assert "# the car I drive" in text and "# the cron job's profile" in text
    assert 'tags = ["morning", "cron"]' in text
    assert "since = 2026-11-20" in text
    data = tomllib.loads(text)
    assert data["profiles"]["default"]["vehicle"] == "Model Y"
    assert data["profiles"]["default"]["units"] == "imperial"
    assert "api_url" not in data["profiles"]["cron"]


def test_an_argument_that_is_not_utf8_is_a_usage_error(carctl_home: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "carctl", "config", "set", "vehicle", b"Model \xff"],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    stderr = result.stderr.decode()
    assert stderr.startswith("error: an argument is not valid UTF-8"), stderr
    assert "Traceback" not in stderr


def test_config_list_shows_values_as_the_config_file_writes_them(carctl_home: Path) -> None:
    listed = run_carctl("config", "list", env={"COLUMNS": "120"})
    assert listed.returncode == 0, listed.stderr
    assert not re.search(r"\b(None|True|False)\b", listed.stdout), listed.stdout
    assert re.search(r"^auth\.require_keyring\s+false\s+\(default\)$", listed.stdout, re.M)
    assert re.search(r"^region\s+–\s+\(default\)$", listed.stdout, re.M)  # not set
