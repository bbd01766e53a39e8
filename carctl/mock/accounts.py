"""Accounts and tokens of the mock's OAuth service.

Tokens are JWT-shaped (some clients read `exp` from them) and random; the world
keeps only their SHA-256 digests, so the built-in endpoint's persisted state
never holds a usable credential. Refresh tokens rotate: each use issues a new
one and retires the old, and reusing a retired one is `invalid_grant`, as with
the real service.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import asdict, dataclass, field
from typing import Any

# An application registered as confidential: its code exchange must carry its secret
# (the Fleet API's third-party token flow; tesla-fleet-api's `get_refresh_token`).
CONFIDENTIAL_CLIENTS = {"fleet-confidential": "mock-client-secret-5b1e"}
CLIENT_IDS = ("ownerapi", "carctl", *CONFIDENTIAL_CLIENTS)
KEEP_REFRESH_TOKENS = 64  # per account: enough history to tell "rotated" from "unknown"


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def password_digest(email: str, password: str) -> str:
    return hashlib.pbkdf2_hmac("sha256", password.encode(), email.encode(), 1000).hex()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_jwt(claims: dict[str, Any]) -> str:
    """A JWT-shaped token, signed with a random per-token key (the mock never verifies it)."""
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
    signature = _b64(
        hmac.new(secrets.token_bytes(32), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    )
    return f"{header}.{payload}.{signature}"


@dataclass
class Account:
    email: str
    password_hash: str
    full_name: str
    user_id: int


# What a token grants when the sign-in named nothing narrower (the password grant, the
# Owner API): everything a client of the vehicle API asks for.
ALL_SCOPES = (
    "openid",
    "email",
    "offline_access",
    "vehicle_device_data",
    "vehicle_cmds",
    "vehicle_location",
)


@dataclass
class Grant:
    """What a token digest stands for."""

    email: str
    client_id: str
    expires_at: float | None = None
    status: str = "active"  # refresh tokens: active | rotated | revoked
    issued_at: float = 0.0
    scopes: list[str] | None = None  # None: ALL_SCOPES
    partner: bool = False  # a partner token (client_credentials): the application, no user


@dataclass
class AuthCode:
    email: str
    client_id: str
    challenge: str
    redirect_uri: str
    expires_at: float
    scopes: list[str] | None = None  # what the authorize request's `scope` asked for


def granted(scope: object) -> list[str] | None:
    """The scopes an authorize request's `scope` asks for, as Tesla grants them: the words
    it knows, in its order (None: none named, so the default grant)."""
    words = str(scope or "").replace(",", " ").split()
    if not words:
        return None
    return [s for s in ALL_SCOPES if s in words]


def _refresh_token(claims: dict[str, Any], now: float, *, fleet: bool) -> str:
    """The Fleet API's: opaque, after the region (`NA_…`); the Owner API's: a JWT."""
    if fleet:
        return f"{claims['ou_code']}_{secrets.token_hex(32)}"
    renewal = {**claims, "exp": int(now + 90 * 86400), "typ": "refresh"}
    return make_jwt({**renewal, "jti": secrets.token_hex(8)})


@dataclass
class TokenBook:
    """Every token the mock issued, by digest."""

    access: dict[str, Grant] = field(default_factory=dict)
    refresh: dict[str, Grant] = field(default_factory=dict)
    codes: dict[str, AuthCode] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TokenBook:
        return cls(
            access={k: Grant(**v) for k, v in data.get("access", {}).items()},
            refresh={k: Grant(**v) for k, v in data.get("refresh", {}).items()},
            codes={k: AuthCode(**v) for k, v in data.get("codes", {}).items()},
        )

    def issue(
        self,
        *,
        email: str,
        client_id: str,
        now: float,
        ttl: float,
        issuer: str,
        scopes: list[str] | None = None,
        ou_code: str = "NA",
        fleet_audience: list[str] | None = None,
    ) -> dict[str, Any]:
        """A new access/refresh pair, as the token endpoint returns it.

        The claims are those clients read from the access token (Home Assistant's
        `tesla_fleet` reads `scp` and `ou_code`; tesla-fleet-api the region from a
        code's prefix). `fleet_audience`, given on the Fleet API: the token's `aud`;
        its refresh tokens are opaque and begin with the account's region (`NA_…`,
        Tesla's third-party-tokens page), where the Owner API's were JWTs.
        """
        self._forget_expired(now)
        claims = {
            "iss": issuer,
            "sub": digest(email)[:32],
            "aud": fleet_audience or [issuer + "/"],
            # what was granted (the authorize request's `scope`), and the account's region
            "scp": list(ALL_SCOPES if scopes is None else scopes),
            "ou_code": ou_code,
            "locale": "en-US",
            "iat": int(now),
            "exp": int(now + ttl),
            "jti": secrets.token_hex(8),
        }
        access = make_jwt(claims)
        refresh = _refresh_token(claims, now, fleet=fleet_audience is not None)
        self.access[digest(access)] = Grant(
            email=email, client_id=client_id, expires_at=now + ttl, issued_at=now, scopes=scopes
        )
        self.refresh[digest(refresh)] = Grant(
            email=email, client_id=client_id, issued_at=now, scopes=scopes
        )
        self._trim_refresh(email)
        return {
            "access_token": access,
            "refresh_token": refresh,
            "id_token": make_jwt({**claims, "email": email}),
            "expires_in": int(ttl),
            "token_type": "Bearer",
            "created_at": int(now),
        }

    def issue_partner(
        self,
        *,
        client_id: str,
        now: float,
        ttl: float,
        issuer: str,
        scopes: list[str] | None,
        audience: list[str],
        ou_code: str,
    ) -> dict[str, Any]:
        """A partner token (`client_credentials`): the application itself, no user and no
        refresh token (Tesla's partner-tokens page)."""
        self._forget_expired(now)
        claims = {
            "iss": issuer,
            "sub": client_id,
            "aud": audience,
            "scp": list(scopes or ["openid"]),
            "ou_code": ou_code,
            "iat": int(now),
            "exp": int(now + ttl),
            "jti": secrets.token_hex(8),
        }
        access = make_jwt(claims)
        self.access[digest(access)] = Grant(
            email="",
            client_id=client_id,
            expires_at=now + ttl,
            issued_at=now,
            scopes=scopes,
            partner=True,
        )
        return {"access_token": access, "expires_in": int(ttl), "token_type": "Bearer"}

    def _forget_expired(self, now: float) -> None:
        for key in [k for k, g in self.access.items() if (g.expires_at or 0) < now - 86400]:
            del self.access[key]
        for key in [k for k, c in self.codes.items() if c.expires_at < now]:
            del self.codes[key]

    def _trim_refresh(self, email: str) -> None:
        mine = [k for k, g in self.refresh.items() if g.email == email]
        for key in mine[:-KEEP_REFRESH_TOKENS]:
            del self.refresh[key]

    def revoke(self, token: str) -> None:
        """RFC 7009: revoking an unknown token is not an error."""
        key = digest(token)
        if key in self.refresh:
            self.refresh[key].status = "revoked"
        self.access.pop(key, None)
