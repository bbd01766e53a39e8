"""The road to the vehicle API: DNS, TCP, TLS and `/status`, through the proxy the client
would use. Never a request that needs a session."""

from __future__ import annotations

import socket
import ssl
import time
from dataclasses import field
from typing import Any
from urllib.parse import urlsplit

from carctl.doctor import verdict as judges
from carctl.doctor.model import FAIL, NETWORK, PASS, REGISTRY, WARN, Doctor, Finding, in_thread
from carctl.records import record

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
    assert doc.endpoint is not None
    if doc.endpoint.origin == "builtin":
        return Finding(
            PASS,
            "the built-in endpoint runs inside carctl: no network involved",
            facts={"reachable": True},
        )
    road = _Road.to(doc)
    for stage in (_resolve, _connect):
        failed = stage(road)
        if failed is not None:
            return failed
    return _status(doc, road)


@record
class _Road:
    """The way to the API, tested stage by stage: each stage adds a step to the detail."""

    host: str
    port: int
    https: bool
    proxy: Any  # the proxy the client would use (carctl.api.proxy), or None
    now: float
    ca_file: str | None
    steps: list[str] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def to(cls, doc: Doctor) -> _Road:
        from carctl.api.proxy import proxy_for

        assert doc.endpoint is not None
        parts = urlsplit(doc.endpoint.api_url)
        proxy = proxy_for(doc.endpoint.api_url, doc.env)
        if proxy:  # the client talks to the proxy: that is the road to test
            host, port = proxy.host, proxy.port
        else:
            host = parts.hostname or ""
            port = parts.port or (443 if parts.scheme == "https" else 80)
        return cls(
            host,
            port,
            parts.scheme == "https",
            proxy,
            doc.clock.now(),
            doc.endpoint.ca_file,
            [f"via proxy {proxy.label}"] if proxy else [],
            {"proxy": proxy.label if proxy else None},
        )

    def failed(self, problem: str, remedy: str, stage: str) -> Finding:
        detail = "; ".join([*self.steps, problem])
        return Finding(FAIL, detail, remedy, {**self.facts, "reachable": False, "stage": stage})


def _resolve(road: _Road) -> Finding | None:
    try:
        addresses = in_thread(
            lambda: socket.getaddrinfo(road.host, road.port, type=socket.SOCK_STREAM), 5.0
        )
    except (OSError, TimeoutError) as exc:
        return road.failed(
            f"{road.host} does not resolve: {_os_error(exc)}",
            f"check the proxy setting ({road.proxy.url})"
            if road.proxy
            else "check the host name in api_url, your DNS and your connection",
            "dns",
        )
    road.steps.append(f"DNS {road.host} → {addresses[0][4][0]}")
    return None


def _connect(road: _Road) -> Finding | None:
    """TCP, then TLS as carctl's client makes it (through a proxy, /status tests TLS)."""
    started = time.monotonic()
    try:
        sock = in_thread(
            lambda: socket.create_connection((road.host, road.port), timeout=CONNECT_TIMEOUT_S),
            CONNECT_TIMEOUT_S + 1,
        )
    except (OSError, TimeoutError) as exc:
        what = "timed out" if isinstance(exc, TimeoutError | socket.timeout) else _os_error(exc)
        return road.failed(
            f"TCP connect to port {road.port} failed: {what}",
            f"the proxy {road.proxy.label} does not answer: check the proxy setting and "
            "whether the proxy runs"
            if road.proxy
            else "the API's port does not answer from here: check the address and port in "
            "api_url, your connection, VPN or firewall — or whether the service is up",
            "tcp",
        )
    road.steps.append(f"TCP {road.port} in {(time.monotonic() - started) * 1000:.0f} ms")
    try:
        if road.https and not road.proxy:
            road.steps.append(in_thread(lambda: _tls(sock, road.host, road.now, road.ca_file), 6.0))
    except (OSError, ssl.SSLError, TimeoutError, ValueError) as exc:
        return road.failed(
            f"TLS failed: {exc}",
            "a wrong clock, an intercepting proxy or an expired certificate; check the date "
            "and the network you are on",
            "tls",
        )
    finally:
        sock.close()
    road.facts["reachable"] = True
    return None


def _status(doc: Doctor, road: _Road) -> Finding:
    """The service's own `/status`, and the clock it reports."""
    from carctl.api.oauth import SKEW_WARN_S, clock_skew, describe_skew
    from carctl.api.probe import ProbeError, get

    assert doc.endpoint is not None
    steps, facts = road.steps, road.facts
    try:
        answer = get(doc.endpoint.api_url + "/status", ca_file=road.ca_file, timeout=5.0)
    except ProbeError as exc:
        return Finding(
            WARN,
            f"{'; '.join(steps)}; /status did not answer: {exc}",
            "the server accepts connections but does not answer: likely the service",
            {**facts, "status": None},
        )
    facts["status"] = answer.status
    steps.append(f"/status {answer.status} in {answer.latency_ms:.0f} ms")
    skew = clock_skew(answer.headers, doc.clock.now())
    if skew is not None:
        facts["skew"] = skew
        if abs(skew) >= SKEW_WARN_S:
            steps.append(f"this computer's clock is {describe_skew(skew)} the server's")
            return Finding(WARN, "; ".join(steps), "set the clock: timedatectl set-ntp true", facts)
    if answer.status >= 500:
        return Finding(
            WARN, "; ".join(steps), "the service says it is down; your network is fine", facts
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
