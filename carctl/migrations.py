"""The state database's schema: numbered migrations, each run once, in order.

A migration is never edited after it has shipped: a state file made by any
earlier carctl is brought up to date by running the ones it has not seen.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

Migration = Callable[[sqlite3.Connection], None]


def _m1_request_log(db: sqlite3.Connection) -> None:
    db.execute(
        """CREATE TABLE request_log (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            at REAL NOT NULL,
            origin TEXT NOT NULL,
            method TEXT NOT NULL,
            path TEXT NOT NULL,
            status INTEGER,
            duration_ms INTEGER NOT NULL,
            txid TEXT,
            outcome TEXT NOT NULL,
            error TEXT
        )"""
    )
    db.execute("CREATE INDEX request_log_origin_at ON request_log (origin, at)")


def _m2_vehicle_cache(db: sqlite3.Connection) -> None:
    db.execute(
        """CREATE TABLE vehicle_cache (
            scope TEXT NOT NULL,  -- profile@origin: whose list of cars this is
            id TEXT NOT NULL,
            vin TEXT NOT NULL,
            display_name TEXT NOT NULL,
            state TEXT NOT NULL,
            seen_at REAL NOT NULL,
            snapshot TEXT,
            snapshot_at REAL,
            PRIMARY KEY (scope, id)
        )"""
    )


def _m3_api_health(db: sqlite3.Connection) -> None:
    """Retry budget, breaker and Retry-After deadline per API origin, shared by processes."""
    db.execute(
        """CREATE TABLE api_health (
            origin TEXT PRIMARY KEY,
            tokens REAL NOT NULL,
            tokens_at REAL NOT NULL,
            failures INTEGER NOT NULL DEFAULT 0,
            first_failure_at REAL,
            last_failure_at REAL,
            last_failure TEXT,
            state TEXT NOT NULL DEFAULT 'closed',
            opened_at REAL,
            open_until REAL,
            cooldown REAL,
            probe_until REAL,
            retry_after_until REAL
        )"""
    )


def _m4_queue(db: sqlite3.Connection) -> None:
    db.execute(
        """CREATE TABLE queue (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            scope TEXT NOT NULL,
            origin TEXT NOT NULL,
            vehicle_id TEXT NOT NULL,
            vehicle_name TEXT NOT NULL,
            command TEXT NOT NULL,
            params TEXT NOT NULL,
            slot TEXT NOT NULL,
            idempotency_key TEXT NOT NULL UNIQUE,
            batch TEXT NOT NULL,
            created_at REAL NOT NULL,
            expires_at REAL NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at REAL NOT NULL,
            lease_owner INTEGER,
            lease_until REAL,
            status TEXT NOT NULL,
            last_status INTEGER,
            last_txid TEXT,
            last_error TEXT,
            finished_at REAL
        )"""
    )
    db.execute("CREATE INDEX queue_pending ON queue (status, scope, vehicle_id, id)")


def _m5_leases_and_trusted_time(db: sqlite3.Connection) -> None:
    """Leases name their holder's process identity; the highest time seen, for expiry."""
    db.execute("ALTER TABLE queue ADD COLUMN lease_identity TEXT")
    db.execute("ALTER TABLE queue ADD COLUMN sending_at REAL")
    db.execute(
        """CREATE TABLE clock_high (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            wall REAL NOT NULL,   -- the highest time recorded (seconds since the epoch)
            mono REAL NOT NULL,   -- time.monotonic() at that moment
            boot TEXT NOT NULL    -- the boot it was read in: monotonic time is per boot
        )"""
    )


def _m6_looked(db: sqlite3.Connection) -> None:
    """When the owner last saw the queue's outcomes, so each is told once."""
    db.execute(
        """CREATE TABLE looked (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            at REAL NOT NULL      -- outcomes finished after this are news
        )"""
    )


