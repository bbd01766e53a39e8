"""Signing in (a password, a refresh token, an authorization code, an access token a
service gave) and signing out (revoking where the service allows it).

The tokens are asked of the service's token endpoint (`carctl.api.oauth`) and
kept in the profile's credential store; a sign-in that fails part-way leaves
the store as it was.
"""

from __future__ import annotations

from carctl.api.client import ApiClient
from carctl.api.credentials import Credentials
from carctl.api.oauth import CLIENT_ID, REVOKE_PATH, clock_skew, session_from, token_request
from carctl.api.responses import error_for
from carctl.api.sessions import Location, Session
from carctl.errors import CarctlError
from carctl.logs import remember_secrets
from carctl.providers import TOKEN_PATH
from carctl.records import record


@record
class SignIn:
    session: Session
    location: Location
    skew: float | None


def login_with_password(
    client: ApiClient, credentials: Credentials, *, email: str, password: str, login_command: str
) -> SignIn:
    remember_secrets(password)  # a server that repeats it back gets it redacted
    tokens = token_request(
        client,
        {"grant_type": "password", "client_id": CLIENT_ID, "email": email, "password": password},
        purpose="login",
        login_command=login_command,
    )
    session = session_from(tokens, now=client.clock.now(), account=email, seed=None)
    return SignIn(session, credentials.save(session), tokens.skew)


def login_with_refresh_token(
    client: ApiClient,
    credentials: Credentials,
    *,
    refresh_token: str,
    login_command: str,
    client_id: str = CLIENT_ID,
    token_url: str = TOKEN_PATH,
) -> SignIn:
    """Adopt a refresh token from elsewhere: renew it at once (which also proves it works)."""
    tokens = token_request(
        client,
        {"grant_type": "refresh_token", "client_id": client_id, "refresh_token": refresh_token},
        purpose="refresh",
        login_command=login_command,
        url=token_url,
    )
    if tokens.refresh_token is None:
        tokens.refresh_token = refresh_token
    account = tokens.account or _account_from_api(client, tokens.access_token)
    session = session_from(tokens, now=client.clock.now(), account=account, seed=None)
    return SignIn(session, credentials.save(session), tokens.skew)


def login_with_code(
    client: ApiClient,
    credentials: Credentials,
    *,
    code: str,
    verifier: str,
    redirect_uri: str,
    client_id: str,
    login_command: str,
    token_url: str = TOKEN_PATH,
    audience: str | None = None,
    client_secret: str | None = None,
) -> SignIn:
    """Exchange the authorization code of a browser sign-in (with its PKCE verifier).

    The Fleet API's exchange also names the `audience` (the regional host the
    tokens are for) and, for applications registered as confidential, the
    client secret (tesla-fleet-api's `get_refresh_token`)."""
    fields = {
        "grant_type": "authorization_code",
        "client_id": client_id,
        "code": code,
        "code_verifier": verifier,
        "redirect_uri": redirect_uri,
    }
    if audience:
        fields["audience"] = audience
    if client_secret:
        fields["client_secret"] = client_secret
    tokens = token_request(
        client, fields, purpose="login", login_command=login_command, url=token_url
    )
    account = tokens.account or _account_from_api(client, tokens.access_token)
    session = session_from(
        tokens, now=client.clock.now(), account=account, seed=None, client_secret=client_secret
    )
    return SignIn(session, credentials.save(session), tokens.skew)


def login_with_access_token(
    client: ApiClient, credentials: Credentials, *, access_token: str
) -> SignIn:
    """Keep a service's own access token (Teslemetry's): proved by listing the cars first.

    Such a token has no refresh token and no stated lifetime; when the service
    stops accepting it, carctl says so and asks for a new one."""
    reply = client.exchange(
        "GET", "/api/1/vehicles", headers={"authorization": f"Bearer {access_token}"}
    )
    client.interpret(reply)
    now = client.clock.now()
    session = Session(
        account=_account_from_api(client, access_token), access_token=access_token, obtained_at=now
    )
    return SignIn(session, credentials.save(session), clock_skew(reply.headers, now))


def _account_from_api(client: ApiClient, access_token: str) -> str | None:
    try:
        reply = client.exchange(
            "GET", "/api/1/users/me", headers={"authorization": f"Bearer {access_token}"}
        )
        data = client.interpret(reply)
    except CarctlError:
        return None  # only for display; the session itself is fine
    found = data.get("email") if isinstance(data, dict) else None
    return found if isinstance(found, str) else None


@record
class SignOut:
    was_signed_in: bool
    revoked: bool
    revoke_error: str | None
    removed: list[Location]


def logout(
    client: ApiClient, credentials: Credentials, *, revoke_url: str | None = REVOKE_PATH
) -> SignOut:
    """Revoke the refresh token on the server (best effort), then delete it here.

    `revoke_url` None: the provider documents no revocation endpoint (the
    owner withdraws an application's access on the account's own page)."""
    session, _ = credentials.load()
    revoked, problem = False, None
    if session is not None and session.refresh_token and revoke_url:
        try:
            reply = client.exchange(
                "POST",
                revoke_url,
                form={"token": session.refresh_token, "token_type_hint": "refresh_token"},
            )
            if reply.status == 200:
                client.record(reply, "ok")
                revoked = True
            else:
                error = error_for(reply, now=client.clock.now())
                client.record(reply, error.code, error.message)
                problem = error.message
        except CarctlError as exc:
            problem = exc.message
    removed = credentials.delete()
    return SignOut(session is not None, revoked, problem, removed)
