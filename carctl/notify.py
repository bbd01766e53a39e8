"""Desktop notifications: the owner learns a queued command arrived without asking.

`notify-send` on Linux desktops, `osascript` on macOS. With the setting
`notify = auto` (the default) nothing is attempted outside a graphical
session; `always` tries whenever a notifier is installed (a worker under
systemd may reach the desktop's bus without DISPLAY); `never` is off. A
missing, failing or hanging notifier is logged and never affects delivery.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from typing import Any

log = logging.getLogger("carctl.notify")
TIMEOUT_S = 5.0

Run = Callable[..., Any]


def graphical(env: Mapping[str, str], platform: str) -> bool:
    """Is there a desktop to show a notification on?"""
    if platform == "darwin":
        return not (env.get("SSH_CONNECTION") or env.get("SSH_TTY"))
    return bool(env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"))


def command(title: str, body: str, env: Mapping[str, str], platform: str) -> list[str] | None:
    """The notifier's argv (no shell; title and body are arguments, never code)."""
    path = env.get("PATH")
    if platform == "darwin":
        found = shutil.which("osascript", path=path)
        if not found:
            return None
        script = [
            "on run argv",
            "display notification (item 2 of argv) with title (item 1 of argv)",
            "end run",
        ]
        return [found, *(part for line in script for part in ("-e", line)), title, body]
    found = shutil.which("notify-send", path=path)
    if not found:
        return None
    # notification servers read a little markup in the body: a car's name is not markup
    safe = body.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return [found, "--app-name=carctl", title, safe]


def notify(
    title: str,
    body: str,
    *,
    mode: str,
    env: Mapping[str, str],
    platform: str = sys.platform,
    run: Run = subprocess.run,
) -> str:
    """Show a notification if the setting and the session allow; what happened, in words."""
    if mode == "never":
        return "off"
    if mode == "auto" and not graphical(env, platform):
        return "no graphical session"
    argv = command(title, body, env, platform)
    if argv is None:
        return "no notifier installed"
    try:
        done = run(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=dict(env),
            timeout=TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        log.warning("notification not shown: %s", exc)
        return f"failed: {exc}"
    if done.returncode != 0:
        log.warning("notification not shown: %s exited %s", argv[0], done.returncode)
        return f"failed: exit {done.returncode}"
    return "sent"
