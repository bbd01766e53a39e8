"""The road to the vehicle API: DNS, TCP, TLS and `/status`, through the proxy the client
would use. Never a request that needs a session."""

from __future__ import annotations

import socket
import ssl
import time
from typing import Any
from urllib.parse import urlsplit

from carctl.doctor import verdict as judges
from carctl.doctor.model import FAIL, NETWORK, PASS, REGISTRY, WARN, Doctor, Finding, in_thread

CONNECT_TIMEOUT_S = 3.0


@REGISTRY.check(
    "network",
    "network to the API",
    order=50,
    needs=("config",),
    network=True,
    timeout_s=15,
    blames=NETWORK,
    judge=judges.unreachable,
)
def network(doc: Doctor) -> Finding:
    from carctl.api.oauth import SKEW_WARN_S, clock_skew, describe_skew

    assert doc.endpoint is not None
    if doc.endpoint.origin == "builtin":
        return Finding(
            PASS,
            "the built-in endpoint runs inside carctl: no network involved",
            facts={"reachable": True},
        )
    from carctl.api.proxy import proxy_for

    parts = urlsplit(doc.endpoint.api_url)
    proxy = proxy_for(doc.endpoint.api_url, doc.env)
    facts: dict[str, Any] = {"proxy": proxy.label if proxy else None}
    steps: list[str] = [f"via proxy {proxy.label}"] if proxy else []
    if proxy:  # the client talks to the proxy: that is the road to test
        host, port = proxy.host, proxy.port
    else:
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
    what_host = f"the proxy {proxy.label}" if proxy else host
    try:
        addresses = in_thread(lambda: socket.getaddrinfo(host, port, type=socket.SOCK_STREAM), 5.0)
    except (OSError, TimeoutError) as exc:
        return Finding(
            FAIL,
            "; ".join([*steps, f"{host} does not resolve: {_os_error(exc)}"]),
            f"check the proxy setting ({proxy.url})"
            if proxy
            else "check the host name in api_url, your DNS and your connection",
            {**facts, "reachable": False, "stage": "dns"},
        )
    steps.append(f"DNS {host} → {addresses[0][4][0]}")
    started = time.monotonic()
    try:
        sock = in_thread(
            lambda: socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S),
            CONNECT_TIMEOUT_S + 1,
        )
    except (OSError, TimeoutError) as exc:
        what = "timed out" if isinstance(exc, TimeoutError | socket.timeout) else _os_error(exc)
        return Finding(
            FAIL,
            f"{'; '.join(steps)}; TCP connect to port {port} failed: {what}",
            f"{what_host} does not answer: check the proxy setting and whether the proxy runs"
            if proxy
            else "the API's port does not answer from here: check the address and port in "
            "api_url, your connection, VPN or firewall — or whether the service is up",
            {**facts, "reachable": False, "stage": "tcp"},
        )
    steps.append(f"TCP {port} in {(time.monotonic() - started) * 1000:.0f} ms")
    try:
        if parts.scheme == "https" and not proxy:  # through a proxy, /status below tests TLS
            trusted = doc.endpoint.ca_file if doc.endpoint else None
            steps.append(in_thread(lambda: _tls(sock, host, doc.clock.now(), trusted), 6.0))
    except (OSError, ssl.SSLError, TimeoutError, ValueError) as exc:
        return Finding(
            FAIL,
            f"{'; '.join(steps)}; TLS failed: {exc}",
            "a wrong clock, an intercepting proxy or an expired certificate; check the date "
            "and the network you are on",
            {**facts, "reachable": False, "stage": "tls"},
        )
    finally:
        sock.close()
    import httpx

    from carctl.api.transport import trusting

    facts["reachable"] = True
    ca_file = doc.endpoint.ca_file
    try:
        verify: Any = trusting(ca_file) if ca_file else True
        with httpx.Client(timeout=5.0, follow_redirects=False, verify=verify) as client:
            started = time.monotonic()
            response = client.get(doc.endpoint.api_url + "/status")
            latency = (time.monotonic() - started) * 1000
    except httpx.HTTPError as exc:
        return Finding(
            WARN,
            f"{'; '.join(steps)}; /status did not answer: {exc or type(exc).__name__}",
            "the server accepts connections but does not answer: likely the service",
            {**facts, "status": None},
        )
    facts["status"] = response.status_code
    steps.append(f"/status {response.status_code} in {latency:.0f} ms")
    skew = clock_skew(response.headers, doc.clock.now())
    if skew is not None:
        facts["skew"] = skew
        if abs(skew) >= SKEW_WARN_S:
            steps.append(f"this computer's clock is {describe_skew(skew)} the server's")
            return Finding(WARN, "; ".join(steps), "set the clock: timedatectl set-ntp true", facts)
    if response.status_code >= 500:
        return Finding(
            WARN,
            "; ".join(steps),
            "the service says it is down; your network is fine",
            facts,
        )
    return Finding(PASS, "; ".join(steps), facts=facts)


def _os_error(exc: BaseException) -> str:
    """'connection refused', not '[Errno 111] Connection refused'."""
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return text[:1].lower() + text[1:]


def _tls(sock: socket.socket, host: str, now: float, ca_file: str | None = None) -> str:
    """The handshake carctl's client makes: the usual CAs, and tls.ca_file if set."""
    context = ssl.create_default_context()
    if ca_file:
        context.load_verify_locations(cafile=ca_file)
    with context.wrap_socket(sock, server_hostname=host) as tls:
        cert = tls.getpeercert() or {}
        version = tls.version()
    not_after = cert.get("notAfter")
    if not isinstance(not_after, str):
        return f"TLS {version}"
    expires = ssl.cert_time_to_seconds(not_after)
    days = (expires - now) / 86400
    if days < 14:
        raise ValueError(f"the certificate expires in {days:.0f} days")
    return f"TLS {version}, certificate valid for {days:.0f} days"
