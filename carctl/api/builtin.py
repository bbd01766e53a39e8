"""The built-in endpoint: where carctl mounts its mock in-process.

This is the one module of carctl outside the mock that imports it. It gives the
API client its transport for `api_url = "builtin"`, and the `carctl mock`
commands their way to control either the built-in endpoint or a served mock
with `--admin` (both through the same `/__mock__/` control API).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from carctl.errors import ConfigError, StateError, TemporaryError, UsageError

BUILTIN = "builtin"


def builtin_url() -> str:
    from carctl.mock.embedded import BUILTIN_URL

    return BUILTIN_URL


def mount(state_db: Path) -> tuple[str, Any]:
    """The base URL and the transport that serve the built-in endpoint in this process (its
    entry in `carctl.providers`)."""
    return builtin_url(), transport(state_db)


def transport(state_db: Path) -> Any:
    """An httpx transport over the mock, its world kept in `state_db`."""
    from carctl.mock.embedded import builtin_transport

    return builtin_transport(state_db)


def control(
    state_db: Path,
    method: str,
    path: str,
    body: dict[str, Any] | None = None,
    *,
    url: str | None = None,
) -> Any:
    """One call to the mock's control API; `url` targets a served mock instead."""
    import httpx

    from carctl.mock.store import MockStoreError
    from carctl.state import recovery_hint

    if url is None:
        client = httpx.Client(transport=transport(state_db), base_url=builtin_url())
    else:
        client = httpx.Client(base_url=url.rstrip("/"), timeout=10.0)
    with client:
        try:
            response = client.request(method, path, json=body)
        except MockStoreError as exc:
            raise StateError(str(exc), hint=recovery_hint(state_db, str(exc))) from None
        except httpx.ConnectError as exc:
            if url is None:  # the built-in endpoint's store is unusable
                raise StateError(str(exc), hint=recovery_hint(state_db, str(exc))) from None
            raise TemporaryError(
                f"cannot reach the mock at {url}: {exc}",
                hint="is `carctl mock serve --admin` running there?",
            ) from None
        except httpx.HTTPError as exc:
            raise TemporaryError(
                f"cannot reach the mock at {url or 'builtin'}: {exc}",
                hint="is `carctl mock serve --admin` running there?",
            ) from None
    try:
        data = response.json()
    except ValueError:
        data = None
    if response.status_code == 404 and url is not None:
        raise UsageError(
            f"the mock at {url} does not offer its control API",
            hint="start it with `carctl mock serve --admin`",
        )
    if response.status_code >= 400:
        detail = (data or {}).get("error_description") or (data or {}).get("error") or response.text
        raise UsageError(str(detail))
    return data


def fault_rules(texts: tuple[str, ...], scenarios: tuple[str, ...]) -> list[dict[str, Any]]:
    """Validate rule words and scenario names here, so that mistakes are usage errors."""
    from carctl.mock.faults import FaultRuleError, parse_rule, scenario_rules
    from carctl.mock.seed import SeedError

    rules = []
    try:
        for name in scenarios:
            rules.extend(scenario_rules(name))
        for text in texts:
            rules.append(parse_rule(text))
    except FaultRuleError as exc:
        unknown_scenario = str(exc).startswith("unknown scenario")
        raise UsageError(
            str(exc),
            hint="`carctl mock scenarios` lists them and what each does"
            if unknown_scenario
            else "see `carctl mock fault add --help` for the rule words",
        ) from None
    except SeedError as exc:
        raise ConfigError(str(exc)) from None
    return [_rule_json(rule) for rule in rules]


def _rule_json(rule: Any) -> dict[str, Any]:
    """A parsed rule in the admin API's JSON form (durations in seconds)."""
    data: dict[str, Any] = {"path": rule.path, "rate": rule.rate, "after": rule.after}
    for key, value in (
        ("status", rule.status),
        ("method", rule.method),
        ("count", rule.count),
        ("for", rule.duration),
        ("body", rule.body),
        ("retry_after", rule.retry_after),
    ):
        if value is not None:
            data[key] = value
    if rule.latency:
        data["latency"] = rule.latency
    if rule.drop:
        data["drop"] = True
    if rule.starts_at is not None:
        data["from"] = rule.starts_at
    if rule.ends_at is not None:
        data["until"] = rule.ends_at
    return data
