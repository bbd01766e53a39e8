"""The state database (`state.db`): one SQLite file, one connection per process.

It holds the request log, the queue, the retry budget and breaker, the
vehicle cache, the usage ledger and the signing sessions; each of those stores
is handed the process's one `StateDB` by the stack. The built-in endpoint keeps
its simulated world in the same file, in its own table. Connections use WAL and
a busy timeout, so several carctl processes share the file without ever showing
the user "database is locked". The schema is in `carctl.migrations`.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import TypeVar

from carctl.errors import StateError
from carctl.files import (
    check_not_link,
    disk_full_error,
    keep_reserve,
    make_private,
    private_dir,
    release_reserve,
)
from carctl.migrations import MIGRATIONS
from carctl.opendb import sqlite

BUSY_TIMEOUT_S = 15.0
log = logging.getLogger("carctl.state")
_SCHEMA_CHECKED: dict[Path, int] = {}
_READ_ONLY: set[Path] = set()  # state files opened read-only in this process

T = TypeVar("T")


class StateDB:
    """The state database of one process, shared by every store the stack builds.

    One connection per thread that uses it (SQLite connections are not for
    sharing between threads; doctor's checks run in one of their own), opened
    on first use, so a run that never touches the state never opens the file.
    Whoever built it closes it, once, at the end of the run.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._opened: dict[int, sqlite3.Connection] = {}

    def connection(self) -> sqlite3.Connection:
        """This thread's connection (opening, creating and migrating the file if needed);
        a `StateError` when the file cannot be used."""
        me = threading.get_ident()
        db = self._opened.get(me)
        if db is None:
            db = connect(self.path)
            with self._lock:
                self._opened[me] = db
        return db

    def transaction(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """`work` in one write transaction (see `immediate`)."""
        return immediate(self.connection(), self.path, work)

    def close(self) -> None:
        with self._lock:
            opened, self._opened = list(self._opened.values()), {}
        for db in opened:
            db.close()


def busy_timeout() -> float:
    """How long to wait for another process's write; read at call time so tests can shorten it."""
    return BUSY_TIMEOUT_S


def recovery_hint(path: Path, error: str = "") -> str:
    """What to do, by what went wrong: never advise moving a healthy file aside."""
    lowered = error.lower()
    if "locked" in lowered or "busy" in lowered:
        return "another program holds it: stop the other carctl process and try again"
    if "full" in lowered or "disk i/o" in lowered or "no space" in lowered:
        return (
            f"the disk is full or failing: free some space (df -h {path.parent}) and try "
            "again; queued commands are kept"
        )
    if "readonly" in lowered or "read-only" in lowered or "permission" in lowered:
        return f"carctl cannot write there: check the permissions of {path.parent}"
    return (
        f"if the file is damaged, move it aside (mv {path} {path}.broken) and carctl "
        "starts a new one; if it is locked, stop the other carctl process"
    )


def unusable(path: Path, exc: sqlite3.Error) -> StateError:
    """A database error as the one-line message users get (locked, damaged, full disk)."""
    lowered = str(exc).lower()
    if path in _READ_ONLY or "readonly" in lowered or "read-only" in lowered:
        from carctl.files import cannot_write

        return cannot_write(path.parent, "it is read-only, and this command must record state")
    if _full(exc):
        return disk_full_error(path.parent, failing="I/O" in str(exc))
    return StateError(f"cannot use {path}: {exc}", hint=recovery_hint(path, str(exc)))


def immediate(db: sqlite3.Connection, path: Path, work: Callable[[sqlite3.Connection], T]) -> T:
    """Run `work` in one BEGIN IMMEDIATE transaction: all of it, or none of it.

    Database errors become the one-line `StateError`; a constraint violation
    (`IntegrityError`) is the caller's to handle and passes through. On a full
    disk the reserve beside the database is given up and the work tried once
    more — the outcome of a command already sent must not be lost, nor may the
    entry go back to "pending" — and then it is exit 73 naming the directory.
    """
    while True:
        try:
            return _immediate(db, path, work)
        except sqlite3.OperationalError as exc:
            if not _full(exc):
                raise unusable(path, exc) from None
            if not release_reserve():  # none left to give: say so
                raise disk_full_error(path.parent, failing="I/O" in str(exc)) from None


def _full(exc: sqlite3.Error) -> bool:
    """No room to grow: SQLITE_FULL, or an I/O error while the disk has no space."""
    text = str(exc)
    return "database or disk is full" in text or "disk I/O error" in text


def _rollback(db: sqlite3.Connection) -> None:
    """Undo what is open: SQLite has already rolled back a COMMIT that failed on a full disk."""
    if db.in_transaction:
        db.execute("ROLLBACK")


def _immediate(db: sqlite3.Connection, path: Path, work: Callable[[sqlite3.Connection], T]) -> T:
    db.execute("BEGIN IMMEDIATE")
    try:
        result = work(db)
        db.execute("COMMIT")
    except sqlite3.IntegrityError:
        _rollback(db)
        raise
    except sqlite3.OperationalError:
        _rollback(db)
        raise
    except sqlite3.Error as exc:
        _rollback(db)
        raise unusable(path, exc) from None
    except BaseException:
        _rollback(db)
        raise
    return result


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


def connect(path: Path, *, reserve_given: bool = False) -> sqlite3.Connection:
    """Open (creating and migrating as needed) the state database.

    On a full disk the reserve is given up for one more try (see `immediate`)."""
    try:
        private_dir(path.parent)
        check_not_link(path)
        db = sqlite(path, timeout=busy_timeout(), isolation_level=None, check_same_thread=False)
        db.text_factory = _text  # a byte flipped on disk is a wrong character, not a crash
    except (OSError, sqlite3.Error) as exc:
        raise StateError(f"cannot open {path}: {exc}", hint=recovery_hint(path, str(exc))) from None
    if not os.access(path.parent, os.W_OK) or _read_only_probe(db):
        db.close()
        return _read_only(path)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        _migrate(db, path)
        (version,) = db.execute("PRAGMA schema_version").fetchone()
        if version not in (_SCHEMA_CHECKED.get(path), _checked_version(db)):
            restored = restore_schema(db, path)
            if restored:
                log.warning("%s was changed outside carctl; restored %s", path, ", ".join(restored))
            (_SCHEMA_CHECKED[path],) = db.execute("PRAGMA schema_version").fetchone()
            db.execute(
                "INSERT OR REPLACE INTO schema_checked (id, version) VALUES (1, ?)",
                (_SCHEMA_CHECKED[path],),
            )
        for own in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            make_private(own)  # the car's position and the queue are the owner's alone
        keep_reserve(path.parent)
    except sqlite3.DatabaseError as exc:
        db.close()
        if _full(exc):
            if not reserve_given and release_reserve():
                return connect(path, reserve_given=True)
            raise unusable(path, exc) from None
        raise StateError(f"cannot use {path}: {exc}", hint=recovery_hint(path, str(exc))) from None
    except UnicodeDecodeError:
        # SQLite names the damaged schema text in its message, and Python cannot decode
        # that message: the file is as damaged as any "malformed" one
        db.close()
        message = "database disk image is malformed (its damaged text is not even UTF-8)"
        raise StateError(
            f"cannot use {path}: {message}", hint=recovery_hint(path, message)
        ) from None
    except StateError:
        db.close()
        raise
    return db


def inspect(path: Path) -> tuple[str, list[str]]:
    """SQLite's `quick_check` of the file as it is ("ok", or what is wrong), and what its
    schema lacks, before anything is restored: for doctor."""
    try:
        raw = sqlite(path)
        try:
            (verdict,) = raw.execute("PRAGMA quick_check").fetchone()
            return str(verdict), schema_damage(raw) if verdict == "ok" else []
        finally:
            raw.close()
    except sqlite3.DatabaseError as exc:  # not a database at all, or locked
        return str(exc), []
    except UnicodeDecodeError:  # SQLite's message quotes damaged bytes Python cannot decode
        return "database disk image is malformed (its damaged text is not even UTF-8)", []


def _checked_version(db: sqlite3.Connection) -> int | None:
    """The schema version found whole by the last check, by any process.

    SQLite changes `schema_version` with every change to the schema, so an
    equal number means nothing was changed by hand since: comparing the whole
    schema with the migrations' (a few milliseconds) is needed only then.
    """
    try:
        row = db.execute("SELECT version FROM schema_checked WHERE id = 1").fetchone()
    except sqlite3.Error:
        return None  # the table itself is gone: the check restores it
    return int(row[0]) if row and isinstance(row[0], int) else None


@cache
def reference_schema() -> dict[str, tuple[str, dict[str, str]]]:
    """Each table's CREATE statement and columns, as the migrations make them."""
    db = sqlite(":memory:", isolation_level=None)
    try:
        for migration in MIGRATIONS:
            migration(db)
        tables = db.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        ).fetchall()
        return {
            name: (sql, {c[1]: c[2] for c in db.execute(f"PRAGMA table_info({name})")})
            for name, sql in tables
        }
    finally:
        db.close()


def schema_damage(db: sqlite3.Connection) -> list[str]:
    """What a state file lacks compared with carctl's schema ("queue.params", "api_health")."""
    missing = []
    for table, (_, columns) in reference_schema().items():
        have = {c[1] for c in db.execute(f"PRAGMA table_info({table})")}
        if not have:
            missing.append(table)
            continue
        missing += [f"{table}.{column}" for column in columns if column not in have]
    return missing


def restore_schema(db: sqlite3.Connection, path: Path) -> list[str]:
    """Put back tables and columns removed from the file by hand; rows are kept.

    A restored column is empty (NULL): rows that need it become unreadable
    rows, which the readers report one by one, and every other row stays.
    """
    damage = schema_damage(db)
    if not damage:
        return []
    schema = reference_schema()

    def work(db: sqlite3.Connection) -> None:
        for item in damage:
            table, _, column = item.partition(".")
            if not column:
                db.execute(schema[table][0])
            else:
                kind = schema[table][1][column]
                db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")

    immediate(db, path, work)
    return damage


def _read_only_probe(db: sqlite3.Connection) -> bool:
    """True when SQLite cannot write here (a read-only home, or not carctl's user)."""
    try:
        db.execute("PRAGMA user_version").fetchone()
        return False
    except sqlite3.DatabaseError as exc:  # a damaged file is reported by the caller's checks
        return "unable to open" in str(exc) or "readonly" in str(exc)


def _read_only(path: Path) -> sqlite3.Connection:
    """Read what is there without writing: a read-only home still shows the queue.

    Any write through this connection fails, and becomes the exit-73 error.
    """
    from carctl.files import cannot_write

    if not path.exists():
        raise cannot_write(path.parent, "the directory is read-only")
    try:
        db = sqlite(
            f"file:{path}?mode=ro&immutable=1",
            uri=True,
            isolation_level=None,
            check_same_thread=False,
        )
        db.execute("PRAGMA user_version").fetchone()
    except sqlite3.Error as exc:
        raise cannot_write(path.parent, str(exc)) from None
    _READ_ONLY.add(path)
    return db


def _migrate(db: sqlite3.Connection, path: Path) -> None:
    (version,) = db.execute("PRAGMA user_version").fetchone()
    if version >= len(MIGRATIONS):
        return

    def work(db: sqlite3.Connection) -> None:
        (version,) = db.execute("PRAGMA user_version").fetchone()  # another process may have won
        for number, migration in enumerate(MIGRATIONS[version:], start=version + 1):
            migration(db)
            db.execute(f"PRAGMA user_version = {number}")

    immediate(db, path, work)
