"""The auth service: `/oauth2/v3/token`, `/revoke` and a minimal `/authorize`.

Grants: `password` (the seed's accounts), rotating `refresh_token`, and
`authorization_code` with PKCE S256 (the authorize page is a plain login form,
so third-party clients that drive a browser flow can be scripted in tests).
"""

from __future__ import annotations

import base64
import hashlib
import html
import secrets
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


def _client_id(call: Call, fields: dict[str, object]) -> str | None:
    """From the body, or from HTTP Basic client authentication."""
    value = fields.get("client_id")
    if isinstance(value, str) and value:
        return value
    auth = call.headers.get("authorization", "")
    if auth.lower().startswith("basic "):
        try:
            user = base64.b64decode(auth[6:]).decode().partition(":")[0]
        except (ValueError, UnicodeDecodeError):
            return None
        return user or None
    return None


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
    if grant_type == "password" and call.flavor != "owner":
        return oauth_error(
            400,
            "unsupported_grant_type",
            "the Fleet API signs in with the authorization code flow only",
        )
    if grant_type == "password":
        return _password_grant(call, fields, client_id)
    if grant_type == "refresh_token":
        return _refresh_grant(call, fields, client_id)
    if grant_type == "authorization_code":
        secret = CONFIDENTIAL_CLIENTS.get(client_id)
        if secret is not None and fields.get("client_secret") != secret:
            return oauth_error(
                401, "invalid_client", "client authentication failed: wrong or missing secret"
            )
        return _code_grant(call, fields, client_id)
    if not grant_type:
        return oauth_error(400, "invalid_request", "grant_type is required")
    return oauth_error(400, "unsupported_grant_type", f"grant_type {grant_type!r} is not supported")


def _issue(call: Call, email: str, client_id: str, scopes: list[str] | None = None) -> Response:
    from starlette.responses import JSONResponse

    body = call.world.tokens.issue(
        email=email,
        client_id=client_id,
        now=call.now,
        ttl=call.world.settings.access_token_ttl,
        issuer=call.base_url + "/oauth2/v3",
        scopes=scopes,
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
    return _issue(call, grant.email, client_id, grant.scopes)  # a renewal grants no more


def _code_grant(call: Call, fields: dict[str, object], client_id: str) -> Response:
    code = fields.get("code")
    verifier = fields.get("code_verifier")
    if not isinstance(code, str) or not isinstance(verifier, str) or not code or not verifier:
        return oauth_error(400, "invalid_request", "code and code_verifier are required")
    record = call.world.tokens.codes.pop(digest(code), None)
    if record is None or record.expires_at < call.now:
        return oauth_error(400, "invalid_grant", "the authorization code is not valid")
    if record.challenge.rstrip("=") not in _challenges(verifier):  # padding or not
        return oauth_error(400, "invalid_grant", "code_verifier does not match the code challenge")
    return _issue(call, record.email, client_id, record.scopes)


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


def authorize_page(call: Call) -> Response:
    query = dict(call.query)
    if query.get("code_challenge_method", "S256") != "S256" or not query.get("code_challenge"):
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
    if not redirect_uri or not fields.get("code_challenge"):
        return oauth_error(400, "invalid_request", "redirect_uri and code_challenge are required")
    code = secrets.token_urlsafe(24)
    call.world.tokens.codes[digest(code)] = AuthCode(
        email=email,
        client_id=fields.get("client_id", "ownerapi"),
        challenge=fields["code_challenge"],
        redirect_uri=redirect_uri,
        expires_at=call.now + CODE_TTL,
        scopes=granted(fields.get("scope")),
    )
    query = urlencode(
        {"code": code, "state": fields.get("state", ""), "issuer": call.base_url + "/oauth2/v3"}
    )
    return RedirectResponse(f"{redirect_uri}?{query}", status_code=302)
