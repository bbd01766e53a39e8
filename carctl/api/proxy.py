"""Which proxy a request to the vehicle API goes through, decided as httpx decides it.

The API client lets httpx read HTTP_PROXY, HTTPS_PROXY, ALL_PROXY and NO_PROXY
(`trust_env`). Doctor must test the road the client takes — to the proxy when
there is one — so it asks this module, which follows httpx's rules (lower-case
names win over upper-case ones, as in urllib; NO_PROXY `*` turns proxies off;
a NO_PROXY entry matches the host and its subdomains). A test keeps the two in
agreement.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from urllib.parse import urlsplit

from carctl.records import record


@record(frozen=True)
class Proxy:
    url: str
    host: str
    port: int

    @property
    def label(self) -> str:
        return f"{self.host}:{self.port}"


def _variable(env: Mapping[str, str], name: str) -> str:
    for key in (name.lower(), name.upper()):
        value = env.get(key)
        if value:
            return value.strip()
    return ""


def proxy_for(url: str, env: Mapping[str, str]) -> Proxy | None:
    """The proxy httpx would use for `url` with this environment, or None for a direct road."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if _bypassed(host, parts.port, _variable(env, "no_proxy")):
        return None
    chosen = _variable(env, f"{parts.scheme}_proxy") or _variable(env, "all_proxy")
    if not chosen:
        return None
    if "://" not in chosen:
        chosen = f"http://{chosen}"
    proxy = urlsplit(chosen)
    default_port = (
        443 if proxy.scheme == "https" else 1080 if proxy.scheme.startswith("socks") else 80
    )
    return Proxy(chosen, proxy.hostname or "", proxy.port or default_port)


def _bypassed(host: str, port: int | None, no_proxy: str) -> bool:
    for entry in (item.strip().lower() for item in no_proxy.split(",")):
        if not entry:
            continue
        if entry == "*":
            return True
        if "://" in entry:
            entry = urlsplit(entry).netloc
        name, _, wanted_port = entry.rpartition(":") if _has_port(entry) else (entry, "", "")
        if wanted_port and str(port) != wanted_port:
            continue
        name = name.strip("[]")
        if _is_ip(name) or name == "localhost":
            if host == name:
                return True
            continue
        if name.startswith((".", "*.")):  # ".example.com": subdomains only
            if host.endswith("." + name.lstrip("*.")):
                return True
        elif host == name.lstrip("*") or host.endswith("." + name.lstrip("*")):
            return True
    return False


def _has_port(entry: str) -> bool:
    head, _, tail = entry.rpartition(":")
    return bool(head) and tail.isdigit() and not _is_ip(entry.strip("[]"))


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True
