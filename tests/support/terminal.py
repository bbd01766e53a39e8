"""carctl in a real pseudo-terminal, 80 columns wide, as an owner sees it."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import signal
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

    @property
    def text(self) -> str:
        """What a person reads: colours and cursor moves removed, line ends as newlines."""
        import re

        plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", self.raw)
        return plain.replace("\r\n", "\n")


def run_in_terminal(
    *args: str,
    env: dict[str, str] | None = None,
    columns: int = 80,
    timeout: float = 60,
    answers: list[tuple[str, str]] | None = None,
    interrupt_after: str | None = None,
) -> Screen:
    """Run `python -m carctl ARGS` with stdin, stdout and stderr on one pseudo-terminal.

    `answers` are (prompt, reply) pairs, typed in order, each once its prompt shows;
    `interrupt_after` presses Ctrl-C (SIGINT to the process group) once that text shows.
    """
    interrupted = False
    pending = list(answers or [])
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
                screen = b"".join(chunks).decode("utf-8", errors="replace")
                while pending and screen.count(pending[0][0]) > _typed(answers, pending):
                    os.write(main, (pending.pop(0)[1] + "\r").encode())
                if interrupt_after and not interrupted and interrupt_after in screen:
                    time.sleep(0.3)  # let it settle where a person would press the keys
                    os.killpg(process.pid, signal.SIGINT)
                    interrupted = True
            elif process.poll() is not None:
                break
        code = process.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        os.close(main)
        if process.poll() is None:
            process.kill()
    if interrupt_after is not None:
        assert interrupted, f"{interrupt_after!r} never showed: {b''.join(chunks)!r}"
    return Screen(code, b"".join(chunks).decode("utf-8", errors="replace"))


def _typed(answers: list[tuple[str, str]] | None, pending: list[tuple[str, str]]) -> int:
    """How often the next prompt was answered already (the same prompt may come twice)."""
    done = (answers or [])[: len(answers or []) - len(pending)]
    return sum(1 for prompt, _ in done if prompt == pending[0][0])
