"""What Tab offers from carctl's own state, and the fast path that answers before click loads.

Completion runs on every Tab, so it must be instant and silent: it reads the
config file and the state database read-only, never calls the network, never
touches the keyring, never prints to stderr, and gives up quietly on any error.

The shells' scripts (click's) run `carctl` with `_CARCTL_COMPLETE` set. Most of
that process's time went to importing click and carctl's command tree just to
learn that the word after `--vehicle` is a car's name. `answer` recognises the
few completions that read carctl's state — a car's name, a profile, a queue ID,
a schedule ID — from the words alone, and prints them in the format of click's
own scripts; anything else (a command, an option, a word it is not sure of) it
leaves to click (`carctl.cli.complete`), which calls the same readers below.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

Offer = tuple[str, str | None]  # what is inserted, and the help a shell may show beside it

# Global options: flags, and the ones that take a value (their completions are ours).
FLAGS = frozenset({"--json", "-q", "--quiet", "-v", "--verbose", "--insecure", "--no-queue"})
FLAGS = FLAGS | {"--no-worker", "-vv", "-vvv"}
VALUED = frozenset({"--vehicle", "--profile"})
SHELLS = {"bash_complete": "bash", "zsh_complete": "zsh", "fish_complete": "fish"}


def _read_only(path: Path) -> sqlite3.Connection | None:
    if not path.exists():
        return None
    from carctl.opendb import sqlite

    return sqlite(f"file:{path}?mode=ro", uri=True, timeout=0.05)


def _state_db(env: Mapping[str, str]) -> Path:
    from carctl.paths import resolve_paths

    return resolve_paths(env).state_db


def profiles(env: Mapping[str, str], incomplete: str) -> list[Offer]:
    import tomllib  # only here: a car name, the common completion, needs no config

    from carctl.paths import resolve_paths

    try:
        data = tomllib.loads(resolve_paths(env).config_file.read_text(encoding="utf-8"))
        names = {"default", *data.get("profiles", {})}
    except Exception:
        names = {"default"}
    return [(n, None) for n in sorted(names) if n.startswith(incomplete)]


def _cached(env: Mapping[str, str], profile: str, columns: str, where: str = "") -> list[Any]:
    """Rows of the profile's vehicle cache (any API it has used), read-only."""
    db = _read_only(_state_db(env))
    if db is None:
        return []
    with db:
        rows = db.execute(
            f"SELECT {columns} FROM vehicle_cache WHERE scope LIKE ?{where}"  # noqa: S608
            " ORDER BY display_name",
            (profile + "@%",),
        ).fetchall()
    db.close()
    return rows


def vehicles(env: Mapping[str, str], profile: str, incomplete: str) -> list[Offer]:
    """Names from the vehicle cache of the profile, matched by name or VIN."""
    try:
        rows = _cached(env, profile, "DISTINCT display_name, vin")
    except Exception:
        return []
    wanted = incomplete.replace("\\ ", " ").casefold()
    return [
        (_for_shell(name, env), vin)
        for name, vin in rows
        if name.casefold().startswith(wanted) or vin.casefold().startswith(wanted)
    ]


def _for_shell(name: str, env: Mapping[str, str]) -> str:
    """bash inserts completions as typed: a space must be escaped to stay in one word.

    Two backslashes, because click's bash script reads each line with `read`
    (without -r), which takes one of them away.
    """
    if env.get("_CARCTL_COMPLETE", "").startswith("bash"):
        return name.replace(" ", "\\\\ ")
    return name


def queue_ids(env: Mapping[str, str], incomplete: str, *, pending_only: bool) -> list[Offer]:
    """Pending entries (for `cancel`); every recent one for `show`, `retry`, `wait`."""
    try:
        db = _read_only(_state_db(env))
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
        (str(i), f"{command} for {car} ({status})")
        for i, command, car, status in rows
        if str(i).startswith(incomplete)
    ]


def schedule_ids(env: Mapping[str, str], profile: str, incomplete: str) -> list[Offer]:
    """The schedules the cars held when carctl last read them (`carctl schedule`)."""
    import json

    from carctl.vehicle.schedules import clock_text, days_text

    try:
        rows = _cached(env, profile, "display_name, snapshot", " AND snapshot IS NOT NULL")
        offers: list[Offer] = []
        for name, snapshot in rows:
            section = json.loads(snapshot).get("preconditioning_schedule_data") or {}
            for held in section.get("precondition_schedules") or []:
                days = days_text(int(held["days_of_week"]))
                what = f"{days} {clock_text(int(held['precondition_time']))}"
                if str(held["id"]).startswith(incomplete):
                    offers.append((str(held["id"]), f"{name}: {what}"))
        return offers
    except Exception:
        return []


