"""Property-based checks: rule words round-trip, and no body crashes the mock."""

from __future__ import annotations

import asyncio

import httpx
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from carctl.mock import create_app
from carctl.mock.clock import ManualClock
from carctl.mock.durations import format_duration, parse_duration
from carctl.mock.faults import parse_rule
from tests.conftest import password_grant

rules = st.fixed_dictionaries(
    {"status": st.sampled_from([408, 429, 500, 502, 503, 504])},
    optional={
        "path": st.sampled_from(["/api/1/*", "/status", "/oauth2/v3/token", "*"]),
        "method": st.sampled_from(["GET", "POST"]),
        "rate": st.sampled_from([0.1, 0.25, 0.5]),
        "count": st.integers(1, 50),
        "after": st.integers(1, 3600),
        "for": st.integers(1, 3600),
        "latency": st.integers(1, 10),
        "body": st.sampled_from(["json", "html", "empty", "truncated"]),
        "retry_after": st.integers(1, 120),
    },
)


@given(rules)
def test_rule_words_round_trip(fields: dict[str, object]) -> None:
    words = " ".join(
        f"{k}={format_duration(v) if k in ('after', 'for', 'latency', 'retry_after') else v}"
        for k, v in fields.items()
    )
    rule = parse_rule(words)
    assert parse_rule(rule.to_words()) == rule


@given(st.integers(0, 10 * 86400))
def test_durations_round_trip(seconds: int) -> None:
    assert parse_duration(format_duration(seconds)) == seconds


ENDPOINTS = [
    ("POST", "/oauth2/v3/token"),
    ("POST", "/oauth2/v3/revoke"),
    ("POST", "/oauth2/v3/authorize"),
    ("POST", "/api/1/vehicles/1492931337242/command/set_temps"),
    ("POST", "/api/1/vehicles/1492931337242/command/window_control"),
    ("POST", "/api/1/vehicles/1492931337242/command/remote_seat_heater_request"),
    ("PUT", "/__mock__/faults"),
    ("POST", "/__mock__/clock"),
    ("PATCH", "/__mock__/vehicles/1492931337242"),
]


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(
    endpoint=st.sampled_from(ENDPOINTS),
    body=st.one_of(
        st.binary(max_size=200),
        st.recursive(
            st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=20),
            lambda children: (
                st.lists(children, max_size=4)
                | st.dictionaries(st.text(max_size=12), children, max_size=4)
            ),
            max_leaves=10,
        ).map(lambda v: __import__("json").dumps(v).encode()),
    ),
    content_type=st.sampled_from(
        ["application/json", "application/x-www-form-urlencoded", "text/plain"]
    ),
)
@example(
    endpoint=("POST", "/__mock__/clock"),
    body=b'{"advance": 1e308}',
    content_type="application/json",
)
@example(
    endpoint=("POST", "/__mock__/clock"), body=b'{"advance": NaN}', content_type="application/json"
)
@example(
    endpoint=("PATCH", "/__mock__/vehicles/1492931337242"),
    body=b'{"inside_temp": Infinity}',
    content_type="application/json",
)
@example(
    endpoint=("PUT", "/__mock__/faults"),
    body=b'{"rules": [{"status": 500, "for": 1e308, "count": 1e400}]}',
    content_type="application/json",
)
@example(
    endpoint=("PUT", "/__mock__/faults"),
    body=b'{"rules": [{"status": 1e400, "from": 1e308}]}',
    content_type="application/json",
)
@example(
    endpoint=("PUT", "/__mock__/faults"),
    body=b'{"rules": ["status=500 from=9999-12-31T23:59:59"]}',
    content_type="application/json",
)
@example(
    endpoint=("POST", "/api/1/vehicles/1492931337242/command/set_temps"),
    body=b'{"driver_temp": NaN}',
    content_type="application/json",
)
def test_no_body_makes_the_mock_fail_with_a_500(
    endpoint: tuple[str, str], body: bytes, content_type: str
) -> None:
    app = create_app(clock=ManualClock(), admin=True)

    async def call() -> httpx.Response:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://mock"
        ) as client:
            token = (
                await client.post(
                    "/oauth2/v3/token",
                    json=password_grant(),
                )
            ).json()["access_token"]
            method, path = endpoint
            return await client.request(
                method,
                path,
                content=body,
                headers={"content-type": content_type, "authorization": f"Bearer {token}"},
            )

    response = asyncio.run(call())
    assert response.status_code < 500
    assert response.headers["x-txid"]
