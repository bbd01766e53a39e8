"""Fleet sign-in as Tesla documents it, driven by tesla-fleet-api's own classes, unchanged.

`TeslaFleetOAuth` and `TeslaFleetApi.partner_login` post to Tesla's hosts by
name (`fleet-auth.prd.vn.cloud.tesla.com`, `fleet-api.prd.na.vn.cloud.tesla.com`).
The mock is served as `carctl mock serve --flavor fleet` over HTTPS with a
throw-away certificate for those names (trustme), and the client's session
resolves them to the mock's loopback port: the library's code, URLs and TLS
checks run as they do against Tesla.
"""

from __future__ import annotations

import asyncio
import base64
import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
import trustme

from carctl.mock.accounts import CONFIDENTIAL_CLIENTS
from tests.support.serving import carctl_serve

OWNER, PASSWORD = "owner@example.com", "ventilate-0600"
AUTH_HOST = "fleet-auth.prd.vn.cloud.tesla.com"
API_HOST = "fleet-api.prd.na.vn.cloud.tesla.com"
CLIENT_ID = "fleet-confidential"
SECRET = CONFIDENTIAL_CLIENTS[CLIENT_ID]
REDIRECT = "https://app.example.com/auth/callback"


class Tesla:
    """The mock, served as Tesla's hosts; what a client needs to reach it."""

    def __init__(self, url: str, ca: trustme.CA) -> None:
        self.url = url
        self.port = int(urlsplit(url).port or 443)
        self.ca = ca

    def session(self) -> Any:
        """An aiohttp session whose DNS sends Tesla's hosts to the mock, trusting its CA."""
        import ssl

        import aiohttp
        from aiohttp.abc import AbstractResolver

        port = self.port

        class ToTheMock(AbstractResolver):
            async def resolve(
                self, host: str, port_asked: int = 0, family: int = socket.AF_INET
            ) -> list[dict[str, Any]]:
                return [
                    {
                        "hostname": host,
                        "host": "127.0.0.1",
                        "port": port,
                        "family": socket.AF_INET,
                        "proto": 0,
                        "flags": socket.AI_NUMERICHOST,
                    }
                ]

            async def close(self) -> None:
                return None

        context = ssl.create_default_context()
        self.ca.configure_trust(context)
        return aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(resolver=ToTheMock(), ssl=context)
        )

    def sign_in_in_a_browser(self, login_url: str) -> str:
        """What the owner does with the login URL: the form, then the redirect's code."""
        asked = urlsplit(login_url)
        query = {k: v[0] for k, v in parse_qs(asked.query).items()}
        with httpx.Client(verify=str(self.ca_file), base_url=self.url) as browser:
            page = browser.get("/oauth2/v3/authorize?" + urlencode(query))
            assert page.status_code == 200, page.text
            answer = browser.post(
                "/oauth2/v3/authorize", data={**query, "identity": OWNER, "credential": PASSWORD}
            )
        assert answer.status_code == 302, answer.text
        back = urlsplit(answer.headers["location"])
        assert f"{back.scheme}://{back.netloc}{back.path}" == REDIRECT
        returned = {k: v[0] for k, v in parse_qs(back.query).items()}
        assert returned["state"] == query["state"] and returned["locale"] == "en-US"
        return returned["code"]

    ca_file: Path


@pytest.fixture(scope="module")
def tesla(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tesla]:
    ca = trustme.CA()
    folder = tmp_path_factory.mktemp("tesla-hosts")
    issued = ca.issue_cert(AUTH_HOST, API_HOST, "127.0.0.1")
    cert, key, ca_file = folder / "cert.pem", folder / "key.pem", folder / "ca.pem"
    issued.cert_chain_pems[0].write_to_path(str(cert))
    issued.private_key_pem.write_to_path(str(key))
    ca.cert_pem.write_to_path(str(ca_file))
    args = ("--flavor", "fleet", "--tls-cert", str(cert), "--tls-key", str(key), "--admin")
    with carctl_serve(*args) as (url, _):
        served = Tesla(url, ca)
        served.ca_file = ca_file
        yield served


def claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def test_the_authorization_code_flow_with_a_client_secret(tesla: Tesla) -> None:
    from tesla_fleet_api import TeslaFleetOAuth
    from tesla_fleet_api.const import Scope

    async def flow() -> tuple[Any, dict[str, Any], list[Any]]:
        async with tesla.session() as session:
            oauth = TeslaFleetOAuth(
                session, "na", CLIENT_ID, client_secret=SECRET, redirect_uri=REDIRECT
            )
            scopes = [Scope.OPENID, Scope.OFFLINE_ACCESS, Scope.VEHICLE_DEVICE_DATA]
            login = oauth.get_login_url(scopes, state="s-42")
            code = tesla.sign_in_in_a_browser(login.replace("auth.tesla.com", AUTH_HOST))
            await oauth.get_refresh_token(code)  # no PKCE: a confidential client's secret
            first = (code, oauth.refresh_token, oauth.server, await oauth.access_token())
            renewed = await oauth.refresh_access_token()
            cars = (await oauth.products())["response"]
            return first, renewed, cars

    (code, refresh, server, access), renewed, cars = asyncio.run(flow())
    assert code.startswith("NA_") and refresh and refresh.startswith("NA_")
    assert server == f"https://{API_HOST}"  # the region read from the code's prefix
    token = claims(access)
    assert token["ou_code"] == "NA" and token["locale"] == "en-US"
    assert token["scp"] == ["openid", "offline_access", "vehicle_device_data"]
    assert token["aud"][0] == f"https://{API_HOST}" and token["iss"].endswith("/oauth2/v3")
    assert renewed["refresh_token"].startswith("NA_") and renewed["refresh_token"] != refresh
    assert {car["display_name"] for car in cars} == {"Model 3", "Model Y"}


def test_a_wrong_secret_or_a_public_client_without_pkce_is_refused(tesla: Tesla) -> None:
    with httpx.Client(verify=str(tesla.ca_file), base_url=tesla.url) as client:
        public = client.get(
            "/oauth2/v3/authorize",
            params={"client_id": "carctl", "redirect_uri": REDIRECT, "response_type": "code"},
        )
        wrong = client.post(
            "/oauth2/v3/token",
            data={"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": "x"},
        )
        no_secret = client.post(
            "/oauth2/v3/token", data={"grant_type": "client_credentials", "client_id": "carctl"}
        )
    assert public.status_code == 400 and "PKCE" in public.json()["error_description"]
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    assert no_secret.status_code == 400 and no_secret.json()["error"] == "unauthorized_client"


def test_the_partner_token_registers_the_domain_and_its_key(tesla: Tesla) -> None:
    from tesla_fleet_api import TeslaFleetApi
    from tesla_fleet_api.const import Scope
    from tesla_fleet_api.exceptions import TeslaFleetError

    async def flow() -> tuple[dict[str, Any], ...]:
        async with tesla.session() as session:
            api = TeslaFleetApi(session, access_token="", region="na")
            token = await api.partner_login(
                CLIENT_ID, SECRET, [Scope.OPENID, Scope.VEHICLE_DEVICE_DATA]
            )
            registered = await api.partner.register("app.example.com")
            key = await api.partner.public_key("app.example.com")
            errors = await api.partner.fleet_telemetry_errors("app.example.com")
            try:
                await api.products()
                refused: dict[str, Any] = {}
            except TeslaFleetError as exc:
                refused = {"status": exc.status, "key": exc.key}
            return token, registered, key, errors, refused

    token, registered, key, errors, refused = asyncio.run(flow())
    assert "refresh_token" not in token  # the application itself: nothing to renew
    assert claims(token["access_token"])["sub"] == CLIENT_ID
    assert registered["response"]["domain"] == "app.example.com"
    assert key["response"]["public_key"] == registered["response"]["public_key"]
    assert len(bytes.fromhex(key["response"]["public_key"])) == 65  # an uncompressed P-256
    assert errors["response"] == {"fleet_telemetry_errors": []}
    assert refused["status"] == 401  # a partner token has no user: no user's cars


def test_partner_endpoints_refuse_a_users_token(tesla: Tesla) -> None:
    login = "https://x/?" + urlencode(
        {"client_id": CLIENT_ID, "redirect_uri": REDIRECT, "response_type": "code", "state": "s"}
    )
    code = tesla.sign_in_in_a_browser(login)
    with httpx.Client(verify=str(tesla.ca_file), base_url=tesla.url) as client:
        user = client.post(
            "/oauth2/v3/token",
            data={
                "grant_type": "authorization_code",
                "client_id": CLIENT_ID,
                "client_secret": SECRET,
                "code": code,
                "redirect_uri": REDIRECT,
            },
        ).json()["access_token"]
        again = client.post(  # a code is spent once
            "/oauth2/v3/token",
            data={
                "grant_type": "authorization_code",
                "client_id": CLIENT_ID,
                "client_secret": SECRET,
                "code": code,
            },
        )
        partner = client.post(
            "/oauth2/v3/token",
            data={
                "grant_type": "client_credentials",
                "client_id": CLIENT_ID,
                "client_secret": SECRET,
            },
        ).json()["access_token"]
        refused = client.post(
            "/api/1/partner_accounts",
            json={"domain": "app.example.com"},
            headers={"authorization": f"Bearer {user}"},
        )
        unknown = client.get(
            "/api/1/partner_accounts/public_key",
            params={"domain": "never.example.com"},
            headers={"authorization": f"Bearer {partner}"},
        )
        anonymous = client.post("/api/1/partner_accounts", json={"domain": "app.example.com"})
    assert refused.status_code == 403
    assert refused.json()["error"] == "This endpoint requires a partner authentication token"
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    assert unknown.status_code == 404 and "never.example.com" in unknown.json()["error_description"]
    assert anonymous.status_code == 401


