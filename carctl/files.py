"""carctl's own files: private whatever the umask, replaced atomically, never through a link.

Everything carctl keeps — config, state database, credentials fallback, log,
locks, caches — is the owner's alone: directories carctl creates are 0700 and
files 0600, set explicitly rather than left to the umask. Whole-file writes go
to a temporary file in the same directory and are renamed over the target, so
a crash leaves the old file or the new one, never half of each. A target that
is a symbolic link is refused: someone who can plant a link where carctl
writes must not be able to make carctl overwrite a file of their choosing.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from carctl.errors import CannotWriteError, StateError

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: Path) -> Path:
    """Create `path` and any missing parents as 0700; an existing directory is left as it is."""
    missing: list[Path] = []
    current = path
    while not current.exists():
        if current.is_symlink():  # a dangling link where a directory should be
            raise refused_link(current)
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for directory in reversed(missing):
        try:
            directory.mkdir(mode=DIR_MODE)
        except FileExistsError:
            continue  # another process made it meanwhile
        except OSError as exc:
            if unwritable(exc):
                raise cannot_write(directory.parent, exc) from None
            raise
        directory.chmod(DIR_MODE)  # mkdir's mode is filtered by the umask
    return path


def cannot_write(directory: Path, exc: OSError | str) -> CannotWriteError:
    """The one line for a directory carctl must write to and cannot (exit 73)."""
    reason = exc if isinstance(exc, str) else (exc.strerror or str(exc)).lower()
    return CannotWriteError(
        f"cannot write to {directory}: {reason}",
        hint="carctl keeps its config, state and log there: make it writable "
        f"(chmod u+w {directory}), or set CARCTL_HOME to a directory you can write",
    )


def unwritable(exc: OSError) -> bool:
    import errno

    return exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS)


def disk_full(exc: OSError) -> bool:
    """No space left (or over quota, or over the file-size limit): nothing can grow."""
    import errno

    return exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


# -- the reserve ---------------------------------------------------------------------------
# On a full disk the writes that must not be lost — a rotated session the service has
# already replaced, the outcome of a command already sent — need a little room. carctl
# keeps a small file of zeros beside its state and gives it up for such a write.

RESERVE_NAME = ".space-reserve"
RESERVE_BYTES = 256 * 1024
_reserves: set[Path] = set()


def keep_reserve(directory: Path) -> None:
    """Make sure the reserve exists in `directory` (best effort: a full disk has none)."""
    reserve = directory / RESERVE_NAME
    _reserves.add(reserve)
    if reserve.exists() or reserve.is_symlink():
        return
    try:
        fd = os.open(reserve, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, FILE_MODE)
    except OSError:
        return
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(bytes(RESERVE_BYTES))  # written, so the blocks are really taken
    except OSError:
        reserve.unlink(missing_ok=True)


def release_reserve() -> bool:
    """Give up the reserve for a write that must not fail; True when space was freed."""
    freed = False
    for reserve in list(_reserves):
        try:
            if not reserve.is_symlink() and reserve.is_file():
                reserve.unlink()
                freed = True
        except OSError:
            continue
    return freed


def disk_full_error(directory: Path, *, failing: bool = False) -> CannotWriteError:
    """Exit 73 naming the directory; `failing`: the system said only "I/O error"."""
    return CannotWriteError(
        f"cannot write to {directory}: the disk is full" + (" or failing" if failing else ""),
        hint=f"free some space (df -h {directory}) and run the command again; "
        "queued commands and your session are kept",
    )


def refused_link(path: Path) -> StateError:
    return StateError(
        f"{path} is a symbolic link; carctl does not write through links",
        hint=f"remove the link (rm {path}) if you did not make it, and run the command again",
    )


def check_not_link(path: Path) -> None:
    if path.is_symlink():
        raise refused_link(path)


def write_private(path: Path, content: str | bytes) -> None:
    """Replace `path` with `content` atomically, as a 0600 file; a link at `path` is refused.

    On a full disk the reserve is given up for one more try; then exit 73 naming the
    directory. The old file stays whole until the new one is complete."""
    try:
        _write_private(path, content)
    except OSError as exc:
        if not disk_full(exc):
            raise
        if release_reserve():
            try:
                _write_private(path, content)
                return
            except OSError as again:
                if not disk_full(again):
                    raise
        raise disk_full_error(path.parent) from None


def _write_private(path: Path, content: str | bytes) -> None:
    check_not_link(path)
    private_dir(path.parent)
    data = content.encode("utf-8") if isinstance(content, str) else content
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-", suffix=".tmp")
    except OSError as exc:
        if unwritable(exc):
            raise cannot_write(path.parent, exc) from None
        raise
    try:
        os.fchmod(fd, FILE_MODE)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        check_not_link(path)  # planted while we wrote? os.replace would replace the link itself
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_private(path: Path) -> str:
    """Read one of carctl's files; a link is refused (its target is not carctl's)."""
    check_not_link(path)
    return path.read_text(encoding="utf-8")


def make_private(path: Path) -> None:
    """Tighten a file carctl created through another library (SQLite, logging) to 0600."""
    try:
        if not path.is_symlink() and stat.S_IMODE(path.stat().st_mode) & 0o077:
            path.chmod(FILE_MODE)
    except OSError:
        pass  # it may be gone (a rotated log) or not ours to change; doctor reports modes


def loose(path: Path) -> str | None:
    """ "mode 755" when others may read or enter `path`; None when it is private or absent."""
    try:
        mode = stat.S_IMODE(path.lstat().st_mode)
    except OSError:
        return None
    return f"mode {mode:o}" if mode & 0o077 else None
