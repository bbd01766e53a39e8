"""The Owner API: products, vehicles, wake, vehicle data and commands."""

from __future__ import annotations

import json
import math
from typing import Any

from starlette.responses import JSONResponse, Response

from carctl.mock import car_data
from carctl.mock.accounts import Account, digest
from carctl.mock.car import SimVehicle
from carctl.mock.car_data import DATA_SECTIONS, DEFAULT_SECTIONS
from carctl.mock.commands import COMMANDS
from carctl.mock.http import (
    IN_SERVICE,
    SIGNING_REQUIRED,
    VEHICLE_UNAVAILABLE,
    BadBody,
    Call,
    api_error,
    envelope,
    listing,
    not_found,
)
from carctl.mock.params import InvalidField
from carctl.mock.world import iso

MISSING_SCOPES = "Unauthorized missing scopes"  # tesla-fleet-api's `Forbidden.key`


def authenticate(call: Call, scope: str | None = None) -> Account | Response:
    """The account behind the bearer token; 403 when the token was not granted `scope`."""
    scheme, _, token = call.headers.get("authorization", "").partition(" ")
    challenge = {"www-authenticate": 'Bearer realm="owner-api"'}
    if scheme.lower() != "bearer" or not token.strip():
        return api_error(401, "invalid bearer token", "", challenge)
    grant = call.world.tokens.access.get(digest(token.strip()))
    if grant is None or grant.email not in call.world.accounts:
        return api_error(401, "invalid bearer token", "", challenge)
    if grant.expires_at is not None and grant.expires_at <= call.now:
        return api_error(401, "token expired (401)", "", challenge)
    # the Fleet API enforces scopes; the Owner API never did (its clients asked for
    # "openid email offline_access" and drove the car: TeslaPy's SCOPE)
    enforced = call.flavor != "owner" and scope is not None and grant.scopes is not None
    if enforced and scope not in (grant.scopes or []):
        return api_error(403, MISSING_SCOPES, f"this token was not granted {scope}")
    return call.world.accounts[grant.email]


def cars_of(call: Call, account: Account) -> list[SimVehicle]:
    """The account's cars, and those a redeemed invitation shares with it."""
    shared = {
        i["vin"]
        for i in call.world.invitations.values()
        if i["state"] == "redeemed" and i["share_user_id"] == account.user_id
    }
    cars = [car for car in call.world.vehicles if car.owner == account.email or car.vin in shared]
    for car in cars:
        car.settle(call.now)
    return cars


def find_car(call: Call, scope: str | None = None) -> tuple[Account, SimVehicle] | Response:
    account = authenticate(call, scope)
    if isinstance(account, Response):
        return account
    key = call.params["v"]
    for car in cars_of(call, account):
        if car.matches(key):
            return account, car
    return not_found(f"no vehicle {key!r} on this account")


def _rate_headers(call: Call, car: SimVehicle, kind: str, limit: int) -> dict[str, str]:
    remaining = call.world.rate_remaining(car.id_s, kind, limit)
    window = call.world.rate_log.get(f"{car.id_s}:{kind}", [])
    reset = math.ceil(window[0] + 60 - call.now) if window else 60
    return {
        "ratelimit-limit": str(limit),
        "ratelimit-remaining": str(remaining),
        "ratelimit-reset": str(max(0, reset)),
    }


def rate_limited(call: Call, car: SimVehicle, kind: str) -> Response | dict[str, str]:
    limits = call.world.settings.rate_limits
    limit = {
        "data": limits.data_per_minute,
        "command": limits.commands_per_minute,
        "wake": limits.wakes_per_minute,
    }[kind]
    wait = call.world.take_rate_slot(car.id_s, kind, limit, call.now)
    if wait is not None:
        seconds = str(math.ceil(wait))
        return api_error(
            429,
            "rate limit exceeded",
            f"{limit} {kind} requests per minute; retry in {seconds} s",
            {
                "retry-after": seconds,
                "ratelimit-limit": str(limit),
                "ratelimit-remaining": "0",
                "ratelimit-reset": seconds,
            },
        )
    return _rate_headers(call, car, kind, limit)


def _in_service(car: SimVehicle) -> Response | None:
    """The service's own words, misspelling included (clients match on them: teslajsonpy)."""
    return api_error(405, IN_SERVICE, "") if car.in_service else None


def unavailable(car: SimVehicle) -> Response | None:
    if car.in_service:
        return api_error(405, IN_SERVICE, "")
    if car.state != "online":
        return api_error(408, VEHICLE_UNAVAILABLE, "")
    return None


# -- endpoints ------------------------------------------------------------------


def products(call: Call) -> Response:
    account = authenticate(call)
    if isinstance(account, Response):
        return account
    return listing([car_data.summary(car) for car in cars_of(call, account)])


def vehicles(call: Call) -> Response:
    return products(call)


def vehicle(call: Call) -> Response:
    """Never wakes the car and never resets its idle timer."""
    found = find_car(call)
    if isinstance(found, Response):
        return found
    return envelope(car_data.summary(found[1]))


def wake_up(call: Call) -> Response:
    found = find_car(call)
    if isinstance(found, Response):
        return found
    car = found[1]
    refusal = _in_service(car)
    if refusal is not None:
        return refusal
    headers = rate_limited(call, car, "wake")
    if isinstance(headers, Response):
        return headers
    shown = car_data.summary(car)  # the state before the wake: still "asleep" while it wakes
    car.wake(call.now)
    if car.state == "online":
        shown = car_data.summary(car)
    return envelope(shown, headers=headers)


