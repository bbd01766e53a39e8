"""Delivery end to end: retries, breaker, queue and worker against the served and built-in mock.

carctl runs in this process on a virtual clock (`fast_clock`): moving it on is
how a test lets a cool-down or an expiry pass without waiting.
"""

from __future__ import annotations

import re
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Endpoint, FastClock, Served, invoke, sign_in
from tests.support.car import M3, executed

OUTAGE = {"status": 500, "path": "/api/1/*"}


def requests_seen(endpoint: Endpoint) -> int:
    rows = endpoint.admin("GET", "/__mock__/stats")["requests"]
    return sum(r["count"] for r in rows if r["path"].startswith("/api/1/"))


def queued_entries(include_finished: bool = False) -> list[dict[str, Any]]:
    args = ("--json", "queue", "list") + (("--all",) if include_finished else ())
    result = invoke(*args)
    assert result.code == 0, result.output
    return result.json()["data"]["entries"]  # type: ignore[no-any-return]


@pytest.fixture
def known(car: Endpoint) -> Endpoint:
    """The car is in the vehicle cache (a run before the outage listed it), and awake."""
    car.admin("PATCH", f"/__mock__/vehicles/{M3}", {"state": "online"})
    assert invoke("vehicles").code == 0
    return car


def test_outage_queues_then_queue_run_delivers_once(
    known: Endpoint, fast_clock: type[FastClock]
) -> None:
    known.faults(OUTAGE)
    result = invoke("--json", "climate", "on", "--temp", "21")
    assert result.code == 75, result.output
    document = result.json()
    assert document["ok"] is False
    assert document["error"]["code"] == "service"
    assert document["error"]["attempts"] == 3
    assert document["queued"]["commands"] == ["set_temps", "auto_conditioning_start"]
    assert document["queued"]["worker"] == "off"  # CI is set in tests
    assert document["data"]["diagnosis"]["likely"] == "service"
    assert "the last 3 requests" in document["data"]["diagnosis"]["evidence"]
    assert executed(known) == []
    entries = queued_entries()
    assert [e["command"] for e in entries] == ["set_temps", "auto_conditioning_start"]
    assert entries[0]["last_error"]["status"] == 500 and entries[0]["last_error"]["txid"]

    still = invoke("queue", "run")  # still failing: 5 failures in a row open the breaker
    assert still.code == 75 and "2 still pending" in still.stderr
    assert "breaker open" in invoke("queue").stdout

    known.faults()  # the service recovers
    fast_clock.offset += 31  # and the breaker's cool-down passes
    delivered = invoke("--json", "queue", "run")
    assert delivered.code == 0, delivered.output
    assert delivered.json()["data"]["delivered"] == 2
    commands = executed(known)
    assert [c["name"] for c in commands] == ["set_temps", "auto_conditioning_start"]
    with sqlite3.connect(known.state_db) as db:
        rows = db.execute("SELECT idempotency_key FROM queue ORDER BY id").fetchall()
    queued_keys = [row[0] for row in rows]
    assert [c["idempotency_key"] for c in commands] == queued_keys  # the keys they were queued with
    assert set(known.admin("GET", "/__mock__/stats")["executions"].values()) == {1}
    assert invoke("queue", "run").code == 0  # nothing left


def test_the_human_message_says_what_why_and_what_next(known: Endpoint) -> None:
    known.faults(OUTAGE)
    result = invoke("climate", "on", "--temp", "21")
    assert result.code == 75
    lines = result.stderr.splitlines()
    assert len(lines) == 3, lines  # what waits, why, what comes next
    assert lines[0] == "queued: temperature set to 21.0 °C and climate on for Model 3 (#1, #2)"
    assert re.fullmatch(
        r"why: the service has failed \(500\) since \d\d:\d\d, not your network or sign-in",
        lines[1],
    ), lines[1]
    assert re.fullmatch(
        r"next: `carctl queue run` sends them until \d\d:\d\d, or `carctl queue cancel ID`",
        lines[2],
    ), lines[2]
    assert "txid" not in result.stderr and "attempt" not in result.stderr


