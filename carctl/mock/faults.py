"""Fault injection: a plan of rules that make the mock fail the way real APIs do.

A rule matches requests by method and path glob and, while active, answers
with an error status (or adds latency, or drops the connection) for a share
`rate` of them. Rules are written as `key=value` words on the command line

    status=500 path=/api/1/* rate=1 after=0s for=60s

or as JSON objects for the admin API (durations in seconds). `after` and `for`
count from the moment the plan is installed (server start for `--fault` and
`--scenario`); `from` and `until` are absolute ISO 8601 times. The first rule
that matches and fires decides the request; the rest are not consulted.
"""

from __future__ import annotations

import fnmatch
import random
import shlex
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from carctl.mock.durations import format_duration, parse_duration
from carctl.mock.seed import SeedError, load_document

LATEST_TIME = 4_102_444_800.0  # 2100-01-01: fault windows are about this century
BODY_KINDS = ("json", "html", "empty", "truncated")
KEYS = (
    "status",
    "path",
    "method",
    "rate",
    "count",
    "after",
    "for",
    "from",
    "until",
    "latency",
    "body",
    "drop",
    "retry_after",
    "error",
)


class FaultRuleError(ValueError):
    """A fault rule that cannot be understood; the message says which word and why."""


@dataclass
class FaultRule:
    """One rule. Times are absolute (world clock) once installed."""

    status: int | None = None
    path: str = "*"
    method: str | None = None
    rate: float = 1.0
    count: int | None = None
    after: float = 0.0
    duration: float | None = None
    starts_at: float | None = None
    ends_at: float | None = None
    latency: float = 0.0
    body: str | None = None
    drop: bool = False
    retry_after: float | None = None
    error: str | None = None  # the service's own words for the error, as clients match them
    fired: int = 0

    # -- building -------------------------------------------------------------

    def installed(self, now: float) -> FaultRule:
        """A copy whose relative window (`after`, `for`) is pinned to `now`."""
        starts = self.starts_at if self.starts_at is not None else now + self.after
        ends = self.ends_at
        if ends is None and self.duration is not None:
            ends = starts + self.duration
        return replace(self, starts_at=starts, ends_at=ends)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FaultRule:
        return cls(**data)

    # -- matching -------------------------------------------------------------

    def active(self, now: float) -> bool:
        if self.count is not None and self.fired >= self.count:
            return False
        if self.starts_at is not None and now < self.starts_at:
            return False
        return self.ends_at is None or now < self.ends_at

    def matches(self, method: str, path: str) -> bool:
        if self.method and self.method != method.upper():
            return False
        return fnmatch.fnmatchcase(path, self.path)

    def describe(self, now: float) -> dict[str, Any]:
        """What `GET /__mock__/faults` shows: the rule and its remaining time."""
        remaining = None if self.ends_at is None else max(0.0, self.ends_at - now)
        starts_in = 0.0 if self.starts_at is None else max(0.0, self.starts_at - now)
        return {
            "status": self.status,
            "path": self.path,
            "method": self.method,
            "rate": self.rate,
            "count": self.count,
            "fired": self.fired,
            "latency": self.latency,
            "body": self.body,
            "drop": self.drop,
            "retry_after": self.retry_after,
            "error": self.error,
            "starts_in": round(starts_in, 3),
            "remaining": None if remaining is None else round(remaining, 3),
            "active": self.active(now),
            "text": self.to_words(),  # as written: the time left is `remaining`, beside it
        }

    def to_words(self, now: float | None = None) -> str:
        """The rule in command-line form, for listings."""
        words = []
        if self.status is not None:
            words.append(f"status={self.status}")
        words.append(f"path={self.path}")
        if self.method:
            words.append(f"method={self.method}")
        if self.rate != 1.0:
            words.append(f"rate={self.rate:g}")
        if self.count is not None:
            words.append(f"count={self.count}")
        if now is not None and self.starts_at is not None and self.starts_at > now:
            words.append(f"after={format_duration(self.starts_at - now)}")
        elif now is None and self.after:
            words.append(f"after={format_duration(self.after)}")
        if now is not None and self.ends_at is not None:
            begins = max(now, self.starts_at or now)
            words.append(f"for={format_duration(max(0.0, self.ends_at - begins))}")
        elif self.duration is not None:
            words.append(f"for={format_duration(self.duration)}")
        if self.latency:
            words.append(f"latency={format_duration(self.latency)}")
        if self.body:
            words.append(f"body={self.body}")
        if self.drop:
            words.append("drop=true")
        if self.retry_after is not None:
            words.append(f"retry_after={format_duration(self.retry_after)}")
        if self.error is not None:
            words.append(f"error={shlex.quote(self.error)}")
        return " ".join(words)


@dataclass(frozen=True)
class FaultAction:
    """What the plan decided for one request."""

    status: int | None
    latency: float
    body: str
    drop: bool
    retry_after: float | None
    error: str | None = None


