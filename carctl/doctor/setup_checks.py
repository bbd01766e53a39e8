"""Checks of this computer: carctl itself, its config and state, the credential store, the
session. A failure here is the owner's setup to fix, and the verdict says so first."""

from __future__ import annotations

import os
import platform
import shutil
from pathlib import Path
from typing import Any

from carctl import __version__
from carctl.doctor import verdict as judges
from carctl.doctor.model import FAIL, PASS, REGISTRY, SKIP, WARN, Doctor, Finding, in_thread
from carctl.errors import AuthError, CarctlError

FREE_SPACE_WARN = 50 * 1024 * 1024
FREE_SPACE_FAIL = 5 * 1024 * 1024


@REGISTRY.check("versions", "carctl and Python", order=10, judge=judges.setup_attention)
def versions(doc: Doctor) -> Finding:
    detail = (
        f"carctl {__version__}, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()} ({platform.machine()})"
    )
    return Finding(PASS, detail, facts={"carctl": __version__, "python": platform.python_version()})


@REGISTRY.check("config", "config and directories", order=20, judge=judges.setup_attention)
def config(doc: Doctor) -> Finding:
    path = doc.paths.config_file
    settings = doc.stack.settings  # a config that cannot be read fails here, with its reason
    endpoint = doc.stack.endpoint
    notes = []
    for directory in (doc.paths.config_dir, doc.paths.state_dir, doc.paths.log_dir):
        problem = _cannot_write(directory)
        if problem is not None:
            return Finding(
                FAIL,
                f"carctl cannot write to {problem}",
                "carctl keeps its config, state and log there: make it writable "
                f"(chmod u+w {directory}), or set CARCTL_HOME to a directory you can write",
            )
    where = doc.paths.state_dir if doc.paths.state_dir.exists() else doc.paths.state_dir.parent
    while not where.exists() and where != where.parent:
        where = where.parent
    free = shutil.disk_usage(where).free
    if free < FREE_SPACE_FAIL:
        return Finding(
            FAIL,
            f"only {free // 1024} KiB free for {doc.paths.state_dir}",
            "free some disk space: the queue cannot be written",
        )
    if free < FREE_SPACE_WARN:
        notes.append(f"only {free // 1024 // 1024} MiB free")
    exposed = _loose_modes(doc)
    if exposed:
        return Finding(
            WARN,
            "readable by other users: " + ", ".join(f"{p} ({mode})" for p, mode in exposed),
            "make them private: "
            + "; ".join(f"chmod {700 if p.is_dir() else 600} {p}" for p, _ in exposed[:4]),
        )
    exists = "" if path.exists() else " (no config file: defaults)"
    provider = endpoint.provider
    api = provider.describe() if provider is not None else settings.api_url
    detail = f"profile {settings.profile}, api {api}{exists}; state in {doc.paths.state_dir}" + (
        f"; {', '.join(notes)}" if notes else ""
    )
    return Finding(WARN if notes else PASS, detail, "free some disk space" if notes else "")


def _cannot_write(directory: Path) -> str | None:
    """Try it: a real file in `directory` (or its nearest existing parent), then gone.

    Permission bits alone do not tell (root ignores them; a read-only mount does not).
    """
    import tempfile

    where = directory
    while not where.exists() and where != where.parent:
        where = where.parent
    try:
        fd, name = tempfile.mkstemp(dir=where, prefix=".carctl-doctor-")
    except OSError as exc:
        return f"{where}: {(exc.strerror or str(exc)).lower()}"
    os.close(fd)
    Path(name).unlink(missing_ok=True)
    return None


def _loose_modes(doc: Doctor) -> list[tuple[Path, str]]:
    """carctl's directories and files that others may read (they hold positions and tokens)."""
    from carctl.files import loose

    paths = doc.paths
    candidates = [paths.config_dir, paths.state_dir, paths.log_dir]
    candidates += [paths.config_file, paths.state_db, paths.log_file]
    candidates += [paths.state_dir / "credentials.json"]
    found = []
    for candidate in candidates:
        mode = loose(candidate)
        if mode is not None:
            found.append((candidate, mode))
    return found


@REGISTRY.check(
    "state", "state database", order=30, needs=("config",), judge=judges.setup_attention
)
def state(doc: Doctor) -> Finding:
    """The state file is consistent, and carctl can read every row it will need."""
    path = doc.paths.state_db
    if not path.exists():
        return Finding(PASS, f"{path} does not exist yet (it is created on first use)")
    verdict, problems = in_thread(lambda: _inspect_state(doc), 8.0)
    if verdict != "ok":
        return Finding(
            FAIL,
            f"{path} is damaged: {verdict}",
            f"move it aside (mv {path} {path}.broken); carctl starts a new one",
        )
    if problems:
        unreadable = [p for p in problems if p.startswith("queue entry #")]
        ids = [p.split("#", 1)[1].split(":", 1)[0] for p in unreadable]
        remedy = "; ".join(f"carctl queue cancel {i}" for i in ids[:5]) if ids else ""
        return Finding(
            WARN,
            f"{path} was changed outside carctl: " + "; ".join(problems[:6]),
            (remedy + " drops the unreadable entries; the others are kept")
            if remedy
            else "carctl repaired it on use; nothing queued was lost",
        )
    return Finding(PASS, f"{path} is readable and consistent")


