"""The auth service: `/oauth2/v3/token`, `/revoke` and a minimal `/authorize`.

Grants: `password` (the seed's accounts, Owner API only), rotating
`refresh_token`, `authorization_code` and `client_credentials`, as Tesla's
third-party-tokens and partner-tokens pages describe them: a confidential
client (one with a secret) exchanges a code with its secret and needs no PKCE;
a public client must use PKCE S256; `client_credentials` gives a confidential
client a partner token (no user, no refresh token). On the Fleet API codes and
refresh tokens begin with the account's region (`NA_`, `EU_`), which clients
read (tesla-fleet-api's `TeslaFleetOAuth.get_refresh_token`), and the redirect
carries `locale` and `issuer` as Tesla's does. The authorize page is a plain
login form, so clients that drive a browser flow can be scripted in tests.
"""

from __future__ import annotations

import base64
import hashlib
import html
import secrets
from collections.abc import Callable
from urllib.parse import urlencode

from starlette.responses import HTMLResponse, RedirectResponse, Response

from carctl.mock.accounts import (
    CLIENT_IDS,
    CONFIDENTIAL_CLIENTS,
    AuthCode,
    digest,
    granted,
    password_digest,
)
from carctl.mock.http import BadBody, Call, oauth_error

CODE_TTL = 300.0


def _basic(call: Call) -> tuple[str, str] | None:
    """HTTP Basic client authentication: (client id, secret), or None."""
    auth = call.headers.get("authorization", "")
    if not auth.lower().startswith("basic "):
        return None
    try:
        user, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    return user, secret


def _client_id(call: Call, fields: dict[str, object]) -> str | None:
    """From the body, or from HTTP Basic client authentication."""
    value = fields.get("client_id")
    if isinstance(value, str) and value:
        return value
    basic = _basic(call)
    return (basic[0] or None) if basic is not None else None


def token(call: Call) -> Response:
    try:
        fields = call.fields()
    except BadBody as exc:
        return oauth_error(400, "invalid_request", str(exc))
    grant_type = fields.get("grant_type")
    client_id = _client_id(call, fields)
    if client_id is None:
        return oauth_error(401, "invalid_client", "client_id is required")
    if client_id not in CLIENT_IDS:
        return oauth_error(401, "invalid_client", f"unknown client_id {client_id!r}")
    if not grant_type:
        return oauth_error(400, "invalid_request", "grant_type is required")
    if grant_type == "password" and call.flavor != "owner":
        return oauth_error(
            400,
            "unsupported_grant_type",
            "the Fleet API signs in with the authorization code flow only",
        )
    grant = _GRANTS.get(str(grant_type))
    if grant is None or (grant_type == "client_credentials" and call.flavor == "owner"):
        return oauth_error(
            400, "unsupported_grant_type", f"grant_type {grant_type!r} is not supported"
        )
    return grant(call, fields, client_id)


def _authenticated(
    grant: Callable[[Call, dict[str, object], str, bool], Response],
) -> Callable[[Call, dict[str, object], str], Response]:
    """A grant that a confidential client asks with its secret (body or HTTP Basic)."""

    def checked(call: Call, fields: dict[str, object], client_id: str) -> Response:
        secret = CONFIDENTIAL_CLIENTS.get(client_id)
        if secret is not None and _client_secret(call, fields) != secret:
            return oauth_error(
                401, "invalid_client", "client authentication failed: wrong or missing secret"
            )
        return grant(call, fields, client_id, secret is not None)

    return checked


def _client_secret(call: Call, fields: dict[str, object]) -> str | None:
    """From the body, or from HTTP Basic client authentication."""
    value = fields.get("client_secret")
    if isinstance(value, str):
        return value
    basic = _basic(call)
    return basic[1] if basic is not None else None


def _audience(call: Call, fields: dict[str, object], issuer: str) -> list[str]:
    """The Fleet API base the client named (`audience`), and the user-info endpoint."""
    asked = fields.get("audience")
    base = asked if isinstance(asked, str) and asked else call.base_url
    return [base.rstrip("/"), issuer + "/userinfo"]


