"""The admin calls that stand in for what an owner does at the car: tapping the key
card to pair a key (`carctl mock pair`), removing one, and the car rebooting
(new epochs: every client must handshake again)."""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from starlette.responses import JSONResponse, Response

from carctl.mock import signed_car
from carctl.mock.car import SimVehicle
from carctl.mock.http import BadBody, Call, api_error, not_found
from carctl.signing import crypto


def _car(call: Call) -> SimVehicle | Response:
    car = next((c for c in call.world.vehicles if c.matches(call.params["v"])), None)
    if car is None:
        return not_found(f"no vehicle {call.params['v']!r}")
    return car


def public_hex(value: Any) -> str | None:
    """A client public key as PEM or as the 65-byte point in hex; None if it is neither."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text.startswith("-----BEGIN"):
        try:
            key = serialization.load_pem_public_key(text.encode())
        except (ValueError, TypeError):
            return None
        if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
            return None
        return crypto.public_bytes(key).hex()
    try:
        raw = bytes.fromhex(text)
        crypto.load_public(raw)
    except ValueError:
        return None
    return raw.hex()


def keys_show(call: Call) -> Response:
    car = _car(call)
    if isinstance(car, Response):
        return car
    return JSONResponse({"vin": car.vin, **signed_car.describe(car, call.now, call.rng)})


def _key_from_body(call: Call) -> str | Response:
    try:
        fields = call.fields()
    except BadBody as exc:
        return api_error(400, "invalid_field", str(exc))
    public = public_hex(fields.get("public_key"))
    if public is None:
        return api_error(
            400, "invalid_field", "public_key must be a P-256 public key, as PEM or as hex"
        )
    return public


def _whitelist(call: Call, *, add: bool) -> Response:
    car = _car(call)
    if isinstance(car, Response):
        return car
    public = _key_from_body(call)
    if isinstance(public, Response):
        return public
    if add:
        return JSONResponse({"vin": car.vin, "paired": True, "added": signed_car.pair(car, public)})
    removed = signed_car.unpair(car, public)
    return JSONResponse({"vin": car.vin, "paired": False, "removed": removed})


def key_pair(call: Call) -> Response:
    """The key card tapped on the console: the key joins the car's whitelist."""
    return _whitelist(call, add=True)


def key_remove(call: Call) -> Response:
    return _whitelist(call, add=False)


def reboot(call: Call) -> Response:
    car = _car(call)
    if isinstance(car, Response):
        return car
    signed_car.reboot(car, call.now, call.rng)
    return JSONResponse({"vin": car.vin, **signed_car.describe(car, call.now, call.rng)})
