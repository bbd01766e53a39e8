"""A hostile vehicle API: whatever it answers, carctl exits cleanly, in time, at home.

Property-based (hypothesis) over sequences of answers: any status code,
truncated or non-JSON bodies, HTML, 10 MB bodies, wrong JSON types, missing
fields, timeouts, connection resets, bogus Retry-After values, redirects to
other origins. carctl must never print a traceback, never hang past its
deadline, exit with a code from the README's table (and never 70, a bug),
print one JSON document with --json, and never send anything — least of all
credentials — to another origin.
"""

from __future__ import annotations

import json
import time
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
    return {"status": status, "headers": headers, "body": draw(bodies)}


class Hostile(httpx.AsyncBaseTransport):
    def __init__(self, script: list[dict[str, Any]]) -> None:
        self.script = script
        self.sent: list[httpx.Request] = []

    def _next(self) -> dict[str, Any]:
        return self.script.pop(0) if len(self.script) > 1 else self.script[0]

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request)
        answer = self._next()
        failure = answer.get("raise")
        if failure == "read-timeout":
            raise httpx.ReadTimeout("timed out", request=request)
        if failure == "connect-error":
            raise httpx.ConnectError("connection refused", request=request)
        if failure == "reset":
            raise httpx.RemoteProtocolError("connection reset by peer", request=request)
        return httpx.Response(
            answer["status"], headers=answer["headers"], content=answer["body"], request=request
        )


CURRENT: dict[str, Hostile] = {}


@pytest.fixture
def hostile(monkeypatch: pytest.MonkeyPatch) -> None:
    """carctl's HTTP client talks to the hostile transport of the current example."""
    import carctl.api.connect as connect

    def http_client(endpoint: Any, paths: Any, transport: Any = None) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            transport=CURRENT["transport"], base_url=endpoint.api_url, follow_redirects=False
        )

    monkeypatch.setattr(connect, "http_client", http_client)
    monkeypatch.setenv("CARCTL_API_URL", API)
    monkeypatch.setenv("CARCTL_TOKEN", TOKEN)
    monkeypatch.setenv("CARCTL_VEHICLE", "Model 3")


COMMANDS = [
    ("vehicles",),
    ("status",),
    ("climate", "on", "--temp", "21"),
    ("vent", "--close"),
    ("precondition", "--vent"),
    ("wake", "--timeout", "5"),
    ("api", "/api/1/vehicles"),
]


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(script=st.lists(answers(), min_size=1, max_size=10), command=st.sampled_from(COMMANDS))
def test_whatever_the_api_answers(
    hostile: None, script: list[dict[str, Any]], command: tuple[str, ...]
) -> None:
    transport = Hostile(list(script))
    CURRENT["transport"] = transport
    started = time.monotonic()
    result = invoke("--json", "--no-worker", *command)
    elapsed = time.monotonic() - started
    event(f"exit {result.code}")
    assert "Traceback" not in result.output
    assert result.code in EXITS, result.output[:2000]
    document = json.loads(result.stdout)  # exactly one JSON document
    assert document["ok"] is (result.code == 0)
    if result.code:
        assert document["error"]["message"]
        assert "<html" not in document["error"]["message"].lower()
    assert elapsed < 20, f"took {elapsed:.1f} s"
    for request in transport.sent:
        assert request.url.host == HOST, f"sent to {request.url}"
        assert TOKEN not in str(request.url)
    assert TOKEN not in result.output
