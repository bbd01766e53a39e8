"""A third-party Owner API client (TeslaPy, from PyPI) works against the served mock.

Only its base URLs are pointed at the mock; its code is unchanged. oauthlib
refuses plain HTTP unless told it is a test set-up, which is what
OAUTHLIB_INSECURE_TRANSPORT is for.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
import teslapy

from tests.conftest import OWNER, PASSWORD, Served, login


@pytest.fixture
def tesla(served: Served, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    monkeypatch.setattr(teslapy, "BASE_URL", served.url + "/")
    cache: dict[str, Any] = {}

    def load() -> dict[str, Any]:
        return cache

    def dump(data: dict[str, Any]) -> None:
        cache.update(data)

    def authenticate(url: str) -> str:
        """What a person does in the browser: sign in on the authorize page."""
        query = {k: v[0] for k, v in parse_qs(urlparse(url).query).items()}
        response = httpx.post(
            served.url + "/oauth2/v3/authorize",
            data={**query, "identity": OWNER, "credential": PASSWORD},
        )
        assert response.status_code == 302
        return response.headers["location"]

    client = teslapy.Tesla(
        OWNER,
        cache_loader=load,
        cache_dumper=dump,
        authenticator=authenticate,
        sso_base_url=served.url + "/",
    )
    yield client
    client.close()


def test_teslapy_signs_in_with_pkce_and_drives_the_car(tesla: Any, served: Served) -> None:
    tesla.fetch_token()
    assert tesla.authorized
    vehicles = tesla.vehicle_list()
    assert [v["display_name"] for v in vehicles] == ["Model 3", "Model Y"]
    model3 = vehicles[0]
    assert model3["state"] == "asleep"
    model3.sync_wake_up(interval=0)
    assert model3["state"] == "online"
    assert model3.command("CLIMATE_ON") is True
    assert model3.command("CHANGE_CLIMATE_TEMPERATURE_SETTING", driver_temp=21, passenger_temp=21)
    assert model3.command("WINDOW_CONTROL", command="vent", lat=0, lon=0) is True
    served.clock.advance(600)
    data = model3.get_vehicle_data()
    assert data["climate_state"]["is_climate_on"] is True
    assert data["climate_state"]["inside_temp"] > 4.0
    assert data["vehicle_state"]["fd_window"] != 0
    assert data["drive_state"]["latitude"] == 37.5665
    executed = [c["name"] for c in served.admin("GET", "/__mock__/stats")["commands"]]
    assert executed == ["auto_conditioning_start", "set_temps", "window_control"]


def test_teslapy_refreshes_its_token(tesla: Any, served: Served) -> None:
    with served.client() as client:
        tokens = login(client)
    tesla.refresh_token(refresh_token=tokens["refresh_token"])
    first = tesla.token["access_token"]
    tesla.refresh_token()
    assert tesla.token["access_token"] != first
    assert tesla.vehicle_list()[1]["state"] == "online"
    # TeslaPy surfaces the mock's error body for a refused command.
    with pytest.raises(Exception, match="vehicle unavailable"):
        tesla.vehicle_list()[0].command("HONK_HORN")