def online_car(
    call: Call, scope: str = "vehicle_device_data"
) -> tuple[Account, SimVehicle, dict[str, str]] | Response:
    """For the data endpoints: the car, counted against its data limit, and online."""
    found = find_car(call, scope)
    if isinstance(found, Response):
        return found
    account, car = found
    headers = rate_limited(call, car, "data")
    if isinstance(headers, Response):
        return headers
    refusal = unavailable(car)
    return refusal if refusal is not None else (account, car, headers)


def vehicle_data(call: Call) -> Response:
    wanted = _endpoints(call.query.get("endpoints"))
    # the car's position needs its own grant (developer.tesla.com: vehicle_location)
    found = online_car(
        call, "vehicle_location" if "location_data" in wanted else "vehicle_device_data"
    )
    if isinstance(found, Response):
        return found
    account, car, headers = found
    car.touch(call.now)
    from carctl.mock import firmware_keys

    data: dict[str, Any] = {
        **car_data.summary(car),
        **firmware_keys.top(car),
        "user_id": account.user_id,
    }
    with_location = "location_data" in wanted
    for name in DATA_SECTIONS:
        if name == "preconditioning_schedule_data" and car.schedule_support != "precondition":
            continue
        if name in wanted or (name == "drive_state" and with_location):
            data[name] = car_data.section(car, name, call.now, with_location=with_location)
    return envelope(data, headers=headers)


def _endpoints(raw: str | None) -> set[str]:
    """`?endpoints=a;b` (also comma-separated). Unknown names are ignored, as the real API does.

    Without it: every section but the position, which only `location_data` brings."""
    if not raw:
        return set(DEFAULT_SECTIONS)
    return {part.strip() for part in raw.replace(",", ";").split(";") if part.strip()}


def command(call: Call) -> Response:
    name = call.params["name"]
    spec = COMMANDS.get(name)
    found = find_car(call, "vehicle_cmds")
    if isinstance(found, Response):
        return found
    car = found[1]
    if spec is None:  # the Fleet API's documented answer for an unknown command
        return api_error(400, "invalid_command", f"unknown command {name!r}")
    try:
        params = spec.check(call.fields())
    except BadBody as exc:
        return api_error(400, "invalid_field", str(exc))
    except InvalidField as exc:
        return api_error(400, "invalid_field", str(exc))
    key = call.headers.get("idempotency-key") or None
    fingerprint = json.dumps([car.id_s, name, params], sort_keys=True)
    if key is not None and key in call.world.idempotency:
        stored = call.world.idempotency[key]
        if stored["fingerprint"] != fingerprint:
            return api_error(
                422,
                "idempotency_key_reused",
                "this Idempotency-Key was used for a different command",
            )
        return JSONResponse(
            stored["body"], status_code=stored["status"], headers={"idempotent-replayed": "true"}
        )
    headers = rate_limited(call, car, "command")
    if isinstance(headers, Response):
        return headers
    refusal = (_through_proxy(car) if call.signed else unavailable(car)) or _unsigned(call, car)
    if refusal is not None:
        return refusal
    result, reason = execute(call, car, name, params, key, signed=call.signed)
    body = {"response": {"result": result, "reason": reason}}
    if key is not None:
        call.world.remember_response(key, {"fingerprint": fingerprint, "status": 200, "body": body})
    return JSONResponse(body, headers=headers)


def execute(
    call: Call, car: SimVehicle, name: str, params: dict[str, Any], key: str | None, *, signed: bool
) -> tuple[bool, str]:
    """Run a checked command on the car and record it: one executor for both paths.

    `signed`: it came verified over the Vehicle Command Protocol (or through the
    signing-proxy stand-in); the stats count signed and unsigned executions apart."""
    spec = COMMANDS[name]
    car.touch(call.now)
    result, reason = (False, car.refusal) if car.refusal else spec.effect(car, params, call.now)
    call.world.stats.record_command(
        {
            "vehicle": car.id_s,
            "vin": car.vin,
            "name": name,
            "params": params,
            "idempotency_key": key,
            "at": iso(call.now),
            "result": result,
            "signed": signed,
        }
    )
    return result, reason


PROXY_ASLEEP = "vehicle unavailable: vehicle is offline or asleep"
PROXY_NOT_PAIRED = "vehicle rejected request: your public key has not been paired with the vehicle"


def _through_proxy(car: SimVehicle) -> Response | None:
    """What Tesla's signing proxy answers when it cannot open a session with the car: a
    500 whose `error` is the connector's words (vehicle-command: `inet.ErrVehicleNotAwake`,
    `protocol.ErrKeyNotPaired`, written by `proxy.writeJSONError`)."""
    if car.in_service:
        return api_error(405, IN_SERVICE, "")
    if car.state != "online":
        return api_error(500, PROXY_ASLEEP, "")
    if car.command_signing == "required" and not car.proxy_key_paired:
        return api_error(500, PROXY_NOT_PAIRED, "")
    return None


def _unsigned(call: Call, car: SimVehicle) -> Response | None:
    """A car that takes only signed commands refuses plain REST ones, as the service does
    (403, alandtse/tesla#858); through the signing-proxy stand-in they count as signed."""
    if car.command_signing == "required" and not call.signed:
        return api_error(403, SIGNING_REQUIRED, "")
    return None


def me(call: Call) -> Response:
    account = authenticate(call)
    if isinstance(account, Response):
        return account
    return envelope(
        {"email": account.email, "full_name": account.full_name, "profile_image_url": None}
    )


def orders(call: Call) -> Response:
    account = authenticate(call)
    if isinstance(account, Response):
        return account
    return listing([])
