"""What happens to one car's queued entries, each on its own: a refusal, a failure midway,
a Retry-After, and the settings that shape the queue."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest

from tests.cli.test_delivery_cli import OUTAGE, known, queued_entries  # noqa: F401 - fixture
from tests.conftest import Endpoint, FastClock, invoke
from tests.support.car import executed

COMMAND = "/api/1/vehicles/*/command/"


def queue_three(endpoint: Endpoint) -> None:
    """set_temps, climate on, vent: queued together while the API fails."""
    endpoint.faults(OUTAGE)
    result = invoke("precondition", "--temp", "21", "--vent", "--expires-in", "1h")
    assert result.code == 75, result.output
    assert [e["command"] for e in queued_entries()] == [
        "set_temps",
        "auto_conditioning_start",
        "window_control",
    ]


def statuses() -> list[str]:
    return [e["status"] for e in queued_entries(include_finished=True)]


def names(endpoint: Endpoint) -> list[str]:
    return [c["name"] for c in executed(endpoint)]


def test_a_refused_entry_fails_and_the_rest_of_its_batch_goes_on(
    known: Endpoint,  # noqa: F811
    fast_clock: type[FastClock],
) -> None:
    queue_three(known)
    known.faults({"status": 400, "path": COMMAND + "set_temps"})  # a permanent answer
    fast_clock.offset += 31  # past the breaker's cool-down
    result = invoke("--json", "queue", "run")
    assert result.code == 0, result.output  # nothing is left waiting
    assert result.json()["data"]["failed"] == 1 and result.json()["data"]["delivered"] == 2
    assert statuses() == ["failed", "delivered", "delivered"]
    failed = queued_entries(include_finished=True)[0]
    assert failed["last_error"]["status"] == 400
    assert names(known) == ["auto_conditioning_start", "window_control"]  # each once
    assert invoke("queue", "run").code == 0 and len(executed(known)) == 2  # not sent again


def test_a_temporary_failure_midway_keeps_what_follows_and_sends_nothing_twice(
    known: Endpoint,  # noqa: F811
    fast_clock: type[FastClock],
) -> None:
    queue_three(known)
    known.faults({"status": 503, "path": COMMAND + "window_control"})
    fast_clock.offset += 31
    first = invoke("--json", "queue", "run")
    assert first.code == 75, first.output  # the vent still waits
    assert statuses() == ["delivered", "delivered", "pending"]
    assert queued_entries()[0]["last_error"]["status"] == 503
    known.faults()
    fast_clock.offset += 300  # its next try is due
    second = invoke("--json", "queue", "run")
    assert second.code == 0, second.output
    assert statuses() == ["delivered", "delivered", "delivered"]
    assert names(known) == ["set_temps", "auto_conditioning_start", "window_control"]
    executions = known.admin("GET", "/__mock__/stats")["executions"]
    assert set(executions.values()) == {1}  # every key executed once


def test_retry_after_holds_queued_entries_until_it_passes(
    known: Endpoint,  # noqa: F811
    fast_clock: type[FastClock],
) -> None:
    known.faults(OUTAGE)
    assert invoke("vent").code == 75
    known.faults({"status": 503, "path": COMMAND + "*", "retry_after": 600})
    fast_clock.offset += 31
    assert invoke("queue", "run").code == 75
    before = _commands(known)
    again = invoke("--json", "queue", "run")  # within the 600 s asked for: nothing is sent
    assert again.code == 75
    assert _commands(known) == before
    (entry,) = queued_entries()
    assert entry["last_error"]["message"].startswith(
        "the vehicle API asked carctl to wait; next try after "
    )
    created = datetime.fromisoformat(entry["created_at"].replace("Z", "+00:00"))
    due = datetime.fromisoformat(entry["next_attempt_at"].replace("Z", "+00:00"))
    assert (due - created).total_seconds() >= 600  # not before the service said
    known.faults()
    fast_clock.offset += 601
    assert invoke("queue", "run").code == 0
    assert names(known) == ["window_control"]


def _commands(endpoint: Endpoint) -> int:
    rows = endpoint.admin("GET", "/__mock__/stats")["requests"]
    return sum(r["count"] for r in rows if "/command/" in r["path"])


def test_queue_ttl_sets_how_long_an_entry_is_worth_sending(known: Endpoint) -> None:  # noqa: F811
    assert invoke("config", "set", "queue.ttl", "5m").code == 0
    known.faults(OUTAGE)
    result = invoke("--json", "vent")
    assert result.code == 75
    (entry,) = queued_entries()
    created = datetime.fromisoformat(entry["created_at"].replace("Z", "+00:00"))
    expires = datetime.fromisoformat(entry["expires_at"].replace("Z", "+00:00"))
    assert abs((expires - created).total_seconds() - 300) <= 1
    bad = invoke("config", "set", "queue.ttl", "3d")
    assert bad.code == 2 and "at most 24h" in bad.output


def test_auto_worker_false_starts_no_worker(
    known: Endpoint,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CI")  # outside CI a worker would start by default
    assert invoke("config", "set", "queue.auto_worker", "false").code == 0
    known.faults(OUTAGE)
    result = invoke("--json", "vent")
    assert result.code == 75
    document: dict[str, Any] = json.loads(result.stdout)
    assert document["queued"]["worker"] == "off"
    assert "`carctl queue run` sends it" in invoke("vent").stderr
    assert invoke("--json", "queue").json()["data"]["worker_running"] is False
