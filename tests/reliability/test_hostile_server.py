"""A hostile vehicle API: whatever it answers, carctl exits cleanly, in time, at home.

Property-based (hypothesis) over sequences of answers: any status code,
truncated or non-JSON bodies, HTML, 10 MB bodies, compression bombs under
any stack of encodings, bodies trickled slower than the deadline, nesting too
deep to parse, car names full of escape sequences and markup, wrong JSON
types, missing fields, timeouts, connection resets, bogus Retry-After values,
redirects to other origins. In `--json` mode and in human mode drawn as on a
terminal (`FORCE_COLOR`), carctl must never print a traceback, never hang past
its deadline, exit with a code from the table in docs/scripting.md (and never 70, a bug),
print one JSON document with --json, never let a server's escape sequence
reach the terminal, and never send anything — least of all credentials — to
another origin.
"""

from __future__ import annotations

import gzip
import json
import re
import time
import zlib
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.conftest import invoke

API = "https://vehicle-api.example.test"
HOST = "vehicle-api.example.test"
TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJob3N0aWxlIn0.c2lnbmF0dXJlLW9mLWEtdGVzdA"
EXITS = {0, 1, 2, 69, 75, 77, 78}
CAR = {"id": 1, "id_s": "1", "vin": "VIN1", "display_name": "Model 3", "state": "online"}
EVIL_NAME = "Model 3\x1b]52;c;cHduZWQ=\x07[/][bold]x\x1b[2J\x9b31m"
EVIL_CAR = {**CAR, "display_name": EVIL_NAME}


