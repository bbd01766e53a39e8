"""The credential stores: keyring (real `keyring` backends), the 0600 file, the choice."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from keyring.backends import fail

from carctl.api.credentials import FileStore, open_credentials
from carctl.api.keyring_store import KeyringStore, KeyringTimeout
from carctl.api.sessions import Session
from carctl.errors import AuthError, ExitCode
from tests.support.keyrings import HangingKeyring, MemoryKeyring

SESSION = Session(
    account="owner@example.com",
    access_token="access-secret-1",
    refresh_token="refresh-secret-1",
    expires_at=1_800_000_000.0,
    obtained_at=1_799_971_200.0,
)


def test_session_repr_hides_tokens() -> None:
    text = repr(SESSION)
    assert "owner@example.com" in text
    assert "secret" not in text


def test_file_store_round_trip_mode_and_atomicity(tmp_path: Path) -> None:
    store = FileStore(tmp_path / "state" / "credentials.json")
    store.save("default@builtin", SESSION)
    store.save("work@https://api.example", SESSION)
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert not list(store.path.parent.glob(".credentials-*"))
    assert store.load("default@builtin") == SESSION
    assert store.delete("default@builtin") is True
    assert store.delete("default@builtin") is False
    assert store.load("work@https://api.example") == SESSION
    store.delete("work@https://api.example")
    assert not store.path.exists()  # the last entry takes the file with it


def test_file_store_fixes_loose_permissions_with_a_warning(tmp_path: Path) -> None:
    warnings: list[str] = []
    store = FileStore(tmp_path / "credentials.json", warn=warnings.append)
    store.save("e", SESSION)
    store.path.chmod(0o644)
    assert store.load("e") == SESSION
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert warnings and "mode 644" in warnings[0]


def test_damaged_file_reads_as_signed_out_and_a_directory_is_an_error(tmp_path: Path) -> None:
    store = FileStore(tmp_path / "credentials.json")
    store.path.write_text("{not json")
    store.path.chmod(0o600)
    assert store.load("e") is None
    store.save("e", SESSION)  # login repairs it
    assert store.load("e") == SESSION
    directory = FileStore(tmp_path / "dir.json")
    directory.path.mkdir()
    with pytest.raises(AuthError, match="is a directory"):
        directory.load("e")


def test_keyring_store_round_trip() -> None:
    backend = MemoryKeyring()
    store = KeyringStore(backend)
    store.save("default@builtin", SESSION)
    assert ("carctl", "default@builtin") in backend.entries
    assert store.load("default@builtin") == SESSION
    assert store.delete("default@builtin") is True
    assert store.delete("default@builtin") is False
    assert store.location.kind == "keyring" and store.location.secure


def test_hanging_keyring_is_bounded() -> None:
    backend = HangingKeyring()
    store = KeyringStore(backend, timeout=0.1)
    started = time.monotonic()
    try:
        with pytest.raises(KeyringTimeout, match=r"did not answer within 0.1 s") as caught:
            store.load("e")
        assert caught.value.exit_code == ExitCode.NOPERM
        assert time.monotonic() - started < 2
    finally:
        backend.release.set()


def test_no_backend_falls_back_to_the_file(tmp_path: Path) -> None:
    credentials = open_credentials(
        state_dir=tmp_path,
        profile="default",
        origin="builtin",
        env={},
        require_keyring=False,
        backend=fail.Keyring(),
    )
    assert credentials.primary is credentials.fallback_file
    assert credentials.primary_note is not None
    assert "no usable keyring backend" in credentials.primary_note
    location = credentials.save(SESSION)
    assert location.kind == "file" and not location.secure


def test_no_backend_and_require_keyring_refuses(tmp_path: Path) -> None:
    with pytest.raises(AuthError) as caught:
        open_credentials(
            state_dir=tmp_path,
            profile="default",
            origin="builtin",
            env={},
            require_keyring=True,
            backend=fail.Keyring(),
        )
    assert caught.value.exit_code == ExitCode.NOPERM
    assert "auth.require_keyring is true" in caught.value.message
    assert "CARCTL_TOKEN" in (caught.value.hint or "")
    assert not (tmp_path / "credentials.json").exists()


def test_a_session_left_in_the_file_moves_to_the_keyring(tmp_path: Path) -> None:
    FileStore(tmp_path / "credentials.json").save("default@builtin", SESSION)
    backend = MemoryKeyring()
    credentials = open_credentials(
        state_dir=tmp_path,
        profile="default",
        origin="builtin",
        env={},
        require_keyring=False,
        backend=backend,
    )
    session, location = credentials.load()
    assert session == SESSION and location is not None and location.kind == "file"
    credentials.save(SESSION)  # the next save (e.g. a refresh) lands in the keyring
    assert not (tmp_path / "credentials.json").exists()
    assert credentials.load()[1].kind == "keyring"  # type: ignore[union-attr]


def test_the_keyring_choice_is_remembered_for_a_day(carctl_home: Path) -> None:
    """Detection imports every keyring backend; the answer is kept for a day, then asked again."""
    import json as json_module
    import re

    # keyring chooses, as on an owner's machine, and never reaches a real one here
    env = {k: v for k, v in os.environ.items() if k != "PYTHON_KEYRING_BACKEND"}
    env["DBUS_SESSION_BUS_ADDRESS"] = "unix:path=/nonexistent"

    def backends_imported() -> set[str]:
        run = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "carctl", "api", "/api/1/vehicles"],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )
        assert run.returncode == 77, run.stderr[-2000:]  # not signed in: the answer, not a hang
        return set(re.findall(r"\|\s+(keyring\.backends\.\w+)\s*$", run.stderr, re.MULTILINE))

    memory = carctl_home / "state" / "keyring-backend.json"
    first = backends_imported()
    assert len(first) >= 2, first  # keyring looked at every backend it knows
    remembered = json_module.loads(memory.read_text())
    assert abs(remembered["at"] - time.time()) < 60
    kept = remembered["backend"]
    allowed = {kept.rsplit(".", 1)[0]} if kept else set()
    second = backends_imported()
    assert second <= allowed and len(second) < len(first), (second, first)  # the day's answer
    remembered["at"] = time.time() - 24 * 3600 - 1  # a day later
    memory.write_text(json_module.dumps(remembered))
    third = backends_imported()
    assert len(third) >= 2, third  # asked again
    assert json_module.loads(memory.read_text())["at"] > remembered["at"] + 3600
    status = subprocess.run(
        [sys.executable, "-m", "carctl", "auth", "status"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert status.returncode == 77 and "not signed in" in status.stderr  # and it still answers
