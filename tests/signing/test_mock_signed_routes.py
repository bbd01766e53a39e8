"""The mock's signed road and its key-card stand-in, over real HTTP: what a malformed
request gets, and the pairing calls' own bad input."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from carctl.api.keys import public_pem
from carctl.signing import messages as m
from carctl.signing.crypto import public_bytes
from tests.conftest import Served, login

VIN = "5YJ3E7EA1MF000621"
PATH = f"/api/1/vehicles/{VIN}/signed_command"


@pytest.fixture
def fleet(served: Served) -> Iterator[tuple[Served, dict[str, str]]]:
    with served.client() as client:
        headers = {"authorization": f"Bearer {login(client)['access_token']}"}
    api = served.app.state.api  # type: ignore[attr-defined]
    api.flavor = "fleet"
    served.admin("PATCH", f"/__mock__/vehicles/{VIN}", json={"state": "online"})
    try:
        yield served, headers
    finally:
        api.flavor = "owner"


def _post(served: Served, headers: dict[str, str], body: object, **extra: str) -> httpx.Response:
    with served.client() as client:
        return client.post(PATH, json=body, headers={**headers, **extra})


def _handshake(key: ec.EllipticCurvePrivateKey) -> str:
    request = m.RoutableMessage(
        to_domain=m.INFOTAINMENT,
        from_address=bytes(16),
        session_info_request=public_bytes(key),
        uuid=b"u" * 16,
    )
    return base64.b64encode(request.encode()).decode()


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({}, "routable_message must be a base64 string"),
        ({"routable_message": "%%%"}, "routable_message is not valid base64"),
        ({"routable_message": base64.b64encode(b"\x0b").decode()}, "is not a RoutableMessage"),
    ],
)
def test_a_body_that_is_not_a_message_is_400(
    fleet: tuple[Served, dict[str, str]], body: object, words: str
) -> None:
    served, headers = fleet
    answer = _post(served, headers, body)
    assert answer.status_code == 400 and words in answer.text


def test_the_owner_api_never_had_the_road_and_a_sleeping_car_is_408(
    fleet: tuple[Served, dict[str, str]],
) -> None:
    served, headers = fleet
    key = ec.generate_private_key(ec.SECP256R1())
    served.admin("PATCH", f"/__mock__/vehicles/{VIN}", json={"state": "asleep"})
    assert _post(served, headers, {"routable_message": _handshake(key)}).status_code == 408
    served.app.state.api.flavor = "owner"  # type: ignore[attr-defined]
    assert _post(served, headers, {"routable_message": _handshake(key)}).status_code == 404


def test_a_handshake_is_answered_once_per_idempotency_key(
    fleet: tuple[Served, dict[str, str]],
) -> None:
    served, headers = fleet
    key = ec.generate_private_key(ec.SECP256R1())
    served.admin("POST", f"/__mock__/vehicles/{VIN}/keys", json={"public_key": public_pem(key)})
    first = _post(
        served, headers, {"routable_message": _handshake(key)}, **{"idempotency-key": "k1"}
    )
    again = _post(
        served, headers, {"routable_message": _handshake(key)}, **{"idempotency-key": "k1"}
    )
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    other = ec.generate_private_key(ec.SECP256R1())
    reused = _post(
        served, headers, {"routable_message": _handshake(other)}, **{"idempotency-key": "k1"}
    )
    assert reused.status_code == 422
    answer = m.RoutableMessage.decode(base64.b64decode(first.json()["response"]))
    assert answer.session_info and answer.request_uuid == b"u" * 16


def test_pairing_takes_pem_or_hex_and_refuses_anything_else(
    fleet: tuple[Served, dict[str, str]],
) -> None:
    served, _ = fleet
    key = ec.generate_private_key(ec.SECP256R1())
    keys = f"/__mock__/vehicles/{VIN}/keys"
    with served.client() as client:
        for bad in ("nonsense", "04" + "00" * 64, "-----BEGIN PUBLIC KEY-----\nxx\n", 7):
            refused = client.post(keys, json={"public_key": bad})
            assert refused.status_code == 400 and "P-256 public key" in refused.text
        assert client.post("/__mock__/vehicles/NOPE/keys", json={}).status_code == 404
        assert (
            client.post(
                keys, content=b"{", headers={"content-type": "application/json"}
            ).status_code
            == 400
        )
        hexed = public_bytes(key).hex()
        assert client.post(keys, json={"public_key": hexed}).json()["added"] is True
        assert client.post(keys, json={"public_key": public_pem(key)}).json()["added"] is False
        shown = client.get(keys).json()
        assert shown["paired_keys"] == [hexed]
        assert set(shown["domains"]) == {"vehicle security", "infotainment"}
        assert client.request("DELETE", keys, json={"public_key": hexed}).json()["removed"] is True
        assert client.request("DELETE", keys, json={"public_key": hexed}).json()["removed"] is False
        before = client.get(keys).json()["domains"]["infotainment"]["epoch"]
        rebooted = client.post(f"/__mock__/vehicles/{VIN}/reboot").json()
        assert rebooted["domains"]["infotainment"]["epoch"] != before
        assert client.post("/__mock__/vehicles/NOPE/reboot").status_code == 404
