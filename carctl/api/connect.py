"""Putting the API pieces together for one run: endpoint, transport, stores, session.

The stack (`carctl.stack`) asks these functions for the endpoint a profile
names, its credential stores, its session and its HTTP transport, and builds
the `ApiClient` from them.
"""

from __future__ import annotations

import hashlib
import importlib
import ipaddress
from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from carctl.api.client import ApiClient
from carctl.api.credentials import (
    ENV_ACCESS,
    ENV_REFRESH,
    Credentials,
    open_credentials,
)
from carctl.errors import AuthError, ConfigError
from carctl.paths import Paths
from carctl.providers import BUILTIN, PROVIDERS, TOKEN_PATH, Kind, Provider, origin_of, resolve
from carctl.records import record
from carctl.settings import DEFAULT_PROFILE, Settings

Warn = Callable[[str], None]


@record(frozen=True)
class Endpoint:
    api_url: str  # the base of /api/1/...
    origin: str  # "builtin", or scheme://host[:port]: what budget, breaker and cache are keyed by
    ca_file: str | None = None  # trusted besides the usual CAs (tls.ca_file: a signing proxy)
    provider: Provider | None = None  # None: the address itself, as for a URL

    @property
    def label(self) -> str:
        if self.origin == BUILTIN:
            return "the built-in mock"
        return self.provider.label if self.provider and self.provider.named else self.api_url

    @property
    def setting(self) -> str:
        """What the profile's `api_url` says: a provider's name, or this address."""
        return self.provider.name if self.provider and self.provider.named else self.api_url

    @property
    def credential_origin(self) -> str:
        """What the session is kept under: a provider's tokens are never sent to another.

        A URL keeps its origin (as before providers existed); a named provider is
        keyed by its name and the sign-in service that issued the tokens."""
        provider = self.provider
        if provider is None or not provider.named:
            return self.origin
        return f"{provider.name}:{origin_of(provider.auth_url or provider.api_url)}"

    @property
    def kind(self) -> Kind | None:
        """Its entry in the provider registry (the built-in endpoint's too); None: a URL."""
        if self.provider is not None:
            return self.provider.kind
        return PROVIDERS.get(self.origin)

    @property
    def by_vin(self) -> bool:
        return bool(self.provider and self.provider.by_vin)

    @property
    def token_url(self) -> str:
        return self.provider.token_url if self.provider else TOKEN_PATH


def _loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _refuse_plain_http(url: str, what: str, insecure: bool) -> None:
    parts = urlsplit(url)
    if parts.scheme == "http" and not _loopback(parts.hostname or "") and not insecure:
        raise ConfigError(
            f"{what} {url} uses plain http:// to another computer: passwords and tokens "
            "would cross the network unencrypted",
            hint="use https://, or pass --insecure if this network is yours",
        )


def endpoint_for(
    api_url: str,
    *,
    insecure: bool = False,
    ca_file: str | None = None,
    provider: Provider | None = None,
) -> Endpoint:
    """Refuse plain HTTP to anything but this computer, unless the user insists.

    `--insecure` allows plain HTTP; it never turns certificate checks off. A
    proxy with its own certificate is trusted through `ca_file` instead."""
    if api_url == BUILTIN:
        return Endpoint(BUILTIN, BUILTIN)
    _refuse_plain_http(
        api_url, "api_url" if provider is None else "the provider's address", insecure
    )
    if provider is not None and provider.auth_url and provider.auth_url != api_url:
        _refuse_plain_http(provider.auth_url, "auth_url", insecure)
    return Endpoint(api_url, origin_of(api_url), ca_file, provider)


def profile_endpoint(settings: Settings, *, insecure: bool = False) -> Endpoint:
    """The endpoint a profile's settings name: its provider and the certificate it trusts."""
    provider = resolve(
        settings.api_url,
        region=settings.get("region"),
        provider_url=settings.get("provider_url"),
        auth_url=settings.get("auth_url"),
    )
    return endpoint_for(
        provider.api_url,
        insecure=insecure,
        ca_file=settings.get("tls.ca_file"),
        provider=provider if provider.named else None,
    )


def billed_account(settings: Settings, endpoint: Endpoint) -> str | None:
    """Whose bill this profile's calls go on (profile@provider); None: they are free.

    The Fleet API bills every call, through the proxy and Teslemetry too; the
    built-in mock and a URL are free unless the profile says `billing = on`."""
    billing = settings.get("billing")
    kind = endpoint.provider.kind if endpoint.provider is not None else None
    paid = kind is not None and kind.paid
    if billing == "off" or (billing == "auto" and not paid):
        return None
    return f"{settings.profile}@{endpoint.credential_origin}"