def _issue(
    call: Call,
    email: str,
    client_id: str,
    scopes: list[str] | None = None,
    fields: dict[str, object] | None = None,
) -> Response:
    from starlette.responses import JSONResponse

    issuer = call.base_url + "/oauth2/v3"
    fleet = call.flavor != "owner"
    body = call.world.tokens.issue(
        email=email,
        client_id=client_id,
        now=call.now,
        ttl=call.world.settings.access_token_ttl,
        issuer=issuer,
        scopes=scopes,
        ou_code=call.region.upper(),
        fleet_audience=_audience(call, fields or {}, issuer) if fleet else None,
    )
    return JSONResponse(body, headers={"cache-control": "no-store", "pragma": "no-cache"})


def _partner_grant(
    call: Call, fields: dict[str, object], client_id: str, confidential: bool
) -> Response:
    from starlette.responses import JSONResponse

    if not confidential:  # Tesla's open-source (public) apps cannot have partner tokens
        return oauth_error(  # RFC 6749 5.2 (tesla-fleet-api's UnauthorizedClient: 400)
            400, "unauthorized_client", "client_credentials needs a client with a secret"
        )
    issuer = call.base_url + "/oauth2/v3"
    body = call.world.tokens.issue_partner(
        client_id=client_id,
        now=call.now,
        ttl=call.world.settings.access_token_ttl,
        issuer=issuer,
        scopes=granted(fields.get("scope")),
        audience=_audience(call, fields, issuer),
        ou_code=call.region.upper(),
    )
    return JSONResponse(body, headers={"cache-control": "no-store", "pragma": "no-cache"})


def _password_grant(call: Call, fields: dict[str, object], client_id: str) -> Response:
    email = str(fields.get("email") or fields.get("username") or "").strip().lower()
    password = str(fields.get("password") or "")
    if not email or not password:
        return oauth_error(400, "invalid_request", "email and password are required")
    account = call.world.accounts.get(email)
    if account is None:
        return oauth_error(401, "invalid_grant", "unknown account")
    if account.password_hash != password_digest(email, password):
        return oauth_error(401, "invalid_grant", "wrong password")
    return _issue(call, email, client_id)


def _refresh_grant(call: Call, fields: dict[str, object], client_id: str) -> Response:
    refresh = fields.get("refresh_token")
    if not isinstance(refresh, str) or not refresh:
        return oauth_error(400, "invalid_request", "refresh_token is required")
    grant = call.world.tokens.refresh.get(digest(refresh))
    if grant is None:
        return oauth_error(400, "invalid_grant", "the refresh token is not valid")
    if grant.status == "revoked":
        return oauth_error(401, "login_required", "the refresh token was revoked; sign in again")
    if (
        grant.status == "rotated"
    ):  # the Fleet API's documented answer (tesla-fleet-api's LoginRequired)
        return oauth_error(401, "login_required", "the refresh token has already been used")
    if grant.email not in call.world.accounts:
        return oauth_error(401, "login_required", "the account no longer exists")
    grant.status = "rotated"
    # a renewal grants no more
    return _issue(call, grant.email, client_id, grant.scopes, fields)


def _code_grant(
    call: Call, fields: dict[str, object], client_id: str, confidential: bool
) -> Response:
    code = fields.get("code")
    verifier = fields.get("code_verifier")
    if not isinstance(code, str) or not code:
        return oauth_error(400, "invalid_request", "code is required")
    record = call.world.tokens.codes.get(digest(code))
    if record is None or record.expires_at < call.now:
        return oauth_error(400, "invalid_grant", "the authorization code is not valid")
    if record.challenge or not confidential:  # PKCE: whenever the code was asked with it
        if not isinstance(verifier, str) or not verifier:
            return oauth_error(400, "invalid_request", "code and code_verifier are required")
        if record.challenge.rstrip("=") not in _challenges(verifier):  # padding or not
            return oauth_error(
                400, "invalid_grant", "code_verifier does not match the code challenge"
            )
    del call.world.tokens.codes[digest(code)]  # a code is spent once
    return _issue(call, record.email, client_id, record.scopes, fields)


_GRANTS: dict[str, Callable[[Call, dict[str, object], str], Response]] = {
    "password": _password_grant,
    "refresh_token": _refresh_grant,
    "authorization_code": _authenticated(_code_grant),
    "client_credentials": _authenticated(_partner_grant),
}