def _m7_queue_api_url(db: sqlite3.Connection) -> None:
    """The queue keeps the address to deliver to; its name now says so (it is no origin)."""
    db.execute("ALTER TABLE queue RENAME COLUMN origin TO api_url")


def _m8_schema_checked(db: sqlite3.Connection) -> None:
    """The schema version last found whole, so that a run checks it only after a change."""
    db.execute(
        """CREATE TABLE schema_checked (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            version INTEGER NOT NULL  -- PRAGMA schema_version when last checked
        )"""
    )


def _m9_vehicle_signing(db: sqlite3.Connection) -> None:
    """Whether a car takes only signed commands (its listing's `command_signing`), so a
    command that would be refused is stopped before it is sent, and doctor can warn."""
    db.execute("ALTER TABLE vehicle_cache ADD COLUMN command_signing TEXT")


def _m10_queue_failed_at(db: sqlite3.Connection) -> None:
    """When a queued entry last failed (or was held back): `carctl queue` shows the newest
    failure of an outage, not its first."""
    db.execute("ALTER TABLE queue ADD COLUMN failed_at REAL")


def _m11_signing_sessions(db: sqlite3.Connection) -> None:
    """Signed-command sessions, one per key, car and domain: a morning script reuses
    yesterday's handshake, and two processes never sign with the same counter."""
    db.execute(
        """CREATE TABLE signing_sessions (
            key_id TEXT NOT NULL,        -- the client key's fingerprint
            vin TEXT NOT NULL,
            domain INTEGER NOT NULL,     -- 2 vehicle security, 3 infotainment
            vehicle_key BLOB NOT NULL,   -- the domain's public key
            epoch BLOB NOT NULL,
            counter INTEGER NOT NULL,    -- the highest counter used or seen in this epoch
            clock_offset REAL NOT NULL,  -- local wall time minus the domain's clock
            updated_at REAL NOT NULL,
            PRIMARY KEY (key_id, vin, domain)
        )"""
    )


def _m12_usage_ledger(db: sqlite3.Connection) -> None:
    """Every call to a paid vehicle API, by Tesla's billing category: `carctl usage`, the
    monthly cap, and the per-minute limits kept before the service has to refuse."""
    db.execute(
        """CREATE TABLE usage_ledger (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            account TEXT NOT NULL,   -- profile@provider: whose bill it is
            at REAL NOT NULL,
            month TEXT NOT NULL,     -- YYYY-MM, UTC, as Tesla bills
            category TEXT NOT NULL,  -- data | command | wake | signal
            name TEXT NOT NULL,      -- the command or endpoint, for the owner
            vehicle TEXT,
            status INTEGER,          -- NULL: no answer
            billed INTEGER NOT NULL  -- 1: an answer below 500
        )"""
    )
    db.execute("CREATE INDEX usage_ledger_month ON usage_ledger (account, month)")
    db.execute("CREATE INDEX usage_ledger_recent ON usage_ledger (account, vehicle, category, at)")
    db.execute(
        """CREATE TABLE usage_warned (
            account TEXT NOT NULL,
            day TEXT NOT NULL,       -- YYYY-MM-DD, UTC: the 80 % warning is given once a day
            PRIMARY KEY (account, day)
        )"""
    )


def _m13_queue_history(db: sqlite3.Connection) -> None:
    """Years of mornings: expiry finds its few rows by time, pruning its old ones by age."""
    db.execute("CREATE INDEX queue_expiry ON queue (status, expires_at)")
    db.execute("CREATE INDEX queue_finished ON queue (finished_at) WHERE status != 'pending'")


MIGRATIONS: list[Migration] = [
    _m1_request_log,
    _m2_vehicle_cache,
    _m3_api_health,
    _m4_queue,
    _m5_leases_and_trusted_time,
    _m6_looked,
    _m7_queue_api_url,
    _m8_schema_checked,
    _m9_vehicle_signing,
    _m10_queue_failed_at,
    _m11_signing_sessions,
    _m12_usage_ledger,
    _m13_queue_history,
]