def prices_for(settings: Settings) -> Any:
    """The prices, discount and cap the settings name (Tesla's published ones by default)."""
    from carctl.api.usage import COMMAND, DATA, SIGNAL, WAKE, Prices

    limit = settings.get("usage.monthly_limit")
    return Prices(
        each={
            COMMAND: float(settings.get("usage.price_command")),
            DATA: float(settings.get("usage.price_data")),
            WAKE: float(settings.get("usage.price_wake")),
            SIGNAL: float(settings.get("usage.price_signal")),
        },
        discount=float(settings.get("usage.discount")),
        limit=None if limit == "off" else float(limit),
    )


def login_command(profile: str) -> str:
    return (
        "carctl auth login"
        if profile == DEFAULT_PROFILE
        else f"carctl --profile {profile} auth login"
    )


def credentials_for(
    settings: Settings,
    paths: Paths,
    env: Mapping[str, str],
    endpoint: Endpoint,
    *,
    warn: Warn | None = None,
    keyring_backend: Any = None,
    keyring_timeout: float | None = None,
    fresh: bool = False,
) -> Credentials:
    """The stores for this profile and API; `fresh` re-detects the keyring backend."""
    return open_credentials(
        state_dir=paths.state_dir,
        profile=settings.profile,
        origin=endpoint.credential_origin,
        env=env,
        require_keyring=bool(settings.get("auth.require_keyring")),
        warn=warn,
        backend=keyring_backend,
        timeout=keyring_timeout,
        fresh=fresh,
    )


def lock_path(paths: Paths, entry: str) -> Path:
    return paths.state_dir / "locks" / f"refresh-{hashlib.sha256(entry.encode()).hexdigest()[:16]}"


def http_client(
    endpoint: Endpoint, paths: Paths, env: Mapping[str, str], transport: Any = None
) -> Any:
    """httpx never follows redirects here, and the built-in endpoint ignores proxies.

    The proxy is chosen by `carctl.api.proxy` from this run's environment, the
    same choice doctor tests the road for (and the same rules httpx follows).
    """
    import httpx

    from carctl.api.client import DEFAULT_TIMEOUT

    base_url = endpoint.api_url
    mounts: dict[str, Any] | None = None
    in_process = endpoint.kind.transport if endpoint.kind is not None else None
    if in_process is not None:
        module, _, function = in_process.partition(":")
        base_url, mounted = getattr(importlib.import_module(module), function)(paths.state_db)
        transport = transport or mounted
    elif transport is None:
        from carctl.api.proxy import proxy_for
        from carctl.api.transport import transport as wire

        proxy = proxy_for(base_url, env)
        road = proxy.url if proxy else None
        if endpoint.ca_file and base_url.lower().startswith("https://"):
            # the proxy's CA is trusted for the proxy's own origin, nowhere else: it could
            # sign a certificate for any name, Tesla's sign-in and token hosts included
            mounts = {
                _origin_pattern(base_url): wire(base_url, proxy=road, ca_file=endpoint.ca_file)
            }
        transport = wire(base_url, proxy=road)
    return httpx.Client(
        transport=transport,
        mounts=mounts,
        base_url=base_url,
        timeout=DEFAULT_TIMEOUT,
        follow_redirects=False,
        trust_env=False,
    )


def _origin_pattern(url: str) -> str:
    """httpx's mount key for exactly this scheme, host and port (httpx leaves a default
    port out of its URLs, so the key does too)."""
    parts = urlsplit(url)
    host = f"[{parts.hostname}]" if ":" in (parts.hostname or "") else parts.hostname
    default = 443 if parts.scheme == "https" else 80
    port = f":{parts.port}" if parts.port not in (None, default) else ""
    return f"{parts.scheme}://{host}{port}"


def authorizer_for(
    settings: Settings,
    paths: Paths,
    env: Mapping[str, str],
    endpoint: Endpoint,
    *,
    warn: Warn | None = None,
    credentials: Credentials | None = None,
) -> Callable[[ApiClient], Any]:
    """How a client of this profile gets its bearer token: the session manager, given the
    profile's stores (or `credentials`), made on the client's first request."""
    from carctl.api.oauth import SessionManager

    problem: AuthError | None = None
    try:
        credentials = credentials or credentials_for(settings, paths, env, endpoint, warn=warn)
    except AuthError as exc:
        if not (env.get(ENV_ACCESS) or env.get(ENV_REFRESH)):
            raise
        problem = exc
    entry = f"{settings.profile}@{endpoint.credential_origin}"
    return partial(
        SessionManager,
        credentials=credentials,
        env=env,
        lock_path=lock_path(paths, entry),
        login_command=login_command(settings.profile),
        api_label=f"{endpoint.label} (profile {settings.profile})",
        store_problem=problem,
        client_id=str(settings.get("auth.client_id")),
        token_url=endpoint.token_url,
    )
