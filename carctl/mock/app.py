"""The mock vehicle API as one Starlette application.

Every request goes through the same pipeline, in both modes:

1. the fault plan decides (in a short session on the world) whether this
   request fails, is slowed down, or has its connection dropped;
2. latency, if any, is waited out with the injected clock, outside any lock;
3. otherwise the request is routed and handled in a second session, so the
   handler sees and changes one consistent world;
4. the answer gets an `x-txid` header and is counted in the stats.
"""

from __future__ import annotations

import ipaddress
import json
import random
import re
import secrets
from collections.abc import Mapping

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket

from carctl.mock import billing
from carctl.mock.clock import Clock, SystemClock
from carctl.mock.faults import FaultAction, FaultRule
from carctl.mock.http import VEHICLE_UNAVAILABLE, Call, api_error, not_found, oauth_error
from carctl.mock.routes import ROUTES
from carctl.mock.seed import Seed, load_seed
from carctl.mock.store import MemoryStore, WorldStore
from carctl.mock.world import World

OWNER, FLEET, PROXY = "owner", "fleet", "proxy"
REGION_PATH = "/api/1/users/region"
_REGIONAL = re.compile(r"^/(na|eu|cn)(/.*)$")
DROP_EXTENSION = "carctl.mock.drop"
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


class ConnectionDropped(Exception):
    """Raised when a fault drops the connection and the server cannot abort it itself."""


_HTML_PAGE = (
    "<html>\r\n<head><title>{status} {phrase}</title></head>\r\n<body>\r\n"
    "<center><h1>{status} {phrase}</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)
_PHRASES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Time-out",
}
_ERRORS = {
    500: ("internal server error", "500 server error"),
    502: ("bad gateway", "upstream returned an invalid response"),
    503: ("service unavailable", "the service is temporarily unavailable"),
    504: ("gateway timeout", "upstream did not answer in time"),
    429: ("rate limit exceeded", "too many requests"),
    408: (VEHICLE_UNAVAILABLE, ""),
}


def _with_txid(response: Response, txid: str) -> Response:
    """An API error's body names its transaction, as the service's do (`txid`), beside the
    `x-txid` header: what a client shows or logs when it reports the error."""
    if response.status_code < 400 or response.media_type != "application/json":
        return response
    try:
        document = json.loads(bytes(response.body))
    except ValueError:
        return response  # a truncated body stays truncated
    if not isinstance(document, dict) or "error" not in document:
        return response
    headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
    return JSONResponse(
        {**document, "txid": txid}, status_code=response.status_code, headers=headers
    )


