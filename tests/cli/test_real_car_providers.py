"""Real cars' roads, against the mock's flavours over real HTTP(S): Tesla's Fleet API
(regions, VINs, browser sign-in), the signing proxy (HTTPS with its own throw-away
certificate) and Teslemetry's own tokens.

Each server is `carctl mock serve --flavor …` in its own process, as an owner
would start it; the browser is the headless one, following the sign-in page.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import Served, login, run_carctl
from tests.support.serving import carctl_serve

BROWSER = Path(__file__).resolve().parents[1] / "support" / "headless_browser.py"
MODEL_3_VIN, MODEL_Y_VIN = "5YJ3E7EA1MF000621", "7SAYGDEE0NF000242"


@dataclass
class Flavour:
    url: str
    certificate: str | None  # the proxy flavour's throw-away certificate

    def admin(self, method: str, path: str, body: Any = None) -> Any:
        with httpx.Client(base_url=self.url, verify=self.certificate or True) as client:
            response = client.request(method, path, json=body)
            response.raise_for_status()
            return response.json()

    def requests(self, path: str) -> dict[int, int]:
        """Status → count of the requests the mock answered on `path`."""
        rows = self.admin("GET", "/__mock__/stats")["requests"]
        return {r["status"]: r["count"] for r in rows if r["path"] == path}

    def commands(self) -> list[tuple[str, str]]:
        return [(c["vin"], c["name"]) for c in self.admin("GET", "/__mock__/stats")["commands"]]


@contextlib.contextmanager
def flavour(name: str, region: str = "na") -> Iterator[Flavour]:
    with carctl_serve("--flavor", name, "--region", region, "--admin") as (url, proc):
        assert proc.stdout is not None
        certificate = None
        for line in iter(proc.stdout.readline, ""):
            if "certificate (throw-away):" in line:
                certificate = line.split(": ", 1)[1].strip()
            if "Ctrl-C to stop" in line:
                break
        assert (certificate is not None) == (name == "proxy")
        served = Flavour(url, certificate)
        served.admin("PATCH", f"/__mock__/vehicles/{MODEL_3_VIN}", {"wake_delay": 0})
        yield served


def configure(api_url: str, served: Flavour, **more: str) -> None:
    settings = {
        "api_url": api_url,
        "provider_url": served.url,
        "auth_url": served.url,
        "auth.redirect_port": "0",
        **more,
    }
    for key, value in settings.items():
        done = run_carctl("config", "set", key, value)
        assert done.returncode == 0, done.stderr


def web_login(served: Flavour, *args: str, input: str | None = None) -> Any:
    env = {"BROWSER": f"{sys.executable} {BROWSER} %s", "HEADLESS_BROWSER": "sign-in"}
    if served.certificate:
        env["HEADLESS_CA"] = served.certificate  # the person accepts the proxy's certificate
    return run_carctl("auth", "login", "--web", *args, env=env, input=input)


def config_value(key: str) -> Any:
    return json.loads(run_carctl("--json", "config", "get", key).stdout)["data"]["value"]


def nothing_queued() -> bool:
    listing = run_carctl("--json", "queue", "list")
    return listing.returncode == 0 and json.loads(listing.stdout)["data"]["entries"] == []


def test_fleet_sign_in_finds_the_region_and_cars_go_by_vin(carctl_home: Path) -> None:
    with flavour("fleet", region="eu") as fleet:
        configure("fleet", fleet)
        password = run_carctl("auth", "login", "--email", "o@example.com", "--password-stdin")
        assert password.returncode == 2
        assert "error: Tesla's Fleet API has no password sign-in" in password.stderr
        assert "carctl auth login --web" in password.stderr

        signed = web_login(fleet)
        assert signed.returncode == 0, signed.stderr
        assert "Signed in to Tesla's Fleet API as owner@example.com" in signed.stdout
        assert "region eu (Europe, Middle East, Africa)" in signed.stdout
        # asked once, on the host the profile named, and remembered in the profile
        assert fleet.requests("/api/1/users/region") == {200: 1}
        assert config_value("region") == "eu"
        assert config_value("provider_url") == f"{fleet.url}/eu"
        status = run_carctl("--json", "auth", "status")
        assert json.loads(status.stdout)["data"]["region"] == "eu"
        assert "provider         Tesla's Fleet API at" in run_carctl("auth", "status").stdout

        cars = json.loads(run_carctl("--json", "vehicles").stdout)["data"]
        assert {car["id"] for car in cars} == {MODEL_3_VIN, MODEL_Y_VIN}  # the VIN is the id
        fleet.admin("POST", "/__mock__/clock", {"advance": 9 * 3600})  # the token expires
        assert run_carctl("vehicles").returncode == 0  # renewed at the Fleet token endpoint
        assert fleet.requests("/oauth2/v3/token") == {200: 2}  # the code, then one renewal
        done = run_carctl("--vehicle", "Model Y", "climate", "on")
        assert done.returncode == 0, done.stderr
        assert fleet.requests(f"/api/1/vehicles/{MODEL_Y_VIN}/command/auto_conditioning_start")
        assert fleet.commands() == [(MODEL_Y_VIN, "auto_conditioning_start")]

        # the wrong region's host answers 421: a precise error, nothing queued or resent
        assert run_carctl("config", "set", "provider_url", fleet.url).returncode == 0
        misdirected = run_carctl("--vehicle", "Model Y", "climate", "off")
        assert misdirected.returncode == 78, misdirected.stderr
        assert "serves this account from another region" in misdirected.stderr
        assert "carctl config set region" in misdirected.stderr
        assert "Traceback" not in misdirected.stderr
        path = f"/api/1/vehicles/{MODEL_Y_VIN}/command/auto_conditioning_stop"
        assert fleet.requests(path) == {421: 1}
        assert nothing_queued()

        # signing out: the refresh token goes nowhere (no documented revocation endpoint)
        out = run_carctl("auth", "logout")
        assert out.returncode == 0 and "Third-party apps" in out.stderr
        assert fleet.requests("/oauth2/v3/revoke") == {}
        assert run_carctl("auth", "status").returncode == 77


def test_no_region_serving_the_account_is_one_line_and_nothing_remembered(
    carctl_home: Path,
) -> None:
    with flavour("fleet", region="eu") as fleet:
        configure("fleet", fleet)
        rule = {"status": 421, "path": "/api/1/users/region"}
        fleet.admin("PUT", "/__mock__/faults", {"rules": [rule]})
        refused = web_login(fleet)
        assert refused.returncode == 78, refused.stderr
        assert "no Fleet API region would serve this account (asked 127.0.0.1)" in (refused.stderr)
        assert "carctl config set region eu" in refused.stderr
        assert "Traceback" not in refused.stderr
        assert fleet.requests("/api/1/users/region") == {421: 1}  # the pinned host, once
        assert config_value("region") is None  # nothing guessed
        assert config_value("provider_url") == fleet.url
        status = run_carctl("--json", "auth", "status")  # a sign-in that failed kept nothing
        assert status.returncode == 77, status.stdout
        assert json.loads(status.stdout)["error"]["message"].startswith("not signed in")
        assert not (carctl_home / "state" / "credentials.json").exists()


def test_a_car_that_needs_signing_is_stopped_before_anything_is_sent(
    carctl_home: Path,
) -> None:
    with flavour("fleet") as fleet:
        fleet.admin("PATCH", f"/__mock__/vehicles/{MODEL_3_VIN}", {"command_signing": "required"})
        configure("fleet", fleet)
        assert web_login(fleet).returncode == 0
        doctor = run_carctl("--json", "doctor")
        checks = {c["id"]: c for c in json.loads(doctor.stdout)["data"]["checks"]}
        assert checks["signing"]["status"] == "fail"
        assert (
            "Model 3 takes only signed commands, and this profile has no signing key"
            in (checks["signing"]["detail"])
        )
        assert "carctl key generate" in checks["signing"]["remediation"]

        refused = run_carctl("--vehicle", "Model 3", "climate", "on")
        assert refused.returncode == 77, refused.stderr
        assert (
            "error: Model 3 takes only commands signed with Tesla's Vehicle Command Protocol, "
            "and this profile has no key to sign them"
        ) in refused.stderr
        assert "carctl key generate" in refused.stderr and "key pair" in refused.stderr
        assert "woke" not in refused.stderr  # said before the car was woken for it
        stats = fleet.admin("GET", "/__mock__/stats")
        touched = [r["path"] for r in stats["requests"] if MODEL_3_VIN in r["path"]]
        assert touched == [f"/api/1/vehicles/{MODEL_3_VIN}"]  # its state read; no wake, no command
        assert stats["commands"] == [] and nothing_queued()

        # sent anyway (by a profile that names the address, so cannot tell), the API
        # refuses it with 403, and carctl says the same precise thing: not queued
        assert run_carctl("config", "set", "api_url", fleet.url).returncode == 0
        assert web_login(fleet).returncode == 0
        sent = run_carctl("--vehicle", "Model 3", "climate", "on")
        assert sent.returncode == 77, sent.stderr
        assert "this car takes only commands signed with Tesla's Vehicle Command Protocol" in (
            sent.stderr
        )
        stats = fleet.admin("GET", "/__mock__/stats")
        sent_plain = [r for r in stats["requests"] if r["path"].endswith("auto_conditioning_start")]
        assert [(r["status"], r["count"]) for r in sent_plain] == [(403, 1)]  # never retried
        assert fleet.admin("GET", "/__mock__/stats")["commands"] == [] and nothing_queued()


def test_through_the_proxy_flavour_signed_commands_reach_the_car(carctl_home: Path) -> None:
    with flavour("proxy") as proxy:
        assert proxy.url.startswith("https://") and proxy.certificate
        proxy.admin("PATCH", f"/__mock__/vehicles/{MODEL_3_VIN}", {"command_signing": "required"})
        configure("proxy", proxy)
        untrusted = web_login(proxy)
        assert untrusted.returncode == 78, untrusted.stderr
        assert "certificate is not trusted" in untrusted.stderr
        assert "carctl config set tls.ca_file PATH" in untrusted.stderr
        assert run_carctl("config", "set", "tls.ca_file", proxy.certificate).returncode == 0
        signed = web_login(proxy)
        assert signed.returncode == 0, signed.stderr
        assert "Signed in to Tesla's signing proxy" in signed.stdout
        done = run_carctl("--vehicle", "Model 3", "climate", "on")
        assert done.returncode == 0, done.stderr
        assert "Confirmed by the car: climate on" in done.stdout
        assert proxy.commands() == [(MODEL_3_VIN, "auto_conditioning_start")]
        assert proxy.requests(f"/api/1/vehicles/{MODEL_3_VIN}/command/auto_conditioning_start")


def test_the_outage_story_through_the_proxy(carctl_home: Path) -> None:
    """The API fails behind the proxy: the command is queued, then delivered once."""
    with flavour("proxy") as proxy:
        configure("proxy", proxy, **{"tls.ca_file": proxy.certificate or ""})
        assert web_login(proxy).returncode == 0
        assert run_carctl("--vehicle", "Model Y", "status").returncode == 0
        proxy.admin(
            "PUT",
            "/__mock__/faults",
            {"rules": [{"status": 500, "path": "/api/1/*", "for": 60}]},
        )
        queued = run_carctl("--vehicle", "Model Y", "climate", "on")
        assert queued.returncode == 75, queued.stderr
        assert "queued" in queued.stdout + queued.stderr
        path = f"/api/1/vehicles/{MODEL_Y_VIN}/command/auto_conditioning_start"
        assert proxy.requests(path).get(500, 0) >= 1  # the outage happened, through the proxy
        assert proxy.commands() == []
        proxy.admin("POST", "/__mock__/clock", {"advance": 61})
        retried = run_carctl("queue", "retry", "--all")
        assert retried.returncode == 0, retried.stdout + retried.stderr
        assert proxy.commands() == [(MODEL_Y_VIN, "auto_conditioning_start")]  # once
        cars = proxy.admin("GET", "/__mock__/vehicles")
        model_y = next(c for c in cars["vehicles"] if c["vin"] == MODEL_Y_VIN)
        assert model_y["is_climate_on"] is True
        assert nothing_queued()


def test_teslemetry_takes_its_own_access_token(served: Served, carctl_home: Path) -> None:
    assert run_carctl("config", "set", "api_url", "teslemetry").returncode == 0
    assert run_carctl("config", "set", "provider_url", served.url).returncode == 0
    web = run_carctl("auth", "login", "--web")
    assert web.returncode == 2 and "Teslemetry signs in with its own access token" in web.stderr
    with served.client() as client:
        token = login(client)["access_token"]
    wrong = run_carctl("auth", "login", "--with-token", input="not-a-token\n")
    assert wrong.returncode == 77 and "not-a-token" not in wrong.stderr
    assert run_carctl("auth", "status").returncode == 77  # a refused token is not kept
    signed = run_carctl("auth", "login", "--with-token", input=token + "\n")
    assert signed.returncode == 0, signed.stderr
    assert token not in signed.stdout + signed.stderr
    status = run_carctl("auth", "status")
    assert "Teslemetry" in status.stdout and "refresh token    none" in status.stdout
    cars = json.loads(run_carctl("--json", "vehicles").stdout)["data"]
    assert MODEL_3_VIN in {car["id"] for car in cars}

    # a car that needs signing, and no key of the profile's: Teslemetry signs (its REST
    # commands count as signed here, as through the signing-proxy stand-in)
    api = served.app.state.api  # type: ignore[attr-defined]
    api.signing_ports.add(int(served.url.rsplit(":", 1)[1]))
    try:
        setup = {"command_signing": "required", "state": "online"}
        served.admin("PATCH", f"/__mock__/vehicles/{MODEL_3_VIN}", json=setup)
        done = run_carctl("--vehicle", "Model 3", "climate", "on")
        assert done.returncode == 0, done.stderr
        commands = served.admin("GET", "/__mock__/stats")["commands"]
        assert [(c["name"], c["signed"]) for c in commands] == [("auto_conditioning_start", True)]
    finally:
        api.signing_ports.clear()


def test_tesla_sign_in_needs_the_owners_own_application(carctl_home: Path) -> None:
    """Against Tesla's real sign-in, carctl's default client id would only meet an error
    page that never comes back: said at once, nothing opened or sent."""
    assert run_carctl("config", "set", "api_url", "fleet").returncode == 0
    refused = run_carctl("auth", "login", "--web", env={"BROWSER": "false"})
    assert refused.returncode == 2, refused.stderr
    assert "knows only the client id of your own registered application" in refused.stderr
    assert "carctl config set auth.client_id ID" in refused.stderr
    assert "Sign in in the browser" not in refused.stderr


def test_a_client_id_the_service_rejects(carctl_home: Path) -> None:
    with flavour("fleet") as fleet:
        configure("fleet", fleet, **{"auth.client_id": "not-registered"})
        refused = web_login(fleet)
        assert refused.returncode == 77, refused.stderr
        assert "does not accept the client id 'not-registered'" in refused.stderr
        assert "carctl config set auth.client_id ID" in refused.stderr
        assert "Traceback" not in refused.stderr
        assert run_carctl("auth", "status").returncode == 77  # nothing kept


def test_an_application_with_a_client_secret(carctl_home: Path) -> None:
    """The secret goes to the token endpoint, is kept in the credential store only, and
    serves the next browser sign-in; never printed."""
    secret = "mock-client-secret-5b1e"  # the mock's confidential application
    with flavour("fleet") as fleet:
        configure("fleet", fleet, **{"auth.client_id": "fleet-confidential"})
        missing = web_login(fleet)
        assert missing.returncode == 77
        assert "client authentication failed" in missing.stderr
        assert "--client-secret-stdin" in missing.stderr
        signed = web_login(fleet, "--client-secret-stdin", input=secret + "\n")
        assert signed.returncode == 0, signed.stderr
        again = web_login(fleet)  # the kept secret, without asking
        assert again.returncode == 0, again.stderr
        for result in (missing, signed, again):
            assert secret not in result.stdout + result.stderr
        files = [p for p in carctl_home.rglob("*") if p.is_file()]
        kept = [p for p in files if secret in p.read_text("latin-1")]
        assert [p.name for p in kept] == ["credentials.json"]  # the store (no keyring here)
        alone = run_carctl("auth", "login", "--client-secret-stdin", input=secret)
        assert alone.returncode == 2 and "--client-secret-stdin goes with --web" in alone.stderr


@pytest.mark.parametrize("other", ["proxy", "url"])
def test_one_providers_tokens_are_never_sent_to_another(carctl_home: Path, other: str) -> None:
    with flavour("fleet") as fleet:
        configure("fleet", fleet)
        assert web_login(fleet).returncode == 0
        before = fleet.admin("GET", "/__mock__/stats")["requests"]
        target = "proxy" if other == "proxy" else fleet.url
        assert run_carctl("config", "set", "api_url", target).returncode == 0
        result = run_carctl("vehicles")
        assert result.returncode == 77 and "not signed in" in result.stderr
        assert fleet.admin("GET", "/__mock__/stats")["requests"] == before  # nothing sent
