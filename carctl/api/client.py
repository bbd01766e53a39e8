"""The HTTP client of the vehicle API: one synchronous `httpx.Client` per run.

Every exchange is bounded: in time as a whole (connect, send and every read
within one total deadline, so a server trickling a byte every few seconds
cannot hold carctl), and in size while decoding (`bodies`),
recorded in the request log (no headers, no bodies), reported to an optional
observer (`-v`), and turned into data or a `CarctlError` carrying status,
method, path, txid, elapsed time and a safe excerpt. Redirects are never
followed: a credential sent to one origin is never replayed to another.

Authenticated requests take their bearer token from an `Authorizer` (the
session manager); a 401 leads to one refresh and one more try, never more.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from functools import partial
from pathlib import Path
from typing import Any, Protocol, TypeVar

import httpx

from carctl.api import DEADLINE_S
from carctl.api.bodies import (
    ACCEPT_ENCODING,
    MAX_BODY_BYTES,
    BodyTooLarge,
    UnreadableEncoding,
    parse_json,
    read_bounded,
)
from carctl.api.request_log import Exchange, RequestLog
from carctl.api.responses import Reply, error_for, response_data
from carctl.api.transport import past_deadline, within
from carctl.clock import Clock, SystemClock
from carctl.errors import (
    AuthError,
    CarctlError,
    ConfigError,
    HttpDetails,
    NetworkError,
    ProtocolError,
    StateError,
)

T = TypeVar("T")


class Authorizer(Protocol):
    """Where bearer tokens come from (`carctl.api.oauth.SessionManager`)."""

    def access_token(self) -> str:
        """A token to send; renewed first when it is about to expire."""
        ...

    def refresh_after_401(self, used: str, reply: Reply) -> str:
        """One renewal after the API refused `used`."""
        ...

    def rejected_fresh_token(self, reply: Reply) -> AuthError:
        """Why a token renewed a moment ago was refused too."""
        ...

    def renew(self) -> None:
        """Renew the stored session now, whatever its age (doctor's check)."""
        ...


class Metering(Protocol):
    """What counts and caps calls to a paid provider (`carctl.api.ledger.Meter`)."""

    def before(self, method: str, path: str, label: str | None = None) -> Any:
        """Admit the call (or raise: over the cap, over a per-minute limit); returns a token
        for `after`, None when the call is not billed."""
        ...

    def after(self, call: Any, status: int | None, at: float) -> None:
        """The call went out and was answered with `status` (None: no answer)."""
        ...

    def afford(self, counts: Mapping[str, int]) -> None:
        """Raise when calls of these categories would take the month past the cap."""
        ...


class Admission(Protocol):
    """What decides whether, and how often, a call goes out (`carctl.delivery.guard.Guard`).

    Defined here, implemented in the delivery layer: the client never imports
    the layer above it.
    """

    def call(self, attempt: Callable[[], T], *, retry: bool = True) -> T:
        """Run `attempt` once or more (once only without `retry`), or refuse to."""
        ...


REQUEST_TOTAL_S = DEADLINE_S  # connect + send + all reads of one exchange, unless the run says less
DEFAULT_TIMEOUT = httpx.Timeout(connect=5.0, read=15.0, write=10.0, pool=5.0)
USER_AGENT = "carctl"

Observer = Callable[[Exchange], None]


class ApiClient:
    def __init__(
        self,
        http: httpx.Client,
        *,
        origin: str,
        request_log: RequestLog | None = None,
        clock: Clock | None = None,
        observer: Observer | None = None,
        total_timeout_s: float = REQUEST_TOTAL_S,
        guard: Admission | None = None,
        authorizer: Callable[[ApiClient], Authorizer] | None = None,
        meter: Metering | None = None,
    ) -> None:
        self.http = http
        self.meter = meter  # a paid provider's ledger and cap; None: calls are free
        self.total_timeout_s = total_timeout_s
        self.origin = origin
        self.request_log = request_log
        self.clock = clock or SystemClock()
        self.observer = observer
        # the session manager needs this client's wire for token requests: it is made here
        self.session: Authorizer | None = authorizer(self) if authorizer is not None else None
        self.guard = guard  # breaker, budget and retries; None: one attempt

    # -- the wire ------------------------------------------------------------------

    def exchange(
        self,
        method: str,
        path: str,
        *,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        form: Mapping[str, str] | None = None,
        label: str | None = None,
    ) -> Reply:
        """Send one request and read its answer; a failure to get one is `NetworkError`.

        On a paid provider the meter admits it first (the cap, the per-minute limits)
        and records it after, answered or not; `label` names what it does for the
        ledger when its path does not (a signed command)."""
        call = self.meter.before(method, path, label) if self.meter is not None else None
        started = time.monotonic()
        at = self.clock.now()
        try:
            reply = self._exchange(method, path, at, started, headers, params, json_body, form)
        except CarctlError as exc:
            if call is not None and self.meter is not None:
                self.meter.after(call, exc.http.status if exc.http else None, at)
            raise
        if call is not None and self.meter is not None:
            self.meter.after(call, reply.status, at)
        return reply

    def _exchange(
        self,
        method: str,
        path: str,
        at: float,
        started: float,
        headers: Mapping[str, str] | None,
        params: Mapping[str, Any] | None,
        json_body: Any,
        form: Mapping[str, str] | None,
    ) -> Reply:
        request = self.http.build_request(
            method,
            path,
            headers={
                "user-agent": USER_AGENT,
                "accept-encoding": ACCEPT_ENCODING,
                **(headers or {}),
            },
            params=params,
            json=json_body,
            data=form,
        )
        try:
            with within(self.total_timeout_s):
                try:
                    response, body = self._send(request)
                except httpx.TimeoutException:
                    if past_deadline():
                        raise TimeoutError from None
                    raise
        except TimeoutError:
            elapsed = _ms(started)
            error = _too_slow(method, path, elapsed, self.total_timeout_s)
            self._record(at, method, path, None, elapsed, None, error.code, error.message)
            raise error from None
        except httpx.HTTPError as exc:
            elapsed = _ms(started)
            error = network_error(exc, method, path, elapsed)
            self._record(at, method, path, None, elapsed, None, error.code, error.message)
            raise error from None
        elapsed = _ms(started)
        text = body.decode("utf-8", errors="replace")
        return Reply(
            method=method,
            path=path,
            status=response.status_code,
            headers=response.headers,
            text=text,
            json=parse_json(text),
            txid=_txid(response.headers.get("x-txid")),
            elapsed_ms=elapsed,
        )

    def _send(self, request: httpx.Request) -> tuple[httpx.Response, bytes]:
        response = self.http.send(request, stream=True, follow_redirects=False)
        try:
            encoding = response.headers.get("content-encoding")
            try:
                if response.is_stream_consumed:  # an in-process transport handed it over read
                    body = response.content
                    if len(body) > MAX_BODY_BYTES:
                        raise BodyTooLarge
                else:
                    body = read_bounded(_until_deadline(response.iter_raw()), encoding)
            except BodyTooLarge:
                raise _TooLarge(
                    f"the answer is larger than {MAX_BODY_BYTES // 1024 // 1024} MiB"
                ) from None
            except UnreadableEncoding as exc:
                raise _BadEncoding(str(exc)) from None
        finally:
            response.close()
        return response, body

    def record(self, reply: Reply, outcome: str, error: str | None = None) -> None:
        """Log an answer once its meaning is known (ok, or the error's code)."""
        at = self.clock.now() - reply.elapsed_ms / 1000
        self._record(
            at, reply.method, reply.path, reply.status, reply.elapsed_ms, reply.txid, outcome, error
        )

    def _record(
        self,
        at: float,
        method: str,
        path: str,
        status: int | None,
        elapsed_ms: int,
        txid: str | None,
        outcome: str,
        error: str | None,
    ) -> None:
        exchange = Exchange(
            at=at,
            origin=self.origin,
            method=method,
            path=path.split("?", 1)[0],
            status=status,
            duration_ms=elapsed_ms,
            txid=txid,
            outcome=outcome,
            error=error,
        )
        if self.request_log is not None:
            self.request_log.record(exchange)
        if self.observer is not None:
            self.observer(exchange)

    # -- the Owner API ---------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        idempotency_key: str | None = None,
        before_send: Callable[[], None] | None = None,
        label: str | None = None,
        retry: bool = True,
    ) -> Any:
        """An authenticated Owner API call; returns its `response` member.

        With a guard, the call is admitted by the breaker and retried within budget.
        `before_send` runs right before every request that goes out for this call
        (each retry, the re-send after a 401) and may raise to stop it: that is how
        a queued command is checked for expiry and supersession at the last moment.
        """
        once = partial(
            self._request_once,
            method,
            path,
            params=params,
            json_body=json_body,
            idempotency_key=idempotency_key,
            before_send=before_send,
            label=label,
        )
        # `retry=False`: a command that must not be carried out twice or late (an unlock) is
        # sent once; a failure whose outcome is unknown is the owner's to check
        return self.guard.call(once, retry=retry) if self.guard is not None else once()

    def afford(self, *, wakes: int = 0, commands: int = 0, reads: int = 0) -> None:
        """A whole command's calls, checked against a paid provider's monthly cap before its
        first request (each request is checked again as it goes); free providers: nothing."""
        if self.meter is not None:
            self.meter.afford({"wake": wakes, "command": commands, "data": reads})

    def renew_session(self) -> None:
        """Prove the stored session can be renewed (doctor); raises what renewing raised."""
        if self.session is None:
            raise AuthError("not signed in", hint="run `carctl auth login`")
        self.session.renew()

    def _request_once(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None,
        json_body: Any,
        idempotency_key: str | None,
        before_send: Callable[[], None] | None = None,
        label: str | None = None,
    ) -> Any:
        if self.session is None:
            raise AuthError("not signed in", hint="run `carctl auth login`")
        token = self.session.access_token()
        headers = {"authorization": f"Bearer {token}"}
        if idempotency_key:
            headers["idempotency-key"] = idempotency_key
        if before_send is not None:
            before_send()
        reply = self.exchange(
            method, path, headers=headers, params=params, json_body=json_body, label=label
        )
        if reply.status == 401:
            self.record(reply, "auth", reply.api_message())
            fresh = self.session.refresh_after_401(token, reply)
            headers["authorization"] = f"Bearer {fresh}"
            if before_send is not None:
                before_send()
            reply = self.exchange(
                method, path, headers=headers, params=params, json_body=json_body, label=label
            )
            if reply.status == 401:
                error = self.session.rejected_fresh_token(reply)
                self.record(reply, error.code, error.message)
                raise error
        return self.interpret(reply)

    def interpret(self, reply: Reply) -> Any:
        if 200 <= reply.status < 300:
            try:
                data = response_data(reply)
            except CarctlError as exc:
                self.record(reply, exc.code, exc.message)
                raise
            self.record(reply, "ok")
            return data
        error = error_for(reply, now=self.clock.now())
        self.record(reply, error.code, error.message)
        raise error

    def close(self) -> None:
        self.http.close()


