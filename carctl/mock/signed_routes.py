"""`POST /api/1/vehicles/{vin}/signed_command`: the Fleet API's road for signed commands.

The body is `{"routable_message": base64}`; the car's answer, whatever it says
(a fault is still an answer), comes back as `200 {"response": base64}`
(protocol.md, "HTTPS"). HTTP errors are the service's own: 401, 404, 408 for a
car that is asleep, 429, 400 for a body that is not one. A verified command is
executed exactly as the REST endpoint executes it, and counted as signed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from typing import Any

from starlette.responses import JSONResponse, Response

from carctl.mock import signed_car
from carctl.mock.commands import COMMANDS
from carctl.mock.http import BadBody, Call, api_error
from carctl.mock.params import InvalidField
from carctl.mock.vehicle_routes import execute, find_car, rate_limited, unavailable
from carctl.signing import actions, wire
from carctl.signing import messages as m


def _body(call: Call) -> bytes | Response:
    try:
        fields = call.fields()
    except BadBody as exc:
        return api_error(400, "invalid_field", str(exc))
    raw = fields.get("routable_message")
    if not isinstance(raw, str) or not raw:
        return api_error(400, "invalid_field", "routable_message must be a base64 string")
    try:
        return base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        return api_error(400, "invalid_field", "routable_message is not valid base64")


def signed_command(call: Call) -> Response:
    if call.flavor == "owner":  # the Owner API never had this road
        return api_error(404, "not_found", f"no endpoint {call.path}")
    found = find_car(call, "vehicle_cmds")
    if isinstance(found, Response):
        return found
    account, car = found
    raw = _body(call)
    if isinstance(raw, Response):
        return raw
    key = call.headers.get("idempotency-key") or None
    fingerprint = hashlib.sha256(car.id_s.encode() + raw).hexdigest()
    if key is not None and key in call.world.idempotency:
        stored = call.world.idempotency[key]
        if stored["fingerprint"] != fingerprint:
            return api_error(
                422, "idempotency_key_reused", "this Idempotency-Key was used for a different body"
            )
        return JSONResponse(
            stored["body"], status_code=stored["status"], headers={"idempotent-replayed": "true"}
        )
    headers = rate_limited(call, car, "command")
    if isinstance(headers, Response):
        return headers
    refusal = unavailable(car)
    if refusal is not None:
        return refusal
    try:
        request = m.RoutableMessage.decode(raw)
    except wire.WireError:
        return api_error(400, "invalid_field", "routable_message is not a RoutableMessage")
    others = tuple(c.vin for c in call.world.vehicles if c.owner == account.email and c is not car)
    verifier = signed_car.SigningCar(car, call.now, call.rng, others)
    try:
        if request.session_info_request is not None:
            answer = verifier.handshake(request)
        else:
            verified = verifier.verify(request)
            answer = verifier.answer(request, verified, _run(call, car, verified, key))
    except signed_car.Refused as refused:
        answer = refused.answer
    body = {"response": base64.b64encode(answer.encode()).decode()}
    if key is not None:
        call.world.remember_response(key, {"fingerprint": fingerprint, "status": 200, "body": body})
    return JSONResponse(body, headers=headers)


def _run(call: Call, car: Any, verified: signed_car.Verified, key: str | None) -> bytes:
    """Execute a verified payload; the car's application-layer answer, unencrypted."""
    answer = actions.vcsec_result if verified.domain == m.VCSEC else actions.infotainment_result
    try:
        decoded = actions.decode(verified.domain, verified.payload)
    except (actions.UnsupportedCommand, wire.WireError) as exc:
        return answer(False, f"unsupported: {exc}")
    if decoded.name in ("ping", "wake_vehicle"):
        car.touch(call.now)
        return answer(True, "")
    params = dict(decoded.params)
    if decoded.name == "window_control" and params.get("command") == "close":
        # the signed action carries no position: the car trusts the key, not a distance
        params.update(lat=car.latitude, lon=car.longitude)
    spec = COMMANDS[decoded.name]
    try:
        checked = spec.check(params)
    except (InvalidField, BadBody) as exc:
        return answer(False, str(exc))
    result, reason = execute(call, car, decoded.name, checked, key, signed=True)
    return answer(result, reason)
