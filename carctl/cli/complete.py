"""Dynamic shell completion: car names, profiles, queue IDs, doctor checks.

Completion runs on every Tab, so it must be instant and silent: it reads the
config file and the vehicle cache read-only, never calls the network, never
touches the keyring, never prints to stderr, and gives up quietly on any error.
"""

from __future__ import annotations

import sqlite3
from typing import Any

import click
from click.shell_completion import CompletionItem


def _paths(ctx: click.Context) -> Any:
    from carctl.paths import resolve_paths

    return resolve_paths()


def _profile(ctx: click.Context) -> str:
    import os

    root = ctx.find_root()
    return str(root.params.get("profile") or os.environ.get("CARCTL_PROFILE") or "default")


def _read_only(path: Any) -> sqlite3.Connection | None:
    if not path.exists():
        return None
    from carctl.opendb import sqlite

    return sqlite(f"file:{path}?mode=ro", uri=True, timeout=0.05)


def profiles(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    import tomllib  # only here: a car name, the common completion, needs no config

    try:
        data = tomllib.loads(_paths(ctx).config_file.read_text(encoding="utf-8"))
        names = {"default", *data.get("profiles", {})}
    except Exception:
        names = {"default"}
    return [CompletionItem(n) for n in sorted(names) if n.startswith(incomplete)]


def _cached(ctx: click.Context, columns: str, where: str = "") -> list[Any]:
    """Rows of the active profile's vehicle cache (any API it has used), read-only."""
    db = _read_only(_paths(ctx).state_db)
    if db is None:
        return []
    with db:
        rows = db.execute(
            f"SELECT {columns} FROM vehicle_cache WHERE scope LIKE ?{where}"  # noqa: S608
            " ORDER BY display_name",
            (_profile(ctx) + "@%",),
        ).fetchall()
    db.close()
    return rows


def vehicles(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """Names from the vehicle cache of the active profile (any API it has used)."""
    try:
        rows = _cached(ctx, "DISTINCT display_name, vin")
    except Exception:
        return []
    wanted = incomplete.replace("\\ ", " ").casefold()
    return [
        CompletionItem(_for_shell(name), help=vin)
        for name, vin in rows
        if name.casefold().startswith(wanted) or vin.casefold().startswith(wanted)
    ]


def _for_shell(name: str) -> str:
    """bash inserts completions as typed: a space must be escaped to stay in one word.

    Two backslashes, because click's bash script reads each line with `read`
    (without -r), which takes one of them away.
    """
    import os

    if os.environ.get("_CARCTL_COMPLETE", "").startswith("bash"):
        return name.replace(" ", "\\\\ ")
    return name


def queue_ids(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """Pending entries (for `cancel`); every recent one for `show`."""
    pending_only = ctx.info_name == "cancel"
    try:
        db = _read_only(_paths(ctx).state_db)
        if db is None:
            return []
        where = "WHERE status = 'pending'" if pending_only else ""
        with db:
            rows = db.execute(
                f"SELECT id, command, vehicle_name, status FROM queue {where}"  # noqa: S608
                " ORDER BY id DESC LIMIT 50"
            ).fetchall()
        db.close()
    except Exception:
        return []
    return [
        CompletionItem(str(i), help=f"{command} for {car} ({status})")
        for i, command, car, status in rows
        if str(i).startswith(incomplete)
    ]


def doctor_checks(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    from carctl.doctor.checks import REGISTRY

    return [CompletionItem(name) for name in REGISTRY.ids() if name.startswith(incomplete)]


DAY_WORDS = ("weekdays", "weekends", "all", "mon", "tue", "wed", "thu", "fri", "sat", "sun")


def schedule_days(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """`--days`: a word, or days one after another (`mon,wed,`)."""
    head, comma, last = incomplete.rpartition(",")
    prefix = head + comma
    words = DAY_WORDS[3:] if comma else DAY_WORDS
    return [CompletionItem(prefix + word) for word in words if word.startswith(last.lower())]


def schedule_ids(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """The schedules the cars held when carctl last read them (`carctl schedule`)."""
    import json

    from carctl.vehicle.schedules import clock_text, days_text

    try:
        rows = _cached(ctx, "display_name, snapshot", " AND snapshot IS NOT NULL")
        items = []
        for name, snapshot in rows:
            section = json.loads(snapshot).get("preconditioning_schedule_data") or {}
            for held in section.get("precondition_schedules") or []:
                days = days_text(int(held["days_of_week"]))
                what = f"{days} {clock_text(int(held['precondition_time']))}"
                if str(held["id"]).startswith(incomplete):
                    items.append(CompletionItem(str(held["id"]), help=f"{name}: {what}"))
        return items
    except Exception:
        return []
