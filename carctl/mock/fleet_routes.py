"""The Owner/Fleet API's smaller endpoints that clients call beside the commands.

Shapes: timdorr/tesla-api (`docs/vehicle/state/mobileenabled.md`,
`nearbychargingsites.md`), the Fleet API's `users/region` and
`vehicles/fleet_status` as tesla-fleet-api reads them, TeslaPy's sign-out
URL (`oauth2/v3/logout`), and Tesla's user- and vehicle-endpoints pages for
`users/feature_config`, `recent_alerts` and `release_notes`.
"""

from __future__ import annotations

from starlette.responses import HTMLResponse, Response

from carctl.mock.http import Call, api_error, envelope
from carctl.mock.vehicle_routes import authenticate, find_car, online_car


def mobile_enabled(call: Call) -> Response:
    found = online_car(call)
    return found if isinstance(found, Response) else envelope(True, headers=found[2])


def nearby_charging_sites(call: Call) -> Response:
    found = online_car(call)
    if isinstance(found, Response):
        return found
    _, car, headers = found
    site = {"lat": car.latitude + 0.01, "long": car.longitude + 0.01}
    return envelope(
        {
            "congestion_sync_time_utc_secs": int(call.now),
            "destination_charging": [
                {
                    "location": site,
                    "name": "Seoul City Hall Parking",
                    "type": "destination",
                    "distance_miles": 0.8,
                    "amenities": "restrooms,wifi",
                }
            ],
            "superchargers": [
                {
                    "location": {"lat": car.latitude - 0.02, "long": car.longitude + 0.03},
                    "name": "Seoul Station Supercharger",
                    "type": "supercharger",
                    "distance_miles": 2.1,
                    "available_stalls": 6,
                    "total_stalls": 8,
                    "site_closed": False,
                    "amenities": "restrooms,wifi,cafe",
                    "billing_info": "",
                }
            ],
            "timestamp": int(call.now * 1000),
        },
        headers=headers,
    )


def service_data(call: Call) -> Response:
    found = find_car(call)
    if isinstance(found, Response):
        return found
    car = found[1]
    return envelope(
        {
            "service_status": "in_service" if car.in_service else "not_in_service",
            "service_etc": None,
            "service_visit_number": None,
            "status_id": 8 if car.in_service else None,
        }
    )


def region(call: Call) -> Response:
    """The account's region and its host (Fleet API, users endpoints: `region`).

    The fleet flavour serves each region under its own path, so the base URL
    names it; the Owner API flavour has one address for all."""
    account = authenticate(call)
    if isinstance(account, Response):
        return account
    base = call.base_url if call.flavor == "owner" else f"{call.base_url}/{call.region}"
    return envelope({"region": call.region, "fleet_api_base_url": base})


def fleet_status(call: Call) -> Response:
    """Which cars need signed commands and whether a key is paired (the Fleet API's check)."""
    account = authenticate(call)
    if isinstance(account, Response):
        return account
    try:
        vins = call.fields().get("vins")
    except ValueError as exc:
        return api_error(400, "invalid_field", str(exc))
    if not isinstance(vins, list) or not all(isinstance(v, str) for v in vins):
        return api_error(400, "invalid_field", "vins must be a list of VINs")
    cars = {c.vin: c for c in call.world.vehicles if c.owner == account.email}
    known = [vin.upper() for vin in vins if vin.upper() in cars]
    signing = [vin for vin in known if cars[vin].command_signing == "required"]
    if call.flavor == "proxy":  # the stand-in proxy holds a key paired with every signing car
        paired = signing
    else:  # a key on the car's whitelist (`carctl mock pair`): the mock knows no application
        paired = [vin for vin in known if cars[vin].signing.get("paired")]
    return envelope(
        {
            "key_paired_vins": paired,
            "unpaired_vins": [vin for vin in known if vin not in paired],
            "vehicle_info": {
                vin: {
                    "firmware_version": "2021.36.5.2",
                    "vehicle_command_protocol_required": vin in signing,
                    "discounted_device_data": False,
                    "fleet_telemetry_version": "1.0.0",
                    "total_number_of_keys": 3,
                }
                for vin in known
            },
        }
    )


def logout(call: Call) -> Response:
    """Where TeslaPy sends a browser to sign out: a page that says it is done."""
    return HTMLResponse("<!doctype html><title>Signed out</title><p>You are signed out.</p>")


def feature_config(call: Call) -> Response:
    """Tesla's user-endpoints page: the feature flags applied to a user."""
    account = authenticate(call)
    if isinstance(account, Response):
        return account
    return envelope(
        {"signaling": {"enabled": True, "subscribe_connectivity": False, "use_auth_token": False}}
    )


def recent_alerts(call: Call) -> Response:
    """Tesla's vehicle-endpoints page: the car's recent alerts (`name`, `time`, `audience`,
    `user_text`); the simulated car raises none, so the list is empty."""
    found = find_car(call)
    if isinstance(found, Response):
        return found
    return envelope({"recent_alerts": []})


def release_notes(call: Call) -> Response:
    """Tesla's vehicle-endpoints page: the notes of the firmware the car runs (`staged`: of
    one waiting to be installed, which the simulated car never has)."""
    found = find_car(call)
    if isinstance(found, Response):
        return found
    if call.query.get("staged", "").lower() in ("1", "true"):
        return envelope({"release_notes": []})
    from carctl.mock.car_data import CAR_VERSION

    version = CAR_VERSION.split(" ")[0]
    return envelope(
        {
            "release_notes": [
                {
                    "title": "Scheduled Preconditioning",
                    "subtitle": "Warm car, first thing",
                    "description": "Set a time and the cabin is ready when you leave.",
                    "customer_version": version,
                    "icon": "release_notes_icon",
                    "image_url": "",
                    "light_image_url": "",
                }
            ]
        }
    )
