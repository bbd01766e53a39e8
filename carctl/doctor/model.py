"""What a doctor run is made of: checks, their results, and the facts they share."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from carctl.api.connect import Endpoint
    from carctl.clock import Clock
    from carctl.paths import Paths
    from carctl.settings import Settings

PASS, WARN, FAIL, SKIP = "pass", "warn", "fail", "skip"


@dataclass
class Finding:
    """What one check found. `facts` feed later checks and the verdict, never the screen."""

    status: str
    detail: str
    remediation: str = ""
    facts: dict[str, Any] = field(default_factory=dict)


@dataclass
class Result:
    id: str
    title: str
    status: str
    detail: str
    remediation: str
    duration_ms: int
    facts: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "remediation": self.remediation,
            "duration_ms": self.duration_ms,
        }


@dataclass
class Doctor:
    """Everything the checks may use; filled in as checks pass."""

    paths: Paths
    env: dict[str, str]
    clock: Clock
    profile: str | None
    vehicle: str | None
    offline: bool
    insecure: bool
    settings: Settings | None = None
    endpoint: Endpoint | None = None
    results: dict[str, Result] = field(default_factory=dict)

    def fact(self, check: str, key: str, default: Any = None) -> Any:
        result = self.results.get(check)
        return result.facts.get(key, default) if result else default

    def passed(self, check: str) -> bool:
        result = self.results.get(check)
        return result is not None and result.status in (PASS, WARN)


Run = Callable[[Doctor], Awaitable[Finding]]


@dataclass(frozen=True)
class Check:
    id: str
    title: str
    run: Run
    needs: tuple[str, ...] = ()  # checks that must have passed (or warned) first
    network: bool = False  # skipped with --offline
    timeout_s: float = 10.0
