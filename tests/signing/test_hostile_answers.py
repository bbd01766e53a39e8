"""Answers that must not be believed: a forged session, a tampered encrypted answer, a
fault carctl does not know, a body that is no message. Each is one clear line with its
exit code, nothing retried, nothing queued; and the private key appears nowhere.

The car here is scripted over real HTTP (`tests.support.scripted_api`), because the mock,
being faithful, never forges; the unit tests pit carctl's `Signer` against the mock
car's verifier in process, where each message can be altered byte by byte.
"""

from __future__ import annotations

import base64
import random
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from carctl.mock.signed_car import Refused, SigningCar, pair
from carctl.signing import messages as m
from carctl.signing.crypto import public_bytes
from carctl.signing.session import Fault, NotPaired, Signer, Unauthenticated
from tests.conftest import PRIVATE_KEYS, invoke, private_key_secrets
from tests.support.scripted_api import ScriptedApi, scripted_api

VIN = "5YJ3E7EA1MF000621"
CAR = {
    "id": 1492931337131,
    "id_s": "1492931337131",
    "vin": VIN,
    "display_name": "Model 3",
    "state": "online",
    "in_service": False,
    "command_signing": "required",
}
SIGNED = f"/api/1/vehicles/{VIN}/signed_command"


def _answer(message: m.RoutableMessage) -> str:
    """What the service puts in its `{"response": …}` envelope: the message, in base64."""
    return base64.b64encode(message.encode()).decode()


@pytest.fixture
def car(monkeypatch: pytest.MonkeyPatch) -> Iterator[ScriptedApi]:
    with scripted_api() as api:
        api.on("GET", "/api/1/vehicles", [CAR])
        api.on("GET", f"/api/1/vehicles/{VIN}", CAR)
        api.on("GET", f"/api/1/vehicles/{VIN}/vehicle_data", {**CAR, "climate_state": {}})
        monkeypatch.setenv("CARCTL_TOKEN", "scripted-access-token-0123456789")
        assert invoke("config", "set", "api_url", "fleet").code == 0
        assert invoke("config", "set", "provider_url", api.url).code == 0
        assert invoke("config", "set", "vehicle", "Model 3").code == 0
        assert invoke("key", "generate").code == 0
        yield api


def _no_key_anywhere(home: Path, *outputs: str) -> None:
    secrets = set().union(*(private_key_secrets(pem) for pem in PRIVATE_KEYS))
    assert secrets
    for text in outputs:
        assert not any(s in text for s in secrets)
    for path in home.rglob("*"):
        if path.is_file() and path.name != "credentials.json":
            content = path.read_bytes().decode("utf-8", "replace")
            assert not any(s in content for s in secrets), path


def test_a_forged_session_is_refused_and_nothing_is_retried(
    car: ScriptedApi, carctl_home: Path
) -> None:
    forged = m.RoutableMessage(
        from_domain=m.INFOTAINMENT,
        session_info=m.SessionInfo(
            counter=1,
            public_key=public_bytes(ec.generate_private_key(ec.SECP256R1())),
            epoch=bytes(16),
            clock_time=100,
        ).encode(),
        signature=m.Signature(kind="session_info_tag", tag=bytes(32)),
    )
    car.on("POST", SIGNED, _answer(forged))
    refused = invoke("-v", "climate", "on")
    assert refused.code == 69, refused.output
    assert "the answer from Model 3 could not be authenticated" in refused.output
    assert "tag does not verify" in refused.output and "retries nothing" in refused.output
    assert len(car.requests("POST", SIGNED)) == 1
    listing = invoke("--json", "queue", "list")
    assert listing.json()["data"]["entries"] == []
    bundle = carctl_home / "report.zip"
    invoke("doctor", "--offline", "--bundle", str(bundle))
    with zipfile.ZipFile(bundle) as archive:
        bundled = " ".join(archive.read(n).decode("utf-8", "replace") for n in archive.namelist())
    shown = invoke("--json", "key", "show")
    assert shown.code == 0 and "BEGIN PUBLIC KEY" in shown.output
    _no_key_anywhere(carctl_home, refused.output, bundled, shown.output)


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        (
            _answer(m.RoutableMessage(from_domain=m.INFOTAINMENT, fault=99, has_status=True)),
            "with a fault carctl does not know (code 99)",
        ),
        ("%%% not base64", "the signed_command answer is not a readable message"),
        ({"result": True}, "the signed_command answer has no base64 `response`"),
    ],
)
def test_answers_carctl_cannot_read_are_exit_69(car: ScriptedApi, answer: Any, words: str) -> None:
    car.on("POST", SIGNED, answer)
    refused = invoke("climate", "on")
    assert refused.code == 69, refused.output
    assert words in refused.output and "Traceback" not in refused.output
    assert len(car.requests("POST", SIGNED)) == 1


