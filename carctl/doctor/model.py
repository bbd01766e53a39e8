"""What a doctor run is made of: checks, their results, and the facts they share."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from carctl.api.connect import Endpoint
    from carctl.clock import Clock
    from carctl.paths import Paths
    from carctl.settings import Settings
    from carctl.stack import Stack

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
    """Everything the checks may use: the run's stack, and the results so far."""

    stack: Stack
    offline: bool
    results: dict[str, Result] = field(default_factory=dict)

    @property
    def paths(self) -> Paths:
        return self.stack.paths

    @property
    def env(self) -> Mapping[str, str]:
        return self.stack.env

    @property
    def clock(self) -> Clock:
        return self.stack.clock

    @property
    def insecure(self) -> bool:
        return self.stack.insecure

    @property
    def settings(self) -> Settings | None:
        """The profile's settings; None when they cannot be read (the config check says why)."""
        from carctl.errors import CarctlError

        try:
            return self.stack.settings
        except CarctlError:
            return None

    @property
    def endpoint(self) -> Endpoint | None:
        from carctl.errors import CarctlError

        try:
            return self.stack.endpoint
        except CarctlError:
            return None

    def fact(self, check: str, key: str, default: Any = None) -> Any:
        result = self.results.get(check)
        return result.facts.get(key, default) if result else default

    def passed(self, check: str) -> bool:
        result = self.results.get(check)
        return result is not None and result.status in (PASS, WARN)


Run = Callable[[Doctor], Finding]


@dataclass(frozen=True)
class Check:
    id: str
    title: str
    run: Run
    order: int = 0  # where it runs and is listed
    needs: tuple[str, ...] = ()  # checks that must have passed (or warned) first
    network: bool = False  # skipped with --offline
    timeout_s: float = 10.0
    # whether the check means anything for this profile: one that does not is left out of
    # the report (signed commands, on an API that is not the Fleet API), not "skipped"
    applies: Callable[[Doctor], bool] | None = None


class Registry:
    """Every doctor check, in order: the one list that running, --list and completion read.

    A check is added with the `check` decorator where it is written; a new
    check touches no other file.
    """

    def __init__(self, checks: list[Check] | None = None) -> None:
        self._checks = sorted(checks or [], key=lambda c: c.order)

    def check(
        self,
        id: str,
        title: str,
        *,
        order: int,
        needs: tuple[str, ...] = (),
        network: bool = False,
        timeout_s: float = 10.0,
        applies: Callable[[Doctor], bool] | None = None,
    ) -> Callable[[Run], Run]:
        def add(run: Run) -> Run:
            unknown = [need for need in needs if need not in self.ids()]
            if unknown or id in self.ids():
                raise ValueError(f"doctor check {id!r}: unknown needs {unknown} or a second {id!r}")
            self._checks = sorted(
                [
                    *self._checks,
                    Check(id, title, run, order, needs, network, timeout_s, applies),
                ],
                key=lambda c: c.order,
            )
            return run

        return add

    def __iter__(self) -> Iterator[Check]:
        return iter(list(self._checks))

    def ids(self) -> list[str]:
        return [c.id for c in self._checks]

    def get(self, check_id: str) -> Check:
        return next(c for c in self._checks if c.id == check_id)

    def with_run(self, check_id: str, run: Run) -> Registry:
        """A copy with one check's work replaced, and made to apply (tests: a check that
        crashes, wherever it would run)."""
        return Registry(
            [replace(c, run=run, applies=None) if c.id == check_id else c for c in self._checks]
        )
