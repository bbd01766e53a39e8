"""carctl in a real pseudo-terminal, 80 columns wide, as an owner sees it."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import time
from dataclasses import dataclass


@dataclass
class Screen:
    code: int
    raw: str  # every byte written to the terminal, escape sequences included


def run_in_terminal(
    *args: str, env: dict[str, str] | None = None, columns: int = 80, timeout: float = 60
) -> Screen:
    """Run `python -m carctl ARGS` with stdin, stdout and stderr on one pseudo-terminal."""
    main, child = pty.openpty()
    fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    full_env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": str(columns), **(env or {})}
    full_env.pop("NO_COLOR", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "carctl", *args],
        stdin=child,
        stdout=child,
        stderr=child,
        env=full_env,
        close_fds=True,
        start_new_session=True,
    )
    os.close(child)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([main], [], [], 0.1)
            if ready:
                try:
                    data = os.read(main, 65536)
                except OSError:  # the child side closed
                    break
                if not data:
                    break
                chunks.append(data)
            elif process.poll() is not None:
                break
        code = process.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        os.close(main)
        if process.poll() is None:
            process.kill()
    return Screen(code, b"".join(chunks).decode("utf-8", errors="replace"))
