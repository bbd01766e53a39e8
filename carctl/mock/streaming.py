"""The Owner API's streaming websocket (`wss://streaming.vn.teslamotors.com/streaming/`).

The protocol, as TeslaPy's `Vehicle.stream()` speaks it and timdorr/tesla-api's
streaming page and client captures record it: the server says
`control:hello`; the client sends `data:subscribe_oauth` with its access token,
the car's `vehicle_id` as `tag` and the columns it wants as `value`; the server
then sends `data:update` whenever a column changes, `value` being the
timestamp in ms and the columns in the order asked, comma-separated (an empty
field for no value), and ends with `data:error` — `vehicle_disconnected`
after `IDLE_S` without a change or when the car sleeps, `client_error` for a
token or car it cannot accept. Frames go out as binary, as the service's do.

The car is read from the world every `poll_s` of real time and judged on the
mock's clock, so a test that moves the clock moves the stream.
"""

from __future__ import annotations

import asyncio
import json
import random
from typing import Any, Protocol

from starlette.datastructures import Headers, QueryParams
from starlette.responses import Response
from starlette.websockets import WebSocket, WebSocketDisconnect

from carctl.mock import drive as road
from carctl.mock.car import SimVehicle
from carctl.mock.car_data import MILES_PER_PERCENT
from carctl.mock.clock import Clock
from carctl.mock.http import Call
from carctl.mock.store import WorldStore
from carctl.mock.vehicle_routes import authenticate, cars_of
from carctl.mock.world import World


class Host(Protocol):
    """What a stream needs of the server's pipeline (`carctl.mock.app.Host`)."""

    clock: Clock
    store: WorldStore
    rng: random.Random
    flavor: str
    stream_poll_s: float


IDLE_S = 10.0  # mock-clock seconds without a change: the stream ends (TeslaPy's docstring)
SUBSCRIBE_WAIT_S = 30.0  # real seconds a client has to subscribe
ELEVATION_M = 38


def columns(car: SimVehicle) -> dict[str, str]:
    """Every column the service streams, as the text it sends."""
    lat, lng = f"{car.latitude:.6f}", f"{car.longitude:.6f}"
    speed = road.speed_mph(car)
    heading = str(round(car.heading))
    return {
        "speed": "" if speed is None else str(speed),
        "odometer": f"{car.odometer:.1f}",
        "soc": str(round(car.battery_level)),
        "elevation": str(ELEVATION_M),
        "est_heading": heading,
        "est_lat": lat,
        "est_lng": lng,
        "power": str(road.power_kw(car)),
        "shift_state": car.shift_state or "",
        "range": str(round(car.battery_level * MILES_PER_PERCENT)),
        "est_range": str(round(car.battery_level * 2.6)),
        "heading": heading,
        "est_corrected_lat": lat,
        "est_corrected_lng": lng,
        "native_latitude": lat,
        "native_longitude": lng,
        "native_heading": heading,
        "native_type": "wgs",
        "native_location_supported": "1",
    }


class Refused(Exception):
    """The subscription cannot be served: the message's `value` and `error_type`."""

    def __init__(self, value: str, error_type: str = "client_error") -> None:
        super().__init__(value)
        self.value, self.error_type = value, error_type


async def serve_stream(websocket: WebSocket) -> None:
    api: Host = websocket.app.state.api
    await websocket.accept()
    tag = ""
    try:
        await _send(websocket, {"msg_type": "control:hello", "connection_timeout": 30000})
        request = await asyncio.wait_for(_receive(websocket), SUBSCRIBE_WAIT_S)
        tag = str(request.get("tag", ""))
        wanted = [c.strip() for c in str(request.get("value", "")).split(",") if c.strip()]
        await _count(api, "connections")
        await _follow(websocket, api, request, tag, wanted)
    except Refused as refused:
        await _error(websocket, api, tag, refused)
    except (WebSocketDisconnect, TimeoutError, RuntimeError):
        return  # the client went away, or never subscribed
    except asyncio.CancelledError:
        return  # the server stops: uvicorn has told the client (1012), nothing is left to do