class FaultPlan:
    """The ordered rules of one world."""

    def __init__(self, rules: list[FaultRule] | None = None) -> None:
        self.rules: list[FaultRule] = rules or []

    def decide(self, method: str, path: str, now: float, rng: random.Random) -> FaultAction | None:
        for rule in self.rules:
            if not rule.active(now) or not rule.matches(method, path):
                continue
            if rule.rate < 1.0 and rng.random() >= rule.rate:
                continue
            rule.fired += 1
            body = rule.body or ("html" if rule.status in (502, 504) else "json")
            return FaultAction(
                status=rule.status,
                latency=rule.latency,
                body=body,
                drop=rule.drop,
                retry_after=rule.retry_after,
                error=rule.error,
            )
        return None

    def describe(self, now: float) -> list[dict[str, Any]]:
        return [rule.describe(now) for rule in self.rules]


# -- parsing ------------------------------------------------------------------


def _status(value: Any) -> int:
    try:
        status = int(value)
    except (TypeError, ValueError, OverflowError):
        raise FaultRuleError(f"status must be an HTTP status such as 500, got {value!r}") from None
    if not 400 <= status <= 599:
        raise FaultRuleError(f"status must be an error status from 400 to 599, got {status}")
    return status


def parse_moment(value: Any, key: str) -> float:
    """An absolute time: epoch seconds, or ISO 8601 (UTC when it names no zone)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        if not 0 <= value <= LATEST_TIME:
            raise FaultRuleError(f"{key} must be a time between 1970 and 2100, got {value!r}")
        return float(value)
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        raise FaultRuleError(
            f"{key} must be an ISO 8601 time such as 2021-11-20T06:00:00+09:00, got {value!r}"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return parse_moment(moment.timestamp(), key)


def _seconds(value: Any, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise FaultRuleError(f"{key} must be a duration such as 30s or a number of seconds")
    try:
        return parse_duration(value)
    except (ValueError, TypeError, OverflowError) as exc:
        raise FaultRuleError(f"{key}: {exc}") from None


def _boolean(value: Any, key: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "yes", "1", "on"):
        return True
    if text in ("false", "no", "0", "off"):
        return False
    raise FaultRuleError(f"{key} must be true or false, got {value!r}")


def rule_from_mapping(fields: dict[str, Any], *, typed: bool = False) -> FaultRule:
    """Build a rule from key/value pairs (parsed words, or — `typed` — a JSON object, where
    `drop` must be a JSON boolean and text keys must be strings)."""
    unknown = [key for key in fields if key not in KEYS]
    if unknown:
        raise FaultRuleError(
            f"unknown key {unknown[0]!r} in fault rule; known keys: {', '.join(KEYS)}"
        )
    rule = FaultRule()
    for key, value in fields.items():
        if key in ("path", "method", "drop") and typed and not isinstance(value, _TYPED[key]):
            what = "true or false" if key == "drop" else "a string"
            raise FaultRuleError(f"{key} must be {what}, got {value!r}")
        _SETTERS[key](rule, value)
    if rule.status is None and not rule.drop and not rule.latency and rule.body != "truncated":
        raise FaultRuleError(
            "a fault rule needs an effect: status=5xx, drop=true, latency=D or body=truncated"
        )
    return rule


_TYPED: dict[str, type] = {"path": str, "method": str, "drop": bool}


def _set_path(rule: FaultRule, value: Any) -> None:
    rule.path = str(value) or "*"
    if not rule.path.startswith(("/", "*")):
        raise FaultRuleError(f"path must start with / (a glob such as /api/1/*), got {value!r}")


def _set_rate(rule: FaultRule, value: Any) -> None:
    try:
        rule.rate = float(value)
    except (TypeError, ValueError):
        raise FaultRuleError(f"rate must be a number from 0 to 1, got {value!r}") from None
    if not 0.0 <= rule.rate <= 1.0:
        raise FaultRuleError(f"rate must be a number from 0 to 1, got {value!r}")


def _set_count(rule: FaultRule, value: Any) -> None:
    try:
        rule.count = int(value)
    except (TypeError, ValueError, OverflowError):
        rule.count = -1
    if rule.count < 1 or isinstance(value, bool):
        raise FaultRuleError(f"count must be a whole number of at least 1, got {value!r}")


def _set_body(rule: FaultRule, value: Any) -> None:
    if value not in BODY_KINDS:
        raise FaultRuleError(f"body must be one of {', '.join(BODY_KINDS)}, got {value!r}")
    rule.body = str(value)


def _set(attribute: str, read: Callable[[Any, str], Any], key: str) -> Callable[..., None]:
    return lambda rule, value: setattr(rule, attribute, read(value, key))


_SETTERS: dict[str, Callable[[FaultRule, Any], None]] = {
    "status": lambda rule, value: setattr(rule, "status", _status(value)),
    "path": _set_path,
    "method": lambda rule, value: setattr(rule, "method", str(value).upper() or None),
    "rate": _set_rate,
    "count": _set_count,
    "after": _set("after", _seconds, "after"),
    "for": _set("duration", _seconds, "for"),
    "from": _set("starts_at", parse_moment, "from"),
    "until": _set("ends_at", parse_moment, "until"),
    "latency": _set("latency", _seconds, "latency"),
    "body": _set_body,
    "drop": _set("drop", _boolean, "drop"),
    "retry_after": _set("retry_after", _seconds, "retry_after"),
    "error": lambda rule, value: _set_error(rule, value),
}


def _set_error(rule: FaultRule, value: Any) -> None:
    text = str(value).strip()
    if not text or len(text) > 200:
        raise FaultRuleError(
            f"error must be the service's error text (1-200 characters), got {value!r}"
        )
    rule.error = text


def parse_rule(text: str) -> FaultRule:
    """Parse `status=500 path=/api/1/* for=60s` into a rule."""
    try:
        words = shlex.split(text)
    except ValueError as exc:
        raise FaultRuleError(f"cannot split fault rule {text!r}: {exc}") from None
    if not words:
        raise FaultRuleError(
            "empty fault rule; write key=value words such as status=500 path=/api/1/*"
        )
    fields: dict[str, Any] = {}
    for word in words:
        key, sep, value = word.partition("=")
        if not sep or not key:
            raise FaultRuleError(
                f"{word!r} is not key=value (as in status=500 path=/api/1/* for=60s)"
            )
        if key in fields:
            raise FaultRuleError(f"{key} is given twice in fault rule {text!r}")
        fields[key] = value
    return rule_from_mapping(fields)


# -- scenarios ----------------------------------------------------------------

SCENARIOS: dict[str, tuple[str, tuple[str, ...]]] = {
    "outage": (
        "A hard outage: every API request answers 500 and /status 503 for 60 s, then recovery.",
        ("status=500 path=/api/1/* for=60s", "status=503 path=/status for=60s"),
    ),
    "flaky": (
        "An unsteady service: about one API request in four fails with 500 or 503, indefinitely.",
        ("status=500 path=/api/1/* rate=0.15", "status=503 path=/api/1/* rate=0.12"),
    ),
    "gateway": (
        "A broken gateway: API requests answer 502 or 504 with HTML pages for 60 s.",
        (
            "status=502 path=/api/1/* body=html rate=0.5 for=60s",
            "status=504 path=/api/1/* body=html for=60s",
        ),
    ),
    "rate-limited": (
        "Rate limited: API requests answer 429 with Retry-After: 30 for 60 s.",
        ("status=429 path=/api/1/* retry_after=30s for=60s",),
    ),
    "2021-11-20": (
        "The morning of 20 November 2021, one minute for each hour: 500s with two false "
        "recoveries, then the final recovery after 5 minutes. Faults act on the API only: "
        "a car's own schedules still run (`carctl schedule set`, `carctl mock clock`).",
        (
            "status=500 path=/api/1/* after=0s for=150s",
            "status=503 path=/status after=0s for=150s",
            "status=500 path=/api/1/* after=160s for=80s",
            "status=500 path=/api/1/* after=245s for=55s",
            "status=503 path=/status after=160s for=140s",
        ),
    ),
}


def scenario_rules(name_or_path: str) -> list[FaultRule]:
    """The rules of a named scenario or of a scenario file (TOML or JSON).

    A scenario file holds `rules`, a list whose items are rule strings or tables
    with the same keys as the admin API.
    """
    if name_or_path in SCENARIOS:
        return [parse_rule(text) for text in SCENARIOS[name_or_path][1]]
    path = Path(name_or_path)
    if not path.suffix and not path.exists():
        raise FaultRuleError(
            f"unknown scenario {name_or_path!r}; named scenarios: "
            f"{', '.join(SCENARIOS)} (or give a .toml or .json file)"
        )
    data, text = load_document(path)
    items = data.get("rules")
    if not isinstance(items, list) or not items:
        raise SeedError(f"{path}: expected `rules`, a list of fault rules")
    rules = []
    for index, item in enumerate(items):
        try:
            if isinstance(item, str):
                rules.append(parse_rule(item))
            elif isinstance(item, dict):
                rules.append(rule_from_mapping(item))
            else:
                raise FaultRuleError("expected a rule string or a table")
        except FaultRuleError as exc:
            line = _rule_line(text, index)
            at = f", line {line}" if line else ""
            raise SeedError(f"{path}{at}: rules[{index}]: {exc}") from None
    return rules


def _rule_line(text: str, index: int) -> int | None:
    """Line of the index-th rule: the n-th `[[rules]]` header or n-th string item."""
    lines = text.splitlines()
    headers = [i for i, line in enumerate(lines) if line.strip() == "[[rules]]"]
    if index < len(headers):
        return headers[index] + 1
    items = [i for i, line in enumerate(lines) if line.strip().startswith(('"', "{", "'"))]
    return items[index] + 1 if index < len(items) else None