class _TooLarge(httpx.HTTPError):
    pass


class _BadEncoding(httpx.HTTPError):
    pass


def _until_deadline(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """The body's chunks, ending in `TimeoutError` once the exchange's deadline has passed.

    The transport bounds every socket read by the deadline; this also bounds a
    body that some other transport (the built-in mock, a test's) hands over slowly.
    """
    for chunk in chunks:
        if past_deadline():
            raise TimeoutError
        yield chunk


def _too_slow(method: str, path: str, elapsed_ms: int, limit_s: float) -> CarctlError:
    http = HttpDetails(status=None, method=method, path=path, elapsed_ms=elapsed_ms)
    return NetworkError(
        f"the vehicle API did not finish answering within {limit_s:g} s",
        hint="the service is very slow or the connection is poor; try again later",
        http=http,
    )


def _ms(started: float) -> int:
    return max(0, round((time.monotonic() - started) * 1000))


def _builtin_state_error(where: Path, cause: str) -> CarctlError:
    """The built-in endpoint's file (`where`) is unusable: read-only home, or damaged."""
    from carctl.files import cannot_write
    from carctl.state import recovery_hint

    if not _writable(where.parent):
        return cannot_write(where.parent, "the directory is read-only")
    return StateError(cause, hint=recovery_hint(where, cause))


def _writable(directory: Any) -> bool:
    import tempfile

    try:
        with tempfile.TemporaryFile(dir=directory):
            return True
    except OSError:
        return False


def network_error(exc: httpx.HTTPError, method: str, path: str, elapsed_ms: int) -> CarctlError:
    """What went wrong on the way, in words an owner can act on."""
    http = HttpDetails(status=None, method=method, path=path, elapsed_ms=elapsed_ms)
    cause = str(exc) or type(exc).__name__
    if isinstance(exc, _TooLarge):
        return ProtocolError(f"the vehicle API sent too much: {cause}", http=http)
    if isinstance(exc, _BadEncoding):
        return ProtocolError(f"the vehicle API sent an unreadable answer: {cause}", http=http)
    if isinstance(exc, httpx.ConnectTimeout):
        what = "connecting to the vehicle API timed out"
    elif isinstance(exc, httpx.ReadTimeout | httpx.WriteTimeout | httpx.PoolTimeout):
        what = "the vehicle API did not answer in time"
    elif isinstance(exc, httpx.ConnectError):
        lowered = cause.lower()
        state_path = getattr(exc, "state_path", None)  # the built-in endpoint's own file
        if state_path is not None:
            return _builtin_state_error(Path(state_path), cause)
        if "certificate_verify_failed" in lowered or "certificate verify failed" in lowered:
            # Not a passing fault: the same certificate will fail the same way, so nothing is
            # queued behind it. A signing proxy's own certificate is trusted explicitly.
            return ConfigError(
                f"the vehicle API's certificate is not trusted ({cause})",
                hint="if it is a signing proxy with its own certificate, trust that "
                "certificate: carctl config set tls.ca_file PATH (--insecure never turns "
                "certificate checks off)",
                http=http,
            )
        if "certificate" in lowered or "ssl" in lowered or "tls" in lowered:
            what = f"the TLS handshake with the vehicle API failed ({cause})"
        elif "name or service" in lowered or "nodename" in lowered or "getaddrinfo" in lowered:
            what = f"the vehicle API's host name does not resolve ({cause})"
        else:
            what = f"cannot connect to the vehicle API ({cause})"
    elif isinstance(exc, httpx.RemoteProtocolError):
        what = "the vehicle API closed the connection without a complete answer"
    elif isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return ProtocolError(f"the API address is not usable: {cause}", http=http)
    else:
        what = f"the exchange with the vehicle API failed ({type(exc).__name__}: {cause})"
    return NetworkError(
        what,
        hint="check your connection; `carctl doctor` tells your network from the service's",
        http=http,
    )


def _txid(value: str | None) -> str | None:
    """The service's request id, for support: short, and never a secret it repeated back."""
    if not value:
        return None
    from carctl.logs import redact

    return redact(value[:128])
