"""The vehicle APIs carctl can talk to: one registry, `PROVIDERS`, one entry each.

A profile's `api_url` is one of these names or a URL (the mock, or anything
speaking the Owner API's shape). Each entry says where the service is, how one
signs in to it, whether its calls are billed, and who signs commands; the
settings, sign-in, the stack, doctor and help all read it from here, so a new
provider is one `register(Kind(...))` and touches no other file. The built-in
endpoint is an entry like the others, whose `transport` mounts the mock in
process.

The addresses are the ones Tesla documents and the client libraries use
(tesla-fleet-api's `const.SERVERS` and `tesla/oauth.py`; Teslemetry's
`teslemetry.py`):

- `fleet`: Tesla's Fleet API. Three regional hosts; which one serves an
  account is asked of `GET /api/1/users/region` after sign-in (any regional
  host answers it, or says 421 "This user is not present in the current
  region") and remembered in the profile (`region`, `provider_url`). Sign-in
  is the browser flow on auth.tesla.com (auth.tesla.cn in China); tokens come
  from the Fleet token endpoint, fleet-auth.prd.vn.cloud.tesla.com.
- `proxy`: Tesla's `tesla-http-proxy` (github.com/teslamotors/vehicle-command),
  by default on https://localhost:4443, which signs commands with the owner's
  paired key and forwards everything to the Fleet API. Same tokens as `fleet`.
- `teslemetry`: a Fleet-API-compatible service that signs for the owner; it
  takes its own access token (`carctl auth login --with-token`).

With these three, cars are addressed by VIN in paths (the proxy requires it).
This module is pure data: it imports no HTTP library, so the settings can
check a profile against it.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from carctl.records import record

BUILTIN = "builtin"
URL = "url"  # not a name: an address the owner gave
FLEET, PROXY, TESLEMETRY = "fleet", "proxy", "teslemetry"

REGIONS = {
    "na": "https://fleet-api.prd.na.vn.cloud.tesla.com",  # North America, Asia-Pacific
    "eu": "https://fleet-api.prd.eu.vn.cloud.tesla.com",  # Europe, Middle East, Africa
    "cn": "https://fleet-api.prd.cn.vn.cloud.tesla.cn",  # China
}
REGION_NAMES = {
    "na": "North America, Asia-Pacific",
    "eu": "Europe, Middle East, Africa",
    "cn": "China",
}
DEFAULT_REGION = "na"
TESLA_AUTH = "https://auth.tesla.com"
TESLA_AUTH_CN = "https://auth.tesla.cn"
FLEET_TOKEN_URL = "https://fleet-auth.prd.vn.cloud.tesla.com/oauth2/v3/token"  # noqa: S105
PROXY_URL = "https://localhost:4443"
TESLEMETRY_URL = "https://api.teslemetry.com"
ON_TESLA_ACCOUNT = "on your Tesla account (Security › Third-party apps)"
TOKEN_PATH = "/oauth2/v3/token"  # noqa: S105 - a URL path, not a secret


@record(frozen=True)
class Provider:
    """Where one profile's requests go, and the rules of that service."""

    name: str  # builtin | url | fleet | proxy | teslemetry
    api_url: str  # the base of /api/1/...
    auth_url: str | None  # where the browser signs in (None: no sign-in page)
    token_url: str  # where codes and refresh tokens are exchanged: a path on api_url, or a URL
    region: str | None = None  # fleet: the account's region, once known
    by_vin: bool = False  # cars are addressed by VIN in paths
    signs: bool | None = None  # commands are signed on the way; None: cannot tell (a URL)
    audience: str | None = None  # the Fleet API host a code exchange names (Tesla requires it)

    @property
    def kind(self) -> Kind | None:
        """Its registry entry; None for an address the owner gave."""
        return PROVIDERS.get(self.name)

    @property
    def named(self) -> bool:
        """A service known by name (not the built-in mock, not a bare URL)."""
        return self.kind is not None and self.name != BUILTIN

    @property
    def label(self) -> str:
        return self.kind.label if self.named and self.kind else self.api_url

    def describe(self) -> str:
        """One line for `auth status` and doctor: the provider, its address, its region."""
        if self.name == BUILTIN:
            return "the built-in mock"
        if not self.named:
            return self.api_url
        where = f"{self.label} at {self.api_url}"
        if self.kind is not None and self.kind.regional:
            if self.region:
                where += f", region {self.region} ({REGION_NAMES.get(self.region, '?')})"
            else:
                where += ", region not yet known (found at sign-in)"
        return where


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


@record(frozen=True)
class Overrides:
    """What a profile may say about a named provider besides its name."""

    region: str | None = None  # fleet, proxy: the account's region, once known
    provider_url: str | None = None  # the provider's address, when not the usual one
    auth_url: str | None = None  # its sign-in service (a test server)


