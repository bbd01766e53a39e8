"""Plain HTTP probes for doctor: no session, no guard, nothing recorded as the API's.

Doctor asks whether the service answers at all (`/status`) and whether the
owner's domain serves the public key, the way Tesla's servers fetch it. httpx
stays in the api layer; doctor gets answers, not a client.
"""

from __future__ import annotations

import time

from carctl.records import record


class ProbeError(OSError):
    """No answer: the message says why (a timeout, a refused connection, a TLS failure)."""


@record(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    text: str
    latency_ms: float


def get(url: str, *, ca_file: str | None = None, follow: bool = False, timeout: float) -> Answer:
    """One GET; `ca_file` is trusted besides the system's CAs (a signing proxy's)."""
    import httpx

    from carctl.api.transport import trusting

    verify: object = trusting(ca_file) if ca_file else True
    try:
        with httpx.Client(timeout=timeout, follow_redirects=follow, verify=verify) as client:  # type: ignore[arg-type]
            started = time.monotonic()
            response = client.get(url)
            latency = (time.monotonic() - started) * 1000
    except httpx.HTTPError as exc:
        raise ProbeError(str(exc) or type(exc).__name__) from None
    return Answer(response.status_code, dict(response.headers), response.text, latency)


def fetch_https(url: str) -> tuple[int, str, str]:
    """One GET, as Tesla's servers would make it: the system's CAs, redirects followed."""
    answer = get(url, follow=True, timeout=8.0)
    return answer.status, answer.headers.get("content-type", ""), answer.text
