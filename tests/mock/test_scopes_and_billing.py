"""The mock as the Fleet API bills and grants: scopes from the authorize request, the
region in the token, 403 "missing scopes", and the bill per account and category."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from tests.conftest import OWNER, PASSWORD, Served, bearer
from tests.support.errors import error_body

M3 = "1492931337131"
VERIFIER = "v" * 64
CHALLENGE = (
    base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest()).rstrip(b"=").decode()
)


def signed_in(client: httpx.Client, scope: str | None) -> dict[str, Any]:
    """The browser's sign-in with `scope` in the authorize request, and the code exchange."""
    form = {
        "identity": OWNER,
        "credential": PASSWORD,
        "client_id": "ownerapi",
        "state": "s",
        "redirect_uri": "http://127.0.0.1:8765/callback",
        "code_challenge": CHALLENGE,
    }
    if scope is not None:
        form["scope"] = scope
    redirect = client.post("/oauth2/v3/authorize", data=form)
    assert redirect.status_code == 302, redirect.text
    code = parse_qs(urlparse(redirect.headers["location"]).query)["code"][0]
    tokens = client.post(
        "/oauth2/v3/token",
        data={
            "grant_type": "authorization_code",
            "client_id": "ownerapi",
            "code": code,
            "code_verifier": VERIFIER,
        },
    )
    assert tokens.status_code == 200, tokens.text
    return tokens.json()  # type: ignore[no-any-return]


def claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))  # type: ignore[no-any-return]


@pytest.fixture
def fleet(served: Served) -> Iterator[httpx.Client]:
    served.admin("PATCH", f"/__mock__/vehicles/{M3}", json={"state": "online"})
    api = served.app.state.api
    api.flavor = "fleet"
    try:
        with served.client() as client:
            yield client
    finally:
        api.flavor = "owner"


def test_a_token_carries_the_scopes_asked_for_and_the_region(fleet: httpx.Client) -> None:
    narrow = signed_in(fleet, "openid offline_access vehicle_device_data")
    said = claims(narrow["access_token"])
    assert said["scp"] == ["openid", "offline_access", "vehicle_device_data"]
    assert said["ou_code"] == "NA"
    command = fleet.post(f"/api/1/vehicles/{M3}/command/honk_horn", headers=bearer(narrow))
    assert command.status_code == 403
    assert error_body(command) == {
        "response": None,
        "error": "Unauthorized missing scopes",
        "error_description": "this token was not granted vehicle_cmds",
    }
    data = fleet.get(f"/api/1/vehicles/{M3}/vehicle_data", headers=bearer(narrow))
    assert data.status_code == 200  # what it was granted
    where = fleet.get(
        f"/api/1/vehicles/{M3}/vehicle_data",
        params={"endpoints": "location_data"},
        headers=bearer(narrow),
    )
    assert where.status_code == 403 and "vehicle_location" in where.json()["error_description"]

    renewed = fleet.post(
        "/oauth2/v3/token",
        data={
            "grant_type": "refresh_token",
            "client_id": "ownerapi",
            "refresh_token": narrow["refresh_token"],
        },
    ).json()
    assert claims(renewed["access_token"])["scp"] == said["scp"]  # a renewal grants no more
    refused = fleet.post(f"/api/1/vehicles/{M3}/command/honk_horn", headers=bearer(renewed))
    assert refused.status_code == 403

    full = signed_in(fleet, None)  # nothing named: the default grant
    assert "vehicle_cmds" in claims(full["access_token"])["scp"]
    assert fleet.post(f"/api/1/vehicles/{M3}/command/honk_horn", headers=bearer(full)).json()[
        "response"
    ]["result"]


def test_the_bill_counts_what_tesla_bills(served: Served, fleet: httpx.Client) -> None:
    headers = bearer(signed_in(fleet, None))
    fleet.get(f"/api/1/vehicles/{M3}", headers=headers)
    fleet.post(f"/api/1/vehicles/{M3}/wake_up", headers=headers)
    fleet.post(f"/api/1/vehicles/{M3}/command/flash_lights", headers=headers)
    served.admin("PUT", "/__mock__/faults", json={"rules": [{"status": 503, "path": "/api/1/*"}]})
    fleet.get(f"/api/1/vehicles/{M3}", headers=headers)  # a 503: not billed
    served.admin("DELETE", "/__mock__/faults")
    fleet.get("/api/1/vehicles")  # no token: nobody's bill
    fleet.get("/oauth2/v3/token")  # not the vehicle API
    book = served.admin("GET", "/__mock__/stats")["billing"]
    (months,) = book.values()
    assert list(book) == [OWNER]
    (month,) = months.values()
    assert month == {
        "data": {"calls": 2, "billed": 1},
        "wake": {"calls": 1, "billed": 1},
        "command": {"calls": 1, "billed": 1},
    }


def test_mock_stats_says_the_bill(served: Served, fleet: httpx.Client) -> None:
    from tests.conftest import invoke

    headers = bearer(signed_in(fleet, None))
    fleet.post(f"/api/1/vehicles/{M3}/wake_up", headers=headers)
    fleet.get(f"/api/1/vehicles/{M3}", headers=headers)
    shown = invoke("mock", "stats", "--url", served.url)
    assert shown.code == 0, shown.output
    (line,) = [x for x in shown.stdout.splitlines() if x.startswith("Billed")]
    assert line.startswith(f"Billed as Tesla bills: {OWNER}, ")
    assert line.endswith(": 1 wake, 1 data request (2 calls)")
