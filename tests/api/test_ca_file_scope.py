"""`tls.ca_file` is trusted for the signing proxy's address only.

A proxy's CA made with the usual recipe can sign a certificate for any name —
Tesla's own hosts included. The client trusts it for the proxy's origin and
nowhere else: the sign-in and token hosts keep the usual CAs. A real HTTPS
server on 127.0.0.1 with a certificate for both `localhost` and `127.0.0.1`
stands in for both: reached as `localhost` it is the proxy, as `127.0.0.1`
another host.
"""

from __future__ import annotations

import http.server
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import trustme

from carctl.api.connect import Endpoint, http_client
from carctl.paths import resolve_paths


@pytest.fixture
def proxy_ca(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    ca = trustme.CA()
    cert = ca.issue_cert("localhost", "127.0.0.1")

    class Ok(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Ok)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert.configure_cert(context)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    pem = tmp_path / "proxy-ca.pem"
    ca.cert_pem.write_to_path(str(pem))
    try:
        yield server.server_address[1], pem
    finally:
        server.shutdown()
        server.server_close()


def test_the_proxy_ca_is_trusted_for_the_proxy_only(proxy_ca: tuple[int, Path]) -> None:
    port, pem = proxy_ca
    proxy = f"https://localhost:{port}"
    endpoint = Endpoint(proxy, proxy, str(pem))
    with http_client(endpoint, resolve_paths(), {}) as client:
        assert client.get("/api/1/vehicles").status_code == 200  # the proxy: trusted
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            client.get(f"https://127.0.0.1:{port}/oauth2/v3/token")  # any other host: not