def _flatten(data: dict[str, Any], parent: str | None = None) -> dict[str, Any]:
    """Home Assistant's `tesla_fleet.coordinator.flatten`: how its entities find a value."""
    result: dict[str, Any] = {}
    for key, value in data.items():
        key = f"{parent}_{key}" if parent else key
        if isinstance(value, dict):
            result.update(_flatten(value, key))
        else:
            result[key] = value
    return result


def test_home_assistants_set_up_path_and_coordinator_polling(tesla: Tesla) -> None:
    """Home Assistant's `tesla_fleet` (`__init__.async_setup_entry`, and the vehicle
    coordinator's `_async_update_data`) as far as it runs without Home Assistant: the
    token's claims give the region and scopes, `products` finds the cars, and each poll
    asks `vehicle` (free) and then, for a car online, `vehicle_data` with its endpoints."""
    import jwt
    from tesla_fleet_api import TeslaFleetApi, TeslaFleetOAuth
    from tesla_fleet_api.const import Scope, VehicleDataEndpoint

    endpoints = [
        VehicleDataEndpoint.CHARGE_STATE,
        VehicleDataEndpoint.CLIMATE_STATE,
        VehicleDataEndpoint.DRIVE_STATE,
        VehicleDataEndpoint.VEHICLE_STATE,
        VehicleDataEndpoint.VEHICLE_CONFIG,
        VehicleDataEndpoint.LOCATION_DATA,
    ]
    admin = httpx.Client(verify=str(tesla.ca_file), base_url=tesla.url)

    async def poll(car: Any, data: dict[str, Any]) -> dict[str, Any]:
        data["state"] = (await car.vehicle())["response"]["state"]
        if data["state"] != "online":
            return data
        return _flatten((await car.vehicle_data(endpoints=endpoints))["response"])

    async def set_up() -> tuple[dict[str, Any], list[Scope], str, list[dict[str, Any]]]:
        async with tesla.session() as session:
            oauth = TeslaFleetOAuth(
                session, "na", CLIENT_ID, client_secret=SECRET, redirect_uri=REDIRECT
            )
            asked = [Scope.OPENID, Scope.OFFLINE_ACCESS, Scope.VEHICLE_DEVICE_DATA]
            login = oauth.get_login_url([*asked, Scope.VEHICLE_LOCATION], state="ha")
            await oauth.get_refresh_token(
                tesla.sign_in_in_a_browser(login.replace("auth.tesla.com", AUTH_HOST))
            )
            access_token = await oauth.access_token()
            token = jwt.decode(access_token, options={"verify_signature": False})
            scopes = [Scope(s) for s in token["scp"]]
            region: Any = token["ou_code"].lower()
            api = TeslaFleetApi(
                session=session,
                access_token=access_token,
                region=region,
                charging_scope=False,
                partner_scope=False,
                energy_scope=Scope.ENERGY_DEVICE_DATA in scopes,
                vehicle_scope=Scope.VEHICLE_DEVICE_DATA in scopes,
            )
            products = (await api.products())["response"]
            model3 = next(p for p in products if p["display_name"] == "Model 3")
            car = api.vehicles.createFleet(model3["vin"])
            polls = [await poll(car, _flatten(model3))]  # the first refresh: asleep
            admin.post(
                f"/__mock__/vehicles/{model3['vin']}/drive",
                json={"route": [[37.5665, 127.2]], "speed_kph": 60},  # ~19.6 km east
            ).raise_for_status()
            for seconds in (300, 1500):  # within, then after, the drive
                admin.post("/__mock__/clock", json={"advance": seconds}).raise_for_status()
                polls.append(await poll(car, dict(polls[-1])))
            return token, scopes, region, [polls[0], polls[1], polls[2]]

    try:
        token, scopes, region, (asleep, driving, parked) = asyncio.run(set_up())
    finally:
        admin.post("/__mock__/reset").raise_for_status()
        admin.close()
    assert region == "na" and token["iss"].endswith("/oauth2/v3")
    assert Scope.VEHICLE_DEVICE_DATA in scopes and Scope.VEHICLE_LOCATION in scopes
    assert asleep["state"] == "asleep" and "drive_state_speed" not in asleep
    assert (driving["drive_state_shift_state"], driving["drive_state_speed"]) == ("D", 37)
    assert 127.0 < driving["drive_state_longitude"] < 127.2
    assert (parked["drive_state_shift_state"], parked["drive_state_speed"]) == ("P", None)
    assert parked["drive_state_longitude"] == 127.2
    driven_km = (parked["vehicle_state_odometer"] - driving["vehicle_state_odometer"]) * 1.609344
    assert driven_km == pytest.approx(19.6 - 5.0, abs=0.3)  # five km done at the first poll
    assert parked["charge_state_battery_level"] < driving["charge_state_battery_level"]
    assert parked["vehicle_config_car_type"] == "model3"
