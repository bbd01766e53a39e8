"""Fleet Telemetry's configuration: which server a car streams to, and what it sends.

Tesla's vehicle-endpoints page: `POST /api/1/vehicles/fleet_telemetry_config`
(`{"vins": […], "config": {hostname, port, ca, fields, alert_types, exp, …}}`)
answers `updated_vehicles` and the `skipped_vehicles` it could not configure,
by reason (`missing_key`: no virtual key on the car; `unsupported_hardware`,
`unsupported_firmware`); `GET /api/1/vehicles/{v}/fleet_telemetry_config`
answers the target config and whether the car has adopted it (`synced`);
`DELETE` removes it; `POST …/fleet_telemetry_config_jws` takes the same as a
signed token (`{"vins", "token"}`), whose payload the mock reads without
checking the signature. tesla-fleet-api's `fleet_telemetry_config_*` call
these paths. A configured car streams what it says (`carctl.mock.telemetry_stream`).
"""

from __future__ import annotations

import base64
import json
from typing import Any

from starlette.responses import Response

from carctl.mock.car import SimVehicle
from carctl.mock.http import BadBody, Call, api_error, envelope
from carctl.mock.vehicle_routes import authenticate, find_car

REQUIRED = ("hostname", "port", "fields")


def _configure(call: Call, vins: Any, config: Any) -> Response:
    account = authenticate(call, "vehicle_device_data")
    if isinstance(account, Response):
        return account
    if not isinstance(vins, list) or not vins or not all(isinstance(v, str) for v in vins):
        return api_error(400, "invalid_field", "vins must be a list of VINs")
    if not isinstance(config, dict) or any(k not in config for k in REQUIRED):
        return api_error(400, "invalid_field", "config needs hostname, port and fields")
    if not isinstance(config["fields"], dict):
        return api_error(400, "invalid_field", "config.fields must map a field to its interval")
    cars = {c.vin: c for c in call.world.vehicles if c.owner == account.email}
    skipped: dict[str, list[str]] = {
        "missing_key": [],
        "unsupported_hardware": [],
        "unsupported_firmware": [],
    }
    updated = 0
    for vin in (v.upper() for v in vins):
        car = cars.get(vin)
        if car is None:
            continue
        if not _key_paired(call, car):
            skipped["missing_key"].append(vin)
            continue
        call.world.telemetry[vin] = dict(config)
        updated += 1
    return envelope({"updated_vehicles": updated, "skipped_vehicles": skipped})


def _key_paired(call: Call, car: SimVehicle) -> bool:
    """A configuration is signed with the application's key: the car must hold one."""
    if car.command_signing != "required":
        return True
    return bool(car.signing.get("paired")) or call.flavor == "proxy"


def create(call: Call) -> Response:
    try:
        fields = call.fields()
    except BadBody as exc:
        return api_error(400, "invalid_field", str(exc))
    return _configure(call, fields.get("vins"), fields.get("config"))


def create_jws(call: Call) -> Response:
    try:
        fields = call.fields()
    except BadBody as exc:
        return api_error(400, "invalid_field", str(exc))
    token = fields.get("token")
    try:
        payload = str(token).split(".")[1]
        config = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return api_error(400, "invalid_field", "token must be a signed configuration (JWS)")
    return _configure(call, fields.get("vins"), config)


def show(call: Call) -> Response:
    found = find_car(call, "vehicle_device_data")
    if isinstance(found, Response):
        return found
    _, car = found
    config = call.world.telemetry.get(car.vin)
    return envelope(
        {
            "synced": config is not None,  # the simulated car adopts a config at once
            "config": config,
            "limit_reached": False,
            "key_paired": _key_paired(call, car),
        }
    )


def remove(call: Call) -> Response:
    found = find_car(call, "vehicle_device_data")
    if isinstance(found, Response):
        return found
    _, car = found
    removed = call.world.telemetry.pop(car.vin, None)
    return envelope({"updated_vehicles": 1 if removed is not None else 0})
