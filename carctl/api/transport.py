"""The wire under the API client: a synchronous httpx transport with a hard deadline.

carctl's commands are sequential — read the car, send one command, read it
back — so the client is a plain `httpx.Client`: no event loop, no asyncio or
anyio machinery to import on every run (about 50 ms of a command's start-up
when it was asynchronous, measured in `benchmarks/peers.py`).

What the event loop gave for free was a deadline over a whole exchange: a
server that trickles a byte every few seconds never trips a per-read timeout,
yet must not hold a command for minutes. Here every socket operation of the
transport — connect, TLS handshake, each write and each read — is given at
most the time left before the deadline of the exchange in progress, and fails
with httpx's own timeout error once none is left. `within(seconds)` sets that
deadline for what runs inside it (nested deadlines keep the nearer one).

Plain-HTTP endpoints (the mock on loopback) get an SSL context that is never
used and trusts nothing, instead of loading the CA bundle (about 20 ms): TLS
settings matter only where there is TLS.
"""

from __future__ import annotations

import contextlib
import ssl
import time
import typing
from collections.abc import Iterator
from contextvars import ContextVar

import httpcore
import httpx

from carctl.errors import ConfigError

_deadline: ContextVar[float | None] = ContextVar("carctl_deadline", default=None)


@contextlib.contextmanager
def within(seconds: float) -> Iterator[None]:
    """Everything the transport does inside this block ends `seconds` from now."""
    ends = time.monotonic() + seconds
    current = _deadline.get()
    token = _deadline.set(ends if current is None else min(current, ends))
    try:
        yield
    finally:
        _deadline.reset(token)


def past_deadline() -> bool:
    ends = _deadline.get()
    return ends is not None and time.monotonic() >= ends


def _bounded(timeout: float | None, timeout_error: type[Exception]) -> float | None:
    """`timeout`, shortened to the time left before the deadline; raises when none is left."""
    ends = _deadline.get()
    if ends is None:
        return timeout
    left = ends - time.monotonic()
    if left <= 0:
        raise timeout_error("the exchange ran past its deadline")
    return left if timeout is None else min(timeout, left)


class _Stream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _bounded(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _bounded(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        bounded = _bounded(timeout, httpcore.ConnectTimeout)
        return _Stream(self._inner.start_tls(ssl_context, server_hostname, bounded))

    def get_extra_info(self, info: str) -> typing.Any:
        return self._inner.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    def __init__(self, inner: httpcore.NetworkBackend) -> None:
        self._inner = inner

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[typing.Any] | None = None,
    ) -> httpcore.NetworkStream:
        bounded = _bounded(timeout, httpcore.ConnectTimeout)
        return _Stream(self._inner.connect_tcp(host, port, bounded, local_address, socket_options))

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: typing.Iterable[typing.Any] | None = None,
    ) -> httpcore.NetworkStream:
        bounded = _bounded(timeout, httpcore.ConnectTimeout)
        return _Stream(self._inner.connect_unix_socket(path, bounded, socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def _trusts_nothing() -> ssl.SSLContext:
    """Verifies certificates and hostnames against no CA at all: fails closed if ever used."""
    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


def trusting(ca_file: str) -> ssl.SSLContext:
    """The usual CAs, and the certificate (or CA) in `ca_file` besides: a signing proxy's."""
    import certifi

    context = ssl.create_default_context(cafile=certifi.where())
    try:
        context.load_verify_locations(cafile=ca_file)
    except (OSError, ssl.SSLError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise ConfigError(
            f"tls.ca_file {ca_file} cannot be used: {reason}",
            hint="give the PEM file of the proxy's certificate: carctl config set tls.ca_file PATH",
        ) from None
    return context


def transport(url: str, *, proxy: str | None, ca_file: str | None = None) -> httpx.HTTPTransport:
    """httpx's own transport for `url` (through `proxy`), its sockets bound by the deadline.

    httpx builds its connection pool without a way to pass a network backend,
    so the pool's backend is wrapped after construction: one private attribute
    of httpcore (stable across the 1.x line), and the hostile-server tests fail
    if it ever stops taking effect.
    """
    https = url.lower().startswith("https://")
    verify: ssl.SSLContext | bool = True if https else _trusts_nothing()
    if https and ca_file:
        verify = trusting(ca_file)
    wire = httpx.HTTPTransport(verify=verify, trust_env=True, proxy=proxy)
    pool = wire._pool
    pool._network_backend = _DeadlineBackend(pool._network_backend)
    return wire
