"""Fleet Telemetry's stream: the records a configured car sends, for a client to follow.

A real car streams to the partner's own server (the configuration's
`hostname`), which dispatches each record onward. The mock plays the car and
that server at once: a websocket at `/fleet_telemetry/{vin}` (the owner's
bearer token in the handshake, as for any API call) carries the records in
the form Tesla's fleet-telemetry server dispatches as JSON — its `Payload`
message (teslamotors/fleet-telemetry `protos/vehicle_data.proto`):
`{"data": [{"key": Field, "value": Value}], "createdAt": RFC 3339, "vin"}`,
where a `Value` is mostly a `stringValue`, a position a `locationValue`, the
gear a `shiftStateValue`, the charging state a `chargingValue`.

Only the configured fields are sent, each when its value changed and at most
once per its `interval_seconds`, on the mock's clock; an asleep car sends
nothing; a configuration that is removed or past its `exp` ends the stream.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Callable
from typing import Any

from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.websockets import WebSocket, WebSocketDisconnect

from carctl.mock import drive as road
from carctl.mock.car import SimVehicle
from carctl.mock.car_data import MILES_PER_PERCENT
from carctl.mock.http import api_error
from carctl.mock.streaming import Host, Listener, socket_call
from carctl.mock.vehicle_routes import authenticate, cars_of
from carctl.mock.world import iso

Value = dict[str, Any]


def _text(value: float | int, digits: int = 0) -> Value:
    return {"stringValue": f"{value:.{digits}f}"}


def _charging(car: SimVehicle) -> Value:
    state = "ChargeStateStopped" if car.plugged_in else "ChargeStateDisconnected"
    return {"chargingValue": "ChargeStateCharging" if car.charging else state}


FIELDS: dict[str, Callable[[SimVehicle], Value]] = {
    "VehicleSpeed": lambda car: _text(road.speed_mph(car) or 0),
    "Odometer": lambda car: _text(car.odometer, 3),
    "Soc": lambda car: _text(car.battery_level, 2),
    "BatteryLevel": lambda car: _text(car.battery_level, 2),
    "EstBatteryRange": lambda car: _text(car.battery_level * MILES_PER_PERCENT, 2),
    "Location": lambda car: {
        "locationValue": {"latitude": car.latitude, "longitude": car.longitude}
    },
    "GpsHeading": lambda car: _text(car.heading),
    "Gear": lambda car: {"shiftStateValue": f"ShiftState{car.shift_state or 'P'}"},
    "InsideTemp": lambda car: _text(car.inside_temp, 1),
    "OutsideTemp": lambda car: _text(car.outside_temp, 1),
    "ChargeState": _charging,
    "DetailedChargeState": _charging,
    "ChargeLimitSoc": lambda car: _text(car.charge_limit_soc),
    "Locked": lambda car: {"booleanValue": car.locked},
    "SentryMode": lambda car: {"booleanValue": car.sentry_mode},
}


class Ended(Exception):
    """The stream is over: the configuration is gone or expired, or the car left."""


async def _look(
    api: Host, headers: Headers, vin: str
) -> tuple[float, dict[str, Any], dict[str, Value]] | Response:
    """The car's configured fields now; an error answer for a handshake to refuse."""
    raw = api.clock.now()
    async with api.store.session(raw) as world:
        call = socket_call(api, world, raw, headers)
        account = authenticate(call, "vehicle_device_data")
        if isinstance(account, Response):
            return account
        car = next((c for c in cars_of(call, account) if c.vin == vin.upper()), None)
        if car is None:
            return api_error(404, "not_found", f"no vehicle {vin!r} on this account")
        config = world.telemetry.get(car.vin)
        if config is None:
            return api_error(
                404, "not_found", "this car has no Fleet Telemetry configuration to stream"
            )
        if isinstance(config.get("exp"), int | float) and config["exp"] <= call.now:
            return api_error(410, "gone", "this car's Fleet Telemetry configuration expired")
        if car.state != "online":
            return call.now, config, {}
        wanted = [name for name in config.get("fields", {}) if name in FIELDS]
        return call.now, config, {name: FIELDS[name](car) for name in wanted}


async def serve_telemetry(websocket: WebSocket) -> None:
    api: Host = websocket.app.state.api
    vin = websocket.path_params["vin"]
    first = await _look(api, websocket.headers, vin)
    if isinstance(first, Response):
        await websocket.send_denial_response(first)
        return
    await websocket.accept()
    sent_at: dict[str, float] = {}
    last: dict[str, Value] = {}
    looked: tuple[float, dict[str, Any], dict[str, Value]] | Response = first
    listener = Listener(websocket)
    try:
        while True:
            if isinstance(looked, Response):
                raise Ended(json.loads(bytes(looked.body))["error_description"])
            now, config, values = looked
            due = {
                name: value
                for name, value in values.items()
                if value != last.get(name)
                and now - sent_at.get(name, -math.inf) >= _interval(config, name)
            }
            if due:
                await websocket.send_text(json.dumps(_payload(vin.upper(), now, due)))
                await _count(api)
                last.update(due)
                sent_at.update(dict.fromkeys(due, now))
            await listener.pause(api.stream_poll_s)
            looked = await _look(api, websocket.headers, vin)
    except Ended as ended:
        listener.stop()
        await websocket.close(code=1000, reason=str(ended)[:120])
    except (WebSocketDisconnect, RuntimeError):
        listener.stop()
        return
    except asyncio.CancelledError:
        return  # the server stops: uvicorn has told the client (1012), nothing is left to do


def _interval(config: dict[str, Any], name: str) -> float:
    field = config.get("fields", {}).get(name) or {}
    interval = field.get("interval_seconds", 1) if isinstance(field, dict) else 1
    return float(interval) if isinstance(interval, int | float) else 1.0


def _payload(vin: str, now: float, values: dict[str, Value]) -> dict[str, Any]:
    data = [{"key": name, "value": value} for name, value in values.items()]
    return {"data": data, "createdAt": iso(now), "vin": vin}


async def _count(api: Host) -> None:
    async with api.store.session(api.clock.now()) as world:
        world.stats.record_stream("telemetry_records")
