"""The served mock over real sockets: endpoints, envelopes, errors, the car's timeline."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.conftest import OWNER, PASSWORD, Served, bearer, login, make_seed, password_grant, serve
from tests.support.errors import error_body

MODEL3 = "1492931337131"
MODEL3_VIN = "5YJ3E7EA1MF000621"


@pytest.fixture
def client(served: Served) -> httpx.Client:
    with served.client() as client:
        yield client


@pytest.fixture
def auth(client: httpx.Client) -> dict[str, str]:
    return bearer(login(client))


def wake(client: httpx.Client, auth: dict[str, str], served: Served, vehicle: str = MODEL3) -> None:
    client.post(f"/api/1/vehicles/{vehicle}/wake_up", headers=auth)
    served.clock.advance(10)


def test_every_response_carries_a_txid(client: httpx.Client, auth: dict[str, str]) -> None:
    seen = set()
    for method, path in [
        ("GET", "/status"),
        ("GET", "/api/1/vehicles"),
        ("GET", "/nope"),
        ("POST", "/oauth2/v3/token"),
    ]:
        response = client.request(method, path, headers=auth)
        assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-txid"])
        seen.add(response.headers["x-txid"])
    assert len(seen) == 4


def test_status_is_plain_ok(client: httpx.Client) -> None:
    response = client.get("/status")
    assert response.status_code == 200
    assert response.text == "ok"


# -- sign-in ----------------------------------------------------------------------


def test_password_grant_form_and_json(client: httpx.Client) -> None:
    form = login(client)
    json_body = client.post(
        "/oauth2/v3/token",
        json=password_grant("carctl"),
    )
    assert json_body.status_code == 200
    for tokens in (form, json_body.json()):
        assert tokens["token_type"] == "Bearer"
        assert tokens["expires_in"] == 8 * 3600
        assert tokens["access_token"].count(".") == 2  # JWT-shaped, as the real service
        assert tokens["refresh_token"] != tokens["access_token"]


@pytest.mark.parametrize(
    ("body", "status", "error", "description"),
    [
        (
            {"grant_type": "password", "client_id": "ownerapi", "email": OWNER, "password": "nope"},
            401,
            "invalid_grant",
            "wrong password",
        ),
        (
            {
                "grant_type": "password",
                "client_id": "ownerapi",
                "email": "x@example.com",
                "password": "p",
            },
            401,
            "invalid_grant",
            "unknown account",
        ),
        (
            {"grant_type": "password", "client_id": "ownerapi", "email": OWNER},
            400,
            "invalid_request",
            "email and password are required",
        ),
        (
            {"grant_type": "password", "client_id": "evil", "email": OWNER, "password": PASSWORD},
            401,
            "invalid_client",
            "unknown client_id 'evil'",
        ),
        (
            {"grant_type": "password", "email": OWNER, "password": PASSWORD},
            401,
            "invalid_client",
            "client_id is required",
        ),
        (
            {"grant_type": "client_credentials", "client_id": "ownerapi"},
            400,
            "unsupported_grant_type",
            "grant_type 'client_credentials' is not supported",
        ),
        ({"client_id": "ownerapi"}, 400, "invalid_request", "grant_type is required"),
        (
            {"grant_type": "refresh_token", "client_id": "ownerapi", "refresh_token": "forged"},
            400,
            "invalid_grant",
            "the refresh token is not valid",
        ),
    ],
)
def test_token_endpoint_errors(
    client: httpx.Client, body: dict[str, str], status: int, error: str, description: str
) -> None:
    response = client.post("/oauth2/v3/token", data=body)
    assert response.status_code == status
    assert response.json() == {"error": error, "error_description": description}


def test_token_endpoint_rejects_malformed_json(client: httpx.Client) -> None:
    response = client.post(
        "/oauth2/v3/token", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_refresh_rotates_and_old_token_is_spent(client: httpx.Client) -> None:
    first = login(client)
    body = {
        "grant_type": "refresh_token",
        "client_id": "ownerapi",
        "refresh_token": first["refresh_token"],
    }
    second = client.post("/oauth2/v3/token", data=body)
    assert second.status_code == 200
    assert second.json()["refresh_token"] != first["refresh_token"]
    again = client.post("/oauth2/v3/token", data=body)  # the Fleet docs: 401 login_required
    assert again.status_code == 401
    assert again.json() == {
        "error": "login_required",
        "error_description": "the refresh token has already been used",
    }
    # The new access token works; the rotated pair's new refresh token works once more.
    assert client.get("/api/1/vehicles", headers=bearer(second.json())).status_code == 200


def test_refresh_accepts_client_id_by_basic_auth(client: httpx.Client) -> None:
    tokens = login(client)
    response = client.post(
        "/oauth2/v3/token",
        auth=("ownerapi", ""),
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
    )
    assert response.status_code == 200


def test_revoke_ends_the_session(client: httpx.Client) -> None:
    tokens = login(client)
    assert (
        client.post("/oauth2/v3/revoke", data={"token": tokens["refresh_token"]}).status_code == 200
    )
    response = client.post(
        "/oauth2/v3/token",
        json={
            "grant_type": "refresh_token",
            "client_id": "ownerapi",
            "refresh_token": tokens["refresh_token"],
        },
    )
    assert response.status_code == 401
    assert response.json()["error"] == "login_required"
    # Revoking the access token ends it at once; unknown tokens are fine (RFC 7009).
    assert (
        client.post("/oauth2/v3/revoke", json={"token": tokens["access_token"]}).status_code == 200
    )
    assert client.get("/api/1/vehicles", headers=bearer(tokens)).status_code == 401
    assert client.post("/oauth2/v3/revoke", data={"token": "unknown"}).status_code == 200
    assert client.post("/oauth2/v3/revoke", data={}).status_code == 400


def test_authorization_code_with_pkce(client: httpx.Client) -> None:
    import base64
    import hashlib

    verifier = "v" * 64
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )
    page = client.get(
        "/oauth2/v3/authorize",
        params={
            "client_id": "ownerapi",
            "redirect_uri": "tesla://auth/callback",
            "response_type": "code",
            "state": "s1",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        },
    )
    assert page.status_code == 200 and "<form" in page.text
    wrong = client.post("/oauth2/v3/authorize", data={"identity": OWNER, "credential": "x"})
    assert wrong.status_code == 401
    query = _redirected(client, challenge, state="s1")
    assert query["state"] == "s1"
    code = query["code"]
    bad = client.post(
        "/oauth2/v3/token",
        data={
            "grant_type": "authorization_code",
            "client_id": "ownerapi",
            "code": code,
            "code_verifier": "w" * 64,
        },
    )
    assert bad.status_code == 400 and "code_verifier" in bad.json()["error_description"]
    # A failed exchange spends the code, as a stolen code must not be retried.
    code = _redirected(client, challenge, state="s2")["code"]
    good = client.post(
        "/oauth2/v3/token",
        data={
            "grant_type": "authorization_code",
            "client_id": "ownerapi",
            "code": code,
            "code_verifier": verifier,
        },
    )
    assert good.status_code == 200
    assert client.get("/api/1/products", headers=bearer(good.json())).status_code == 200


# -- bearer tokens ------------------------------------------------------------------


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer nonsense", "Basic abc"])
def test_bad_bearer_token(client: httpx.Client, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    response = client.get("/api/1/vehicles", headers=headers)
    assert response.status_code == 401
    assert error_body(response) == {
        "response": None,
        "error": "invalid bearer token",
        "error_description": "",
    }
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_expired_access_token(client: httpx.Client, served: Served) -> None:
    auth = bearer(login(client))
    served.clock.advance(8 * 3600 + 1)
    response = client.get("/api/1/vehicles", headers=auth)
    assert response.status_code == 401
    assert response.json()["error"] == "token expired (401)"


# -- vehicles -----------------------------------------------------------------------


def test_products_and_vehicles_list_the_seeded_cars(
    client: httpx.Client, auth: dict[str, str]
) -> None:
    for path in ("/api/1/products", "/api/1/vehicles"):
        body = client.get(path, headers=auth).json()
        assert body["count"] == 2
        names = {car["display_name"]: car for car in body["response"]}
        assert set(names) == {"Model 3", "Model Y"}
        model3 = names["Model 3"]
        assert model3["state"] == "asleep" and names["Model Y"]["state"] == "online"
        assert model3["id_s"] == str(model3["id"]) == MODEL3
        for key in ("vehicle_id", "vin", "in_service", "api_version"):
            assert key in model3


@pytest.mark.parametrize("key", [MODEL3, MODEL3_VIN, MODEL3_VIN.lower()])
def test_vehicle_by_id_id_s_or_vin(client: httpx.Client, auth: dict[str, str], key: str) -> None:
    body = client.get(f"/api/1/vehicles/{key}", headers=auth).json()
    assert body["response"]["vin"] == MODEL3_VIN


def test_unknown_vehicle_is_404(client: httpx.Client, auth: dict[str, str]) -> None:
    for method, path in [
        ("GET", "/api/1/vehicles/42"),
        ("POST", "/api/1/vehicles/42/wake_up"),
        ("GET", "/api/1/vehicles/42/vehicle_data"),
        ("POST", "/api/1/vehicles/42/command/honk_horn"),
    ]:
        response = client.request(method, path, headers=auth)
        assert response.status_code == 404
        assert response.json()["response"] is None
        assert response.json()["error"] == "not_found"


def test_unknown_path_and_wrong_method(client: httpx.Client, auth: dict[str, str]) -> None:
    missing = client.get("/api/1/nothing", headers=auth)
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"
    wrong = client.delete("/api/1/vehicles", headers=auth)
    assert wrong.status_code == 405 and wrong.json()["response"] is None


def test_listing_never_wakes_and_never_resets_idle(
    client: httpx.Client, served: Served, auth: dict[str, str]
) -> None:
    model_y = "1492931337242"
    served.clock.advance(14 * 60)  # idle 14 of 15 minutes
    for _ in range(5):
        client.get("/api/1/vehicles", headers=auth)
        client.get(f"/api/1/vehicles/{model_y}", headers=auth)
    served.clock.advance(61)
    assert (
        client.get(f"/api/1/vehicles/{model_y}", headers=auth).json()["response"]["state"]
        == "asleep"
    )
    assert (
        client.get(f"/api/1/vehicles/{MODEL3}", headers=auth).json()["response"]["state"]
        == "asleep"
    )


def test_wake_timeline(served: Served) -> None:
    with (
        serve(make_seed(wake_delay=4.0)) as server,
        httpx.Client(base_url=server.url) as client,
    ):
        auth = bearer(login(client))
        clock = server.clock
        asleep = client.get(f"/api/1/vehicles/{MODEL3}/vehicle_data", headers=auth)
        assert asleep.status_code == 408
        assert error_body(asleep) == {
            "response": None,
            "error": "vehicle unavailable: vehicle is offline or asleep",
            "error_description": "",
        }
        woken = client.post(f"/api/1/vehicles/{MODEL3}/wake_up", headers=auth)
        assert woken.status_code == 200 and woken.json()["response"]["state"] == "asleep"
        clock.advance(3.9)
        assert (
            client.get(f"/api/1/vehicles/{MODEL3}", headers=auth).json()["response"]["state"]
            == "asleep"
        )
        assert (
            client.post(f"/api/1/vehicles/{MODEL3}/command/honk_horn", headers=auth).status_code
            == 408
        )
        clock.advance(0.2)
        assert (
            client.get(f"/api/1/vehicles/{MODEL3}", headers=auth).json()["response"]["state"]
            == "online"
        )
        data = client.get(f"/api/1/vehicles/{MODEL3}/vehicle_data", headers=auth)
        assert data.status_code == 200
        # Idle for the idle period (15 min) with climate off: asleep again.
        clock.advance(15 * 60)
        assert (
            client.get(f"/api/1/vehicles/{MODEL3}", headers=auth).json()["response"]["state"]
            == "asleep"
        )


def test_vehicle_data_sections_and_filter(
    client: httpx.Client, served: Served, auth: dict[str, str]
) -> None:
    wake(client, auth, served)
    full = client.get(f"/api/1/vehicles/{MODEL3}/vehicle_data", headers=auth).json()["response"]
    for section in (
        "charge_state",
        "climate_state",
        "vehicle_state",
        "drive_state",
        "gui_settings",
        "vehicle_config",
    ):
        assert section in full
    climate = full["climate_state"]
    assert climate["inside_temp"] == 4.0 and climate["outside_temp"] == 2.0
    assert climate["min_avail_temp"] == 15.0 and climate["max_avail_temp"] == 28.0
    assert climate["is_climate_on"] is False
    assert {
        full["vehicle_state"][w] for w in ("fd_window", "fp_window", "rd_window", "rp_window")
    } == {0}
    located = client.get(
        f"/api/1/vehicles/{MODEL3}/vehicle_data",
        params={"endpoints": "drive_state;location_data"},
        headers=auth,
    ).json()["response"]["drive_state"]
    assert located["latitude"] == 37.5665 and located["longitude"] == 126.978
    assert "gps_as_of" in located
    only = client.get(
        f"/api/1/vehicles/{MODEL3}/vehicle_data",
        params={"endpoints": "climate_state;charge_state;unknown_section"},
        headers=auth,
    ).json()["response"]
    assert "climate_state" in only and "charge_state" in only
    assert "vehicle_state" not in only and "drive_state" not in only
    no_location = client.get(
        f"/api/1/vehicles/{MODEL3}/vehicle_data", params={"endpoints": "drive_state"}, headers=auth
    ).json()["response"]
    assert "latitude" not in no_location["drive_state"]
    everything = client.get(f"/api/1/vehicles/{MODEL3}/vehicle_data", headers=auth).json()
    assert "latitude" not in everything["response"]["drive_state"]  # only with location_data
    legacy = client.get(f"/api/1/vehicles/{MODEL3}/data_request/climate_state", headers=auth)
    assert legacy.status_code == 404  # gone from the service, as from the mock


def test_climate_physics(client: httpx.Client, served: Served, auth: dict[str, str]) -> None:
    wake(client, auth, served)

    def climate() -> dict:
        return client.get(
            f"/api/1/vehicles/{MODEL3}/vehicle_data",
            params={"endpoints": "climate_state;charge_state"},
            headers=auth,
        ).json()["response"]

    start = climate()
    assert client.post(
        f"/api/1/vehicles/{MODEL3}/command/set_temps",
        headers=auth,
        json={"driver_temp": 22, "passenger_temp": 21.5},
    ).json()["response"]["result"]
    assert client.post(
        f"/api/1/vehicles/{MODEL3}/command/auto_conditioning_start", headers=auth
    ).json() == {"response": {"result": True, "reason": ""}}
    temps = []
    for _ in range(4):
        served.clock.advance(300)
        temps.append(climate()["climate_state"]["inside_temp"])
    assert temps == sorted(temps) and temps[0] > 4.0 and 20.0 < temps[-1] <= 22.0
    warm = climate()
    assert warm["climate_state"]["is_climate_on"] is True
    assert warm["climate_state"]["driver_temp_setting"] == 22.0
    assert warm["climate_state"]["passenger_temp_setting"] == 21.5
    assert warm["charge_state"]["battery_level"] < start["charge_state"]["battery_level"]
    # Climate keeps the car awake well past the idle period.
    served.clock.advance(30 * 60)
    assert (
        client.get(f"/api/1/vehicles/{MODEL3}", headers=auth).json()["response"]["state"]
        == "online"
    )
    client.post(f"/api/1/vehicles/{MODEL3}/command/auto_conditioning_stop", headers=auth)
    served.clock.advance(600)
    cooling = climate()["climate_state"]["inside_temp"]
    assert cooling < 22.0


def test_windows_vent_and_close(client: httpx.Client, served: Served, auth: dict[str, str]) -> None:
    wake(client, auth, served)
    url = f"/api/1/vehicles/{MODEL3}/command/window_control"
    assert (
        client.post(url, headers=auth, json={"command": "vent", "lat": 0, "lon": 0}).json()[
            "response"
        ]["result"]
        is True
    )
    state = client.get(f"/api/1/vehicles/{MODEL3}/vehicle_data", headers=auth).json()["response"]
    assert all(
        state["vehicle_state"][w] != 0 for w in ("fd_window", "fp_window", "rd_window", "rp_window")
    )
    # A Model 3 ignores the position (the service does); a Model S checks it
    anywhere = client.post(url, headers=auth, json={"command": "close", "lat": 0, "lon": 0})
    assert anywhere.json()["response"]["result"] is True
    client.post(url, headers=auth, json={"command": "vent"})
    served.admin("PATCH", f"/__mock__/vehicles/{MODEL3}", json={"car_type": "models"})
    far = client.post(url, headers=auth, json={"command": "close", "lat": 37.6, "lon": 126.978})
    assert far.json() == {"response": {"result": False, "reason": "user_too_far"}}
    near = client.post(
        url, headers=auth, json={"command": "close", "lat": 37.5668, "long": 126.9782}
    )
    assert near.json()["response"]["result"] is True
    state = client.get(f"/api/1/vehicles/{MODEL3}/vehicle_data", headers=auth).json()["response"]
    assert state["vehicle_state"]["fd_window"] == 0


@pytest.mark.parametrize(
    ("command", "body", "description"),
    [
        ("set_temps", {"driver_temp": "warm"}, "driver_temp must be a number, got 'warm'"),
        ("window_control", {"command": "open"}, "command must be vent or close, got 'open'"),
        (
            "remote_seat_heater_request",
            {"heater": 9, "level": 1},
            "heater must be between 0 and 8, got 9",
        ),
        ("set_preconditioning_max", {"on": "maybe"}, "on must be true or false, got 'maybe'"),
    ],
)
def test_bad_command_parameters(
    client: httpx.Client,
    served: Served,
    auth: dict[str, str],
    command: str,
    body: dict,
    description: str,
) -> None:
    wake(client, auth, served)
    response = client.post(f"/api/1/vehicles/{MODEL3}/command/{command}", headers=auth, json=body)
    assert response.status_code == 400
    assert error_body(response) == {
        "response": None,
        "error": "invalid_field",
        "error_description": description,
    }
    assert served.admin("GET", "/__mock__/stats")["commands"] == []


def test_malformed_command_body(client: httpx.Client, served: Served, auth: dict[str, str]) -> None:
    wake(client, auth, served)
    response = client.post(
        f"/api/1/vehicles/{MODEL3}/command/set_temps",
        headers={**auth, "content-type": "application/json"},
        content=b'{"driver_temp": ',
    )
    assert response.status_code == 400 and response.json()["error"] == "invalid_field"


def test_unknown_command(client: httpx.Client, served: Served, auth: dict[str, str]) -> None:
    wake(client, auth, served)
    response = client.post(f"/api/1/vehicles/{MODEL3}/command/self_destruct", headers=auth)
    assert response.status_code == 400  # the Fleet API's conventions: invalid_command
    assert error_body(response) == {
        "response": None,
        "error": "invalid_command",
        "error_description": "unknown command 'self_destruct'",
    }


def test_other_commands(client: httpx.Client, served: Served, auth: dict[str, str]) -> None:
    wake(client, auth, served)
    for name, body in [
        ("remote_seat_heater_request", {"seat_position": 0, "level": 3}),
        ("set_preconditioning_max", {"on": True}),
        ("honk_horn", {}),
        ("flash_lights", {}),
        ("door_unlock", {}),
    ]:
        response = client.post(f"/api/1/vehicles/{MODEL3}/command/{name}", headers=auth, json=body)
        assert response.json()["response"]["result"] is True, name
    climate = client.get(f"/api/1/vehicles/{MODEL3}/vehicle_data", headers=auth).json()["response"][
        "climate_state"
    ]
    assert climate["seat_heater_left"] == 3
    assert climate["is_front_defroster_on"] is True and climate["is_climate_on"] is True
    executed = [c["name"] for c in served.admin("GET", "/__mock__/stats")["commands"]]
    assert executed == [
        "remote_seat_heater_request",
        "set_preconditioning_max",
        "honk_horn",
        "flash_lights",
        "door_unlock",
    ]


def test_car_in_service_is_405(client: httpx.Client, served: Served, auth: dict[str, str]) -> None:
    served.admin(
        "PATCH", f"/__mock__/vehicles/{MODEL3}", json={"in_service": True, "state": "online"}
    )
    for method, path in (
        ("POST", f"/api/1/vehicles/{MODEL3}/command/honk_horn"),
        ("GET", f"/api/1/vehicles/{MODEL3}/vehicle_data"),
        ("POST", f"/api/1/vehicles/{MODEL3}/wake_up"),
    ):
        response = client.request(method, path, headers=auth)
        assert response.status_code == 405, path
        assert response.json()["error"] == "vehicle is curently in service"  # sic, as served


def test_offline_car_never_wakes(
    client: httpx.Client, served: Served, auth: dict[str, str]
) -> None:
    served.admin("PATCH", f"/__mock__/vehicles/{MODEL3}", json={"state": "offline"})
    client.post(f"/api/1/vehicles/{MODEL3}/wake_up", headers=auth)
    served.clock.advance(60)
    assert (
        client.get(f"/api/1/vehicles/{MODEL3}", headers=auth).json()["response"]["state"]
        == "offline"
    )
    assert client.get(f"/api/1/vehicles/{MODEL3}/vehicle_data", headers=auth).status_code == 408


# -- idempotency and rate limits -----------------------------------------------------------


def test_idempotency_key_replays_without_executing(
    client: httpx.Client, served: Served, auth: dict[str, str]
) -> None:
    wake(client, auth, served)
    url = f"/api/1/vehicles/{MODEL3}/command/auto_conditioning_start"
    headers = {**auth, "Idempotency-Key": "key-1"}
    first = client.post(url, headers=headers)
    second = client.post(url, headers=headers)
    assert first.json() == second.json() == {"response": {"result": True, "reason": ""}}
    assert second.headers["idempotent-replayed"] == "true"
    other = client.post(f"/api/1/vehicles/{MODEL3}/command/honk_horn", headers=headers)
    assert other.status_code == 422
    stats = served.admin("GET", "/__mock__/stats")
    assert stats["executions"] == {"key-1": 1}
    assert [c["idempotency_key"] for c in stats["commands"]] == ["key-1"]


def test_a_command_refused_while_asleep_is_not_remembered(
    client: httpx.Client, served: Served, auth: dict[str, str]
) -> None:
    url = f"/api/1/vehicles/{MODEL3}/command/auto_conditioning_start"
    headers = {**auth, "Idempotency-Key": "key-2"}
    assert client.post(url, headers=headers).status_code == 408
    wake(client, auth, served)
    assert client.post(url, headers=headers).status_code == 200
    assert served.admin("GET", "/__mock__/stats")["executions"] == {"key-2": 1}


def test_rate_limits_per_vehicle(
    client: httpx.Client, served: Served, auth: dict[str, str]
) -> None:
    for _ in range(3):
        assert client.post(f"/api/1/vehicles/{MODEL3}/wake_up", headers=auth).status_code == 200
    limited = client.post(f"/api/1/vehicles/{MODEL3}/wake_up", headers=auth)
    assert limited.status_code == 429
    assert limited.headers["ratelimit-limit"] == "3"
    assert limited.headers["ratelimit-remaining"] == "0"
    assert int(limited.headers["retry-after"]) == 60
    assert limited.json()["response"] is None
    served.clock.advance(60)
    ok = client.post(f"/api/1/vehicles/{MODEL3}/wake_up", headers=auth)
    assert ok.status_code == 200 and ok.headers["ratelimit-remaining"] == "2"


def test_command_rate_limit(client: httpx.Client, served: Served, auth: dict[str, str]) -> None:
    wake(client, auth, served)
    url = f"/api/1/vehicles/{MODEL3}/command/flash_lights"
    statuses = [client.post(url, headers=auth).status_code for _ in range(31)]
    assert statuses == [200] * 30 + [429]
    assert len(served.admin("GET", "/__mock__/stats")["commands"]) == 30


# -- admin ---------------------------------------------------------------------------


def test_admin_api_is_off_by_default() -> None:
    with serve(admin=False) as server, httpx.Client(base_url=server.url) as client:
        for method, path in [
            ("GET", "/__mock__/stats"),
            ("PUT", "/__mock__/faults"),
            ("POST", "/__mock__/clock"),
            ("POST", "/__mock__/reset"),
        ]:
            response = client.request(method, path, json={"rules": []})
            assert response.status_code == 404, path
            assert response.json()["error"] == "not_found"


def test_reset_restores_the_seed(
    client: httpx.Client, served: Served, auth: dict[str, str]
) -> None:
    wake(client, auth, served)
    client.post(f"/api/1/vehicles/{MODEL3}/command/auto_conditioning_start", headers=auth)
    served.admin("POST", "/__mock__/reset")
    assert client.get("/api/1/vehicles", headers=auth).status_code == 401  # tokens are gone
    auth = bearer(login(client))
    car = client.get(f"/api/1/vehicles/{MODEL3}", headers=auth).json()["response"]
    assert car["state"] == "asleep"
    assert served.admin("GET", "/__mock__/stats")["commands"] == []


def test_clock_endpoint(served: Served) -> None:
    before = served.admin("GET", "/__mock__/clock")
    after = served.admin("POST", "/__mock__/clock", json={"advance": 90})
    assert after["epoch"] - before["epoch"] == pytest.approx(90)
    with served.client() as client:
        bad = client.post("/__mock__/clock", json={"advance": -1})
        assert bad.status_code == 400
        bad = client.post("/__mock__/clock", json={"set": "yesterday"})
        assert bad.status_code == 400 and "ISO 8601" in bad.json()["error_description"]


def test_the_clock_can_be_set_back_and_a_reset_starts_the_world_there(served: Served) -> None:
    """What the demo does: its built-in car lives on the story's clock (2021)."""
    served.clock.set(1_900_000_000.0)  # a world created in 2030
    moved = served.admin("POST", "/__mock__/clock", json={"set": "2021-11-19T22:00:00+09:00"})
    assert moved["now"] == "2021-11-19T13:00:00.000Z"
    served.admin("POST", "/__mock__/reset")
    served.admin("POST", "/__mock__/clock", json={"advance": 600})
    shown = served.admin("GET", "/__mock__/vehicles")
    assert shown["now"] == "2021-11-19T13:10:00.000Z"
    model_y = shown["vehicles"][1]
    assert model_y["local_time"] == "Fri 22:10" and model_y["state"] == "online"


