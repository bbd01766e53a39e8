"""Which process holds something, told apart from a later process that got the same pid.

A queue lease names its holder by pid *and* identity: the boot id and the
process's start time (from /proc). A pid that exists but started at another
time, or in another boot, is a different process: the holder is gone. Where
the system does not show start times, liveness falls back to the pid alone.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path


@dataclass(frozen=True)
class Holder:
    pid: int
    identity: str | None  # "boot-id:start-ticks"; None where the system cannot tell


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


def identity_of(pid: int) -> str | None:
    started = start_ticks(pid)
    return f"{boot_id()}:{started}" if started is not None else None


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


def alive(pid: int | None, identity: str | None) -> bool:
    """Is the process that took a lease (pid and identity) still running?"""
    if pid is None or not pid_exists(pid):
        return False
    if identity is None:
        return True  # no identity was recorded: the pid is all there is to go by
    current = identity_of(pid)
    return current is None or current == identity
