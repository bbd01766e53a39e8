"""Named vehicle APIs: where each one is, how it signs in, how it addresses cars.

A profile's `api_url` is a URL (the mock, or anything speaking the Owner API's
shape) or one of these names. The addresses are the ones Tesla documents and
the client libraries use (tesla-fleet-api's `const.SERVERS` and
`tesla/oauth.py`; Teslemetry's `teslemetry.py`):

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
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

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
TOKEN_PATH = "/oauth2/v3/token"  # noqa: S105 - a URL path, not a secret


@dataclass(frozen=True)
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
    def named(self) -> bool:
        return self.name in (FLEET, PROXY, TESLEMETRY)

    @property
    def label(self) -> str:
        return {
            FLEET: "Tesla's Fleet API",
            PROXY: "Tesla's signing proxy",
            TESLEMETRY: "Teslemetry",
        }.get(self.name, self.api_url)

    def describe(self) -> str:
        """One line for `auth status` and doctor: the provider, its address, its region."""
        if self.name == BUILTIN:
            return "the built-in mock"
        if not self.named:
            return self.api_url
        where = f"{self.label} at {self.api_url}"
        if self.name == FLEET:
            if self.region:
                where += f", region {self.region} ({REGION_NAMES.get(self.region, '?')})"
            else:
                where += ", region not yet known (found at sign-in)"
        return where


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


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
    if setting == BUILTIN:
        return Provider(BUILTIN, BUILTIN, None, TOKEN_PATH)
    if setting not in (FLEET, PROXY, TESLEMETRY):
        return Provider(URL, setting, setting, TOKEN_PATH)
    if setting == TESLEMETRY:
        return Provider(
            TESLEMETRY, provider_url or TESLEMETRY_URL, None, TOKEN_PATH, by_vin=True, signs=True
        )
    if auth_url:
        sign_in, token = auth_url, auth_url + TOKEN_PATH
    else:
        sign_in = TESLA_AUTH_CN if region == "cn" else TESLA_AUTH
        token = FLEET_TOKEN_URL
    regional = REGIONS[region or DEFAULT_REGION]
    if setting == FLEET:
        base = provider_url or regional
        return Provider(
            FLEET, base, sign_in, token, region=region, by_vin=True, signs=False, audience=base
        )
    return Provider(
        PROXY,
        provider_url or PROXY_URL,
        sign_in,
        token,
        region=region,
        by_vin=True,
        signs=True,
        audience=regional,
    )
