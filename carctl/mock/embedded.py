"""The built-in endpoint: the mock mounted in-process with `httpx.ASGITransport`.

Its world is kept in an SQLite file (carctl's state database), so consecutive
carctl runs see the same car, and two processes at once see one consistent
world. Faults that drop the connection surface as the same httpx error a real
dropped connection gives, and a store that cannot be used surfaces as a
transport error naming the file.
"""

from __future__ import annotations

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


class BuiltinTransport(httpx.AsyncBaseTransport):
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

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return await self._inner.handle_async_request(request)
        except ConnectionDropped:
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a response.", request=request
            ) from None
        except MockStoreError as exc:
            raise StateUnusable(str(exc), request=request, state_path=self.db_path) from None

    async def aclose(self) -> None:
        await self._inner.aclose()


def builtin_transport(db_path: Path, **kwargs: Any) -> BuiltinTransport:
    """The transport the API client mounts for `api_url = "builtin"`."""
    return BuiltinTransport(db_path, **kwargs)


async def admin_request(
    db_path: Path, method: str, path: str, json: dict[str, Any] | None = None
) -> Any:
    """Drive the built-in endpoint's control API (`/__mock__/...`) in-process."""
    async with httpx.AsyncClient(
        transport=builtin_transport(db_path), base_url=BUILTIN_URL
    ) as client:
        response = await client.request(method, path, json=json)
        data = response.json()
        if response.status_code >= 400:
            raise ValueError(data.get("error_description") or data.get("error") or str(data))
        return data


__all__ = ["BUILTIN_URL", "BuiltinTransport", "admin_request", "builtin_transport", "load_seed"]
