"""The mock's Fleet API flavour on the wire: every region at its own address, the
account served by one (the others answer 421, as tesla-fleet-api's InvalidRegion
expects), the region endpoint on each, and no password grant."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import Served, bearer, login, password_grant


@pytest.fixture
def fleet(served: Served) -> Iterator[Served]:
    with served.client() as client:
        tokens = login(client)  # signed in before the flavour changes (password grant)
    api = served.app.state.api
    api.flavor, api.region = "fleet", "eu"
    served.tokens = tokens  # type: ignore[attr-defined]
    try:
        yield served
    finally:
        api.flavor, api.region = "owner", "na"


def test_each_region_has_its_address_and_one_serves_the_account(fleet: Served) -> None:
    auth = bearer(fleet.tokens)  # type: ignore[attr-defined]
    with fleet.client() as client:
        for prefix in ("", "/na", "/cn"):
            answer = client.get(f"{prefix}/api/1/vehicles", headers=auth)
            assert answer.status_code == 421
            # the service's words (teslamotors/vehicle-command#208): the right base URL
            assert answer.json()["error"] == (
                f"user out of region, use base URL: {fleet.url}/eu, "
                "see https://developer.tesla.com/docs/fleet-api#regional-requirements"
            )
            region = client.get(f"{prefix}/api/1/users/region", headers=auth).json()
            assert region["response"] == {
                "region": "eu",
                "fleet_api_base_url": f"{fleet.url}/eu",
            }
        served = client.get("/eu/api/1/vehicles", headers=auth)
        assert served.status_code == 200 and served.json()["count"] == 2
        assert client.get("/eu/status").text == "ok"
    counted = fleet.admin("GET", "/__mock__/stats")["requests"]
    assert {"method": "GET", "path": "/api/1/vehicles", "status": 421, "count": 3} in counted


def test_the_fleet_flavour_has_no_password_grant(fleet: Served) -> None:
    with fleet.client() as client:
        refused = client.post("/oauth2/v3/token", data=password_grant())
    assert refused.status_code == 400
    assert refused.json()["error"] == "unsupported_grant_type"


def test_a_region_without_a_flavour_that_has_regions() -> None:
    from tests.conftest import run_carctl

    refused = run_carctl("mock", "serve", "--port", "0", "--region", "eu")
    assert refused.returncode == 2
    assert "--region goes with --flavor fleet or proxy" in refused.stderr
    assert "carctl mock serve --flavor fleet --region eu" in refused.stderr