def test_stats_shape(client: httpx.Client, served: Served, auth: dict[str, str]) -> None:
    client.get("/api/1/vehicles", headers=auth)
    client.get("/api/1/vehicles", headers=auth)
    stats = served.admin("GET", "/__mock__/stats")
    assert {"method": "GET", "path": "/api/1/vehicles", "status": 200, "count": 2} in stats[
        "requests"
    ]
    assert set(stats) == {
        "requests",
        "commands",
        "executions",
        "executed",
        "concurrency",
        "billing",
        "streamed",
    }
    assert stats["billing"] == {}  # the Owner API's flavour bills nothing
    assert stats["streamed"] == {}  # no streaming connection yet
    assert stats["concurrency"]["in_flight"] == 0  # the stats request itself is not counted
    assert stats["concurrency"]["overlapping_requests"] == 0  # one at a time so far


def test_stats_count_requests_answered_at_once(served: Served) -> None:
    """Tests prove a race from this: requests that began while another was being answered."""
    import asyncio

    async def slow_sleep(seconds: float) -> None:
        await asyncio.sleep(seconds)

    served.clock.sleep = slow_sleep  # type: ignore[method-assign]
    try:
        rule = {"path": "/status", "latency": 0.3}
        served.admin("PUT", "/__mock__/faults", json={"rules": [rule]})
        served.admin("DELETE", "/__mock__/stats")

        async def together() -> None:
            import httpx

            async with httpx.AsyncClient(base_url=served.url) as client:
                await asyncio.gather(*(client.get("/status") for _ in range(3)))

        asyncio.run(together())
    finally:
        del served.clock.sleep  # type: ignore[attr-defined]
    concurrency = served.admin("GET", "/__mock__/stats")["concurrency"]
    assert concurrency["max_in_flight"] == 3
    assert concurrency["overlapping_requests"] == 2
    assert concurrency["overlapping_commands"] == 0


