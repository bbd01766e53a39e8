"""Which Fleet API region serves an account, asked once after sign-in.

`GET /api/1/users/region` answers with the account's region and the base URL
to use (`{"region": "eu", "fleet_api_base_url": "https://fleet-api.prd.eu..."}`);
a host of another region may answer 421 ("This user is not present in the
current region"), and then the next one is asked — as tesla-fleet-api's
`find_server` does. The answer is kept in the profile, so later runs go
straight to the right host.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from carctl.api.client import ApiClient
from carctl.errors import ConfigError, ProtocolError
from carctl.providers import REGIONS, origin_of
from carctl.records import record

REGION_PATH = "/api/1/users/region"


@record(frozen=True)
class Region:
    name: str  # na | eu | cn
    base_url: str


def discover(client: ApiClient, access_token: str, *, first: str, overridden: bool) -> Region:
    """The account's region; `first` is asked first (the profile's host), then the others
    unless the owner pinned the host (`overridden`: a test server or their own)."""
    hosts = [first] + ([] if overridden else [u for u in REGIONS.values() if u != first])
    misdirected: list[str] = []
    for host in hosts:
        reply = client.exchange(
            "GET", host + REGION_PATH, headers={"authorization": f"Bearer {access_token}"}
        )
        if reply.status == 421:
            client.record(reply, "wrong_region", "not this region")
            misdirected.append(urlsplit(host).hostname or host)
            continue
        data = client.interpret(reply)
        return _region_from(data, host, overridden=overridden)
    raise ConfigError(
        "no Fleet API region would serve this account (asked " + ", ".join(misdirected) + ")",
        hint="check that the account has a car and that your application is registered in its "
        "region; `carctl config set region eu` (na, eu, cn) to choose one yourself",
    )


def _region_from(data: object, host: str, *, overridden: bool) -> Region:
    """The answer, trusted only as far as it names a host tokens may go to: one of Tesla's
    documented regional hosts — or, on a pinned host, that same server."""
    name = data.get("region") if isinstance(data, dict) else None
    base = data.get("fleet_api_base_url") if isinstance(data, dict) else None
    if not isinstance(name, str) or name.lower() not in REGIONS:
        raise ProtocolError(f"{host} answered {REGION_PATH} without a region carctl knows")
    name = name.lower()
    if not isinstance(base, str) or not base.strip():
        base = host if overridden else REGIONS[name]
    base = base.strip().rstrip("/")
    allowed = origin_of(base) == origin_of(host) if overridden else base in REGIONS.values()
    if not allowed:
        raise ProtocolError(
            f"{host} named {origin_of(base)} as the account's Fleet API host, which is not one "
            "carctl sends tokens to",
            hint="set the host yourself: `carctl config set provider_url URL`",
        )
    return Region(name, base)
