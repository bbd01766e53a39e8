"""Turning what the vehicle API answered into data or a precise `CarctlError`.

Pure functions over a `Reply`, so the whole status table is tested without a
server. Messages quote the API's own short error, never a whole body: an HTML
page becomes "an HTML error page from a gateway", not 40 lines of markup.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from carctl.errors import (
    AuthError,
    BadRequestError,
    CarctlError,
    ConfigError,
    HttpDetails,
    KeyNotPairedError,
    NotFoundError,
    ProtocolError,
    RateLimitedError,
    RefusedError,
    ServiceError,
    SigningRequiredError,
    VehicleUnavailableError,
)
from carctl.logs import redact
from carctl.records import record

EXCERPT_CHARS = 160
RATE_WINDOW_S = 60.0  # the Fleet API's rate limits are per minute
MAX_RETRY_AFTER_S = 86400.0  # a day is a day; longer is still a day
_VEHICLE_PATH = re.compile(r"^/api/1/vehicles/([^/]+)")


@record(frozen=True)
class Reply:
    """One HTTP answer, read and bounded."""

    method: str
    path: str
    status: int
    headers: Mapping[str, str]
    text: str
    json: Any  # the parsed body, or None when it is not JSON
    txid: str | None
    elapsed_ms: int

    @property
    def is_json(self) -> bool:
        return self.json is not None

    def details(self) -> HttpDetails:
        return HttpDetails(
            status=self.status,
            method=self.method,
            path=self.path,
            txid=self.txid,
            elapsed_ms=self.elapsed_ms,
            excerpt=excerpt(self),
        )

    def api_message(self) -> str | None:
        """The API's own short error text (`error`, else `error_description`)."""
        if isinstance(self.json, dict):
            for key in ("error", "error_description", "message"):
                value = self.json.get(key)
                if isinstance(value, str) and value.strip():
                    return _short(value)
        return None

    def oauth_error(self) -> tuple[str, str]:
        """(`error`, `error_description`) of an RFC 6749 error body."""
        if isinstance(self.json, dict):
            code = self.json.get("error")
            description = self.json.get("error_description")
            return (
                code if isinstance(code, str) else "",
                description if isinstance(description, str) else "",
            )
        return "", ""


def _short(text: str) -> str:
    text = redact(" ".join(text.split()))
    return text if len(text) <= EXCERPT_CHARS else text[: EXCERPT_CHARS - 1] + "…"


def excerpt(reply: Reply) -> str | None:
    """A short, safe summary of the body for messages and support."""
    if reply.is_json:
        return reply.api_message()
    body = reply.text.strip()
    if not body:
        return "an empty body"
    content_type = reply.headers.get("content-type", "")
    if "html" in content_type or body[:200].lower().lstrip().startswith(("<!doctype", "<html")):
        title = re.search(r"<title[^>]*>(.*?)</title>", body, re.IGNORECASE | re.DOTALL)
        where = "from a gateway" if reply.status >= 500 else "instead of JSON"
        name = f" ({_short(title.group(1))})" if title and title.group(1).strip() else ""
        return f"an HTML error page {where}{name}"
    return f"a body that is not JSON: {_short(body[:EXCERPT_CHARS])!r}"


def retry_at(headers: Mapping[str, str], now: float) -> float | None:
    """When the server allows the next try: `Retry-After` in seconds or as an HTTP date.

    Any length is honoured, up to a day: a command queued today expires within
    a day, and a hostile or broken server must not park carctl for a year. A
    value that is neither a number nor a date is ignored.
    """
    raw = (headers.get("retry-after") or "").strip()
    if not raw:
        return None
    if re.fullmatch(r"\d+(\.\d+)?", raw):
        delay = float(raw)
    else:
        import email.utils  # only for the rare HTTP-date form

        try:
            parsed = email.utils.parsedate_to_datetime(raw)
        except (TypeError, ValueError, IndexError):
            return None
        if parsed is None or parsed.tzinfo is None:
            return None
        delay = parsed.timestamp() - now
    if delay < 0:
        delay = 0.0
    return now + min(delay, MAX_RETRY_AFTER_S)


def vehicle_of(path: str) -> str | None:
    found = _VEHICLE_PATH.match(path)
    return found.group(1) if found else None


