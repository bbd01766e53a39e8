"""Tokens: asking the token endpoint, reading a session, and keeping it fresh.

Signing in and out is `carctl.api.signin`, on top of this.

- Sign-in uses the password grant (or a refresh token the user already has).
- The access token is refreshed ahead of its expiry (5 minutes before, by this
  computer's clock: expiry is receipt time + `expires_in`, so a clock that is
  off does not make every token look expired) and once after a 401.
- Refresh is single-flight across processes: under a file lock the stored
  session is read again, and if another process has refreshed meanwhile its
  tokens are used instead of spending the (rotating) refresh token twice.
- The rotated refresh token replaces the old one in one atomic store write,
  so there is never a moment with no usable refresh token stored.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
from collections.abc import Mapping
from dataclasses import field
from pathlib import Path
from typing import Any

from carctl.api.client import ApiClient
from carctl.api.credentials import ENV_ACCESS, ENV_REFRESH, Credentials
from carctl.api.responses import Reply, error_for, redirect_error
from carctl.api.sessions import Location, Session
from carctl.clock import Clock
from carctl.errors import AuthError, CarctlError, ProtocolError
from carctl.locks import held
from carctl.providers import TOKEN_PATH
from carctl.records import record

CLIENT_ID = "carctl"
REVOKE_PATH = "/oauth2/v3/revoke"
REFRESH_AHEAD_S = 300.0
log = logging.getLogger("carctl.auth")
FRESH_TOKEN_S = 120.0
SKEW_WARN_S = 60.0  # a clock this far off is worth a warning (tokens carry times)
_TOKEN_CHARS = re.compile(r"[\x21-\x7e]+")  # printable ASCII, as an HTTP header needs


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()[:32]


def jwt_claims(token: str | None) -> dict[str, Any]:
    """The payload of a JWT-shaped token, unverified: used only to show the account."""
    if not token or token.count(".") != 2:
        return {}
    payload = token.split(".")[1]
    try:
        data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def clock_skew(headers: Mapping[str, str], now: float) -> float | None:
    """This computer's clock minus the server's (from the `Date` header), in seconds."""
    raw = headers.get("date")
    if not raw:
        return None
    import email.utils

    try:
        server = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        return None
    if server is None or server.tzinfo is None:
        return None
    return now - server.timestamp()


def describe_skew(skew: float) -> str:
    amount = abs(skew)
    if amount >= 3600:
        text = f"{amount / 3600:.1f} h"
    elif amount >= 60:
        text = f"{amount / 60:.0f} min"
    else:
        text = f"{amount:.0f} s"
    return f"{text} {'ahead of' if skew > 0 else 'behind'}"


@record
class TokenSet:
    access_token: str = field(repr=False)
    refresh_token: str | None = field(repr=False)
    expires_in: float
    account: str | None
    skew: float | None  # this computer's clock minus the server's, when it said


def token_request(
    client: ApiClient,
    fields: dict[str, str],
    *,
    purpose: str,
    login_command: str,
    url: str = TOKEN_PATH,
) -> TokenSet:
    """POST the token endpoint; OAuth errors become precise `AuthError`s (exit 77).

    `url` is a path on the API (the Owner API's shape) or the provider's own
    token endpoint (the Fleet API's is on another host)."""
    reply = client.exchange("POST", url, form=fields)
    if reply.status == 200:
        data = reply.json if isinstance(reply.json, dict) else {}
        access = data.get("access_token")
        if not isinstance(access, str) or not access:
            error: CarctlError = ProtocolError(
                "the token endpoint answered without an access token",
                hint="this is a fault of the service; try again later",
                http=reply.details(),
            )
            client.record(reply, error.code, error.message)
            raise error
        client.record(reply, "ok")
        refresh = data.get("refresh_token")
        expires_in = data.get("expires_in")
        return TokenSet(
            access_token=access,
            refresh_token=refresh if isinstance(refresh, str) and refresh else None,
            expires_in=float(expires_in) if isinstance(expires_in, int | float) else 3600.0,
            account=_account_of(data),
            skew=clock_skew(reply.headers, client.clock.now()),
        )
    if reply.status in (400, 401, 403):
        error = _oauth_refusal(reply, fields, purpose=purpose, login_command=login_command)
    elif 300 <= reply.status < 400:
        error = redirect_error(reply)
    else:
        error = error_for(reply, now=client.clock.now())
    client.record(reply, error.code, error.message)
    raise error


def _account_of(tokens: Mapping[str, Any]) -> str | None:
    for key in ("id_token", "access_token"):
        value = tokens.get(key)
        found = jwt_claims(value if isinstance(value, str) else None).get("email")
        if isinstance(found, str) and found:
            return found
    return None


def _oauth_refusal(
    reply: Reply, fields: Mapping[str, str], *, purpose: str, login_command: str
) -> AuthError:
    code, description = reply.oauth_error()
    lowered = description.lower()
    http = reply.details()
    hint = f"run `{login_command}`"
    if code in ("invalid_client", "unauthorized_client"):
        client = fields.get("client_id", "")
        return AuthError(
            f"the sign-in service does not accept the client id {client!r} ({description or code})",
            hint="set your registered application's: `carctl config set auth.client_id ID`; "
            "if it has a secret, sign in with `carctl auth login --web --client-secret-stdin`",
            http=http,
        )
    if purpose == "login":
        email_address = fields.get("email", "")
        if "password" in lowered and code == "invalid_grant":
            return AuthError(
                f"wrong password for {email_address}",
                hint=f"check the password and run `{login_command}` again",
                http=http,
            )
        if "unknown account" in lowered or "no such" in lowered:
            return AuthError(
                f"there is no account {email_address} at this vehicle API",
                hint="check the e-mail address (and the profile's api_url)",
                http=http,
            )
        return AuthError(f"sign-in refused: {description or code or reply.status}", http=http)
    reused = "already" in lowered and "used" in lowered  # "already used", "already been used"
    if reused and "reset" not in lowered and "revoked" not in lowered:
        return AuthError(
            "the session ended: its refresh token was already used, probably by a copy of "
            "this session on another computer",
            hint=hint,
            http=http,
        )
    if code == "login_required" or "revoked" in lowered:
        return AuthError(
            "the session was signed out on the server (its refresh token was revoked)",
            hint=hint,
            http=http,
        )
    if code == "invalid_grant":
        return AuthError(
            f"the session is no longer valid ({description or code})", hint=hint, http=http
        )
    return AuthError(f"refreshing the session failed: {description or code}", hint=hint, http=http)


def session_from(
    tokens: TokenSet,
    *,
    now: float,
    account: str | None,
    seed: str | None,
    client_secret: str | None = None,
) -> Session:
    return Session(
        account=tokens.account or account,
        access_token=tokens.access_token,
        refresh_token=tokens.refresh_token,
        expires_at=now + tokens.expires_in,
        obtained_at=now,
        env_seed=seed,
        client_secret=client_secret,
    )


def load_session(
    credentials: Credentials | None,
    env: Mapping[str, str],
    store_problem: AuthError | None = None,
) -> tuple[Session | None, Location | None]:
    """The session a run would use, and where it comes from; no network."""
    for variable in (ENV_ACCESS, ENV_REFRESH):
        value = env.get(variable)
        if value and not _TOKEN_CHARS.fullmatch(value):
            raise AuthError(
                f"{variable} does not hold a token: it has spaces or characters a token "
                "cannot contain",
                hint=f"set {variable} to the token alone (or unset it to use the stored session)",
            )
    access = env.get(ENV_ACCESS)
    if access:
        claims = jwt_claims(access)
        exp = claims.get("exp")
        account = claims.get("email")
        return Session(
            account=account if isinstance(account, str) else None,
            access_token=access,
            expires_at=float(exp) if isinstance(exp, int | float) else None,
        ), Location("env", ENV_ACCESS, True)
    stored: Session | None = None
    location: Location | None = None
    if credentials is not None:
        stored, location = credentials.load()
    elif store_problem is not None and not env.get(ENV_REFRESH):
        raise store_problem
    refresh = env.get(ENV_REFRESH)
    if not refresh:
        return stored, location
    seed = digest(refresh)
    if stored is not None and stored.env_seed == seed:
        # the chain that grew from this same environment token, rotated since
        return stored, Location(
            "env",
            f"{ENV_REFRESH} (renewed copy in {location.describe() if location else 'memory'})",
            True,
        )
    return Session(account=None, refresh_token=refresh, env_seed=seed), Location(
        "env", ENV_REFRESH, True
    )


class SessionManager:
    """The bearer token of one run, kept fresh; see the module docstring for the rules."""

    def __init__(
        self,
        client: ApiClient,
        credentials: Credentials | None,
        *,
        env: Mapping[str, str],
        lock_path: Path,
        login_command: str = "carctl auth login",
        api_label: str = "the vehicle API",
        store_problem: AuthError | None = None,
        client_id: str = CLIENT_ID,
        token_url: str = TOKEN_PATH,
    ) -> None:
        self.client_id = client_id  # renewals use the client the session was issued to
        self.token_url = token_url
        self.api_label = api_label
        self.client = client
        self.credentials = credentials
        self.env = env
        self.lock_path = lock_path
        self.login_command = login_command
        self.store_problem = store_problem
        self.session: Session | None = None
        self.location: Location | None = None

    @property
    def clock(self) -> Clock:
        return self.client.clock

    # -- reading ---------------------------------------------------------------------

    def load(self) -> Session | None:
        """The session this run uses: environment first, then the stores."""
        session, self.location = load_session(self.credentials, self.env, self.store_problem)
        return session

    def _not_signed_in(self) -> AuthError:
        return AuthError(f"not signed in to {self.api_label}", hint=f"run `{self.login_command}`")

    def _needs_refresh(self, session: Session) -> bool:
        if not session.access_token:
            return True
        if session.expires_at is None:
            return False
        return session.expires_at - self.clock.now() <= REFRESH_AHEAD_S

    def access_token(self) -> str:
        if self.session is None:
            self.session = self.load()
        session = self.session
        if session is None:
            raise self._not_signed_in()
        if self.env.get(ENV_ACCESS):
            assert session.access_token is not None
            return session.access_token
        if self._needs_refresh(session):
            if not session.refresh_token:
                raise AuthError(
                    "the session has expired and cannot be renewed",
                    hint=f"run `{self.login_command}`",
                )
            session = self.refresh(stale=session.access_token)
        assert session.access_token is not None
        return session.access_token

    def refresh_after_401(self, used: str, reply: Reply) -> str:
        """One refresh after the API refused `used`; the caller tries once more."""
        if self.env.get(ENV_ACCESS):
            raise AuthError(
                f"the vehicle API refused the token in {ENV_ACCESS} "
                f"({reply.api_message() or 'unauthorized'})",
                hint=f"put a fresh token in {ENV_ACCESS}, or unset it to use the stored session",
                http=reply.details(),
            )
        if self.session is None or not self.session.refresh_token:
            raise AuthError(
                f"the vehicle API refused the session ({reply.api_message() or 'unauthorized'})",
                hint=f"run `{self.login_command}`",
                http=reply.details(),
            )
        session = self.refresh(stale=used)
        assert session.access_token is not None
        return session.access_token

    def renew(self) -> None:
        loaded = self.load()
        self.session = loaded
        self.refresh(stale=loaded.access_token if loaded else None)

    def rejected_fresh_token(self, reply: Reply) -> AuthError:
        """A second 401 right after a refresh: say why, clocks included."""
        said = reply.api_message() or "unauthorized"
        now = self.clock.now()
        obtained = self.session.obtained_at if self.session else None
        if obtained is not None and now - obtained < FRESH_TOKEN_S and "expired" in said.lower():
            skew = clock_skew(reply.headers, now)
            measured = (
                f"; this computer's clock is {describe_skew(skew)} the API's"
                if skew is not None and abs(skew) >= SKEW_WARN_S
                else ""
            )
            return AuthError(
                f"the vehicle API says a token it issued {now - obtained:.0f} s ago has already "
                f"expired: its clock and this computer's disagree{measured}",
                hint="set this computer's clock (e.g. `timedatectl set-ntp true`) and try again; "
                "if it is right, the service's clock is wrong — try later",
                http=reply.details(),
            )
        return AuthError(
            f"the vehicle API refused a freshly renewed session ({said})",
            hint=f"run `{self.login_command}`",
            http=reply.details(),
        )

    # -- refreshing --------------------------------------------------------------------

    def refresh(self, *, stale: str | None) -> Session:
        """Renew the session once, even when several processes want to at the same time."""
        with held(self.lock_path):
            current = self.load() if self.credentials is not None else self.session
            if current is None:
                raise self._not_signed_in()
            renewed_elsewhere = (
                current.access_token is not None
                and current.access_token != stale
                and not self._needs_refresh(current)
            )
            if renewed_elsewhere:
                log.info("the session was renewed by another process while this one waited")
                self.session = current
                return current
            if not current.refresh_token:
                raise self._not_signed_in()
            try:
                tokens = token_request(
                    self.client,
                    {
                        "grant_type": "refresh_token",
                        "client_id": self.client_id,
                        "refresh_token": current.refresh_token,
                    },
                    purpose="refresh",
                    login_command=self.login_command,
                    url=self.token_url,
                )
            except AuthError as exc:
                if self.env.get(ENV_REFRESH):  # signing in again would not help: the env wins
                    exc.hint = (
                        f"{ENV_REFRESH} is set and holds a session the API no longer accepts: "
                        f"put a fresh refresh token in it, or unset it (unset {ENV_REFRESH}) "
                        f"to use the session of `{self.login_command}`"
                    )
                raise
            if tokens.refresh_token is None:  # a server that does not rotate
                tokens.refresh_token = current.refresh_token
            fresh = session_from(
                tokens,
                now=self.clock.now(),
                account=current.account,
                seed=current.env_seed,
                client_secret=current.client_secret,
            )
            self._store(fresh)
            self.session = fresh
            return fresh

    def _store(self, session: Session) -> None:
        if self.credentials is None:
            return  # environment tokens with no usable store: kept for this run only
        self.credentials.save(session)
