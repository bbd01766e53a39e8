"""Doctor's check of the signed road: each failure names the one thing to do.

The `.well-known` verdict is checked against a real HTTPS server (a throw-away
certificate this computer trusts for the test); the rest end to end against
`carctl mock serve --flavor fleet`."""

from __future__ import annotations

import http.server
import json
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import trustme
from cryptography.hazmat.primitives.asymmetric import ec

from carctl.api.keys import WELL_KNOWN_PATH, public_pem
from carctl.api.probe import fetch_https
from carctl.doctor.signing_checks import token_scopes, well_known_verdict
from tests.cli.test_real_car_providers import MODEL_3_VIN, configure, flavour, web_login
from tests.conftest import run_carctl


@contextmanager
def serving(body: str, content_type: str, status: int = 200) -> Iterator[str]:
    ca = trustme.CA()
    cert = ca.issue_cert("localhost")

    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            data = body.encode()
            self.send_response(status)
            self.send_header("content-type", content_type)
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert.configure_cert(context)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    with ca.cert_pem.tempfile() as bundle, pytest.MonkeyPatch.context() as patch:
        patch.setenv("SSL_CERT_FILE", bundle)
        try:
            yield f"https://localhost:{server.server_address[1]}{WELL_KNOWN_PATH}"
        finally:
            server.shutdown()
            server.server_close()


KEY = ec.generate_private_key(ec.SECP256R1())


def test_the_right_key_served_passes() -> None:
    with serving(public_pem(KEY), "application/x-pem-file") as url:
        assert well_known_verdict(url, public_pem(KEY), fetch_https) is None


@pytest.mark.parametrize(
    ("body", "content_type", "status", "verdict"),
    [
        (public_pem(ec.generate_private_key(ec.SECP256R1())), "text/plain", 200, "another key"),
        ("<!doctype html><p>Welcome", "text/html", 200, "an HTML page, not a PEM public key"),
        ("not a key", "text/plain", 200, "something that is not a PEM public key"),
        ("gone", "text/plain", 404, "HTTP 404 instead of the key"),
    ],
)
def test_what_is_served_instead_is_the_verdict(
    body: str, content_type: str, status: int, verdict: str
) -> None:
    with serving(body, content_type, status) as url:
        problem = well_known_verdict(url, public_pem(KEY), fetch_https)
    assert problem is not None and problem.startswith(verdict)


def test_an_address_that_does_not_answer_is_the_verdict() -> None:
    url = f"https://example.invalid{WELL_KNOWN_PATH}"
    problem = well_known_verdict(url, public_pem(KEY), fetch_https)
    assert problem is not None and problem.startswith("no answer (")


def test_token_scopes_are_read_from_the_jwt_and_nothing_is_guessed() -> None:
    import base64

    def jwt(claims: dict[str, Any]) -> str:
        payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
        return f"e30.{payload}.sig"

    assert token_scopes(jwt({"scp": ["openid", "vehicle_cmds"]})) == ["openid", "vehicle_cmds"]
    assert token_scopes(jwt({"scp": "openid vehicle_device_data"})) == [
        "openid",
        "vehicle_device_data",
    ]
    assert token_scopes(jwt({"sub": "x"})) is None
    assert token_scopes("opaque-token") is None and token_scopes(None) is None


def _signing(result: Any) -> dict[str, Any]:
    checks = {c["id"]: c for c in json.loads(result.stdout)["data"]["checks"]}
    return checks["signing"]


def test_doctor_walks_the_signed_road_in_order(carctl_home: Path) -> None:
    with flavour("fleet") as fleet:
        fleet.admin("PATCH", f"/__mock__/vehicles/{MODEL_3_VIN}", {"command_signing": "required"})
        configure("fleet", fleet)
        assert web_login(fleet).returncode == 0
        check = _signing(run_carctl("--json", "--vehicle", "Model 3", "doctor"))
        assert check["status"] == "fail"
        assert (
            "Model 3 takes only signed commands, and this profile has no signing key"
            in (check["detail"])
        )
        assert check["remediation"].startswith("carctl key generate")

        assert run_carctl("key", "generate").returncode == 0
        check = _signing(run_carctl("--json", "--vehicle", "Model 3", "doctor"))
        assert check["status"] == "fail" and "no domain is set" in check["detail"]
        assert "carctl config set key.domain" in check["remediation"]

        assert run_carctl("config", "set", "key.domain", "example.invalid").returncode == 0
        check = _signing(run_carctl("--json", "--vehicle", "Model 3", "doctor"))
        assert check["status"] == "fail", check
        assert "is not paired with Model 3" in check["detail"]
        assert 'carctl --vehicle "Model 3" key pair' in check["remediation"]

        assert run_carctl("mock", "pair", "--url", fleet.url).returncode == 0
        check = _signing(run_carctl("--json", "--vehicle", "Model 3", "doctor"))
        assert check["status"] == "fail", check
        assert (
            "paired with Model 3, but example.invalid does not serve it: no answer"
            in (check["detail"])
        )
        assert (
            "key show` at https://example.invalid/.well-known/appspecific/"
            in (check["remediation"])
        )
        # the plain doctor screen says it on one line, as for every check
        screen = run_carctl("--vehicle", "Model 3", "doctor")
        assert "signed commands" in screen.stdout and "Traceback" not in screen.stderr