def _challenges(verifier: str) -> tuple[str, str]:
    """S256 as RFC 7636 defines it, and the variant Tesla's sign-in service accepted for
    years and clients still send: base64url of the *hex* digest (teslajsonpy's
    `connection.py`). Either matches; nothing weaker does."""
    digest_bytes = hashlib.sha256(verifier.encode()).digest()
    standard = base64.urlsafe_b64encode(digest_bytes).rstrip(b"=").decode()
    hexed = base64.urlsafe_b64encode(digest_bytes.hex().encode()).rstrip(b"=").decode()
    return standard, hexed


def revoke(call: Call) -> Response:
    """RFC 7009: 200 whether or not the token was known."""
    try:
        fields = call.fields()
    except BadBody as exc:
        return oauth_error(400, "invalid_request", str(exc))
    value = fields.get("token") or fields.get("refresh_token")
    if not isinstance(value, str) or not value:
        return oauth_error(400, "invalid_request", "token is required")
    call.world.tokens.revoke(value)
    return Response(status_code=200)


_FORM = """<!doctype html><html><head><title>Sign in - mock vehicle API</title></head>
<body><h1>Sign in</h1><form method="post" action="/oauth2/v3/authorize">{hidden}
<label>Email <input name="identity" type="email" value="{hint}"></label>
<label>Password <input name="credential" type="password"></label>
<button type="submit">Sign in</button>
<button type="submit" name="deny" value="1">Deny</button></form></body></html>"""
_AUTHORIZE_FIELDS = (
    "client_id",
    "redirect_uri",
    "response_type",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
)


def _pkce_missing(fields: dict[str, str]) -> bool:
    """PKCE S256 is required of public clients; a confidential one may use it."""
    if fields.get("code_challenge_method", "S256") != "S256":
        return True
    return not fields.get("code_challenge") and fields.get("client_id") not in CONFIDENTIAL_CLIENTS


def authorize_page(call: Call) -> Response:
    query = dict(call.query)
    if _pkce_missing(query):
        return oauth_error(
            400, "invalid_request", "PKCE with code_challenge_method=S256 is required"
        )
    hidden = "".join(
        f'<input type="hidden" name="{k}" value="{html.escape(query.get(k, ""))}">'
        for k in _AUTHORIZE_FIELDS
    )
    return HTMLResponse(_FORM.format(hidden=hidden, hint=html.escape(query.get("login_hint", ""))))


def authorize_submit(call: Call) -> Response:
    try:
        fields = {k: str(v) for k, v in call.fields().items()}
    except BadBody as exc:
        return oauth_error(400, "invalid_request", str(exc))
    if fields.get("deny"):  # the owner declined on the consent page
        query = urlencode({"error": "access_denied", "state": fields.get("state", "")})
        return RedirectResponse(f"{fields.get('redirect_uri', '')}?{query}", status_code=302)
    email = fields.get("identity", "").strip().lower()
    account = call.world.accounts.get(email)
    if account is None or account.password_hash != password_digest(
        email, fields.get("credential", "")
    ):
        return oauth_error(401, "invalid_grant", "wrong e-mail or password")
    redirect_uri = fields.get("redirect_uri", "")
    if not redirect_uri or _pkce_missing(fields):
        return oauth_error(400, "invalid_request", "redirect_uri and code_challenge are required")
    # the Fleet API's codes name the account's region (`NA_9e16…`): clients read it
    code = secrets.token_hex(30)
    if call.flavor != "owner":
        code = f"{call.region.upper()}_{code}"
    call.world.tokens.codes[digest(code)] = AuthCode(
        email=email,
        client_id=fields.get("client_id", "ownerapi"),
        challenge=fields.get("code_challenge", ""),
        redirect_uri=redirect_uri,
        expires_at=call.now + CODE_TTL,
        scopes=granted(fields.get("scope")),
    )
    query = urlencode(
        {
            "locale": "en-US",
            "code": code,
            "state": fields.get("state", ""),
            "issuer": call.base_url + "/oauth2/v3",
        }
    )
    return RedirectResponse(f"{redirect_uri}?{query}", status_code=302)