async def _follow(
    websocket: WebSocket, api: Host, request: dict[str, Any], tag: str, wanted: list[str]
) -> None:
    """Send the car's columns whenever one changes, until it idles, sleeps or is gone."""
    if request.get("msg_type") != "data:subscribe_oauth":
        raise Refused("Only data:subscribe_oauth is supported. ")
    if not wanted:
        raise Refused("No columns requested. ")
    last: list[str] | None = None
    changed_at = 0.0
    listener = Listener(websocket)
    try:
        while True:
            now, row = await _read(api, websocket, str(request.get("token", "")), tag, wanted)
            if row != last:
                value = ",".join([str(int(now * 1000)), *row])
                await _send(websocket, {"msg_type": "data:update", "tag": tag, "value": value})
                await _count(api, "updates")
                last, changed_at = row, now
            elif now - changed_at >= IDLE_S:
                raise Refused("disconnected", "vehicle_disconnected")
            await listener.pause(api.stream_poll_s)
    finally:
        listener.stop()


def socket_call(api: Host, world: World, raw: float, headers: Headers) -> Call:
    """A websocket's look at the world as the handlers see a request: its token, the time."""
    return Call(
        method="GET",
        path="/",
        query=QueryParams(),
        headers=headers,
        body=b"",
        world=world,
        now=raw + world.clock_offset,
        base_url="",
        rng=api.rng,
        seed_for=api.store.seed,
        flavor=api.flavor,
    )


class Listener:
    """What the client says while the server streams: nothing is expected, but a close
    must end the stream at once, even when the car has nothing new to send."""

    def __init__(self, websocket: WebSocket) -> None:
        self.websocket = websocket
        self.heard: asyncio.Task[Any] = asyncio.ensure_future(websocket.receive())

    async def pause(self, seconds: float) -> None:
        """Wait `seconds`; raise WebSocketDisconnect as soon as the client leaves."""
        done, _ = await asyncio.wait({self.heard}, timeout=seconds)
        if not done:
            return
        message = self.heard.result()
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(message.get("code", 1000))
        self.heard = asyncio.ensure_future(self.websocket.receive())  # ignored: listen on

    def stop(self) -> None:
        self.heard.cancel()


async def _read(
    api: Host, websocket: WebSocket, token: str, tag: str, wanted: list[str]
) -> tuple[float, list[str]]:
    """The car's columns now, judged afresh (a revoked token or a car asleep ends it)."""
    raw = api.clock.now()
    async with api.store.session(raw) as world:
        call = socket_call(api, world, raw, Headers({"authorization": f"Bearer {token}"}))
        account = authenticate(call)
        if isinstance(account, Response):
            raise Refused("Can't validate token. ")
        car = next((c for c in cars_of(call, account) if str(c.vehicle_id) == tag), None)
        if car is None:
            raise Refused(f"Vehicle {tag} not found for this account. ")
        if car.state != "online":
            raise Refused("disconnected", "vehicle_disconnected")
        shown = columns(car)
        return call.now, [shown.get(name, "") for name in wanted]


async def _count(api: Host, kind: str) -> None:
    async with api.store.session(api.clock.now()) as world:
        world.stats.record_stream(kind)


async def _error(websocket: WebSocket, api: Host, tag: str, refused: Refused) -> None:
    message = {
        "msg_type": "data:error",
        "tag": tag,
        "value": refused.value,
        "error_type": refused.error_type,
    }
    try:
        await _send(websocket, message)
        await _count(api, refused.error_type)
        await websocket.close()
    except (WebSocketDisconnect, RuntimeError):
        return


async def _send(websocket: WebSocket, message: dict[str, Any]) -> None:
    await websocket.send_bytes(json.dumps(message, separators=(",", ":")).encode())


async def _receive(websocket: WebSocket) -> dict[str, Any]:
    message = await websocket.receive()
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code", 1000))
    raw = message.get("text") or (message.get("bytes") or b"").decode("utf-8", "replace")
    try:
        parsed = json.loads(raw)
    except ValueError:
        raise Refused("Malformed message. ") from None
    if not isinstance(parsed, dict):
        raise Refused("Malformed message. ")
    return parsed
