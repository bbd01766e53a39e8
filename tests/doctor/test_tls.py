"""Doctor's TLS and clock checks against a real HTTPS server with a throw-away certificate."""

from __future__ import annotations

import datetime
import email.utils
import http.server
import re
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import trustme

from tests.conftest import invoke

DAY = datetime.timedelta(days=1)


@contextmanager
def https_status(
    ca: trustme.CA, *, valid_for: datetime.timedelta, clock_offset: float
) -> Iterator[str]:
    """An HTTPS server whose /status answers 200, with a `Date` `clock_offset` seconds off."""
    now = datetime.datetime.now(datetime.UTC)
    cert = ca.issue_cert("localhost", not_before=now - DAY, not_after=now + valid_for)

    class Status(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b'{"string": "ok"}'
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def date_time_string(self, timestamp: Any = None) -> str:
            return email.utils.formatdate(time.time() + clock_offset, usegmt=True)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Status)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert.configure_cert(context)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://localhost:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def ca(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> trustme.CA:
    """A certificate authority this computer trusts for the test (SSL_CERT_FILE), and only it."""
    authority = trustme.CA()
    bundle = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(bundle))
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    return authority


def network_check(url: str) -> tuple[int, dict[str, Any], dict[str, Any]]:
    result = invoke("--json", "doctor", "network", env={"CARCTL_API_URL": url})
    report = result.json()["data"]
    check = next(c for c in report["checks"] if c["id"] == "network")
    return result.code, report, check


def test_a_good_certificate_and_clock_pass(ca: trustme.CA) -> None:
    with https_status(ca, valid_for=90 * DAY, clock_offset=0) as url:
        code, _, check = network_check(url)
    assert code == 0 and check["status"] == "pass", check
    assert "TLS TLSv1." in check["detail"]
    assert re.search(r"certificate valid for (89|90) days", check["detail"]), check["detail"]
    assert "/status 200 in " in check["detail"]


def test_a_certificate_about_to_expire_is_the_network(ca: trustme.CA) -> None:
    with https_status(ca, valid_for=5 * DAY, clock_offset=0) as url:
        code, report, check = network_check(url)
    assert code == 1 and check["status"] == "fail", check
    assert "TLS failed: the certificate expires in 5 days" in check["detail"]
    assert "wrong clock, an intercepting proxy or an expired certificate" in check["remediation"]
    assert report["verdict"] == "network"


def test_a_certificate_this_computer_does_not_trust_is_named(
    ca: trustme.CA, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    other = trustme.CA()  # the server's certificate comes from an authority nobody trusts
    with https_status(other, valid_for=90 * DAY, clock_offset=0) as url:
        code, _, check = network_check(url)
    assert code == 1 and check["status"] == "fail"
    assert "TLS failed:" in check["detail"] and "certificate verify failed" in check["detail"]


def test_a_clock_ten_minutes_off_is_a_warning_with_the_fix(ca: trustme.CA) -> None:
    with https_status(ca, valid_for=90 * DAY, clock_offset=600) as url:
        code, _, check = network_check(url)
    assert check["status"] == "warn", check
    assert "this computer's clock is 10 min behind the server's" in check["detail"]
    assert check["remediation"] == "set the clock: timedatectl set-ntp true"
    assert code == 0  # a warning: the run still says what works