def test_one_queued_command_reads_in_three_rows_with_where_to_follow(known: Endpoint) -> None:
    known.faults(OUTAGE)
    result = invoke("vent")
    assert result.code == 75
    lines = result.stderr.splitlines()
    assert lines[0] == "queued: windows vented for Model 3 — `carctl queue` to follow"
    assert re.fullmatch(
        r"next: `carctl queue run` sends it until \d\d:\d\d, or `carctl queue cancel 1`",
        lines[2],
    ), lines[2]
    assert len(lines) == 3 and all(len(line) <= 80 for line in lines), lines


def test_the_details_are_for_verbose_and_json(known: Endpoint) -> None:
    known.faults(OUTAGE)
    verbose = invoke("-v", "vent")
    assert verbose.code == 75
    assert "· 3 attempts" in verbose.stderr and "txid" in verbose.stderr
    assert "why: The vehicle service is failing: the last 3 requests" in verbose.stderr
    document = invoke("--json", "vent").json()
    assert document["error"]["http"]["txid"] and document["queued"]["ids"]
    assert document["queued"]["steps"] == [
        {"command": "window_control", "params": {"command": "vent", "lat": 0, "lon": 0}}
    ]


def test_the_breaker_opens_and_later_commands_send_nothing(
    known: Endpoint, fast_clock: type[FastClock]
) -> None:
    known.faults(OUTAGE)
    assert invoke("climate", "on").code == 75
    assert invoke("vent").code == 75  # the 5th failure in a row opens the breaker
    seen = requests_seen(known)
    third = invoke("--json", "climate", "off")
    assert third.code == 75
    assert third.json()["error"]["code"] == "breaker_open"
    assert requests_seen(known) == seen  # nothing was sent
    entries = queued_entries()
    assert [e["command"] for e in entries] == ["window_control", "auto_conditioning_stop"]
    assert "breaker open" in invoke("queue").stdout

    known.faults()
    assert invoke("queue", "run").code == 75  # still cooling down: nothing sent
    assert requests_seen(known) == seen
    fast_clock.offset += 31  # the cool-down passes
    assert invoke("queue", "run").code == 0
    names = [c["name"] for c in executed(known)]
    assert names == ["window_control", "auto_conditioning_stop"]  # climate on was superseded
    finished = {e["command"]: e["status"] for e in queued_entries(include_finished=True)}
    assert finished["auto_conditioning_start"] == "superseded"
    assert "breaker closed" in invoke("queue").stdout


def test_flaky_answers_succeed_within_one_run(known: Endpoint) -> None:
    known.faults({"status": 503, "path": "/api/1/vehicles/*/command/*", "count": 2})
    result = invoke("--json", "-v", "climate", "on")
    assert result.code == 0, result.output
    assert [c["name"] for c in executed(known)] == ["auto_conditioning_start"]
    assert queued_entries() == []
    assert result.stderr.count("-> 503") == 2


def test_a_rate_limit_is_respected_across_processes(
    known: Endpoint, fast_clock: type[FastClock]
) -> None:
    known.faults(
        {"status": 429, "path": "/api/1/vehicles/*/command/*", "count": 1, "retry_after": 30}
    )
    first = invoke("--json", "climate", "on")
    assert first.code == 75  # 30 s is past the run's 20 s deadline: queued
    assert first.json()["error"]["code"] == "rate_limited"
    seen = requests_seen(known)
    second = invoke("--json", "vent")  # another run, 10 s later
    fast_clock.offset += 10
    assert second.code == 75 and second.json()["error"]["code"] == "breaker_open"
    assert "asked carctl to wait" in second.json()["error"]["message"]
    assert requests_seen(known) == seen
    fast_clock.offset += 25
    assert invoke("queue", "run").code == 0
    assert [c["name"] for c in executed(known)] == ["auto_conditioning_start", "window_control"]


def test_gateway_errors_are_diagnosed(known: Endpoint) -> None:
    known.faults({"status": 502, "path": "/api/1/*", "body": "html"})
    result = invoke("--json", "climate", "on")
    assert result.code == 75
    diagnosis = result.json()["data"]["diagnosis"]
    assert diagnosis["likely"] == "gateway"
    assert "gateway in front of it" in diagnosis["evidence"]
    assert "an HTML error page from a gateway" in result.json()["error"]["message"]


