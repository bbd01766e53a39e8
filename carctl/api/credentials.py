"""Where a session lives: the environment, the OS keyring, or a 0600 file.

Precedence when reading: `CARCTL_TOKEN` (an access token) and
`CARCTL_REFRESH_TOKEN` from the environment, then the OS keyring (service
`carctl`, one entry per profile and API origin), then — only where no usable
keyring backend exists — `credentials.json` in the state directory, mode 0600,
written atomically. `auth.require_keyring = true` refuses that file.

Every keyring call runs in a daemon thread bounded by a timeout (5 s): a locked
keyring that waits for a password dialog nobody will see must not hang a cron
job. A session's repr never shows a token, so a stray log line or traceback
cannot leak one.
"""

from __future__ import annotations

import json
import logging
import stat
from collections.abc import Callable, Mapping
from dataclasses import field
from pathlib import Path
from typing import Any, TypeVar

from carctl.api import keyring_store
from carctl.api.keyring_store import (
    KeyringStore,
    KeyringTimeout,
    backend_name,
    detect,
    usable_backend,
)
from carctl.api.sessions import Location, Session, Store, entry_name
from carctl.errors import AuthError
from carctl.files import write_private
from carctl.records import record

log = logging.getLogger("carctl.credentials")


FILE_NAME = "credentials.json"
ENV_ACCESS = "CARCTL_TOKEN"
ENV_REFRESH = "CARCTL_REFRESH_TOKEN"
T = TypeVar("T")


Warn = Callable[[str], None]


class FileStore:
    """`credentials.json`, 0600, replaced atomically, one entry per profile and origin."""

    def __init__(self, path: Path, *, warn: Warn | None = None) -> None:
        self.path = path
        self.warn = warn or (lambda _message: None)
        self.location = Location("file", str(path), False)

    def _read(self) -> dict[str, Any]:
        try:
            mode = self.path.stat().st_mode
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise AuthError(f"cannot read {self.path}: {exc.strerror}") from None
        if stat.S_ISDIR(mode):
            raise AuthError(
                f"{self.path} is a directory, not a credentials file",
                hint=f"move it aside (mv {self.path} {self.path}.bak) and sign in again",
            )
        if mode & 0o077:
            self.warn(
                f"{self.path} was readable by other users (mode {stat.S_IMODE(mode):o}); "
                "carctl set it to 600 — if others could log in here, sign in again to "
                "replace the session"
            )
            self.path.chmod(0o600)
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError, UnicodeDecodeError):
            return {}
        entries = data.get("entries") if isinstance(data, dict) else None
        return entries if isinstance(entries, dict) else {}

    def _write(self, entries: Mapping[str, Any]) -> None:
        write_private(self.path, json.dumps({"version": 1, "entries": dict(entries)}))

    def load(self, entry: str) -> Session | None:
        data = self._read().get(entry)
        return Session.from_json(data) if isinstance(data, dict) else None

    def save(self, entry: str, session: Session) -> None:
        entries = self._read()
        entries[entry] = session.to_json()
        self._write(entries)

    def load_text(self, entry: str) -> str | None:
        data = self._read().get(entry)
        return data if isinstance(data, str) else None

    def save_text(self, entry: str, text: str) -> None:
        entries = self._read()
        entries[entry] = text
        self._write(entries)

    def delete(self, entry: str) -> bool:
        entries = self._read()
        if entry not in entries:
            return False
        del entries[entry]
        if entries:
            self._write(entries)
        else:
            self.path.unlink(missing_ok=True)
        return True


@record
class Credentials:
    """The stores of one run, in precedence order, and the entry for this profile+origin."""

    entry: str
    primary: Store  # where a new session is saved
    fallback_file: FileStore  # also read (and cleaned up) so no session is ever orphaned
    env: Mapping[str, str]
    primary_note: str | None = None  # why the primary is the file, when it is
    require_keyring: bool = False
    warn: Warn = field(default=lambda _message: None)

    def stores(self) -> list[Store]:
        if self.primary is self.fallback_file:
            return [self.primary]
        return [self.primary, self.fallback_file]

    def load(self) -> tuple[Session | None, Location | None]:
        """The stored session and where it was found; a hung keyring is skipped, then reported.

        The file is read first: a session is there only when no keyring could
        take it (saving to the keyring removes it from the file), so finding it
        there is the answer, and the keyring is not even loaded.
        """
        stuck: KeyringTimeout | None = None
        for store in reversed(self.stores()):
            try:
                session = store.load(self.entry)
            except KeyringTimeout as exc:
                stuck = exc
                continue
            if session is not None:
                return session, store.location
        if stuck is not None:
            raise stuck
        return None, None

    def save(self, session: Session) -> Location:
        try:
            self.primary.save(self.entry, session)
        except KeyringTimeout as exc:
            if self.require_keyring:
                raise
            self.warn(
                f"{exc.message}; the session is kept in {self.fallback_file.path} (mode 600) "
                "instead"
            )
            self.fallback_file.save(self.entry, session)
            return self.fallback_file.location
        if self.primary is not self.fallback_file:
            # a session kept in the file while no keyring existed moves to the keyring
            self.fallback_file.delete(self.entry)
        return self.primary.location

    def delete(self) -> list[Location]:
        removed = []
        stuck: KeyringTimeout | None = None
        for store in self.stores():
            try:
                if store.delete(self.entry):
                    removed.append(store.location)
            except KeyringTimeout as exc:
                stuck = exc
        if stuck is not None and not removed:
            raise stuck
        return removed


def open_credentials(
    *,
    state_dir: Path,
    profile: str,
    origin: str,
    env: Mapping[str, str],
    require_keyring: bool,
    warn: Warn | None = None,
    backend: Any = None,
    timeout: float | None = None,
    fresh: bool = False,
) -> Credentials:
    """The keyring when one is usable; the 0600 file otherwise, unless that is refused.

    `fresh` re-detects the keyring backend instead of trusting the cached
    answer (sign-in, `auth status` and doctor do).
    """
    timeout = keyring_store.KEYRING_TIMEOUT_S if timeout is None else timeout
    file_store = FileStore(state_dir / FILE_NAME, warn=warn)
    entry = entry_name(profile, origin)
    reason: str | None = None
    if backend is None:
        try:
            backend, reason = detect(state_dir, timeout, fresh=fresh)
        except KeyringTimeout as exc:
            reason = exc.message
        except Exception as exc:
            reason = f"the keyring library failed to start: {type(exc).__name__}: {exc}"
    if backend is not None and reason is None:
        if usable_backend(backend):
            return Credentials(
                entry,
                KeyringStore(backend, timeout=timeout),
                file_store,
                env,
                require_keyring=require_keyring,
                warn=warn or (lambda _message: None),
            )
        reason = f"no usable keyring backend (keyring chose {backend_name(backend)})"
    if require_keyring:
        raise AuthError(
            f"{reason}, and auth.require_keyring is true, so carctl will not keep the "
            "session in a file",
            hint="start or unlock a keyring service (e.g. gnome-keyring or KWallet), or allow "
            "the 0600 file with `carctl config set auth.require_keyring false`, or pass "
            f"tokens in {ENV_ACCESS} / {ENV_REFRESH}",
        )
    return Credentials(
        entry,
        file_store,
        file_store,
        env,
        primary_note=reason,
        warn=warn or (lambda _message: None),
    )
