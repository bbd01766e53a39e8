"""What an owner's app reads beside the car's state: its records at Tesla.

The user's backup key and service visits, the car's specs, options, warranty,
subscription and upgrade offers, its Supercharger history and invoices.
Paths: Tesla's Fleet API user-, vehicle- and charging-endpoints pages (the
`dx/` family takes the car as `?vin=`), tesla-fleet-api (`user.backup_key`,
`charging.history/sessions`), tescmd (`api/vehicle.py`, `api/charging.py`) and
TeslaPy's `endpoints.json` (`GET_UPCOMING_SERVICE_VISIT_DATA`,
`VEHICLE_CHARGE_HISTORY`, the mobile app's `USER`). Field names follow the
examples on Tesla's pages; the values are the simulated car's own, and a
record the mock has no story for (an upgrade's price) is a fixed example.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.responses import JSONResponse, Response

from carctl.mock.car import SimVehicle
from carctl.mock.http import Call, envelope, not_found
from carctl.mock.vehicle_routes import authenticate, find_car

DAY_S = 86_400.0
WARRANTIES = (  # (type, name, years, miles) of a Model 3's warranties
    ("NEW_MFG_WARRANTY", "Basic Vehicle Limited Warranty", 4, 50_000),
    ("BATTERY_WARRANTY", "Battery Limited Warranty", 8, 120_000),
    ("DRIVEUNIT_WARRANTY", "Drive Unit Limited Warranty", 8, 120_000),
)
OPTION_CODES = (
    ("$MT322", "Long Range All-Wheel Drive"),
    ("$PPSW", "Pearl White Multi-Coat"),
    ("$W40B", '18" Aero Wheels'),
    ("$IPB1", "All Black Premium Interior"),
)


def _iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).isoformat().replace("+00:00", "Z")


def _delivered(car: SimVehicle, now: float) -> float:
    """When the simulated car was delivered: a year before the mock's clock began for it."""
    return min(car.updated_at, now) - 365 * DAY_S


def _by_vin(call: Call) -> tuple[Any, list[SimVehicle]] | Response:
    """The `dx/` endpoints' `?vin=`: that car; without one, every car of the account."""
    vin = call.query.get("vin")
    if vin:
        call.params["v"] = vin
        found = find_car(call)
        return found if isinstance(found, Response) else (found[0], [found[1]])
    account = authenticate(call)
    if isinstance(account, Response):
        return account
    return account, [c for c in call.world.vehicles if c.owner == account.email]


def backup_key(call: Call) -> Response:
    """The public key the user keeps as a backup: the first key paired with one of their
    cars (`carctl mock pair`), or none."""
    account = authenticate(call)
    if isinstance(account, Response):
        return account
    cars = [c for c in call.world.vehicles if c.owner == account.email]
    keys = [key for car in cars for key in car.signing.get("paired", [])]
    return envelope({"public_key": keys[0] if keys else None})


def service_scheduling_data(call: Call) -> Response:
    account = authenticate(call)
    if isinstance(account, Response):
        return account
    cars = [c for c in call.world.vehicles if c.owner == account.email]
    visits = [
        {
            "vin": car.vin,
            "next_appt_timestamp": None,
            "next_appt_end_timestamp": None,
            "show_badge": car.in_service,
        }
        for car in cars
    ]
    return envelope({"enabled_vins": visits})


def mobile_app_user(call: Call) -> Response:
    """The Tesla app's profile (`bff/v2/mobile-app/user`), which TeslaPy's `USER` reads."""
    account = authenticate(call)
    if isinstance(account, Response):
        return account
    return JSONResponse(
        {
            "data": {
                "email": account.email,
                "fullName": account.full_name,
                "profileImageUrl": None,
                "vaultUuid": f"{account.user_id:032x}",
                "isTeslaEmployee": False,
            }
        }
    )


def specs(call: Call) -> Response:
    found = find_car(call)
    if isinstance(found, Response):
        return found
    car = found[1]
    return envelope(
        {
            "vin": car.vin,
            "model": car.car_type,
            "year": 2021,
            "trim": "Long Range",
            "drive": "AWD",
            "battery_kwh": 75,
            "range_miles": 353,
            "options": [code for code, _ in OPTION_CODES],
        }
    )


def options(call: Call) -> Response:
    found = _by_vin(call)
    if isinstance(found, Response):
        return found
    codes = [{"code": code, "displayName": name, "isActive": True} for code, name in OPTION_CODES]
    return envelope({"codes": codes})


def warranty_details(call: Call) -> Response:
    found = _by_vin(call)
    if isinstance(found, Response):
        return found
    active: list[dict[str, Any]] = []
    expired: list[dict[str, Any]] = []
    for car in found[1]:
        delivered = _delivered(car, call.now)
        for kind, name, years, miles in WARRANTIES:
            ends = delivered + years * 365 * DAY_S
            entry = {
                "vin": car.vin,
                "warrantyType": kind,
                "warrantyDisplayName": name,
                "expirationDate": _iso(ends),
                "expirationOdometer": miles,
                "odometerUnit": "MI",
                "warrantyExpiredOn": _iso(ends) if ends <= call.now else None,
                "coverageAgeInYears": years,
            }
            (expired if ends <= call.now or car.odometer >= miles else active).append(entry)
    return envelope({"activeWarranty": active, "upcomingWarranty": [], "expiredWarranty": expired})


