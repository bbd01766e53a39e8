"""The built-in endpoint: the mock mounted in-process with `httpx.ASGITransport`.

Its world is kept in an SQLite file (carctl's state database), so consecutive
carctl runs see the same car, and two processes at once see one consistent
world. Faults that drop the connection surface as the same httpx error a real
dropped connection gives, and a store that cannot be used surfaces as a
transport error naming the file.
"""

from __future__ import annotations

import asyncio
import random
from pathlib import Path
from typing import Any

import httpx

from carctl.mock.app import ConnectionDropped, create_app
from carctl.mock.clock import Clock
from carctl.mock.seed import load_seed
from carctl.mock.store import MockStoreError, SqliteStore

BUILTIN_URL = "http://builtin.carctl.invalid"


class StateUnusable(httpx.ConnectError):
    """The built-in endpoint's own file cannot be used: a local problem, never the network.

    `state_path` names the file, so the client can say so without parsing the message.
    """

    def __init__(self, message: str, *, request: httpx.Request, state_path: Path) -> None:
        super().__init__(message, request=request)
        self.state_path = state_path


class BuiltinTransport(httpx.BaseTransport):
    """carctl's synchronous client, answered by the mock's ASGI app in this process.

    The app is asynchronous (it is also what `carctl mock serve` runs), so each
    request is run to completion on an event loop this transport owns; the
    answer's bytes come back exactly as sent (still compressed, if they were),
    for the client to bound and decode as it does any server's.
    """

    def __init__(
        self,
        db_path: Path,
        *,
        seed_path: Path | None = None,
        clock: Clock | None = None,
        rng: random.Random | None = None,
    ) -> None:
        seed = load_seed(seed_path) if seed_path else None
        self.db_path = db_path
        self.app = create_app(store=SqliteStore(db_path, seed), clock=clock, rng=rng, admin=True)
        self._inner = httpx.ASGITransport(app=self.app, client=("127.0.0.1", 0))
        self._loop: asyncio.AbstractEventLoop | None = None

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
        forwarded = httpx.Request(
            request.method, request.url, headers=request.headers, content=request.read()
        )
        try:
            status, headers, raw = self._loop.run_until_complete(self._answer(forwarded))
        except ConnectionDropped:
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a response.", request=request
            ) from None
        except MockStoreError as exc:
            raise StateUnusable(str(exc), request=request, state_path=self.db_path) from None
        return httpx.Response(status, headers=headers, stream=httpx.ByteStream(raw))

    async def _answer(self, request: httpx.Request) -> tuple[int, httpx.Headers, bytes]:
        response = await self._inner.handle_async_request(request)
        raw = b"".join([chunk async for chunk in response.aiter_raw()])
        return response.status_code, response.headers, raw

    def close(self) -> None:
        if self._loop is not None:
            self._loop.run_until_complete(self._inner.aclose())
            self._loop.close()
            self._loop = None


def builtin_transport(db_path: Path, **kwargs: Any) -> BuiltinTransport:
    """The transport the API client mounts for `api_url = "builtin"`."""
    return BuiltinTransport(db_path, **kwargs)


def admin_request(db_path: Path, method: str, path: str, json: dict[str, Any] | None = None) -> Any:
    """Drive the built-in endpoint's control API (`/__mock__/...`) in-process."""
    with httpx.Client(transport=builtin_transport(db_path), base_url=BUILTIN_URL) as client:
        response = client.request(method, path, json=json)
        data = response.json()
        if response.status_code >= 400:
            raise ValueError(data.get("error_description") or data.get("error") or str(data))
        return data


__all__ = ["BUILTIN_URL", "BuiltinTransport", "admin_request", "builtin_transport", "load_seed"]
