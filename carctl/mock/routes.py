"""Which handler answers which method and path: the mock's whole surface in one table.

A path's `{name}` parts match one segment each and reach the handler as
`call.params`; routes marked `admin` exist only when the control API is served.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from starlette.responses import Response

from carctl.mock import account_routes, admin_routes, fleet_routes, oauth_routes, vehicle_routes
from carctl.mock.http import Call, text

Handler = Callable[[Call], Response]


@dataclass(frozen=True)
class _Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler
    admin: bool = False


def _route(method: str, path: str, handler: Handler, *, admin: bool = False) -> _Route:
    regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", path)
    return _Route(method, re.compile(f"^{regex}$"), handler, admin)


def _lazy(module: str, name: str) -> Handler:
    """A handler imported on its first call: the signed road needs `cryptography`,
    which the built-in endpoint's every run must not pay for."""

    def handler(call: Call) -> Response:
        from importlib import import_module

        found: Handler = getattr(import_module(f"carctl.mock.{module}"), name)
        return found(call)

    return handler


ROUTES = [
    _route("POST", "/oauth2/v3/token", oauth_routes.token),
    _route("POST", "/oauth2/v3/revoke", oauth_routes.revoke),
    _route("GET", "/oauth2/v3/authorize", oauth_routes.authorize_page),
    _route("POST", "/oauth2/v3/authorize", oauth_routes.authorize_submit),
    _route("GET", "/status", lambda call: text("ok")),
    _route("GET", "/api/1/products", vehicle_routes.products),
    _route("GET", "/api/1/vehicles", vehicle_routes.vehicles),
    _route("GET", "/api/1/vehicles/{v}", vehicle_routes.vehicle),
    _route("POST", "/api/1/vehicles/{v}/wake_up", vehicle_routes.wake_up),
    _route("GET", "/api/1/vehicles/{v}/vehicle_data", vehicle_routes.vehicle_data),
    _route("POST", "/api/1/vehicles/{v}/command/{name}", vehicle_routes.command),
    _route("POST", "/api/1/vehicles/{v}/signed_command", _lazy("signed_routes", "signed_command")),
    _route("GET", "/api/1/vehicles/{v}/mobile_enabled", fleet_routes.mobile_enabled),
    _route("GET", "/api/1/vehicles/{v}/nearby_charging_sites", fleet_routes.nearby_charging_sites),
    _route("GET", "/api/1/vehicles/{v}/service_data", fleet_routes.service_data),
    _route("POST", "/api/1/vehicles/fleet_status", fleet_routes.fleet_status),
    _route("POST", "/api/1/vehicles/fleet_telemetry_config", _lazy("telemetry_routes", "create")),
    _route(
        "POST",
        "/api/1/vehicles/fleet_telemetry_config_jws",
        _lazy("telemetry_routes", "create_jws"),
    ),
    _route("GET", "/api/1/vehicles/{v}/fleet_telemetry_config", _lazy("telemetry_routes", "show")),
    _route(
        "DELETE", "/api/1/vehicles/{v}/fleet_telemetry_config", _lazy("telemetry_routes", "remove")
    ),
    _route("GET", "/api/1/users/me", vehicle_routes.me),
    _route("GET", "/api/1/users/orders", vehicle_routes.orders),
    _route("GET", "/api/1/users/region", fleet_routes.region),
    _route("GET", "/api/1/users/feature_config", fleet_routes.feature_config),
    _route("GET", "/api/1/vehicles/{v}/recent_alerts", fleet_routes.recent_alerts),
    _route("GET", "/api/1/vehicles/{v}/release_notes", fleet_routes.release_notes),
    _route("GET", "/api/1/vehicles/{v}/invitations", _lazy("sharing_routes", "invitations")),
    _route("POST", "/api/1/vehicles/{v}/invitations", _lazy("sharing_routes", "invite")),
    _route("POST", "/api/1/vehicles/{v}/invitations/{i}/revoke", _lazy("sharing_routes", "revoke")),
    _route("POST", "/api/1/invitations/redeem", _lazy("sharing_routes", "redeem")),
    _route("GET", "/api/1/vehicles/{v}/drivers", _lazy("sharing_routes", "drivers")),
    _route("DELETE", "/api/1/vehicles/{v}/drivers", _lazy("sharing_routes", "drivers_remove")),
    _route("POST", "/api/1/partner_accounts", _lazy("partner_routes", "register")),
    _route("GET", "/api/1/partner_accounts/public_key", _lazy("partner_routes", "public_key")),
    _route(
        "GET",
        "/api/1/partner_accounts/fleet_telemetry_errors",
        _lazy("partner_routes", "telemetry_errors"),
    ),
    _route(
        "GET",
        "/api/1/partner_accounts/fleet_telemetry_error_vins",
        _lazy("partner_routes", "telemetry_error_vins"),
    ),
    _route("GET", "/oauth2/v3/logout", fleet_routes.logout),
    _route("GET", "/api/1/users/backup_key", account_routes.backup_key),
    _route(
        "GET",
        "/api/1/users/service_scheduling_data",
        account_routes.service_scheduling_data,
    ),
    _route("GET", "/bff/v2/mobile-app/user", account_routes.mobile_app_user),
    _route("GET", "/api/1/vehicles/{v}/specs", account_routes.specs),
    _route(
        "POST",
        "/api/1/vehicles/{v}/charge_history",
        account_routes.vehicle_charge_history,
    ),
    _route(
        "GET",
        "/api/1/vehicles/{v}/fleet_telemetry_errors",
        account_routes.vehicle_telemetry_errors,
    ),
    _route("GET", "/api/1/dx/charging/history", account_routes.charging_history),
    _route("GET", "/api/1/dx/charging/sessions", account_routes.charging_history),
    _route("GET", "/api/1/dx/charging/invoice/{i}", account_routes.charging_invoice),
    _route("GET", "/api/1/dx/vehicles/options", account_routes.options),
    _route("GET", "/api/1/dx/warranty/details", account_routes.warranty_details),
    _route(
        "GET",
        "/api/1/dx/vehicles/subscriptions/eligibility",
        account_routes.subscriptions,
    ),
    _route("GET", "/api/1/dx/vehicles/upgrades/eligibility", account_routes.upgrades),
    _route("GET", "/__mock__/faults", admin_routes.faults_show, admin=True),
    _route("PUT", "/__mock__/faults", admin_routes.faults_replace, admin=True),
    _route("POST", "/__mock__/faults", admin_routes.faults_append, admin=True),
    _route("DELETE", "/__mock__/faults", admin_routes.faults_clear, admin=True),
    _route("GET", "/__mock__/stats", admin_routes.stats_show, admin=True),
    _route("DELETE", "/__mock__/stats", admin_routes.stats_clear, admin=True),
    _route("GET", "/__mock__/clock", admin_routes.clock_show, admin=True),
    _route("POST", "/__mock__/clock", admin_routes.clock_advance, admin=True),
    _route("POST", "/__mock__/reset", admin_routes.reset, admin=True),
    _route("GET", "/__mock__/vehicles", admin_routes.vehicles_show, admin=True),
    _route("PATCH", "/__mock__/vehicles/{v}", admin_routes.vehicle_patch, admin=True),
    _route("POST", "/__mock__/vehicles/{v}/drive", admin_routes.vehicle_drive, admin=True),
    _route("DELETE", "/__mock__/vehicles/{v}/drive", admin_routes.vehicle_park, admin=True),
    _route("GET", "/__mock__/vehicles/{v}/keys", _lazy("key_routes", "keys_show"), admin=True),
    _route("POST", "/__mock__/vehicles/{v}/keys", _lazy("key_routes", "key_pair"), admin=True),
    _route("DELETE", "/__mock__/vehicles/{v}/keys", _lazy("key_routes", "key_remove"), admin=True),
    _route("POST", "/__mock__/vehicles/{v}/reboot", _lazy("key_routes", "reboot"), admin=True),
]