def _redirected(client: httpx.Client, challenge: str, state: str = "s") -> dict[str, str]:
    """Sign in on the authorize page; the query the browser is sent back with."""
    from urllib.parse import parse_qs, urlparse

    redirect = client.post(
        "/oauth2/v3/authorize",
        data={
            "identity": OWNER,
            "credential": PASSWORD,
            "client_id": "ownerapi",
            "state": state,
            "redirect_uri": "tesla://auth/callback",
            "code_challenge": challenge,
        },
    )
    assert redirect.status_code == 302
    return {k: v[0] for k, v in parse_qs(urlparse(redirect.headers["location"]).query).items()}


def test_pkce_accepts_the_hex_digest_variant_and_nothing_weaker(client: httpx.Client) -> None:
    """teslajsonpy sends base64url(hex(sha256(verifier))), which Tesla's sign-in accepted."""
    import base64
    import hashlib

    verifier = "teslajsonpy-verifier-" + "x" * 43
    hexed = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).hexdigest().encode())
    for challenge, accepted in (
        (hexed.decode(), True),  # with its padding, as teslajsonpy sends it
        (hexed.rstrip(b"=").decode(), True),
        (verifier, False),  # "plain" is not S256
        (base64.urlsafe_b64encode(b"guess").decode(), False),
    ):
        token = client.post(
            "/oauth2/v3/token",
            data={
                "grant_type": "authorization_code",
                "client_id": "ownerapi",
                "code": _redirected(client, challenge)["code"],
                "code_verifier": verifier,
            },
        )
        assert (token.status_code == 200) is accepted, (challenge, token.text)


def test_faults_on_the_token_endpoint_answer_in_the_oauth_shape(served: Served) -> None:
    served.admin("PUT", "/__mock__/faults", json={"rules": [{"status": 503, "path": "/oauth2/*"}]})
    with served.client() as client:
        response = client.post("/oauth2/v3/token", data={"grant_type": "password"})
    assert response.status_code == 503
    body = response.json()
    assert set(body) == {"error", "error_description"} and body["error"]
