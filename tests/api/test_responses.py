"""The status table, body excerpts and Retry-After parsing, without a server."""

from __future__ import annotations

import email.utils
from typing import Any

import pytest

from carctl.api.responses import Reply, error_for, excerpt, response_data, retry_at
from carctl.errors import ExitCode, ProtocolError

NOW = 1_800_000_000.0


def reply(
    status: int,
    body: Any = None,
    *,
    text: str | None = None,
    headers: dict[str, str] | None = None,
    path: str = "/api/1/vehicles/1/vehicle_data",
) -> Reply:
    import json

    raw = text if text is not None else ("" if body is None else json.dumps(body))
    return Reply(
        method="GET",
        path=path,
        status=status,
        headers=headers or {},
        text=raw,
        json=body,
        txid="abc123",
        elapsed_ms=42,
    )


@pytest.mark.parametrize(
    ("status", "code", "exit_code", "retryable"),
    [
        (400, "bad_request", ExitCode.FAILURE, False),
        (401, "auth", ExitCode.NOPERM, False),
        (403, "auth", ExitCode.NOPERM, False),
        (404, "not_found", ExitCode.USAGE, False),
        (405, "refused", ExitCode.FAILURE, False),
        (408, "vehicle_unavailable", ExitCode.UNAVAILABLE, False),
        (418, "bad_request", ExitCode.FAILURE, False),
        (429, "rate_limited", ExitCode.TEMPFAIL, True),
        (500, "service", ExitCode.TEMPFAIL, True),
        (502, "service", ExitCode.TEMPFAIL, True),
        (503, "service", ExitCode.TEMPFAIL, True),
        (504, "service", ExitCode.TEMPFAIL, True),
        (302, "protocol", ExitCode.UNAVAILABLE, False),
    ],
)
def test_status_table(status: int, code: str, exit_code: ExitCode, retryable: bool) -> None:
    error = error_for(reply(status, {"response": None, "error": "boom"}), now=NOW)
    assert (error.code, error.exit_code, error.retryable) == (code, exit_code, retryable)
    assert error.http is not None
    assert (error.http.status, error.http.method, error.http.txid) == (status, "GET", "abc123")
    assert error.http.elapsed_ms == 42


def test_unknown_vehicle_names_it() -> None:
    error = error_for(reply(404, {"error": "not_found"}, path="/api/1/vehicles/99"), now=NOW)
    assert error.message == "no vehicle 99 on this account"


def test_html_gateway_page_is_summarized() -> None:
    page = "<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head>" + "<p>x</p>" * 40
    error = error_for(reply(502, None, text=page, headers={"content-type": "text/html"}), now=NOW)
    assert "an HTML error page from a gateway (502 Bad Gateway)" in error.message
    assert "<" not in error.message


def test_excerpts_are_short_and_redacted() -> None:
    long = {"error": "x" * 500}
    assert len(excerpt(reply(500, long)) or "") <= 160
    leaky = {"error": "bad token Bearer eyJabc.eyJdef.sig123456"}
    assert "eyJ" not in (excerpt(reply(500, leaky)) or "")
    assert excerpt(reply(500, None, text="")) == "an empty body"
    assert excerpt(reply(500, None, text="{trunc")) == "a body that is not JSON: '{trunc'"


def test_success_without_the_envelope_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError, match="instead of the usual JSON"):
        response_data(reply(200, None, text='{"respo'))
    with pytest.raises(ProtocolError):
        response_data(reply(200, ["not", "an", "object"]))
    assert response_data(reply(200, {"response": {"a": 1}})) == {"a": 1}


def test_retry_after() -> None:
    assert retry_at({"retry-after": "30"}, NOW) == NOW + 30
    assert retry_at({"retry-after": "1.5"}, NOW) == NOW + 1.5
    date = email.utils.formatdate(NOW + 120, usegmt=True)
    assert retry_at({"retry-after": date}, NOW) == NOW + 120
    past = email.utils.formatdate(NOW - 120, usegmt=True)
    assert retry_at({"retry-after": past}, NOW) == NOW
    for bogus in ("soon", "-5", "1e9", "", "Mon, 99 Foo 2021"):
        assert retry_at({"retry-after": bogus}, NOW) is None, bogus
    assert retry_at({"retry-after": "86400"}, NOW) == NOW + 86400  # a day is a day
    assert retry_at({"retry-after": "99999999"}, NOW) == NOW + 86400  # and a year is one too
    assert retry_at({}, NOW) is None


def test_rate_limit_error_carries_the_deadline() -> None:
    error = error_for(reply(429, {"error": "too many"}, headers={"retry-after": "17"}), now=NOW)
    assert error.retry_at == NOW + 17
    assert "wait 17 s" in error.message


def test_a_429_without_retry_after_waits_for_the_minute() -> None:
    error = error_for(reply(429, {"error": "too many"}), now=NOW)
    assert error.retry_at == NOW + 60  # the Fleet API's limits are per minute
    assert "asks to wait" not in error.message  # the service did not say; carctl does not claim


@pytest.mark.parametrize(
    ("status", "body", "code", "exit_code"),
    [
        # Tesla's signing proxy (vehicle-command: inet.ErrVehicleNotAwake, its session timeout)
        (
            500,
            {"error": "vehicle unavailable: vehicle is offline or asleep"},
            "vehicle_unavailable",
            69,
        ),
        (
            503,
            {"error": "vehicle unavailable: vehicle is offline or asleep"},
            "vehicle_unavailable",
            69,
        ),
        (504, {"error": "context deadline exceeded"}, "vehicle_unavailable", 69),
        # protocol.ErrKeyNotPaired
        (
            500,
            {"error": "vehicle rejected request: your public key has not been paired with the car"},
            "key_not_paired",
            77,
        ),
        (403, {"error": "Unauthorized missing scopes"}, "auth", 77),
        (421, {"error": "user out of region"}, "config", 78),
        (412, {"error": "Account must be registered in the current region"}, "config", 78),
        (402, {"error": "insufficient_credits"}, "auth", 77),
        (500, {"error": "internal error"}, "service", 75),  # a real failure stays one
    ],
)
def test_the_fleet_api_and_proxy_bodies_are_read_as_meant(
    status: int, body: dict[str, str], code: str, exit_code: int
) -> None:
    error = error_for(reply(status, body), now=NOW)
    assert (error.code, int(error.exit_code)) == (code, exit_code)
    assert error.retryable is (code == "service")  # only a service failure feeds the breaker