def error_for(reply: Reply, *, now: float) -> CarctlError:
    """The `CarctlError` for an answer that is not a success: what its body says first (a
    signing proxy's words outrank its status), then its status."""
    said = reply.api_message()
    by_body = _by_body(reply, said, (said or "").lower())
    if by_body is not None:
        return by_body
    status = reply.status
    if status in _BY_STATUS:
        return _BY_STATUS[status](reply, said)
    if status == 429:
        return _rate_limited(reply, now)
    if status >= 500:
        return _service_failed(reply, now)
    if 300 <= status < 400:
        return redirect_error(reply)
    if status == 400:
        return BadRequestError(
            f"the vehicle API rejected the request: {said or 'bad request'}",
            http=reply.details(),
        )
    http = reply.details()
    return BadRequestError(
        f"the vehicle API answered HTTP {status} on {reply.method} {reply.path}"
        + (f" ({http.excerpt})" if http.excerpt else ""),
        http=http,
    )


def _by_body(reply: Reply, said: str | None, lowered: str) -> CarctlError | None:
    """Answers whose body says more than their status (the signing proxy's 500s, 403s)."""
    status, http = reply.status, reply.details()
    if "has not been paired" in lowered or "key not paired" in lowered:
        # the signing proxy's 500 when the car does not know its key (vehicle-command's
        # protocol.ErrKeyNotPaired): the owner's set-up, not an outage
        return KeyNotPairedError(
            f"the car does not know the key its commands are signed with ({said})",
            hint="pair the key with the car: `carctl key pair` shows how (tap the key card in "
            "the car when the Tesla app asks); a signing proxy's own key is paired the same way",
            http=http,
        )
    if status >= 500 and (
        "offline or asleep" in lowered
        or lowered.startswith("vehicle unavailable")
        or "context deadline exceeded" in lowered
    ):
        # the signing proxy's answer for a car that is asleep or out of reach (vehicle-command:
        # inet.ErrVehicleNotAwake, and a session that timed out): wake it, do not blame the service
        return VehicleUnavailableError(
            f"the car is asleep or offline: the signing proxy could not reach it ({said})",
            hint="`carctl wake` wakes it; a car without mobile coverage stays offline",
            http=http,
        )
    if status == 403 and "command protocol" in lowered:
        return signing_required("this car", http=http)
    if status == 403 and any(word in lowered for word in ("missing scopes", "invalid_scope")):
        scope = needed_scope(reply)
        return AuthError(
            f"the session was not granted {scope}, which this needs ({said})",
            hint=f"sign in again and allow {scope}: `carctl auth login --web` asks for the "
            "scopes in `carctl config get auth.scopes` (add it there if it is missing: "
            "`carctl config set auth.scopes ...`)",
            http=http,
        )
    return None


def _wrong_region(reply: Reply, said: str | None) -> CarctlError:
    return ConfigError(
        f"the vehicle API serves this account from another region ({said or 'HTTP 421'})",
        hint="sign in again (`carctl auth login --web`): sign-in finds the region and "
        "remembers it; or set it yourself: `carctl config set region eu` (na, eu, cn)",
        http=reply.details(),
    )


def _payment(reply: Reply, said: str | None) -> CarctlError:
    return AuthError(
        f"the service asks for a subscription or credits for this ({said or 'HTTP 402'})",
        hint="check your plan with the service (Teslemetry: its console)",
        http=reply.details(),
    )


def _not_registered(reply: Reply, said: str | None) -> CarctlError:
    return ConfigError(
        f"the vehicle API cannot serve this application yet ({said or 'HTTP 412'})",
        hint="your application must be registered in the account's region "
        "(Tesla's Fleet API documentation: partner accounts)",
        http=reply.details(),
    )


def _refused_session(reply: Reply, said: str | None) -> CarctlError:
    return AuthError(
        f"the vehicle API refused the session ({said or reply.status})"
        if reply.status == 401
        else f"the vehicle API forbids this ({said or 'forbidden'})",
        hint="run `carctl auth login`",
        http=reply.details(),
    )


def _not_found(reply: Reply, said: str | None) -> CarctlError:
    vehicle = vehicle_of(reply.path)
    return NotFoundError(
        f"no vehicle {vehicle} on this account"
        if vehicle
        else f"{reply.method} {reply.path} does not exist",
        hint="`carctl vehicles` lists your cars" if vehicle else None,
        http=reply.details(),
    )