SUBSCRIPTION = {
    "optionCode": "$CPF1",
    "product": "Premium Connectivity",
    "addons": [],
    "billingOptions": [{"billingPeriod": "MONTHLY", "currencyCode": "USD", "price": 9.99}],
}
UPGRADE = {
    "optionCode": "$FM3U",
    "optionGroup": "PERF_UPGRADE",
    "currentOptionCode": "$FM3B",
    "pricing": [{"price": 2000, "total": 2000, "currencyCode": "USD", "isPrimary": True}],
}


def _eligible(call: Call, offer: dict[str, Any], **extra: str) -> Response:
    """What the car named by `?vin=` (or the account's first) may buy: one fixed offer."""
    found = _by_vin(call)
    if isinstance(found, Response):
        return found
    vin = found[1][0].vin if found[1] else None
    return envelope({"vin": vin, "country": "US", **extra, "eligible": [offer]})


def subscriptions(call: Call) -> Response:
    return _eligible(call, SUBSCRIPTION)


def upgrades(call: Call) -> Response:
    return _eligible(call, UPGRADE, type="VEHICLE")


def _session(car: SimVehicle, now: float) -> dict[str, Any]:
    """The car's one Supercharger visit: a week before the mock's clock began for it."""
    start = min(car.updated_at, now) - 7 * DAY_S
    return {
        "sessionId": car.vehicle_id % 10_000_000,
        "vin": car.vin,
        "siteLocationName": "Seoul Station Supercharger",
        "chargeStartDateTime": _iso(start),
        "chargeStopDateTime": _iso(start + 25 * 60),
        "unlatchDateTime": _iso(start + 31 * 60),
        "countryCode": "KR",
        "fees": [
            {
                "sessionFeeId": car.vehicle_id % 10_000_000 + 1,
                "feeType": "CHARGING",
                "currencyCode": "KRW",
                "pricingType": "PAYMENT",
                "rateBase": 330,
                "usageBase": 40,
                "totalBase": 13_200,
                "totalDue": 13_200,
                "netDue": 13_200,
                "uom": "kwh",
                "isPaid": True,
                "status": "PAID",
            }
        ],
        "billingType": "IMMEDIATE",
        "invoices": [
            {
                "fileName": f"{car.vin}-{car.vehicle_id}.pdf",
                "contentId": f"invoice-{car.vehicle_id}",
                "invoiceType": "IMMEDIATE",
            }
        ],
        "vehicleMakeType": "TSLA",
    }


def charging_history(call: Call) -> Response:
    """`dx/charging/history`, and `dx/charging/sessions` (the business form of the same)."""
    found = _by_vin(call)
    if isinstance(found, Response):
        return found
    sessions = [_session(car, call.now) for car in found[1]]
    return envelope({"data": sessions, "totalResults": len(sessions)})


def charging_invoice(call: Call) -> Response:
    account = authenticate(call)
    if isinstance(account, Response):
        return account
    wanted = call.params["i"]
    for car in (c for c in call.world.vehicles if c.owner == account.email):
        invoice = _session(car, call.now)["invoices"][0]
        if invoice["contentId"] == wanted:
            return envelope({**invoice, "vin": car.vin, "url": None})
    return not_found(f"no invoice {wanted!r} for this account")


def vehicle_charge_history(call: Call) -> Response:
    """The app's charging graph (TeslaPy `VEHICLE_CHARGE_HISTORY`, POST): the energy added
    per day over the last week, all of it at home for the simulated car."""
    found = find_car(call)
    if isinstance(found, Response):
        return found
    car = found[1]
    today = datetime.fromtimestamp(call.now, UTC).replace(hour=0, minute=0, second=0)
    points = [
        {
            "timestamp": {"timestamp": {"seconds": int((today - timedelta(days=d)).timestamp())}},
            "values": [{"rawValue": 7.5 if d % 2 else 0.0}],
        }
        for d in range(7, 0, -1)
    ]
    return envelope(
        {
            "screen_title": "Charging",
            "total_charged": {"value": "22.5", "after_adornment": "kWh", "title": "Charged"},
            "charging_history_graph": {"data_points": points, "period": "week"},
            "vin": car.vin,
        }
    )


def vehicle_telemetry_errors(call: Call) -> Response:
    """The car's Fleet Telemetry errors (the vehicle endpoint; the partner one lists all)."""
    found = find_car(call)
    if isinstance(found, Response):
        return found
    return envelope({"fleet_telemetry_errors": []})  # the simulated car reports none
