"""A session as carctl keeps it (its repr never shows a token, so a stray log line or
traceback cannot leak one), where it was found, and the protocol of a store."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import field
from typing import Any, Protocol

from carctl.logs import remember_secrets
from carctl.records import record

SERVICE = "carctl"
log = logging.getLogger("carctl.credentials")


@record
class Session:
    """A signed-in session. Tokens are kept out of repr on purpose."""

    account: str | None
    access_token: str | None = field(default=None, repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    expires_at: float | None = None  # by this computer's clock: receipt time + expires_in
    obtained_at: float | None = None
    env_seed: str | None = None  # digest of the CARCTL_REFRESH_TOKEN this chain grew from
    # the owner's application's secret, when it has one: kept with the session, in the
    # credential store only, for the next browser sign-in
    client_secret: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        # every token this process holds is redacted from what it prints and stores
        remember_secrets(self.access_token, self.refresh_token, self.client_secret)

    def to_json(self) -> dict[str, Any]:
        return {
            "account": self.account,
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "expires_at": self.expires_at,
            "obtained_at": self.obtained_at,
            "env_seed": self.env_seed,
            **({"client_secret": self.client_secret} if self.client_secret else {}),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Session:
        def text(key: str) -> str | None:
            value = data.get(key)
            return value if isinstance(value, str) and value else None

        def number(key: str) -> float | None:
            value = data.get(key)
            return float(value) if isinstance(value, int | float) else None

        return cls(
            account=text("account"),
            access_token=text("access_token"),
            refresh_token=text("refresh_token"),
            expires_at=number("expires_at"),
            obtained_at=number("obtained_at"),
            env_seed=text("env_seed"),
            client_secret=text("client_secret"),
        )


def entry_name(profile: str, origin: str) -> str:
    """One credential entry per profile and API origin: `default@https://host`."""
    return f"{profile}@{origin}"


@record(frozen=True)
class Location:
    """Where a session is kept, for `auth status` and doctor. Never the token."""

    kind: str  # keyring | file | env
    detail: str  # backend name, file path, or variable name
    secure: bool

    def describe(self) -> str:
        if self.kind == "keyring":
            return f"keyring ({self.detail})"
        if self.kind == "file":
            return f"file {self.detail} (not a keyring: protected only by its mode, 600)"
        return f"environment variable {self.detail}"

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "detail": self.detail, "secure": self.secure}


class Store(Protocol):
    location: Location

    def load(self, entry: str) -> Session | None: ...

    def save(self, entry: str, session: Session) -> None: ...

    def delete(self, entry: str) -> bool: ...

    def load_text(self, entry: str) -> str | None: ...

    def save_text(self, entry: str, text: str) -> None: ...


def parse_session(raw: str | None, where: str) -> Session | None:
    if not raw:
        return None
    try:
        data = json.loads(raw)
    except ValueError:
        return None  # not ours, or damaged: treated as signed out, login overwrites it
    return Session.from_json(data) if isinstance(data, dict) else None