@record(frozen=True)
class Kind:
    """One vehicle API carctl can talk to: an entry of `PROVIDERS`."""

    name: str  # what `api_url` says
    label: str  # "Tesla's Fleet API": how messages name it
    about: str  # a few words for help, after its name ("": its name says it)
    make: Callable[[Overrides], Provider]  # where it is, with the profile's overrides
    paid: bool = False  # every call is billed (the usage ledger and cap apply)
    # who signs commands: "service" (it signs, or cars need no signature), "owner" (carctl
    # signs with the owner's paired key), "either" (carctl signs when the profile has a key;
    # without one, the service does)
    signing: str = "service"
    # how the owner signs in: "password" (and any other way), "browser" (a browser, or a
    # refresh token: there is no password sign-in), "access_token" (a token the owner pastes)
    sign_in: str = "password"
    regional: bool = False  # the account's region is asked after sign-in (the Fleet API)
    revoke_where: str = ON_TESLA_ACCOUNT  # where the owner ends a session carctl cannot revoke
    # "module:function" that, given the state file, returns the base URL and the httpx
    # transport serving it in this process (the built-in mock); None: reached over the
    # network at its address
    transport: str | None = None


PROVIDERS: dict[str, Kind] = {}


def register(kind: Kind) -> Kind:
    """Add a provider (or replace one of the same name): settings accept its name at once."""
    PROVIDERS[kind.name] = kind
    return kind


def names() -> list[str]:
    return list(PROVIDERS)


def expected_api() -> str:
    """What `api_url` may be, for a message: the names, or a URL."""
    quoted = ", ".join(f'"{name}"' for name in PROVIDERS)
    return f"expected {quoted} or an http(s):// URL such as http://127.0.0.1:8787"


def resolve(
    setting: str,
    *,
    region: str | None = None,
    provider_url: str | None = None,
    auth_url: str | None = None,
) -> Provider:
    """The provider a profile's `api_url` names, with its overrides applied.

    `provider_url` moves a named provider (the Fleet API's regional host, the
    proxy's address); `auth_url` moves its sign-in service (both Tesla hosts at
    once): for a test server, or a proxy on another machine."""
    kind = PROVIDERS.get(setting)
    if kind is None:
        return Provider(URL, setting, setting, TOKEN_PATH)
    return kind.make(Overrides(region, provider_url, auth_url))


def _tesla_hosts(overrides: Overrides) -> tuple[str, str, str]:
    """Sign-in page, token URL and regional Fleet API host, as Tesla's region decides."""
    if overrides.auth_url:
        sign_in, token = overrides.auth_url, overrides.auth_url + TOKEN_PATH
    else:
        sign_in = TESLA_AUTH_CN if overrides.region == "cn" else TESLA_AUTH
        token = FLEET_TOKEN_URL
    return sign_in, token, REGIONS[overrides.region or DEFAULT_REGION]


def _builtin(_: Overrides) -> Provider:
    return Provider(BUILTIN, BUILTIN, None, TOKEN_PATH)


def _fleet(overrides: Overrides) -> Provider:
    sign_in, token, regional = _tesla_hosts(overrides)
    base = overrides.provider_url or regional
    return Provider(
        FLEET,
        base,
        sign_in,
        token,
        region=overrides.region,
        by_vin=True,
        signs=False,
        audience=base,
    )


def _proxy(overrides: Overrides) -> Provider:
    sign_in, token, regional = _tesla_hosts(overrides)
    return Provider(
        PROXY,
        overrides.provider_url or PROXY_URL,
        sign_in,
        token,
        region=overrides.region,
        by_vin=True,
        signs=True,
        audience=regional,
    )


def _teslemetry(overrides: Overrides) -> Provider:
    base = overrides.provider_url or TESLEMETRY_URL
    return Provider(TESLEMETRY, base, None, TOKEN_PATH, by_vin=True, signs=True)


register(
    Kind(
        BUILTIN,
        "the built-in mock",
        "the in-process mock",
        _builtin,
        transport="carctl.api.builtin:mount",
    )
)
register(
    Kind(
        FLEET,
        "Tesla's Fleet API",
        "Tesla's Fleet API",
        _fleet,
        paid=True,
        signing="owner",
        sign_in="browser",
        regional=True,
    )
)
register(
    Kind(
        PROXY,
        "Tesla's signing proxy",
        "Tesla's signing proxy",
        _proxy,
        paid=True,
        sign_in="browser",
    )
)
register(
    Kind(
        TESLEMETRY,
        "Teslemetry",
        "",
        _teslemetry,
        paid=True,
        signing="either",
        sign_in="access_token",
        revoke_where="in Teslemetry's console",
    )
)
