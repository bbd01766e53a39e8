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
import os
import stat
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

from carctl.errors import AuthError, StateError
from carctl.files import read_private, write_private
from carctl.logs import remember_secrets

log = logging.getLogger("carctl.credentials")

SERVICE = "carctl"
KEYRING_TIMEOUT_S = 5.0
FILE_NAME = "credentials.json"
ENV_ACCESS = "CARCTL_TOKEN"
ENV_REFRESH = "CARCTL_REFRESH_TOKEN"

T = TypeVar("T")
Warn = Callable[[str], None]


@dataclass
class Session:
    """A signed-in session. Tokens are kept out of repr on purpose."""

    account: str | None
    access_token: str | None = field(default=None, repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    expires_at: float | None = None  # by this computer's clock: receipt time + expires_in
    obtained_at: float | None = None
    env_seed: str | None = None  # digest of the CARCTL_REFRESH_TOKEN this chain grew from
    # the owner's application's secret, when it has one: kept with the session, in the
    # credential store only, for the next browser sign-in
    client_secret: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        # every token this process holds is redacted from what it prints and stores
        remember_secrets(self.access_token, self.refresh_token, self.client_secret)

    def to_json(self) -> dict[str, Any]:
        return {
            "account": self.account,
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "expires_at": self.expires_at,
            "obtained_at": self.obtained_at,
            "env_seed": self.env_seed,
            **({"client_secret": self.client_secret} if self.client_secret else {}),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Session:
        def text(key: str) -> str | None:
            value = data.get(key)
            return value if isinstance(value, str) and value else None

        def number(key: str) -> float | None:
            value = data.get(key)
            return float(value) if isinstance(value, int | float) else None

        return cls(
            account=text("account"),
            access_token=text("access_token"),
            refresh_token=text("refresh_token"),
            expires_at=number("expires_at"),
            obtained_at=number("obtained_at"),
            env_seed=text("env_seed"),
            client_secret=text("client_secret"),
        )


def entry_name(profile: str, origin: str) -> str:
    """One credential entry per profile and API origin: `default@https://host`."""
    return f"{profile}@{origin}"


@dataclass(frozen=True)
class Location:
    """Where a session is kept, for `auth status` and doctor. Never the token."""

    kind: str  # keyring | file | env
    detail: str  # backend name, file path, or variable name
    secure: bool

    def describe(self) -> str:
        if self.kind == "keyring":
            return f"keyring ({self.detail})"
        if self.kind == "file":
            return f"file {self.detail} (not a keyring: protected only by its mode, 600)"
        return f"environment variable {self.detail}"

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "detail": self.detail, "secure": self.secure}


class Store(Protocol):
    location: Location

    def load(self, entry: str) -> Session | None: ...

    def save(self, entry: str, session: Session) -> None: ...

    def delete(self, entry: str) -> bool: ...

    def load_text(self, entry: str) -> str | None: ...

    def save_text(self, entry: str, text: str) -> None: ...


# -- the keyring ----------------------------------------------------------------


class KeyringTimeout(AuthError):
    """The keyring did not answer in time (locked, or waiting for a dialog)."""


def bounded(call: Callable[[], T], timeout: float, what: str) -> T:
    """Run a keyring call in a daemon thread and give up after `timeout` seconds."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = call()
        except BaseException as exc:  # handed back to the caller below
            box["error"] = exc

    thread = threading.Thread(target=target, name=f"keyring-{what}", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise KeyringTimeout(
            f"the keyring did not answer within {timeout:g} s ({what})",
            hint="it may be locked and waiting for a password dialog; unlock it, or run "
            "where it is available",
        )
    if "error" in box:
        raise box["error"]
    return box["value"]  # type: ignore[no-any-return]


def _backend_name(backend: Any) -> str:
    name = getattr(backend, "name", None)
    if isinstance(name, str) and name:
        return name
    return f"{type(backend).__module__}.{type(backend).__name__}"


class DeferredBackend:
    """The day's keyring backend, known by name, imported only when a session is read or kept.

    Importing a backend can cost tens of milliseconds (Secret Service brings
    D-Bus and cryptography), and most runs never need it: the token is in the
    environment, or the session is in the file. Its name and priority come
    from the remembered detection, so where a session would be kept is known
    without importing anything.
    """

    def __init__(self, path: str, *, name: str, priority: float) -> None:
        self.path = path  # module.Class, as keyring's load_keyring takes it
        self.name = name
        self.priority = priority
        self._loaded: Any = None

    def _backend(self) -> Any:
        if self._loaded is None:
            try:
                import keyring.core

                self._loaded = keyring.core.load_keyring(self.path)
            except Exception as exc:  # gone since it was detected: uninstalled, broken
                raise AuthError(
                    f"the keyring backend {self.name} no longer loads: {type(exc).__name__}",
                    hint="`carctl auth login` looks for a keyring again",
                ) from None
        return self._loaded

    def get_password(self, service: str, username: str) -> str | None:
        return self._backend().get_password(service, username)  # type: ignore[no-any-return]

    def set_password(self, service: str, username: str, password: str) -> None:
        self._backend().set_password(service, username, password)

    def delete_password(self, service: str, username: str) -> None:
        self._backend().delete_password(service, username)


def usable_backend(backend: Any) -> bool:
    """False for keyring's "fail" and "null" backends and for an empty chain."""
    if isinstance(backend, DeferredBackend):
        return True  # it was usable when detected today
    from keyring.backends import chainer, fail, null

    if isinstance(backend, fail.Keyring | null.Keyring):
        return False
    if isinstance(backend, chainer.ChainerBackend):
        return bool(backend.backends)
    try:
        return float(backend.priority) > 0
    except Exception:
        return True


def _priority(backend: Any) -> float:
    try:
        return float(backend.priority)
    except Exception:
        return 1.0


class KeyringStore:
    def __init__(self, backend: Any, *, timeout: float | None = None) -> None:
        self.backend = backend
        self.timeout = KEYRING_TIMEOUT_S if timeout is None else timeout
        name = _backend_name(backend)
        # keyrings.alt's plaintext backends announce themselves with a low priority
        try:
            secure = float(backend.priority) >= 1
        except Exception:
            secure = True
        self.location = Location("keyring", name, secure)

    def _call(self, what: str, call: Callable[[], T]) -> T:
        from keyring.errors import KeyringError

        try:
            return bounded(call, self.timeout, what)
        except KeyringError as exc:
            raise AuthError(
                f"the keyring ({self.location.detail}) refused to {what}: {type(exc).__name__}",
                hint="unlock the keyring and try again",
            ) from None

    def load(self, entry: str) -> Session | None:
        raw = self._call("read the session", lambda: self.backend.get_password(SERVICE, entry))
        return _parse(raw, f"keyring entry {SERVICE}/{entry}")

    def save(self, entry: str, session: Session) -> None:
        text = json.dumps(session.to_json())
        self._call("store the session", lambda: self.backend.set_password(SERVICE, entry, text))

    def load_text(self, entry: str) -> str | None:
        """A secret that is not a session (the signing key), as stored."""
        raw = self._call("read the key", lambda: self.backend.get_password(SERVICE, entry))
        return raw if isinstance(raw, str) else None

    def save_text(self, entry: str, text: str) -> None:
        self._call("store the key", lambda: self.backend.set_password(SERVICE, entry, text))

    def delete(self, entry: str) -> bool:
        from keyring.errors import PasswordDeleteError

        def remove() -> bool:
            try:
                self.backend.delete_password(SERVICE, entry)
            except PasswordDeleteError:
                return False
            return True

        return self._call("delete the session", remove)


def _parse(raw: str | None, where: str) -> Session | None:
    if not raw:
        return None
    try:
        data = json.loads(raw)
    except ValueError:
        return None  # not ours, or damaged: treated as signed out, login overwrites it
    return Session.from_json(data) if isinstance(data, dict) else None


# -- the file fallback ------------------------------------------------------------


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


# -- choosing ----------------------------------------------------------------------


@dataclass
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


DETECTION_FILE = "keyring-backend.json"
DETECTION_TTL_S = 24 * 3600.0


def _detect(state_dir: Path, timeout: float, *, fresh: bool) -> tuple[Any, str | None]:
    """The keyring backend, or why there is none.

    Asking `keyring` to choose imports every backend it knows (tens of
    milliseconds, and most of carctl's start-up), so the choice is remembered
    for a day in the state directory and reused: the next run imports not
    even `keyring` until a session is read from or kept in it (`DeferredBackend`).
    """
    import sys
    import time

    core = sys.modules.get("keyring.core")
    configured = os.environ.get("PYTHON_KEYRING_BACKEND") or (
        core is not None and getattr(core, "_keyring_backend", None) is not None
    )
    path = state_dir / DETECTION_FILE
    if not fresh and not configured:
        try:
            cached = json.loads(read_private(path))
            fresh_enough = 0 <= time.time() - float(cached["at"]) < DETECTION_TTL_S
        except (OSError, ValueError, KeyError, TypeError, StateError):
            cached, fresh_enough = None, False
        if cached is not None and fresh_enough:
            if not cached.get("backend"):
                return None, str(cached.get("reason") or "no usable keyring backend")
            chosen = str(cached["backend"])
            name, priority = cached.get("name"), cached.get("priority")
            return DeferredBackend(
                chosen,
                name=name if isinstance(name, str) and name else chosen,
                priority=float(priority) if isinstance(priority, int | float) else 1.0,
            ), None
    import keyring

    backend = bounded(keyring.get_keyring, timeout, "find a keyring backend")
    usable = usable_backend(backend)
    reason = (
        None if usable else f"no usable keyring backend (keyring chose {_backend_name(backend)})"
    )
    if not configured:
        record = {
            "backend": f"{type(backend).__module__}.{type(backend).__name__}" if usable else None,
            "name": _backend_name(backend) if usable else None,
            "priority": _priority(backend) if usable else None,
            "reason": reason,
            "at": time.time(),
        }
        try:
            write_private(path, json.dumps(record))
        except (OSError, StateError) as exc:  # only an optimisation; a planted link is refused
            log.warning("not remembering the keyring backend: %s", getattr(exc, "message", exc))
    return (backend if usable else None), reason


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
    timeout = KEYRING_TIMEOUT_S if timeout is None else timeout
    file_store = FileStore(state_dir / FILE_NAME, warn=warn)
    entry = entry_name(profile, origin)
    reason: str | None = None
    if backend is None:
        try:
            backend, reason = _detect(state_dir, timeout, fresh=fresh)
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
        reason = f"no usable keyring backend (keyring chose {_backend_name(backend)})"
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