def test_no_queue(known: Endpoint) -> None:
    known.faults(OUTAGE)
    result = invoke("--json", "--no-queue", "climate", "on")
    assert result.code == 75
    assert result.json()["queued"] is None
    assert "nothing was queued" in result.json()["error"]["hint"]
    assert queued_entries() == []


def test_an_expired_command_is_never_sent(known: Endpoint, fast_clock: type[FastClock]) -> None:
    known.faults(OUTAGE)
    assert invoke("climate", "on", "--expires-in", "1m").code == 75
    known.faults()
    fast_clock.offset += 120
    result = invoke("--json", "queue", "run")
    assert result.code == 0
    assert len(result.json()["data"]["expired"]) == 1
    assert executed(known) == []
    (entry,) = queued_entries(include_finished=True)
    assert entry["status"] == "expired"
    assert "expired before it could be sent" in entry["last_error"]["message"]
    assert "expired" in invoke("queue", "show", str(entry["id"])).stdout


def test_precondition_queues_its_remaining_steps_together(known: Endpoint) -> None:
    known.faults({"status": 503, "path": "/api/1/vehicles/*/command/window_control"})
    result = invoke("--json", "precondition", "--temp", "21", "--vent", "--expires-at", "23:59")
    assert result.code == 75
    assert [s["step"] for s in result.json()["data"]["steps"]] == ["set_temps", "climate_on"]
    assert result.json()["queued"]["commands"] == ["window_control"]
    assert [c["name"] for c in executed(known)] == ["set_temps", "auto_conditioning_start"]


def test_cancelled_entries_are_not_sent(known: Endpoint) -> None:
    known.faults(OUTAGE)
    assert invoke("vent").code == 75
    (entry,) = queued_entries()
    cancelled = invoke("queue", "cancel", str(entry["id"]))
    assert cancelled.code == 0 and f"Cancelled #{entry['id']}" in cancelled.stdout
    known.faults()
    assert invoke("queue", "run").code == 0
    assert executed(known) == []
    assert invoke("queue", "cancel").code == 2
    assert invoke("queue", "show", "999").code == 1  # an answer, not a usage mistake


def test_a_send_whose_answer_was_lost_is_not_executed_twice(known: Endpoint) -> None:
    """A worker died after sending: the retry with the same key is answered from memory."""
    known.faults(OUTAGE)
    assert invoke("vent").code == 75
    (entry,) = queued_entries()
    known.faults()
    key = next(
        row[0]
        for row in sqlite3.connect(known.state_db).execute("SELECT idempotency_key FROM queue")
    )
    status = send_as_another_client(
        known, f"/api/1/vehicles/{M3}/command/window_control", entry["params"], key
    )
    assert status == 200
    assert invoke("queue", "run").code == 0
    assert [c["name"] for c in executed(known)] == ["window_control"]
    assert known.admin("GET", "/__mock__/stats")["executions"] == {key: 1}


def send_as_another_client(endpoint: Endpoint, path: str, body: Any, key: str) -> int:
    """Sign in and send one command with an Idempotency-Key, outside carctl."""
    import httpx

    from carctl.api import builtin
    from tests.conftest import password_grant

    def go() -> int:
        if endpoint.served is not None:
            client = httpx.Client(base_url=endpoint.served.url)
        else:
            client = httpx.Client(
                transport=builtin.transport(endpoint.state_db), base_url=builtin.builtin_url()
            )
        with client:
            tokens = (client.post("/oauth2/v3/token", data=password_grant())).json()
            response = client.post(
                path,
                json=body,
                headers={
                    "Authorization": f"Bearer {tokens['access_token']}",
                    "Idempotency-Key": key,
                },
            )
            return response.status_code

    return go()


