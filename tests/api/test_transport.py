"""The synchronous transport's deadline, against real sockets on loopback.

A server that trickles its answer a byte at a time never trips a per-read
timeout; the transport must still end the exchange when its deadline passes —
whether the trickle is in the status line and headers (inside httpcore, where
only the network backend can see it) or in the body.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from carctl.api.client import ApiClient
from carctl.api.transport import transport, within
from carctl.errors import NetworkError

HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 56\r\n\r\n"


@pytest.fixture
def trickler() -> Iterator[tuple[str, list[str]]]:
    """A server that sends `HEAD` (or the head, then a body) a byte every 20 ms."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    stop = threading.Event()
    served: list[str] = []

    def answer(conn: socket.socket) -> None:
        with conn:
            request = conn.recv(65536).decode()
            served.append(request.split(" ", 2)[1])
            body_only = "/body" in request
            if body_only:
                conn.sendall(HEAD)
            for byte in b'{"response": "' + b"x" * 40 + b'"}' if body_only else HEAD:
                if stop.wait(0.02):
                    return
                try:
                    conn.sendall(bytes([byte]))
                except OSError:
                    return

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            threading.Thread(target=answer, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}", served
    stop.set()
    thread.join(2)
    listener.close()


@pytest.mark.parametrize("path", ["/head", "/body"])
def test_a_trickled_answer_ends_at_the_deadline(trickler: tuple[str, list[str]], path: str) -> None:
    url, served = trickler
    started = time.monotonic()
    with (
        httpx.Client(transport=transport(url, proxy=None), base_url=url) as client,
        within(0.3),
        pytest.raises(httpx.TimeoutException),
    ):
        client.get(path).read()
    took = time.monotonic() - started
    assert served == [path]  # the request reached the server: the trickle began
    assert took < 1.0  # a full answer takes 1.5 s (head) or 2.8 s (head and body)


def test_the_client_says_too_slow_and_records_it(trickler: tuple[str, list[str]]) -> None:
    url, served = trickler
    http = httpx.Client(transport=transport(url, proxy=None), base_url=url)
    client = ApiClient(http, origin=url, total_timeout_s=0.3)
    with pytest.raises(NetworkError) as raised:
        client.exchange("GET", "/head")
    client.close()
    assert served == ["/head"]
    assert "0.3 s" in raised.value.message, raised.value.message


def test_without_a_deadline_the_answer_arrives(trickler: tuple[str, list[str]]) -> None:
    url, served = trickler
    with httpx.Client(transport=transport(url, proxy=None), base_url=url) as client:
        response = client.get("/body")
    assert response.json() == {"response": "x" * 40}
    assert served == ["/body"]


def test_plain_http_loads_no_ca_bundle_and_refuses_tls() -> None:
    wire = transport("http://127.0.0.1:1", proxy=None)
    context = wire._pool._ssl_context  # type: ignore[attr-defined]
    assert context.cert_store_stats()["x509_ca"] == 0  # trusts nothing, were it ever used
    assert context.verify_mode.name == "CERT_REQUIRED" and context.check_hostname
