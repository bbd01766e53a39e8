"""The OS keyring as a session store: every call bounded by a timeout (a locked keyring
that waits for a password dialog nobody will see must not hang a cron job), and which
backend serves, detected once a day and remembered."""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from carctl.api.sessions import SERVICE, Location, Session, parse_session
from carctl.errors import AuthError, StateError
from carctl.files import read_private, write_private

log = logging.getLogger("carctl.credentials")
T = TypeVar("T")
KEYRING_TIMEOUT_S = 5.0


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


def backend_name(backend: Any) -> str:
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
        name = backend_name(backend)
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
        return parse_session(raw, f"keyring entry {SERVICE}/{entry}")

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


DETECTION_FILE = "keyring-backend.json"


DETECTION_TTL_S = 24 * 3600.0


def detect(state_dir: Path, timeout: float, *, fresh: bool) -> tuple[Any, str | None]:
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
        None if usable else f"no usable keyring backend (keyring chose {backend_name(backend)})"
    )
    if not configured:
        record = {
            "backend": f"{type(backend).__module__}.{type(backend).__name__}" if usable else None,
            "name": backend_name(backend) if usable else None,
            "priority": _priority(backend) if usable else None,
            "reason": reason,
            "at": time.time(),
        }
        try:
            write_private(path, json.dumps(record))
        except (OSError, StateError) as exc:  # only an optimisation; a planted link is refused
            log.warning("not remembering the keyring backend: %s", getattr(exc, "message", exc))
    return (backend if usable else None), reason