# -- the Signer against the mock car's verifier, in process ----------------------------


class _Car:
    vin = VIN

    def __init__(self) -> None:
        self.signing: dict[str, Any] = {}


@pytest.fixture
def pair_of() -> tuple[Signer, SigningCar, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    simulated = _Car()
    pair(simulated, public_bytes(key).hex())
    verifier = SigningCar(simulated, 1000.0, random.Random(1), ("5YJ3E7EA1MF999999",))
    return (
        Signer(key, VIN, now=lambda: 1000.0, random_bytes=random.Random(2).randbytes),
        verifier,
        key,
    )


def _session(signer: Signer, verifier: SigningCar) -> Any:
    request = signer.handshake(m.INFOTAINMENT)
    return signer.accept_handshake(request, verifier.handshake(request), 1000.0)


def _execute(verifier: SigningCar, message: m.RoutableMessage) -> m.RoutableMessage:
    try:
        verified = verifier.verify(message)
    except Refused as refused:
        return refused.answer
    return verifier.answer(message, verified, b"")


def test_an_encrypted_answer_altered_in_transit_is_unauthenticated(pair_of: Any) -> None:
    signer, verifier, _ = pair_of
    state = _session(signer, verifier)
    sent = signer.sign(m.INFOTAINMENT, state, state.counter + 1, b"\x12\x04R\x02\x08\x01", 1010)
    answer = _execute(verifier, sent.message)
    assert answer.signature is not None and answer.signature.kind == "aes_gcm_response"
    signer.read_answer(sent, answer, 1000.0)  # as sent: it reads
    answer.signature.tag = bytes(16)
    with pytest.raises(Unauthenticated):
        signer.read_answer(sent, answer, 1000.0)
    answer.request_uuid = bytes(16)
    with pytest.raises(Unauthenticated, match="another request"):
        signer.read_answer(sent, answer, 1000.0)


def test_the_car_refuses_replays_other_vins_domains_and_strangers(pair_of: Any) -> None:
    signer, verifier, _ = pair_of
    state = _session(signer, verifier)
    payload = b"\x12\x04R\x02\x08\x01"
    first = signer.sign(m.INFOTAINMENT, state, state.counter + 1, payload, 1010)
    assert _execute(verifier, first.message).fault == 0
    replay = _execute(verifier, first.message)
    assert replay.fault == m.FAULT_INVALID_TOKEN_OR_COUNTER
    with pytest.raises(Fault) as raised:
        signer.read_answer(first, replay, 1000.0)
    assert raised.value.resync is not None  # verified fresh session info came with it

    other = Signer(pair_of[2], "5YJ3E7EA1MF999999", now=lambda: 1000.0)
    elsewhere = other.sign(m.INFOTAINMENT, state, state.counter + 5, payload, 1010)
    assert _execute(verifier, elsewhere.message).fault == m.FAULT_WRONG_PERSONALIZATION

    wrong = signer.sign(m.INFOTAINMENT, state, state.counter + 6, payload, 1010)
    wrong.message.to_domain = 7
    assert _execute(verifier, wrong.message).fault == m.FAULT_INVALID_DOMAINS

    late = signer.sign(m.INFOTAINMENT, state, state.counter + 7, payload, 10)
    later = SigningCar(verifier.car, 1100.0, random.Random(3))  # the car's clock: 100 s
    assert _execute(later, late.message).fault == m.FAULT_TIME_EXPIRED

    stranger = Signer(ec.generate_private_key(ec.SECP256R1()), VIN, now=lambda: 1000.0)
    with pytest.raises(NotPaired):
        request = stranger.handshake(m.INFOTAINMENT)
        stranger.accept_handshake(request, _refused_handshake(verifier, request), 1000.0)


def _refused_handshake(verifier: SigningCar, request: m.RoutableMessage) -> m.RoutableMessage:
    try:
        return verifier.handshake(request)
    except Refused as refused:
        return refused.answer
