"""The partner endpoints: an application registers its domain and key, with a partner token.

Tesla's partner-endpoints page: `POST /api/1/partner_accounts` registers the
application's domain (its public key must be hosted at the domain's
`.well-known/appspecific/com.tesla.3p.public-key.pem`), `GET …/public_key`
returns the key registered for a domain, `GET …/fleet_telemetry_errors` and
`…/fleet_telemetry_error_vins` what cars reported about a telemetry
configuration. Every one needs a partner token (`client_credentials`); a
user's token is refused. The paths are those tesla-fleet-api's `Partner`
calls. The mock cannot fetch a domain's key: a registration may carry it as
`public_key` (PEM, or the 65-byte point in hex); without it the mock makes one
for the domain, as if it had been hosted there.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from carctl.mock.accounts import Grant, digest
from carctl.mock.http import BadBody, Call, api_error, envelope, not_found
from carctl.mock.world import iso

PARTNER_ONLY = "This endpoint requires a partner authentication token"


def _partner(call: Call) -> Grant | Response:
    scheme, _, token = call.headers.get("authorization", "").partition(" ")
    challenge = {"www-authenticate": 'Bearer realm="fleet-api"'}
    grant = call.world.tokens.access.get(digest(token.strip())) if token.strip() else None
    if scheme.lower() != "bearer" or grant is None:
        return api_error(401, "invalid bearer token", "", challenge)
    if grant.expires_at is not None and grant.expires_at <= call.now:
        return api_error(401, "token expired (401)", "", challenge)
    if not grant.partner:
        return api_error(403, PARTNER_ONLY, "a user's token cannot call partner endpoints")
    return grant


def _domain(value: Any) -> str | None:
    text = str(value or "").strip().lower()
    if not text or "/" in text or " " in text or "." not in text:
        return None
    return text


def register(call: Call) -> Response:
    grant = _partner(call)
    if isinstance(grant, Response):
        return grant
    try:
        fields = call.fields()
    except BadBody as exc:
        return api_error(400, "invalid_field", str(exc))
    domain = _domain(fields.get("domain"))
    if domain is None:
        return api_error(400, "invalid_field", "domain: give the application's domain")
    public = _public_key(fields.get("public_key"))
    if public is None:
        return api_error(
            422,
            "invalid_field",
            f"Public key download failed for url https://{domain}/.well-known/appspecific/"
            "com.tesla.3p.public-key.pem: give public_key as PEM or hex",
        )
    known = call.world.partners.get(domain, {})
    account = {
        "client_id": grant.client_id,
        "domain": domain,
        "public_key": public,
        "created_at": known.get("created_at", iso(call.now)),
        "updated_at": iso(call.now),
    }
    call.world.partners[domain] = account
    return envelope(account)


def _public_key(value: Any) -> str | None:
    """The key in the body (PEM or hex), or one made for the domain (see the module)."""
    from carctl.mock.key_routes import public_hex

    if value is None:
        from cryptography.hazmat.primitives.asymmetric import ec

        from carctl.signing import crypto

        return crypto.public_bytes(ec.generate_private_key(ec.SECP256R1()).public_key()).hex()
    return public_hex(value)


def public_key(call: Call) -> Response:
    grant = _partner(call)
    if isinstance(grant, Response):
        return grant
    domain = _domain(call.query.get("domain"))
    account = call.world.partners.get(domain or "")
    if account is None:
        return not_found(f"no partner account is registered for {call.query.get('domain')!r}")
    return envelope({"public_key": account["public_key"]})


def telemetry_errors(call: Call) -> Response:
    grant = _partner(call)
    if isinstance(grant, Response):
        return grant
    return envelope({"fleet_telemetry_errors": []})


def telemetry_error_vins(call: Call) -> Response:
    grant = _partner(call)
    if isinstance(grant, Response):
        return grant
    return envelope({"vins": []})
