"""A signing proxy over HTTPS with its own certificate, trusted through tls.ca_file.

`carctl mock serve --tls-cert/--tls-key --signing-proxy-port` stands in for
Tesla's tesla-http-proxy: HTTPS with a throw-away certificate (made by trustme
here, as the proxy makes its own), and commands for cars that need signing.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import trustme

from tests.conftest import OWNER, PASSWORD, run_carctl
from tests.support.serving import carctl_serve

M3 = "1492931337131"


def test_commands_through_an_https_proxy_trusted_by_ca_file(tmp_path: Path) -> None:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    cert_file, key_file, ca_file = (tmp_path / n for n in ("cert.pem", "key.pem", "ca.pem"))
    cert.private_key_and_cert_chain_pem.write_to_path(str(cert_file))
    cert.private_key_pem.write_to_path(str(key_file))
    ca.cert_pem.write_to_path(str(ca_file))
    served = carctl_serve(
        "--admin",
        "--signing-proxy-port",
        "0",
        "--tls-cert",
        str(cert_file),
        "--tls-key",
        str(key_file),
    )
    with served as (url, proc):
        assert url.startswith("https://127.0.0.1:")
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(3)]
        line = next(line for line in lines if "stand-in:" in line)
        proxy = line.split("stand-in: ")[1].split()[0]
        assert proxy.startswith("https://")
        with httpx.Client(base_url=url, verify=str(ca_file)) as admin:
            admin.patch(
                f"/__mock__/vehicles/{M3}", json={"command_signing": "required", "wake_delay": 0}
            ).raise_for_status()
        assert run_carctl("config", "set", "api_url", proxy).returncode == 0
        untrusted = run_carctl(
            "auth", "login", "--email", OWNER, "--password-stdin", input=PASSWORD
        )
        assert untrusted.returncode == 78  # the same certificate fails the same way: not queued
        assert "error: the vehicle API's certificate is not trusted" in untrusted.stderr
        assert "carctl config set tls.ca_file PATH" in untrusted.stderr
        assert "Traceback" not in untrusted.stderr
        assert run_carctl("config", "set", "tls.ca_file", str(ca_file)).returncode == 0
        login = run_carctl("auth", "login", "--email", OWNER, "--password-stdin", input=PASSWORD)
        assert login.returncode == 0, login.stderr
        doctor = run_carctl("--json", "doctor", "network")
        network = next(c for c in __import__("json").loads(doctor.stdout)["data"]["checks"]
                       if c["id"] == "network")  # fmt: skip
        assert network["status"] == "pass" and "TLS TLSv1.3" in network["detail"], network
        done = run_carctl("--vehicle", "Model 3", "climate", "on")
        assert done.returncode == 0, done.stderr
        assert "Confirmed by the car: climate on" in done.stdout
        with httpx.Client(base_url=url, verify=str(ca_file)) as admin:
            executed = admin.get("/__mock__/stats").json()["commands"]
        assert [c["name"] for c in executed] == ["auto_conditioning_start"]
        # --insecure allows plain HTTP; it never turns certificate checks off
        assert run_carctl("config", "set", "tls.ca_file", str(cert_file)).returncode == 0
        insecure = run_carctl("--insecure", "--vehicle", "Model 3", "climate", "off")
        assert insecure.returncode == 78 and "not trusted" in insecure.stderr
        missing = run_carctl("config", "set", "tls.ca_file", str(tmp_path / "nope.pem"))
        assert missing.returncode == 2 and "no such file" in missing.stderr


def test_tls_files_that_are_missing_or_alone(tmp_path: Path) -> None:
    alone = run_carctl("mock", "serve", "--port", "0", "--tls-cert", str(tmp_path / "c.pem"))
    assert alone.returncode == 2 and "--tls-cert and --tls-key go together" in alone.stderr
    missing = run_carctl(
        "mock", "serve", "--port", "0", "--tls-cert", "c.pem", "--tls-key", "k.pem"
    )
    assert missing.returncode == 2 and "--tls-cert c.pem: no such file" in missing.stderr
