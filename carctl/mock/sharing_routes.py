"""Sharing a car: driver invitations and the drivers they make.

Tesla's vehicle-endpoints page: `GET/POST /api/1/vehicles/{v}/invitations`,
`POST …/invitations/{id}/revoke`, `POST /api/1/invitations/redeem`,
`GET/DELETE /api/1/vehicles/{v}/drivers` (the owner's alone: a share user may
only remove itself). An invitation is the object Tesla returns (its fields as
Tessie's API reference reproduces them: `id`, `owner_id`, `share_user_id`,
`product_id`, `state`, `code`, `expires_at`, `share_link`, …); redeeming one
makes the signed-in account a driver, who then sees the car in its list. The
paths are those tesla-fleet-api's `VehicleFleet.share_invites*` and
`drivers*` call; its `share_invites_redeem` sends the code as a query
parameter named after itself, which is accepted as well as `code`.
"""

from __future__ import annotations

import secrets
from typing import Any

from starlette.responses import Response

from carctl.mock.accounts import Account
from carctl.mock.car import SimVehicle
from carctl.mock.http import BadBody, Call, api_error, envelope, listing, not_found
from carctl.mock.vehicle_routes import authenticate, find_car
from carctl.mock.world import iso

INVITE_TTL = 24 * 3600.0


def _invitation(call: Call, account: Account, car: SimVehicle) -> dict[str, Any]:
    number = 2_252_266_000_000_000 + call.rng.randrange(1_000_000_000)
    code = secrets.token_urlsafe(33)
    return {
        "id": number,
        "owner_id": account.user_id,
        "share_user_id": None,
        "product_id": car.vin,
        "state": "pending",
        "code": code,
        "expires_at": iso(call.now + INVITE_TTL),
        "revoked_at": None,
        "borrowing_device_id": None,
        "key_id": None,
        "product_type": "vehicle",
        "share_type": "customer",
        "active_pubkeys": [None],
        "id_s": str(number),
        "owner_id_s": str(account.user_id),
        "share_user_id_s": "",
        "borrowing_key_hash": None,
        "vin": car.vin,
        "share_link": f"https://www.tesla.com/_rs/1/{code}",
    }


def _owned(call: Call) -> tuple[Account, SimVehicle] | Response:
    found = find_car(call)
    if isinstance(found, Response):
        return found
    account, car = found
    if car.owner != account.email:
        return api_error(403, "unauthorized", "only the car's owner may do this")
    return account, car


def invitations(call: Call) -> Response:
    found = _owned(call)
    if isinstance(found, Response):
        return found
    _, car = found
    return listing([i for i in call.world.invitations.values() if i["vin"] == car.vin])


def invite(call: Call) -> Response:
    found = _owned(call)
    if isinstance(found, Response):
        return found
    account, car = found
    made = _invitation(call, account, car)
    call.world.invitations[made["id_s"]] = made
    return envelope(made)


def revoke(call: Call) -> Response:
    found = _owned(call)
    if isinstance(found, Response):
        return found
    _, car = found
    invitation = call.world.invitations.get(call.params["i"])
    if invitation is None or invitation["vin"] != car.vin:
        return not_found(f"no invitation {call.params['i']!r} for this car")
    invitation.update(state="revoked", revoked_at=iso(call.now))
    return envelope(True)


def _code(call: Call) -> str | None:
    try:
        fields = call.fields()
    except BadBody:
        fields = {}
    given = fields.get("code") or call.query.get("code")
    if isinstance(given, str) and given:
        return given
    codes = {i["code"] for i in call.world.invitations.values()}
    return next((key for key in call.query if key in codes), None)  # tesla-fleet-api's shape


def redeem(call: Call) -> Response:
    account = authenticate(call)
    if isinstance(account, Response):
        return account
    code = _code(call)
    invitation = next(
        (i for i in call.world.invitations.values() if code and i["code"] == code), None
    )
    if invitation is None or invitation["state"] != "pending":
        return api_error(404, "not_found", "no pending invitation with this code")
    if invitation["expires_at"] <= iso(call.now):
        invitation["state"] = "expired"
        return api_error(400, "invalid_field", "the invitation has expired")
    if invitation["owner_id"] == account.user_id:
        return api_error(400, "invalid_field", "the car's owner cannot redeem its own invitation")
    invitation.update(
        state="redeemed", share_user_id=account.user_id, share_user_id_s=str(account.user_id)
    )
    car = next(c for c in call.world.vehicles if c.vin == invitation["vin"])
    return envelope({"vehicle_id_s": car.id_s, "vin": car.vin})


def shared_with(call: Call, car: SimVehicle) -> list[Account]:
    """The accounts an invitation to `car` made drivers."""
    users = {
        i["share_user_id"]
        for i in call.world.invitations.values()
        if i["vin"] == car.vin and i["state"] == "redeemed"
    }
    return [a for a in call.world.accounts.values() if a.user_id in users]


def _driver(account: Account) -> dict[str, Any]:
    first, _, last = account.full_name.partition(" ")
    return {
        "my_tesla_unique_id": account.user_id,
        "user_id": account.user_id,
        "user_id_s": str(account.user_id),
        "driver_first_name": first,
        "driver_last_name": last,
        "granular_access": {"hide_private": False},
        "active_pubkeys": [],
        "public_key": "",
    }


def drivers(call: Call) -> Response:
    found = _owned(call)
    if isinstance(found, Response):
        return found
    _, car = found
    return listing([_driver(a) for a in shared_with(call, car)])


def drivers_remove(call: Call) -> Response:
    found = find_car(call)
    if isinstance(found, Response):
        return found
    account, car = found
    asked = call.query.get("share_user_id")
    target = int(asked) if asked and asked.isdigit() else account.user_id
    if car.owner != account.email and target != account.user_id:
        return api_error(403, "unauthorized", "a share user may only remove its own access")
    for invitation in call.world.invitations.values():
        if invitation["vin"] == car.vin and invitation["share_user_id"] == target:
            invitation.update(state="revoked", revoked_at=iso(call.now))
    return envelope("ok")