def test_a_damaged_state_database(known: Endpoint, carctl_home: Path) -> None:
    db = carctl_home / "state" / "state.db"
    for suffix in ("-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    db.write_bytes(b"this is not a database" * 100)
    result = invoke("climate", "on")
    assert result.code == 78, result.output
    assert str(db) in result.stderr
    assert f"mv {db} {db}.broken" in result.stderr
    assert "Traceback" not in result.output


def test_the_background_worker_delivers_and_exits(
    known: Endpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CI")
    known.faults(OUTAGE)
    result = invoke("--json", "climate", "on")
    known.faults()  # the service recovers right after
    assert result.code == 75
    assert result.json()["queued"]["worker"] == "started"
    deadline = time.monotonic() + 60
    while executed(known) == [] and time.monotonic() < deadline:
        time.sleep(0.2)
    assert [c["name"] for c in executed(known)] == ["auto_conditioning_start"]
    while "worker: running" in invoke("queue").stdout and time.monotonic() < deadline:
        time.sleep(0.2)
    assert "worker: not running" in invoke("queue").stdout  # it exits when the queue is empty


def test_a_locked_state_database_is_a_clear_error(
    known: Endpoint, carctl_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import carctl.state

    monkeypatch.setattr(carctl.state, "BUSY_TIMEOUT_S", 0.2)
    db = carctl_home / "state" / "state.db"
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another program holds the database
    try:
        result = invoke("climate", "on")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert result.code == 78, result.output
    assert f"error: cannot use {db}: database is locked" in result.stderr
    assert "stop the other carctl process" in result.stderr
    assert "Traceback" not in result.output
    assert invoke("climate", "on").code == 0  # once released, all is well


def test_a_spent_budget_stops_retries_not_first_attempts(
    known: Endpoint, carctl_home: Path
) -> None:
    """Minutes after an outage: one 500 is not retried, but the next command is still sent."""
    import sqlite3

    with sqlite3.connect(carctl_home / "state" / "state.db") as db:
        db.execute("UPDATE api_health SET tokens = 4.0")  # what the outage left
    known.faults({"status": 500, "path": "/api/1/vehicles/*/command/*", "count": 1})
    failed = invoke("--json", "climate", "on")
    assert failed.code == 75, failed.output
    message = failed.json()["error"]["message"]
    assert "not retried: the retry budget is spent after the recent failures" in message
    assert known.requests(f"/api/1/vehicles/{M3}/command/auto_conditioning_start", 500) == 1
    after = invoke("--json", "climate", "off")  # the breaker is closed: it goes out
    assert after.code == 0, after.output
    assert [c["name"] for c in executed(known)] == ["auto_conditioning_stop"]
    assert queued_entries() == []  # the direct "off" superseded the queued "on"


def _open_breaker(carctl_home: Path) -> None:
    with sqlite3.connect(carctl_home / "state" / "state.db") as db:
        db.execute(
            "UPDATE api_health SET state = 'open', failures = 5, cooldown = 300, open_until = ?",
            (time.time() + 10**5,),
        )


def test_queue_retry_probes_now_when_the_owner_knows_better(
    known: Endpoint, carctl_home: Path
) -> None:
    known.faults(OUTAGE)
    assert invoke("climate", "on").code == 75
    (entry,) = queued_entries()
    _open_breaker(carctl_home)
    known.faults()  # the service is back; the breaker does not know it yet
    before = requests_seen(known)
    waiting = invoke("queue", "run")
    assert waiting.code == 75 and requests_seen(known) == before  # the breaker holds it
    retried = invoke("queue", "retry", str(entry["id"]))
    assert retried.code == 0, retried.output
    assert retried.stdout.strip() == f"#{entry['id']} climate on: delivered"
    assert [c["name"] for c in executed(known)] == ["auto_conditioning_start"]
    health = invoke("--json", "queue").json()["data"]["breaker"]
    assert health["state"] == "closed"  # the probe's success closed it


def test_queue_retry_sends_one_probe_into_an_outage(known: Endpoint, carctl_home: Path) -> None:
    known.faults(OUTAGE)
    assert invoke("climate", "on").code == 75
    _open_breaker(carctl_home)
    before = requests_seen(known)
    retried = invoke("--json", "queue", "retry", "--all")
    assert retried.code == 75, retried.output
    assert requests_seen(known) == before + 1  # one probe, no retries
    assert retried.json()["error"]["message"].startswith("#1 climate on: pending")
    assert executed(known) == []
    missing = invoke("queue", "retry", "99")
    assert missing.code == 1
    assert missing.stderr.startswith("error: there is no queue entry #99")
    assert invoke("queue", "retry").code == 2


def test_a_worker_waits_out_an_open_breaker_and_says_so_once(
    known: Endpoint, carctl_home: Path
) -> None:
    known.faults(OUTAGE)
    assert invoke("climate", "on").code == 75
    _open_breaker(carctl_home)
    for _ in range(3):
        assert invoke("queue", "run").code == 75
    (entry,) = queued_entries()
    with sqlite3.connect(carctl_home / "state" / "state.db") as db:
        (open_until,) = db.execute("SELECT open_until FROM api_health").fetchone()
        (next_attempt,) = db.execute(
            "SELECT next_attempt_at FROM queue WHERE id = ?", (entry["id"],)
        ).fetchone()
    assert open_until > time.time() + 60  # the breaker's cool-down: minutes away
    assert next_attempt >= open_until - 1  # not every second or two until then
    log = (carctl_home / "log" / "carctl.log").read_text()
    assert log.count("waits") == 1, log  # the same state, logged once


def test_the_queue_fits_80_columns_one_line_per_entry(known: Endpoint) -> None:
    known.admin("PATCH", "/__mock__/vehicles/1492931337242", {"state": "online"})
    known.faults(OUTAGE)
    for args in (("climate", "on", "--temp", "21"), ("vent",), ("--vehicle", "Model Y", "vent")):
        assert invoke(*args).code == 75
    assert invoke("queue", "cancel", "1").code == 0
    assert invoke("climate", "off").code == 75  # supersedes #2 (climate on)
    listing = invoke("queue", "list", "--all")
    assert listing.code == 0, listing.output
    lines = listing.stdout.splitlines()
    assert lines[0].split() == ["#", "What", "Car", "Status", "Age", "Expires", "Tries", "Last"]
    rows = {line.split()[0]: line for line in lines[1:6]}
    assert set(rows) == {"1", "2", "3", "4", "5"}, lines  # one line each
    assert all(len(line) <= 80 for line in lines[:6]), lines
    assert "set 21.0 °C" in rows["1"] and "cancelled" in rows["1"] and " at " in rows["1"]
    assert "superseded" in rows["2"] and "by #5" in rows["2"]
    # #3 was the first entry queued after the direct run's failures: its last error is theirs
    assert re.search(r"500 · \d\d:\d\d\s*$", rows["3"]), rows["3"]
    assert "txid" not in listing.stdout  # the full diagnosis lives in `queue show`
    shown = invoke("queue", "show", "3")
    assert "HTTP 500" in shown.stdout


def test_the_diagnosis_remembers_failures_whatever_the_address_case(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The request log is keyed by origin; the diagnosis must read it by origin too."""
    shouting = served.url.replace("127.0.0.1", "LOCALHOST")
    monkeypatch.setenv("CARCTL_API_URL", shouting)
    sign_in()
    assert invoke("config", "set", "vehicle", "Model 3").code == 0
    served.admin("PUT", "/__mock__/faults", json={"rules": [OUTAGE]})
    result = invoke("--json", "climate", "on")
    assert result.code == 75, result.output
    diagnosis = result.json()["data"]["diagnosis"]
    attempts = sum(
        r["count"]
        for r in served.admin("GET", "/__mock__/stats")["requests"]
        if r["path"].startswith("/api/1/") and r["status"] == 500
    )
    assert attempts >= 3
    assert f"the last {attempts} requests" in diagnosis["evidence"], diagnosis
    entry = invoke("--json", "queue").json()["data"]["entries"][0]
    assert entry["api"] == shouting  # the address to deliver to, as the owner gave it


def test_a_queued_entrys_expiry_is_one_string_wherever_it_is_shown(
    known: Endpoint, fast_clock: type[FastClock], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`climate on --json`, `queue --json` and `queue show --json` name the same moment the
    same way (UTC, with a Z), whatever the computer's time zone."""
    monkeypatch.setenv("TZ", "Asia/Seoul")
    time.tzset()
    try:
        known.faults(OUTAGE)
        queued = invoke("--json", "climate", "on").json()["queued"]
        (entry_id,) = queued["ids"]
        listed = invoke("--json", "queue").json()["data"]["entries"][0]
        shown = invoke("--json", "queue", "show", str(entry_id)).json()["data"]
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
    assert listed["id"] == shown["id"] == entry_id
    assert queued["expires_at"] == listed["expires_at"] == shown["expires_at"]
    assert queued["expires_at"].endswith("Z")