def _inspect_state(doc: Doctor) -> tuple[str, list[str]]:
    """`quick_check`, then what carctl would find unreadable: tables, columns, rows."""
    from carctl.delivery.breaker import unreadable_health
    from carctl.state import inspect

    verdict, damage = inspect(doc.paths.state_db)
    if verdict != "ok":
        return verdict, []
    problems = [f"{item} was missing (restored, empty)" for item in damage]
    db = doc.stack.db.connection()  # restores what was missing, as every carctl run does
    names = [c[1] for c in db.execute("PRAGMA table_info(api_health)")]
    for row in db.execute("SELECT * FROM api_health"):
        values = dict(zip(names, row, strict=True))
        reason = unreadable_health(values)
        if reason is not None:
            problems.append(
                f"the breaker row for {values['origin']} is unreadable ({reason}; it starts afresh)"
            )
    problems += [f"queue entry {p}" for p in doc.stack.queue.unreadable()]
    return verdict, problems


@REGISTRY.check(
    "credentials",
    "credential store",
    order=40,
    needs=("config",),
    timeout_s=15,
    judge=judges.setup_attention,
)
def credentials(doc: Doctor) -> Finding:
    from carctl.api.connect import credentials_for
    from carctl.api.credentials import ENV_ACCESS, ENV_REFRESH

    assert doc.settings is not None and doc.endpoint is not None
    settings, endpoint = doc.settings, doc.endpoint
    warnings: list[str] = []
    try:
        store = in_thread(
            lambda: credentials_for(
                settings, doc.paths, doc.env, endpoint, warn=warnings.append, fresh=True
            ),
            12.0,
        )
    except AuthError as exc:
        if doc.env.get(ENV_ACCESS) or doc.env.get(ENV_REFRESH):
            return Finding(WARN, f"{exc.message}; the session comes from the environment")
        return Finding(FAIL, exc.message, exc.hint or "")
    location = store.primary.location
    facts = {"credentials": store}
    if location.kind == "file":
        path = store.fallback_file.path
        mode = f"{path.stat().st_mode & 0o777:o}" if path.exists() else "not written yet"
        if path.exists() and path.stat().st_mode & 0o077:
            return Finding(
                FAIL,
                f"{path} is readable by other users (mode {mode})",
                f"chmod 600 {path}, then sign in again to replace the session",
                facts,
            )
        return Finding(
            WARN,
            f"no keyring: {store.primary_note}; the session is kept in {path} (mode {mode})",
            "install or unlock a keyring (e.g. gnome-keyring) to keep the session encrypted",
            facts,
        )
    try:  # a keyring that is locked, or waits for a dialog, must show up here
        in_thread(lambda: store.primary.load(store.entry), 12.0)
    except AuthError as exc:
        return Finding(FAIL, f"keyring {location.detail}: {exc.message}", exc.hint or "", facts)
    secure = "secure" if location.secure else "not encrypted (a plaintext backend)"
    return Finding(
        PASS if location.secure else WARN,
        f"keyring {location.detail}, {secure}",
        "" if location.secure else "use an encrypted keyring backend",
        facts,
    )


@REGISTRY.check(
    "session",
    "session",
    order=60,
    needs=("credentials",),
    timeout_s=20,
    judge=judges.not_signed_in,
)
def session(doc: Doctor) -> Finding:
    from carctl.api.connect import login_command
    from carctl.api.credentials import ENV_ACCESS
    from carctl.api.oauth import load_session

    assert doc.settings is not None and doc.endpoint is not None
    store = doc.fact("credentials", "credentials")
    current, location = in_thread(lambda: load_session(store, doc.env), 12.0)
    login = login_command(doc.settings.profile)
    if current is None and doc.results.get("network", None) and not doc.passed("network"):
        return Finding(
            SKIP,
            f"could not check: no session is kept for {doc.endpoint.label} (sessions are kept "
            "per address) and that address does not answer",
            "check the address first (carctl config get api_url)",
            {"signed_in": None},
        )
    if current is None:
        return Finding(
            FAIL, f"not signed in to {doc.endpoint.label}", f"run `{login}`", {"signed_in": False}
        )
    facts: dict[str, Any] = {"signed_in": True, "account": current.account}
    expiry = ""
    if current.expires_at is not None:
        left = current.expires_at - doc.clock.now()
        expiry = (
            f", access token valid for {left / 60:.0f} min"
            if left > 0
            else ", access token expired (renewed on use)"
        )
    where = location.describe() if location else "?"
    detail = f"signed in as {current.account or 'an unknown account'} ({where}){expiry}"
    if doc.offline or doc.env.get(ENV_ACCESS) or not current.refresh_token:
        return Finding(PASS, detail, facts=facts)
    try:
        _renew(doc)
    except AuthError as exc:
        facts["signed_in"] = False
        return Finding(
            FAIL, f"{detail}; renewing it failed: {exc.message}", f"run `{login}`", facts
        )
    except CarctlError as exc:
        return Finding(
            WARN, f"{detail}; could not check renewal: {exc.message}", "see the next checks", facts
        )
    return Finding(PASS, f"{detail}; renewal works", facts=facts)


def _renew(doc: Doctor) -> None:
    with doc.client() as client:
        client.renew_session()
