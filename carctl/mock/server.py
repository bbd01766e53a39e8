"""`carctl mock serve`: the mock under uvicorn on a real socket.

The socket is bound here rather than by uvicorn so that a taken port becomes a
one-line error instead of uvicorn's log-and-exit, and so that port 0 works
(tests and scripts read the chosen port from the first line printed).
A fault that drops the connection aborts the TCP transport for real.
"""

from __future__ import annotations

import asyncio
import errno
import socket
import threading
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from carctl.mock.app import DROP_EXTENSION, ConnectionDropped

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class ServeError(RuntimeError):
    """The mock cannot be served (port taken, address not available)."""


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY on accepted sockets only when
    # the listener says it is TCP; without it every answer waits ~40 ms for a delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise ServeError(
                f"port {port} on {host} is already in use; "
                f"choose another with --port (0 picks a free one)"
            ) from None
        if exc.errno in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT):
            raise ServeError(
                f"cannot listen on {host}: it is not an address of this machine"
            ) from None
        if exc.errno == errno.EACCES:
            raise ServeError(
                f"not allowed to listen on port {port}; use a port above 1023"
            ) from None
        raise ServeError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.listen(128)
    sock.setblocking(False)
    return sock


def with_real_drops(app: ASGIApp) -> ASGIApp:
    """Give the app a way to abort the TCP connection of the current request.

    uvicorn does not expose the transport in the ASGI scope; its `send` is a
    bound method of the request cycle, which holds it.
    """

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":

            async def drop() -> None:
                transport = getattr(getattr(send, "__self__", None), "transport", None)
                if transport is None:
                    raise ConnectionDropped(scope.get("path", ""))
                transport.abort()
                await asyncio.sleep(0)  # let the server see the connection is gone

            scope = {
                **scope,
                "extensions": {**(scope.get("extensions") or {}), DROP_EXTENSION: drop},
            }
        await app(scope, receive, send)

    return wrapped


def make_server(
    app: ASGIApp,
    *,
    log_level: str = "warning",
    tls_cert: str | None = None,
    tls_key: str | None = None,
) -> Any:
    import uvicorn

    config = uvicorn.Config(
        with_real_drops(app),
        log_level=log_level,
        access_log=log_level in ("info", "debug"),
        http="h11",
        lifespan="off",
        loop="asyncio",
        ws="wsproto",  # the streaming websocket (carctl.mock.streaming)
        ssl_certfile=tls_cert,
        ssl_keyfile=tls_key,
    )
    return uvicorn.Server(config)


def url_of(sock: socket.socket, *, https: bool = False) -> str:
    host, port = sock.getsockname()[:2]
    scheme = "https" if https else "http"
    return f"{scheme}://[{host}]:{port}" if ":" in host else f"{scheme}://{host}:{port}"


class RunningServer:
    """A served mock in a background thread: for tests and benchmarks."""

    def __init__(self, app: ASGIApp, host: str = "127.0.0.1", port: int = 0) -> None:
        self.sock = bind(host, port)
        self.url = url_of(self.sock)
        self.server = make_server(app)
        self._thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, name="carctl-mock", daemon=True
        )

    def __enter__(self) -> RunningServer:
        self._thread.start()
        while not self.server.started and self._thread.is_alive():
            self._thread.join(0.005)
        if not self.server.started:
            raise ServeError("the mock server did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self._thread.join(10)
        self.sock.close()
