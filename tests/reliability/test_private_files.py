"""carctl's files are the owner's alone: modes under any umask, links refused, no URL secrets."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import OWNER, PASSWORD, Served, invoke


def carctl_with_umask(*args: str, umask: int, input: str | None = None) -> Any:
    env = dict(os.environ)
    env.pop("PYTHON_KEYRING_BACKEND", None)  # let carctl detect (and remember) the backend

    def set_umask() -> None:
        os.umask(umask)

    return subprocess.run(
        [sys.executable, "-m", "carctl", *args],
        preexec_fn=set_umask,
        capture_output=True,
        text=True,
        env=env,
        input=input,
        timeout=60,
        check=False,
    )


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def test_everything_is_private_under_umask_000(carctl_home: Path) -> None:
    login = carctl_with_umask(
        "auth", "login", "--email", OWNER, "--password-stdin", umask=0, input=PASSWORD + "\n"
    )
    assert login.returncode == 0, login.stderr
    vented = carctl_with_umask("--vehicle", "Model Y", "vent", umask=0)
    assert vented.returncode == 0, vented.stderr
    assert carctl_with_umask("config", "set", "units", "imperial", umask=0).returncode == 0
    directories = [carctl_home, carctl_home / "state", carctl_home / "log", carctl_home / "config"]
    files = [
        carctl_home / "state" / "state.db",
        carctl_home / "state" / "credentials.json",
        carctl_home / "state" / "keyring-backend.json",
        carctl_home / "log" / "carctl.log",
        carctl_home / "config" / "config.toml",
    ]
    files += list((carctl_home / "state").glob("state.db-*"))
    for directory in directories:
        assert mode(directory) == 0o700, f"{directory}: {mode(directory):o}"
    for file in files:
        assert file.exists(), file
        assert mode(file) == 0o600, f"{file}: {mode(file):o}"


def test_a_planted_link_is_refused_not_followed(carctl_home: Path, tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("# the owner's own file\n")  # valid TOML: reading it is fine
    state = carctl_home / "state"
    state.mkdir(parents=True)
    (state / "keyring-backend.json").symlink_to(victim)
    result = carctl_with_umask("auth", "status", umask=0o022)
    assert result.returncode in (0, 77), result.stderr
    assert "Traceback" not in result.stderr
    assert victim.read_text() == "# the owner's own file\n"
    assert (state / "keyring-backend.json").is_symlink()

    config = carctl_home / "config"
    config.mkdir()
    (config / "config.toml").symlink_to(victim)
    refused = invoke("config", "set", "units", "imperial")
    assert refused.code == 78, refused.output
    assert f"{config / 'config.toml'} is a symbolic link; carctl does not write through links" in (
        refused.stderr
    )
    assert victim.read_text() == "# the owner's own file\n"


def test_doctor_reports_loose_modes(carctl_home: Path) -> None:
    assert invoke("config", "set", "units", "metric").code == 0
    (carctl_home / "config").chmod(0o755)
    (carctl_home / "config" / "config.toml").chmod(0o644)
    report = invoke("--json", "doctor", "--offline", "config").json()
    check = next(c for c in report["data"]["checks"] if c["id"] == "config")
    assert check["status"] == "warn", check
    assert f"{carctl_home / 'config'} (mode 755)" in check["detail"]
    assert f"{carctl_home / 'config' / 'config.toml'} (mode 644)" in check["detail"]
    assert f"chmod 700 {carctl_home / 'config'}" in check["remediation"]


SECRET = "hunter2-s3cret"


@pytest.mark.parametrize("how", ["env", "config set", "config file"])
def test_a_password_in_the_api_url_is_refused_and_never_repeated(
    how: str, served: Served, carctl_home: Path
) -> None:
    url = served.url.replace("http://", f"http://owner:{SECRET}@")
    env: dict[str, str] = {}
    if how == "env":
        env["CARCTL_API_URL"] = url
    elif how == "config file":
        (carctl_home / "config").mkdir(parents=True)
        (carctl_home / "config" / "config.toml").write_text(
            f'[profiles.default]\napi_url = "{url}"\n'
        )
    if how == "config set":
        results = [invoke("config", "set", "api_url", url)]
    else:
        results = [
            invoke("auth", "login", "--email", OWNER, "--password-stdin", input=PASSWORD, env=env),
            invoke("--json", "auth", "status", env=env),
            invoke("config", "list", env=env),
            invoke("--json", "doctor", env=env),
        ]
    for result in results:
        assert result.code in (2, 1), result.output  # doctor: exit 1 with the config check failed
        assert SECRET not in result.output
        assert "a user name or password in the API URL is not allowed" in result.output
    for path in carctl_home.rglob("*"):
        if path.is_file() and path.name != "config.toml":
            assert SECRET.encode() not in path.read_bytes(), path
