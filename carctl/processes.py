"""Which process holds something, told apart from a later process that got the same pid.

A queue lease names its holder by pid *and* identity: the boot id, the PID
namespace and the process's start time (from /proc). A pid that exists but
started at another time, or in another boot, is a different process: the
holder is gone. A holder in another PID namespace (a container, or the host
seen from one) cannot be judged by its pid at all: `alive` says so (None) and
the queue then goes by the lease's own time. Where the system does not show
start times, liveness falls back to the pid alone.
"""

from __future__ import annotations

import os
import time
from functools import cache
from pathlib import Path

from carctl.records import record


@record(frozen=True)
class Holder:
    pid: int
    identity: str | None  # "boot-id:pid-namespace:start-ticks"; None where the system cannot tell


@cache
def boot_id() -> str:
    """This boot's id ("" where unknown): monotonic time only compares within one boot."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def start_ticks(pid: int) -> str | None:
    """When `pid` started, in clock ticks since boot (field 22 of /proc/PID/stat)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # the command name (field 2) may hold spaces and parentheses: split after its last ')'
    fields = stat[stat.rfind(")") + 2 :].split()
    return fields[19] if len(fields) > 19 else None


def since_boot() -> float:
    """Seconds since boot, suspend included where the system counts it (Linux's
    CLOCK_BOOTTIME): what confirms that wall-clock time really passed."""
    try:
        return time.clock_gettime(time.CLOCK_BOOTTIME)
    except (AttributeError, OSError):
        return time.monotonic()


@cache
def pid_namespace() -> str:
    """This process's PID namespace (its inode), "" where unknown: pids mean something
    only within one namespace."""
    try:
        return str(Path("/proc/self/ns/pid").stat().st_ino)
    except OSError:
        return ""


def identity_of(pid: int) -> str | None:
    started = start_ticks(pid)
    return f"{boot_id()}:{pid_namespace()}:{started}" if started is not None else None


def this_process() -> Holder:
    return Holder(os.getpid(), identity_of(os.getpid()))


def pid_exists(pid: int) -> bool:
    if pid <= 0:
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def alive(pid: int | None, identity: str | None) -> bool | None:
    """Is the process that took a lease (pid and identity) still running?

    None: it cannot be told from here — the holder's pid belongs to another PID
    namespace (or another boot's record without one), where this process's
    view of that pid is of another process, or of none.
    """
    if pid is None:
        return False
    if identity is not None:
        parts = identity.split(":")
        if len(parts) == 3 and parts[0] == boot_id() and parts[1] != pid_namespace():
            return None
    if not pid_exists(pid):
        return False
    if identity is None:
        return True  # no identity was recorded: the pid is all there is to go by
    current = identity_of(pid)
    if current is not None and identity.count(":") == 1:  # recorded before namespaces were
        boot, _, started = current.split(":")
        current = f"{boot}:{started}"
    return current is None or current == identity
