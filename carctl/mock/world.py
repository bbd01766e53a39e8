"""The whole simulated world of one mock: fleet, accounts, tokens, faults, stats.

A world is plain data that round-trips through JSON, which is how the built-in
endpoint keeps it in carctl's state database between runs. Everything in it is
bounded (stats, idempotency records, token history) so it cannot grow without
limit however long it lives.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from carctl.mock import billing
from carctl.mock.accounts import Account, TokenBook, password_digest
from carctl.mock.car import SimVehicle
from carctl.mock.faults import FaultPlan, FaultRule
from carctl.mock.seed import Seed, Settings

KEEP_COMMANDS = 1000
KEEP_IDEMPOTENCY = 2000
RATE_WINDOW = 60.0


def iso(moment: float) -> str:
    return (
        datetime.fromtimestamp(moment, UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )


@dataclass
class Stats:
    """What `GET /__mock__/stats` shows: traffic, executed commands, executions per key."""

    requests: dict[str, int] = field(default_factory=dict)  # "METHOD path status" -> n
    commands: list[dict[str, Any]] = field(default_factory=list)
    executions: dict[str, int] = field(default_factory=dict)
    # executed commands by path: verified signed (or via the signing proxy) and plain REST
    by_path: dict[str, int] = field(default_factory=lambda: {"signed": 0, "unsigned": 0})
    # what Tesla would bill: {account: {month: {category: [calls, billed]}}} (fleet flavours)
    billing: dict[str, Any] = field(default_factory=dict)
    # what the streams sent: {"connections": n, "updates": n, "errors": n} (carctl.mock.streaming)
    streamed: dict[str, int] = field(default_factory=dict)

    def record_stream(self, kind: str) -> None:
        self.streamed[kind] = self.streamed.get(kind, 0) + 1

    def record_request(self, method: str, path: str, status: int) -> None:
        key = f"{method} {path} {status}"
        self.requests[key] = self.requests.get(key, 0) + 1

    def record_command(self, entry: dict[str, Any]) -> None:
        self.commands.append(entry)
        del self.commands[:-KEEP_COMMANDS]
        kind = "signed" if entry.get("signed") else "unsigned"
        self.by_path[kind] = self.by_path.get(kind, 0) + 1
        key = entry.get("idempotency_key")
        if key:
            self.executions[key] = self.executions.get(key, 0) + 1
            while len(self.executions) > KEEP_IDEMPOTENCY:
                del self.executions[next(iter(self.executions))]

    def to_json(self) -> dict[str, Any]:
        rows = []
        for key, count in self.requests.items():
            method, path, status = key.split(" ", 2)
            rows.append({"method": method, "path": path, "status": int(status), "count": count})
        return {
            "requests": rows,
            "commands": list(self.commands),
            "executions": dict(self.executions),
            "executed": dict(self.by_path),
            "billing": billing.to_json(self.billing),
            "streamed": dict(self.streamed),
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "commands": self.commands,
            "executions": self.executions,
            "by_path": self.by_path,
            "billing": self.billing,
            "streamed": self.streamed,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Stats:
        return cls(
            requests=dict(data.get("requests", {})),
            commands=list(data.get("commands", [])),
            executions=dict(data.get("executions", {})),
            by_path=dict(data.get("by_path", {"signed": 0, "unsigned": 0})),
            billing=dict(data.get("billing", {})),
            streamed=dict(data.get("streamed", {})),
        )


@dataclass
class World:
    seed_source: str
    settings: Settings
    accounts: dict[str, Account]
    vehicles: list[SimVehicle]
    tokens: TokenBook
    plan: FaultPlan
    stats: Stats
    idempotency: dict[str, dict[str, Any]]
    rate_log: dict[str, list[float]]
    clock_offset: float
    started_at: float
    partners: dict[str, dict[str, Any]] = field(default_factory=dict)  # domain: registration
    invitations: dict[str, dict[str, Any]] = field(default_factory=dict)  # id_s: invitation
    telemetry: dict[str, dict[str, Any]] = field(default_factory=dict)  # VIN: Fleet Telemetry

    @classmethod
    def from_seed(cls, seed: Seed, *, now: float) -> World:
        s = seed.settings
        return cls(
            seed_source=seed.source,
            settings=s,
            accounts={
                a.email: Account(
                    email=a.email,
                    password_hash=password_digest(a.email, a.password),
                    full_name=a.full_name,
                    user_id=100_000 + i,
                )
                for i, a in enumerate(seed.accounts)
            },
            vehicles=[
                SimVehicle.from_seed(v, now=now, wake_delay=s.wake_delay, idle_sleep=s.idle_sleep)
                for v in seed.vehicles
            ],
            tokens=TokenBook(),
            plan=FaultPlan(),
            stats=Stats(),
            idempotency={},
            rate_log={},
            clock_offset=0.0,
            started_at=now,
        )

    def reset(self, seed: Seed, *, now: float) -> None:
        """Restore the seed: cars, accounts, tokens, stats. The fault plan and clock stay."""
        fresh = World.from_seed(seed, now=now)
        fresh.plan, fresh.clock_offset, fresh.started_at = (
            self.plan,
            self.clock_offset,
            self.started_at,
        )
        self.__dict__.update(fresh.__dict__)

    # -- persistence ----------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

        return {
            "seed_source": self.seed_source,
            "settings": asdict(self.settings),
            "accounts": {k: asdict(v) for k, v in self.accounts.items()},
            "vehicles": [v.to_dict() for v in self.vehicles],
            "tokens": self.tokens.to_dict(),
            "plan": [r.to_dict() for r in self.plan.rules],
            "stats": self.stats.to_dict(),
            "idempotency": self.idempotency,
            "rate_log": self.rate_log,
            "clock_offset": self.clock_offset,
            "started_at": self.started_at,
            "partners": self.partners,
            "invitations": self.invitations,
            "telemetry": self.telemetry,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> World:
        from carctl.mock.seed import RateLimits

        settings = dict(data["settings"])
        settings["rate_limits"] = RateLimits(**settings["rate_limits"])
        return cls(
            seed_source=data["seed_source"],
            settings=Settings(**settings),
            accounts={k: Account(**v) for k, v in data["accounts"].items()},
            vehicles=[SimVehicle.from_dict(v) for v in data["vehicles"]],
            tokens=TokenBook.from_dict(data["tokens"]),
            plan=FaultPlan([FaultRule.from_dict(r) for r in data["plan"]]),
            stats=Stats.from_dict(data["stats"]),
            idempotency=dict(data["idempotency"]),
            rate_log={k: list(v) for k, v in data["rate_log"].items()},
            clock_offset=float(data["clock_offset"]),
            started_at=float(data["started_at"]),
            partners={k: dict(v) for k, v in data.get("partners", {}).items()},
            invitations={k: dict(v) for k, v in data.get("invitations", {}).items()},
            telemetry={k: dict(v) for k, v in data.get("telemetry", {}).items()},
        )

    # -- helpers used by the handlers ------------------------------------------

    def remember_response(self, key: str, record: dict[str, Any]) -> None:
        self.idempotency[key] = record
        while len(self.idempotency) > KEEP_IDEMPOTENCY:
            del self.idempotency[next(iter(self.idempotency))]

    def take_rate_slot(self, vehicle_id: str, kind: str, limit: int, now: float) -> float | None:
        """Count one request of `kind`; return seconds to wait if over the limit."""
        key = f"{vehicle_id}:{kind}"
        window = deque(t for t in self.rate_log.get(key, []) if now - RATE_WINDOW < t <= now)
        if len(window) >= limit:
            self.rate_log[key] = list(window)
            return max(1.0, window[0] + RATE_WINDOW - now)
        window.append(now)
        self.rate_log[key] = list(window)
        return None

    def rate_remaining(self, vehicle_id: str, kind: str, limit: int) -> int:
        return max(0, limit - len(self.rate_log.get(f"{vehicle_id}:{kind}", [])))