# -- the fast path -------------------------------------------------------------------------


def answer(env: Mapping[str, str], write: Callable[[str], object]) -> bool:
    """Print the completions for this Tab if they come from carctl's state; False: ask click."""
    shell = SHELLS.get(env.get("_CARCTL_COMPLETE", ""))
    if shell is None:
        return False
    try:
        args, incomplete = _words(shell, env)
        offers = _offers(env, args, incomplete)
    except Exception:
        return False  # click decides, and says nothing either
    if offers is None:
        return False
    write("\n".join(_format(shell, value, help_) for value, help_ in offers) + "\n")
    return True


def _words(shell: str, env: Mapping[str, str]) -> tuple[list[str], str]:
    """The complete words before the cursor and the one being typed, as click reads them."""
    words = _split(env["COMP_WORDS"])
    if shell == "fish":
        typed = env["COMP_CWORD"]
        incomplete = _split(typed)[0] if typed else ""
        args = words[1:]
        if incomplete and args and args[-1] == incomplete:
            args.pop()
        return args, incomplete
    at = int(env["COMP_CWORD"])
    return words[1:at], (words[at] if at < len(words) else "")


def _split(text: str) -> list[str]:
    """shlex, forgiving an unfinished quote or escape (click's `split_arg_string`)."""
    import shlex

    lex = shlex.shlex(text, posix=True)
    lex.whitespace_split = True
    lex.commenters = ""
    out: list[str] = []
    try:
        out.extend(lex)
    except ValueError:
        out.append(lex.token)
    return out


def _offers(env: Mapping[str, str], args: list[str], incomplete: str) -> list[Offer] | None:
    if incomplete.startswith("-") or any("=" in a and a.startswith("--") for a in args):
        return None  # an option's name, or the `--opt=value` form: click's to answer
    profile = env.get("CARCTL_PROFILE") or "default"
    words: list[str] = []
    expecting: str | None = None
    for arg in args:
        if expecting is not None:
            if expecting == "--profile":
                profile = arg
            expecting = None
        elif arg in VALUED:
            expecting = arg
        elif arg in FLAGS:
            continue
        elif arg.startswith("-"):
            return None  # a command's own option: its meaning is in click's tree
        else:
            words.append(arg)
    if expecting == "--vehicle":
        return vehicles(env, profile, incomplete)
    if expecting == "--profile":
        return profiles(env, incomplete)
    return _positional(env, words, profile, incomplete)


def _positional(
    env: Mapping[str, str], words: list[str], profile: str, incomplete: str
) -> list[Offer] | None:
    """`queue cancel|show|retry ID`, `queue wait [ID]...`, `schedule off [ID]...`."""
    head, rest = words[:2], words[2:]
    if head in (["queue", "cancel"], ["queue", "show"], ["queue", "retry"]) and not rest:
        return queue_ids(env, incomplete, pending_only=head[1] == "cancel")
    if head == ["queue", "wait"] and all(w.isdigit() for w in rest):
        return queue_ids(env, incomplete, pending_only=False)
    if head == ["schedule", "off"] and all(w.isdigit() for w in rest):
        return schedule_ids(env, profile, incomplete)
    return None


def _format(shell: str, value: str, help_: str | None) -> str:
    """One completion as click's script for the shell reads it (click.shell_completion)."""
    if shell == "bash":
        return f"plain,{value}"
    if shell == "zsh":
        shown = help_ or "_"
        return f"plain\n{value.replace(':', chr(92) + ':') if shown != '_' else value}\n{shown}"
    if help_:
        return f"plain,{value}\t{help_.replace(chr(10), chr(92) + 'n').replace(chr(9), ' ')}"
    return f"plain,{value}"


def main_fast(env: Mapping[str, str] | None = None) -> bool:
    """The entry point's first question: was this a Tab carctl could answer by itself?"""
    import sys

    return answer(os.environ if env is None else env, sys.stdout.write)