def _in_service(reply: Reply, said: str | None) -> CarctlError:
    return RefusedError(
        f"the car is in service and does not accept commands ({said or 'in service'})",
        hint="try again when the service visit is over",
        http=reply.details(),
    )


def _asleep(reply: Reply, said: str | None) -> CarctlError:
    return VehicleUnavailableError(
        "the car is asleep or offline and did not take the request",
        hint="`carctl wake` wakes it; a car without mobile coverage stays offline",
        http=reply.details(),
    )


_BY_STATUS: dict[int, Callable[[Reply, str | None], CarctlError]] = {
    401: _refused_session,
    402: _payment,
    403: _refused_session,
    404: _not_found,
    405: _in_service,
    408: _asleep,
    412: _not_registered,
    421: _wrong_region,
}


def _rate_limited(reply: Reply, now: float) -> CarctlError:
    deadline = retry_at(reply.headers, now)
    wait = f"; it asks to wait {max(0, round(deadline - now))} s" if deadline else ""
    error = RateLimitedError(
        f"the vehicle API is rate limiting this car{wait}",
        hint="carctl queues commands and sends them when the limit allows",
        http=reply.details(),
    )
    # without a word on when, the limit is per minute (60 data requests, 30 commands,
    # 3 wakes): a 429 is billed, so the next try waits for the minute to pass
    error.retry_at = deadline if deadline is not None else now + RATE_WINDOW_S
    return error


def _service_failed(reply: Reply, now: float) -> CarctlError:
    http = reply.details()
    error = ServiceError(
        f"the vehicle API failed: HTTP {reply.status} on {reply.method} {reply.path}"
        + (f" ({http.excerpt})" if http.excerpt else ""),
        hint="the fault is on the service's side; try again later",
        http=http,
    )
    error.retry_at = retry_at(reply.headers, now)
    return error


SCOPES = ("vehicle_device_data", "vehicle_cmds", "vehicle_location", "vehicle_charging_cmds")


def needed_scope(reply: Reply) -> str:
    """The scope a 403 "missing scopes" is about: the one the answer names, else the one
    Tesla's documentation gives for the endpoint (commands: vehicle_cmds; the car's
    position: vehicle_location; other data: vehicle_device_data)."""
    _, description = reply.oauth_error()
    for scope in SCOPES:
        if scope in description:
            return scope
    path = reply.path
    if "/command/" in path or path.endswith("/signed_command"):
        return "vehicle_cmds"
    if "location_data" in path:
        return "vehicle_location"
    return "vehicle_device_data"


def signing_required(label: str, *, http: HttpDetails | None = None) -> SigningRequiredError:
    """A car that takes only signed commands, met without something that signs them."""
    return SigningRequiredError(
        f"{label} takes only commands signed with Tesla's Vehicle Command Protocol, and this "
        "profile sends them unsigned",
        hint="send them through Tesla's signing proxy (tesla-http-proxy, "
        "github.com/teslamotors/vehicle-command) with your key paired to the car: "
        "`carctl config set api_url proxy`, `carctl config set tls.ca_file PROXY-CERT.pem`; "
        "or through a service that signs (teslemetry). README: 'Using a real car'",
        http=http,
    )


def redirect_error(reply: Reply) -> ProtocolError:
    from urllib.parse import urlsplit

    target = urlsplit(reply.headers.get("location", ""))
    to = f"{target.scheme}://{target.netloc}" if target.netloc else "another path"
    return ProtocolError(
        f"the vehicle API redirected {reply.method} {reply.path} to {to}; carctl does not "
        "follow redirects, so credentials never leave the configured API",
        hint="check api_url (`carctl config get api_url`)",
        http=reply.details(),
    )


def response_data(reply: Reply) -> Any:
    """The `response` member of a successful Owner API answer."""
    if not isinstance(reply.json, dict) or "response" not in reply.json:
        raise ProtocolError(
            f"the vehicle API answered {reply.method} {reply.path} with "
            + (excerpt(reply) or "an unexpected body")
            + " instead of the usual JSON",
            hint="this is usually a gateway problem on the service's side; try again later",
            http=reply.details(),
        )
    return reply.json["response"]
