"""Keyring backends for tests: real `keyring` backends, never the user's keyring.

- `MemoryKeyring`: the in-memory backend of in-process tests.
- `FileKeyring`: a backend for tests that run carctl as a process; its entries
  live in the JSON file named by TEST_KEYRING_FILE (name it `test-keyring.json`:
  the secrets scan treats it as the store it stands for; select it with
  PYTHON_KEYRING_BACKEND=tests.support.keyrings.FileKeyring).
- `HangingKeyring`: a locked keyring waiting for a dialog nobody answers.
- `LockedKeyring`: a keyring that refuses with `KeyringLocked`.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

from keyring.backend import KeyringBackend
from keyring.errors import KeyringLocked, PasswordDeleteError


class MemoryKeyring(KeyringBackend):
    priority = 10  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.entries.pop((service, username), None) is None:
            raise PasswordDeleteError("no such entry")


class FileKeyring(KeyringBackend):
    priority = 10  # type: ignore[assignment]

    @property
    def path(self) -> Path:
        return Path(os.environ["TEST_KEYRING_FILE"])

    def _read(self) -> dict[str, str]:
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
        return dict(data)

    def get_password(self, service: str, username: str) -> str | None:
        return self._read().get(f"{service}/{username}")

    def set_password(self, service: str, username: str, password: str) -> None:
        data = self._read()
        data[f"{service}/{username}"] = password
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data))
        tmp.replace(self.path)

    def delete_password(self, service: str, username: str) -> None:
        data = self._read()
        if data.pop(f"{service}/{username}", None) is None:
            raise PasswordDeleteError("no such entry")
        self.path.write_text(json.dumps(data))


class HangingKeyring(KeyringBackend):
    priority = 10  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()

    def _wait(self) -> None:
        self.release.wait(30)

    def get_password(self, service: str, username: str) -> str | None:
        self._wait()
        return None

    def set_password(self, service: str, username: str, password: str) -> None:
        self._wait()

    def delete_password(self, service: str, username: str) -> None:
        self._wait()


class LockedKeyring(KeyringBackend):
    priority = 10  # type: ignore[assignment]

    def get_password(self, service: str, username: str) -> str | None:
        raise KeyringLocked("locked")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise KeyringLocked("locked")

    def delete_password(self, service: str, username: str) -> None:
        raise KeyringLocked("locked")


class TrapKeyring(KeyringBackend):
    """Leaves a mark (TEST_KEYRING_TRAP) when touched: for code that must not touch it."""

    priority = 10  # type: ignore[assignment]

    def _mark(self) -> None:
        Path(os.environ["TEST_KEYRING_TRAP"]).write_text("touched")

    def get_password(self, service: str, username: str) -> str | None:
        self._mark()
        return None

    def set_password(self, service: str, username: str, password: str) -> None:
        self._mark()

    def delete_password(self, service: str, username: str) -> None:
        self._mark()
