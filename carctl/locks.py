"""Cross-process locks on files, for work that must happen once at a time.

A token refresh must be single-flight across every carctl process of the user
(a rotated refresh token used twice ends the session), and the looping queue
worker must be single. `flock` is released by the kernel when a process dies,
so a crash never leaves a stale lock behind.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from carctl.errors import StateError
from carctl.files import private_dir

fcntl: Any
try:
    import fcntl
except ImportError:  # Windows: no flock; locks degrade to no-ops there
    fcntl = None

POLL_S = 0.02
WAIT_S = 30.0  # how long to wait for another process before saying so


def _acquire(path: Path, timeout: float) -> int:
    private_dir(path.parent)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    if fcntl is None:
        return fd
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except BlockingIOError:
            if time.monotonic() >= deadline:
                os.close(fd)
                raise StateError(
                    f"another carctl process holds {path} for more than {timeout:g} s",
                    hint="wait for it to finish, or stop it",
                ) from None
            time.sleep(POLL_S)


def _release(fd: int) -> None:
    if fcntl is not None:
        fcntl.flock(fd, fcntl.LOCK_UN)
    os.close(fd)


@contextlib.contextmanager
def unless_held(path: Path) -> Iterator[int | None]:
    """Take the lock only if nobody holds it: its file descriptor, or None when taken.

    For "one at a time, and the second one leaves" (the looping queue worker).
    """
    private_dir(path.parent)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield None
                return
        try:
            yield fd
        finally:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


@contextlib.contextmanager
def held(path: Path, *, timeout: float | None = None) -> Iterator[None]:
    """Hold the lock at `path`, waiting up to `timeout` (default `WAIT_S`) for it."""
    fd = _acquire(path, WAIT_S if timeout is None else timeout)
    try:
        yield
    finally:
        _release(fd)