def fault_response(action: FaultAction, *, oauth: bool = False) -> Response:
    """A fault's answer; on the sign-in endpoints in the OAuth shape (`error`,
    `error_description`, no `response`), as the token endpoint answers."""
    status = action.status or 500
    phrase = _PHRASES.get(status, "Error")
    headers: dict[str, str] = {}
    retry_after = action.retry_after
    if status == 429 and retry_after is None:
        retry_after = 30.0
    if retry_after is not None:
        headers["retry-after"] = str(max(0, round(retry_after)))
    if status == 429:
        headers.update(
            {
                "ratelimit-limit": "60",
                "ratelimit-remaining": "0",
                "ratelimit-reset": headers["retry-after"],
            }
        )
    if action.body == "html":
        return Response(
            _HTML_PAGE.format(status=status, phrase=phrase),
            status_code=status,
            media_type="text/html",
            headers=headers,
        )
    if action.body == "empty":
        return Response(b"", status_code=status, headers=headers)
    error, description = _ERRORS.get(status, (phrase.lower(), ""))
    if action.error is not None:  # the service's own words, as a client recognises them
        error, description = action.error, ""
    response = (
        oauth_error(status, error.replace(" ", "_"), description or phrase, headers)
        if oauth
        else api_error(status, error, description, headers)
    )
    if action.body == "truncated":
        body = bytes(response.body)
        return Response(
            body[: max(1, len(body) // 2)],
            status_code=status,
            media_type="application/json",
            headers=headers,
        )
    return response


def _truncated(response: Response) -> Response:
    body = bytes(response.body)
    headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
    return Response(
        body[: max(1, len(body) // 2)], status_code=response.status_code, headers=headers
    )


class MockApi:
    """The pipeline; `create_app` wraps it in Starlette."""

    def __init__(
        self,
        store: WorldStore,
        clock: Clock,
        rng: random.Random,
        admin: bool,
        flavor: str = OWNER,
        region: str = "na",
    ) -> None:
        self.store, self.clock, self.rng, self.admin = store, clock, rng, admin
        # owner: the Owner API's shape (the default). fleet: Tesla's Fleet API — every region
        # at its own address (/na, /eu, /cn; the root is na), the account in `region`,
        # the others answering 421; no password grant. proxy: the same behind Tesla's
        # signing proxy, where every command counts as signed.
        self.flavor, self.region = flavor, region
        # Ports on which this server stands in for Tesla's signing proxy (`--signing-proxy`):
        # commands that arrive there count as signed.
        self.signing_ports: set[int] = set()
        # how often (real seconds) a streaming connection looks at its car again
        self.stream_poll_s = 0.05
        # How many API requests were being answered at once: tests prove overlaps with it.
        self.concurrency = {
            "in_flight": 0,
            "max_in_flight": 0,
            "overlapping_requests": 0,  # began while another API request was being answered
            "overlapping_commands": 0,  # the same, for POST …/command/*
        }

    async def handle(self, request: Request) -> Response:
        if request.url.path.startswith("/__mock__/"):
            refused = _foreign_control(request)
            if refused is not None:
                refused.headers["x-txid"] = secrets.token_hex(16)  # every answer has one
                return refused
            return await self._handle(request)
        counts = self.concurrency
        counts["in_flight"] += 1
        counts["max_in_flight"] = max(counts["max_in_flight"], counts["in_flight"])
        if counts["in_flight"] > 1:
            counts["overlapping_requests"] += 1
            if "/command/" in request.url.path:
                counts["overlapping_commands"] += 1
        try:
            return await self._handle(request)
        finally:
            counts["in_flight"] -= 1

    async def _handle(self, request: Request) -> Response:
        method, path = request.method, request.url.path
        served_region = None
        if self.flavor != OWNER:
            regional = _REGIONAL.match(path)
            if regional is not None:
                served_region, path = regional.group(1), regional.group(2)
            elif path.startswith("/api/"):
                served_region = "na"
        body = await request.body()
        txid = secrets.token_hex(16)
        action = (
            None
            if path.startswith("/__mock__/")
            else await self._decide(method, path, request.headers)
        )
        if action is not None and action.latency:
            await self.clock.sleep(action.latency)
        if action is not None and action.drop:
            await self._drop(request, method, path)
            return Response(status_code=500)  # never sent: the connection is gone, unhandled
        if action is not None and action.status is not None:
            response = fault_response(action, oauth=path.startswith("/oauth2/"))
        elif (
            self.flavor == FLEET
            and served_region not in (None, self.region)
            and path != REGION_PATH
        ):
            response = await self._misdirected(method, path, request)
        else:
            response = await self._dispatch(request, method, path, body)
            if action is not None and action.body == "truncated":
                response = _truncated(response)  # the real answer, cut off by a gateway
        if not path.startswith("/oauth2/"):
            response = _with_txid(response, txid)
        response.headers["x-txid"] = txid
        return response

    async def _misdirected(self, method: str, path: str, request: Request) -> Response:
        """A regional host that does not serve this account (tesla-fleet-api: InvalidRegion),
        naming the right one as the service does (teslamotors/vehicle-command#208)."""
        raw = self.clock.now()
        async with self.store.session(raw) as world:
            world.stats.record_request(method, path, 421)
            self._bill(world, request.headers, path, 421, raw + world.clock_offset)
        right = f"{_base_url(request)}/{self.region}"
        return api_error(
            421,
            f"user out of region, use base URL: {right}, "
            "see https://developer.tesla.com/docs/fleet-api#regional-requirements",
            "",
        )

    def _bill(
        self, world: World, headers: Mapping[str, str], path: str, status: int, now: float
    ) -> None:
        """The Fleet API's flavours bill every call, as Tesla does (`carctl.mock.billing`)."""
        if self.flavor != OWNER:
            billing.bill(world.stats.billing, world.tokens.access, headers, path, status, now)

    async def _decide(
        self, method: str, path: str, headers: Mapping[str, str]
    ) -> FaultAction | None:
        raw = self.clock.now()
        async with self.store.session(raw) as world:
            now = raw + world.clock_offset
            action = world.plan.decide(method, path, now, self.rng)
            if action is not None and action.status is not None:
                world.stats.record_request(method, path, action.status)
                self._bill(world, headers, path, action.status, now)
            elif action is not None and action.drop:
                world.stats.record_request(method, path, 0)
            return action

    async def _drop(self, request: Request, method: str, path: str) -> None:
        drop = request.scope.get("extensions", {}).get(DROP_EXTENSION)
        if drop is None:
            raise ConnectionDropped(f"{method} {path}")
        await drop()

    async def _dispatch(self, request: Request, method: str, path: str, body: bytes) -> Response:
        raw = self.clock.now()
        async with self.store.session(raw) as world:
            call = Call(
                method=method,
                path=path,
                query=request.query_params,
                headers=request.headers,
                body=body,
                world=world,
                now=raw + world.clock_offset,
                base_url=_base_url(request),
                signed=self.flavor == PROXY or _port_of(request) in self.signing_ports,
                flavor=self.flavor,
                region=self.region,
                rng=self.rng,
                seed_for=self.store.seed,
                concurrency=self.concurrency,
            )
            response = self._route(call)
            if not path.startswith("/__mock__/"):
                world.stats.record_request(method, path, response.status_code)
                self._bill(world, request.headers, path, response.status_code, call.now)
            return response

    def _route(self, call: Call) -> Response:
        allowed = False
        for route in ROUTES:
            if route.admin and not self.admin:
                continue
            found = route.pattern.match(call.path)
            if found is None:
                continue
            if route.method != call.method and not (
                call.method == "HEAD" and route.method == "GET"
            ):
                allowed = True
                continue
            call.params = found.groupdict()
            return route.handler(call)
        if allowed:
            return api_error(
                405, "method_not_allowed", f"{call.method} is not allowed on {call.path}"
            )
        return not_found(f"no endpoint {call.path}")


def _literal_host(host: str) -> bool:
    """A Host no DNS name can be made to point at: an IP address, `localhost`, or a
    name that never resolves (the in-process endpoint's `.invalid`)."""
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith((".localhost", ".invalid")):
        return True
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _foreign_control(request: Request) -> Response | None:
    """The control API answers its own clients only (scripts, tests, `carctl mock`).

    A web page the owner visits could otherwise reach it: by a form post or a
    `fetch` with a text/plain body (a "simple" request no browser pre-flights),
    from another origin (its `Origin` header says so), or through DNS
    rebinding (a name of the page's that now points at 127.0.0.1: the `Host`
    header still carries that name). Each is refused before anything changes."""
    host = request.headers.get("host", "")
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    if not _literal_host(name):
        return api_error(
            403,
            "forbidden",
            f"the control API answers requests to this server's address, not to {host!r}",
        )
    origin = request.headers.get("origin")
    if origin is not None and origin != f"{request.url.scheme}://{host}":
        return api_error(403, "forbidden", f"the control API refuses pages of {origin!r}")
    has_body = request.headers.get("content-length", "0") != "0"
    if request.method in ("POST", "PUT", "PATCH") and has_body:
        kind = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if kind != "application/json":
            return api_error(
                415, "unsupported_media_type", "the control API takes application/json bodies"
            )
    return None


def _base_url(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}"


def _port_of(request: Request) -> int | None:
    server = request.scope.get("server")
    return int(server[1]) if server and server[1] is not None else None


async def _stream(websocket: WebSocket) -> None:
    from carctl.mock.streaming import serve_stream

    await serve_stream(websocket)


async def _telemetry(websocket: WebSocket) -> None:
    from carctl.mock.telemetry_stream import serve_telemetry

    await serve_telemetry(websocket)


def create_app(
    *,
    store: WorldStore | None = None,
    seed: Seed | None = None,
    clock: Clock | None = None,
    rng: random.Random | None = None,
    admin: bool = False,
    flavor: str = OWNER,
    region: str = "na",
) -> Starlette:
    """The mock as an ASGI application; `app.state.api` is its pipeline."""
    api = MockApi(
        store or MemoryStore(seed or load_seed()),
        clock or SystemClock(),
        rng or random.Random(),
        admin,
        flavor,
        region,
    )
    routes: list[BaseRoute] = [
        WebSocketRoute("/fleet_telemetry/{vin}", _telemetry),
        Route("/{path:path}", api.handle, methods=METHODS),
    ]
    if flavor == OWNER:  # the Owner API's streaming host, which the Fleet API does not have
        routes.insert(0, WebSocketRoute("/streaming/", _stream))
    app = Starlette(routes=routes)
    app.state.api = api
    return app


async def install_faults(app: Starlette, rules: list[FaultRule], *, replace: bool = False) -> None:
    """Install rules whose `after`/`for` count from now (server start for `serve`)."""
    api: MockApi = app.state.api
    raw = api.clock.now()
    async with api.store.session(raw) as world:
        now = raw + world.clock_offset
        installed = [rule.installed(now) for rule in rules]
        world.plan.rules = installed if replace else [*world.plan.rules, *installed]