def _bomb(size: int) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    chunk = bytes(1024 * 1024)
    return b"".join(compressor.compress(chunk) for _ in range(size // len(chunk))) + (
        compressor.flush()
    )


BOMB = _bomb(64 * 1024 * 1024)  # 64 MiB of zeros in about 64 KB
DOUBLE_BOMB = gzip.compress(BOMB, 9)  # the same in about 1 KB
DEEP = b"[" * 100_000 + b"]" * 100_000

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
bodies = st.one_of(
    st.builds(lambda v: json.dumps({"response": v}).encode(), json_values),
    st.builds(lambda v: json.dumps(v).encode(), json_values),
    st.just(json.dumps({"response": [CAR], "count": 1}).encode()),
    st.just(json.dumps({"response": CAR}).encode()),
    st.just(json.dumps({"response": {"result": True, "reason": ""}}).encode()),
    st.just(json.dumps({"response": {"result": False, "reason": "nope"}}).encode()),
    st.just(b'{"response": {"id": 1, "vin": '),  # truncated
    st.just(b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head></html>"),
    st.just(b""),
    st.binary(max_size=64),
    st.just(b'{"response": "' + b"x" * (10 * 1024 * 1024) + b'"}'),  # 10 MB
    st.just(DEEP),
    st.just(b'{"response": ' + DEEP + b"}"),
    st.just(json.dumps({"response": [EVIL_CAR], "count": 1}).encode()),
    st.just(json.dumps({"response": EVIL_CAR}).encode()),
    st.just(json.dumps({"response": None, "error": "\x1b[2J[red]boom[/]"}).encode()),
)
encodings = st.sampled_from(
    [None, None, None, "gzip", "deflate", "gzip, gzip", "br", "zstd", "gzip, identity"]
)
statuses = st.sampled_from(
    [200, 200, 200, 201, 204, 301, 302, 307, 400, 401, 403, 404, 405, 408, 418, 429, 500, 502]
) | st.integers(100, 599)
retry_after = st.one_of(
    st.none(),
    st.sampled_from(["0", "1", "30", "-5", "1e9", "soon", "Wed, 21 Oct 2015 07:28:00 GMT", ""]),
    st.text(max_size=12),
)
failures = st.sampled_from(["read-timeout", "connect-error", "reset"])


@st.composite
def answers(draw: Any) -> dict[str, Any]:
    if draw(st.integers(0, 9)) == 0:
        return {"raise": draw(failures)}
    headers: dict[str, str] = {}
    after = draw(retry_after)
    if after is not None:
        headers["retry-after"] = after.encode("ascii", "replace").decode().replace("\n", " ")
    status = draw(statuses)
    if 300 <= status < 400:
        headers["location"] = draw(
            st.sampled_from(["https://evil.example/steal", "http://127.0.0.1:1/x", "/api/1/x"])
        )
    kind = draw(st.sampled_from(["application/json", "text/html", "text/plain"]))
    headers["content-type"] = kind
    body = draw(bodies)
    shape = draw(st.integers(0, 19))
    if shape == 0:
        headers["content-encoding"] = "gzip"
        return {"status": status, "headers": headers, "body": BOMB}
    if shape == 1:
        headers["content-encoding"] = "gzip, gzip"
        return {"status": status, "headers": headers, "body": DOUBLE_BOMB}
    if shape == 2:
        return {"status": status, "headers": headers, "body": body, "trickle": True}
    encoding = draw(encodings)
    if encoding is not None and len(body) < 1024 * 1024:
        headers["content-encoding"] = encoding
        if encoding.startswith("gzip"):
            body = gzip.compress(body)
            if encoding == "gzip, gzip":
                body = gzip.compress(body)
        elif encoding == "deflate":
            body = zlib.compress(body)
    return {"status": status, "headers": headers, "body": body}


def _trickle(body: bytes) -> Iterator[bytes]:
    for index in range(len(body) or 1):
        time.sleep(0.05)  # about 20 bytes a second: forever, for a real answer
        yield body[index : index + 1]


class Hostile(httpx.BaseTransport):
    def __init__(self, script: list[dict[str, Any]]) -> None:
        self.script = script
        self.sent: list[httpx.Request] = []

    def _next(self) -> dict[str, Any]:
        return self.script.pop(0) if len(self.script) > 1 else self.script[0]

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request)
        answer = self._next()
        failure = answer.get("raise")
        if failure == "read-timeout":
            raise httpx.ReadTimeout("timed out", request=request)
        if failure == "connect-error":
            raise httpx.ConnectError("connection refused", request=request)
        if failure == "reset":
            raise httpx.RemoteProtocolError("connection reset by peer", request=request)
        stream = _Stream(answer["body"], trickle=bool(answer.get("trickle")))
        return httpx.Response(
            answer["status"], headers=answer["headers"], stream=stream, request=request
        )


class _Stream(httpx.SyncByteStream):
    """A body read from the wire as carctl reads it: raw, still encoded, maybe slowly."""

    def __init__(self, body: bytes, *, trickle: bool) -> None:
        self.body = body
        self.trickle = trickle

    def __iter__(self) -> Iterator[bytes]:
        if self.trickle:
            yield from _trickle(self.body)
            return
        for start in range(0, len(self.body), 65536):
            yield self.body[start : start + 65536]


CURRENT: dict[str, Hostile] = {}


@pytest.fixture
def hostile(monkeypatch: pytest.MonkeyPatch) -> None:
    """carctl's HTTP client talks to the hostile transport of the current example."""
    import carctl.api.connect as connect

    def http_client(endpoint: Any, paths: Any, env: Any, transport: Any = None) -> httpx.Client:
        return httpx.Client(
            transport=CURRENT["transport"], base_url=endpoint.api_url, follow_redirects=False
        )

    monkeypatch.setattr(connect, "http_client", http_client)
    monkeypatch.setattr("carctl.api.client.REQUEST_TOTAL_S", 0.5)  # trickled bodies end soon
    monkeypatch.setenv("CARCTL_API_URL", API)
    monkeypatch.setenv("CARCTL_TOKEN", TOKEN)
    monkeypatch.setenv("CARCTL_VEHICLE", "Model 3")


COMMANDS = [
    ("vehicles",),
    ("status",),
    ("climate", "on", "--temp", "21"),
    ("vent", "--close"),
    ("precondition", "--vent"),
    ("wake", "--wake-timeout", "5"),
    ("api", "/api/1/vehicles"),
]


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    script=st.lists(answers(), min_size=1, max_size=10),
    command=st.sampled_from(COMMANDS),
    human=st.booleans(),
)
def test_whatever_the_api_answers(
    hostile: None, script: list[dict[str, Any]], command: tuple[str, ...], human: bool
) -> None:
    transport = Hostile(list(script))
    CURRENT["transport"] = transport
    _fresh_state()  # each example meets a closed breaker and a full budget, as a new user would
    started = time.monotonic()
    if human:  # drawn as on a terminal: colour, spinner, tables
        result = invoke("--no-worker", *command, env={"FORCE_COLOR": "1"})
    else:
        result = invoke("--json", "--no-worker", *command)
    elapsed = time.monotonic() - started
    event(f"exit {result.code}")
    event("human" if human else "json")
    assert "Traceback" not in result.output
    assert result.code in EXITS, result.output[:2000]
    if human:
        _only_our_own_escapes(result.output)
    else:
        document = json.loads(result.stdout)  # exactly one JSON document
        assert document["ok"] is (result.code == 0)
        if result.code:
            assert document["error"]["message"]
            assert "<html" not in document["error"]["message"].lower()
    assert elapsed < 20, f"took {elapsed:.1f} s"
    event("sent" if transport.sent else "nothing sent")
    for request in transport.sent:
        assert request.url.host == HOST, f"sent to {request.url}"
        assert TOKEN not in str(request.url)
    assert TOKEN not in result.output


def _fresh_state() -> None:
    import os
    import sqlite3
    from pathlib import Path

    state_db = Path(os.environ["CARCTL_HOME"]) / "state" / "state.db"
    if state_db.exists():
        with sqlite3.connect(state_db) as db:
            for table in ("api_health", "queue", "vehicle_cache", "request_log"):
                db.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names


def _only_our_own_escapes(text: str) -> None:
    """No escape sequence of the server's: only rich's colours and cursor moves are left."""
    assert "\x1b]" not in text and "\x1b[2J" not in text and "\x9b" not in text
    for sequence in re.findall(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[^\[]", text):
        assert sequence[-1] in "mKGAlhD", repr(sequence)
