"""What a doctor run is made of: checks, their results, the facts they share, the verdict.

The registry is the one list of checks; each check declares what a failure of
it blames (the owner's setup, the network, the service, the car) and, when
the default sentence is not enough, how to say it (`judge`). The verdict reads
those declarations in the checks' order: no check is named anywhere else.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import field, replace
from typing import TYPE_CHECKING, Any, TypeVar

from carctl.records import record

if TYPE_CHECKING:
    from carctl.api.client import ApiClient
    from carctl.api.connect import Endpoint
    from carctl.clock import Clock
    from carctl.paths import Paths
    from carctl.settings import Settings
    from carctl.stack import Stack

PASS, WARN, FAIL, SKIP = "pass", "warn", "fail", "skip"
SETUP, NETWORK, SERVICE, VEHICLE = "setup", "network", "service", "vehicle"
T = TypeVar("T")


@record
class Finding:
    """What one check found. `facts` feed later checks and the verdict, never the screen."""

    status: str
    detail: str
    remediation: str = ""
    facts: dict[str, Any] = field(default_factory=dict)


@record
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


@record
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

    def client(self) -> contextlib.AbstractContextManager[ApiClient]:
        """The API client the checks share: this profile, the store `credentials` found.

        From the stack, without a guard: doctor asks once and never adds retries to an
        outage."""
        return self.stack.client(credentials=self.fact("credentials", "credentials"))


@record(frozen=True)
class Verdict:
    verdict: str  # ok | setup | network | service | vehicle
    evidence: str


def sentence(*parts: str) -> str:
    """Clauses joined into readable sentences: each capitalized, each ended once."""
    done = []
    for part in parts:
        text = part.strip().rstrip(".").strip()
        if text:
            done.append(text[:1].upper() + text[1:] + ".")
    return " ".join(done)


Run = Callable[[Doctor], Finding]
# How a check's result becomes the verdict (None: it has nothing to say); the default says
# "<title>: <detail>. <remediation>." of a failure, blaming what the check declares.
Judge = Callable[[Doctor, "Check", Result], Verdict | None]


@record(frozen=True)
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
    blames: str = SETUP  # what its failure says is at fault: setup, network, service, vehicle
    judge: Judge | None = None  # its words for the verdict, when the default is not enough

    def verdict(self, doc: Doctor, result: Result) -> Verdict | None:
        """What this check's result says of the whole run (None: nothing, so far)."""
        if self.judge is not None:
            return self.judge(doc, self, result)
        if result.status != FAIL:
            return None
        return Verdict(
            self.blames, sentence(f"{result.title}: {result.detail}", result.remediation)
        )


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
        blames: str = SETUP,
        judge: Judge | None = None,
    ) -> Callable[[Run], Run]:
        def add(run: Run) -> Run:
            if id in self.ids():
                raise ValueError(f"a second doctor check named {id!r}")
            self._checks = sorted(
                [
                    *self._checks,
                    Check(id, title, run, order, needs, network, timeout_s, applies, blames, judge),
                ],
                key=lambda c: c.order,
            )
            return run

        return add

    def __iter__(self) -> Iterator[Check]:
        """The checks in order; a check that needs one nobody registered is a bug, said here
        (the modules of checks may register in any order)."""
        known = set(self.ids())
        for check in self._checks:
            unknown = [need for need in check.needs if need not in known]
            if unknown:
                raise ValueError(f"doctor check {check.id!r} needs unknown checks {unknown}")
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


def in_thread(work: Callable[[], T], timeout: float) -> T:
    """Blocking work in a daemon thread: a hung call cannot stop doctor or its exit.

    Raises `TimeoutError(timeout)` when `work` has not finished in time; the
    thread is left to end on its own (it holds nothing doctor needs).
    """
    outcome: list[tuple[T | None, BaseException | None]] = []

    def target() -> None:
        try:
            outcome.append((work(), None))
        except BaseException as exc:  # handed to the waiting check
            outcome.append((None, exc))

    thread = threading.Thread(target=target, daemon=True, name="doctor")
    thread.start()
    thread.join(timeout)
    if not outcome:
        raise TimeoutError(timeout)
    value, error = outcome[0]
    if error is not None:
        raise error
    return value  # type: ignore[return-value]


# The one list of checks: each module of checks adds its own with `REGISTRY.check`
# (`carctl.doctor.checks` imports them all).
REGISTRY = Registry()
