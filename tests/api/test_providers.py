"""Named providers: where each sends requests and tokens, and what the Fleet API's own
answers (region, scopes, registration, subscriptions) become."""

from __future__ import annotations

from pathlib import Path

import pytest

from carctl.api.connect import endpoint_for, profile_endpoint
from carctl.api.regions import _region_from
from carctl.api.responses import error_for
from carctl.errors import AuthError, ConfigError, ExitCode, ProtocolError, UsageError
from carctl.providers import FLEET_TOKEN_URL, REGIONS, resolve
from carctl.settings import load_settings, set_value
from tests.api.test_responses import reply


def test_fleet_goes_to_the_region_and_signs_in_at_tesla() -> None:
    fresh = resolve("fleet")
    assert fresh.api_url == REGIONS["na"] and fresh.region is None
    assert fresh.auth_url == "https://auth.tesla.com" and fresh.token_url == FLEET_TOKEN_URL
    assert fresh.by_vin and fresh.signs is False and fresh.audience == REGIONS["na"]
    europe = resolve("fleet", region="eu")
    assert europe.api_url == REGIONS["eu"] and "region eu (Europe" in europe.describe()
    assert resolve("fleet", region="cn").auth_url == "https://auth.tesla.cn"


def test_the_proxy_signs_and_teslemetry_has_no_sign_in_page() -> None:
    proxy = resolve("proxy")
    assert proxy.api_url == "https://localhost:4443" and proxy.signs is True and proxy.by_vin
    assert proxy.token_url == FLEET_TOKEN_URL  # the proxy forwards; tokens come from Tesla
    teslemetry = resolve("teslemetry")
    assert teslemetry.api_url == "https://api.teslemetry.com" and teslemetry.auth_url is None
    moved = resolve("proxy", provider_url="https://pi.local:4443", auth_url="https://a.test")
    assert moved.api_url == "https://pi.local:4443"
    assert moved.token_url == "https://a.test/oauth2/v3/token"


def test_sessions_are_keyed_by_provider_and_issuer() -> None:
    fleet = endpoint_for(REGIONS["na"], provider=resolve("fleet"))
    europe = endpoint_for(REGIONS["eu"], provider=resolve("fleet", region="eu"))
    proxy = endpoint_for("https://localhost:4443", provider=resolve("proxy"))
    url = endpoint_for("https://localhost:4443")
    assert fleet.credential_origin == europe.credential_origin == "fleet:https://auth.tesla.com"
    assert proxy.credential_origin == "proxy:https://auth.tesla.com"
    assert url.credential_origin == "https://localhost:4443"  # as before providers existed
    assert proxy.origin == url.origin  # budget and breaker: per origin, as before


def test_plain_http_to_another_computer_is_refused_for_the_sign_in_service_too() -> None:
    provider = resolve("proxy", auth_url="http://auth.example.com")
    with pytest.raises(ConfigError, match=r"auth_url http://auth\.example\.com uses plain http"):
        endpoint_for(provider.api_url, provider=provider)
    endpoint_for(provider.api_url, provider=provider, insecure=True)


def test_profile_settings_name_a_provider(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    assert set_value(config, "api_url", "Fleet", profile="default") == "fleet"
    set_value(config, "region", "EU", profile="default")
    endpoint = profile_endpoint(load_settings(config, env={}))
    assert endpoint.api_url == REGIONS["eu"] and endpoint.setting == "fleet"
    assert endpoint.label == "Tesla's Fleet API"
    with pytest.raises(UsageError, match=r"expected na .* eu .* or cn"):
        set_value(config, "region", "mars", profile="default")
    with pytest.raises(UsageError, match='"fleet", "proxy", "teslemetry"'):
        set_value(config, "api_url", "tesla", profile="default")


def test_a_region_answer_may_only_name_tesla_hosts_or_the_pinned_server() -> None:
    tesla = _region_from(
        {"region": "eu", "fleet_api_base_url": REGIONS["eu"]}, REGIONS["na"], overridden=False
    )
    assert (tesla.name, tesla.base_url) == ("eu", REGIONS["eu"])
    hostile = {"region": "eu", "fleet_api_base_url": "https://tokens.example.net"}
    with pytest.raises(ProtocolError, match="not one carctl sends tokens to"):
        _region_from(hostile, REGIONS["na"], overridden=False)
    with pytest.raises(ProtocolError, match="not one carctl sends tokens to"):
        _region_from(hostile, "http://127.0.0.1:9", overridden=True)
    pinned = _region_from(
        {"region": "eu", "fleet_api_base_url": "http://127.0.0.1:9/eu"},
        "http://127.0.0.1:9",
        overridden=True,
    )
    assert pinned.base_url == "http://127.0.0.1:9/eu"
    with pytest.raises(ProtocolError, match="without a region carctl knows"):
        _region_from({"region": "moon"}, REGIONS["na"], overridden=False)


@pytest.mark.parametrize(
    ("status", "said", "kind", "exit_code", "words"),
    [
        (421, "This user is not present in the current region.", ConfigError, ExitCode.CONFIG,
         "serves this account from another region"),
        (403, "Unauthorized missing scopes", AuthError, ExitCode.NOPERM,
         "was not granted vehicle_device_data, which this needs"),
        (402, "subscription_required", AuthError, ExitCode.NOPERM, "subscription or credits"),
        (412, "Account must be registered in the current region", ConfigError, ExitCode.CONFIG,
         "cannot serve this application yet"),
    ],
)  # fmt: skip
def test_the_fleet_apis_own_refusals(
    status: int, said: str, kind: type, exit_code: ExitCode, words: str
) -> None:
    error = error_for(reply(status, {"response": None, "error": said}), now=0.0)
    assert isinstance(error, kind) and error.exit_code == exit_code
    assert words in error.message and said in error.message and error.hint
