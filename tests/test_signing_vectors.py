"""The protocol's published test vectors (teslamotors/vehicle-command, pkg/protocol/protocol.md).

Each value below is copied from the spec; none is computed by carctl's own code."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from carctl.signing import crypto, wire
from carctl.signing import messages as m

VEHICLE_KEY = b"""-----BEGIN EC PRIVATE KEY-----
MHcCAQEEIDRO5bRmp88e6xK29QMx2y5exYNO9fS+/P2MvlXCUo1woAoGCCqGSM49
AwEHoUQDQgAEx6H0cThIaqRymXFJSHjTOxok45Vx90im4WxZVbPYd9OmqqDpVRZk
dK9dMsQQ9DmiI0E3rRuwhf1OiBPJWPEdlw==
-----END EC PRIVATE KEY-----
"""
CLIENT_KEY = b"""-----BEGIN EC PRIVATE KEY-----
MHcCAQEEICU4zcKal8GcHpmmN9bPT4yXDBGLVu3h5jI+bRYsSzDboAoGCCqGSM49
AwEHoUQDQgAEsra8aMLaBmXOZWgVWUmWxiOU7di+qQX+eBp1T+aoRacUMwkC8iXp
Jp1GbgWzSZgf2p2FzCPG+0RKpztikQXcbg==
-----END EC PRIVATE KEY-----
"""
VEHICLE_PUBLIC = bytes.fromhex(
    "04c7a1f47138486aa4729971494878d33b1a24e39571f748a6e16c5955b3d877d3"
    "a6aaa0e955166474af5d32c410f439a2234137ad1bb085fd4e8813c958f11d97"
)
CLIENT_PUBLIC = bytes.fromhex(
    "04b2b6bc68c2da0665ce656815594996c62394edd8bea905fe781a754fe6a845a7"
    "14330902f225e9269d466e05b349981fda9d85cc23c6fb444aa73b629105dc6e"
)
K = bytes.fromhex("1b2fce19967b79db696f909cff89ea9a")
VIN = "5YJ30123456789ABC"
CHALLENGE = bytes.fromhex("1588d5a30eabc6f8fc9a951b11f6fd11")
SESSION_INFO = bytes.fromhex(
    "0806124104c7a1f47138486aa4729971494878d33b1a24e39571f748a6e16c5955b3d877d3"
    "a6aaa0e955166474af5d32c410f439a2234137ad1bb085fd4e8813c958f11d971a10"
    "4c463f9cc0d3d26906e982ed224adde6255a0a0000"
)
SESSION_INFO_TAG = bytes.fromhex("996c1fe38331be138f8039c194b14db2198846ed7d8251e6749284d7b32ea002")
EPOCH = bytes.fromhex("4c463f9cc0d3d26906e982ed224adde6")


def _key(pem: bytes):  # type: ignore[no-untyped-def]
    return load_pem_private_key(pem, password=None)


def test_public_keys_encode_as_the_spec_shows() -> None:
    assert crypto.public_bytes(_key(VEHICLE_KEY)) == VEHICLE_PUBLIC
    assert crypto.public_bytes(_key(CLIENT_KEY)) == CLIENT_PUBLIC


def test_key_agreement_gives_the_published_K_from_both_sides() -> None:
    assert crypto.shared_key(_key(CLIENT_KEY), VEHICLE_PUBLIC) == K
    assert crypto.shared_key(_key(VEHICLE_KEY), CLIENT_PUBLIC) == K


def test_metadata_serialisation_matches_the_examples() -> None:
    assert crypto.metadata({m.TAG_PERSONALIZATION: b"abc"}) == bytes.fromhex("0203616263ff")
    both = crypto.metadata({m.TAG_COUNTER: crypto.u32(100), m.TAG_PERSONALIZATION: b"abc"})
    assert both == bytes.fromhex("0203616263050400000064FF")
    command = crypto.command_metadata(
        signature_type=m.SIG_AES_GCM_PERSONALIZED,
        domain=m.INFOTAINMENT,
        vin=VIN,
        epoch=EPOCH,
        expires_at=2655,
        counter=7,
    )
    assert command == bytes.fromhex(
        "000105010103021135594a333031323334353637383941424303104c463f9cc0d3d26906"
        "e982ed224adde6040400000a5f050400000007ff"
    )


def test_session_info_decodes_to_the_published_fields() -> None:
    info = m.SessionInfo.decode(SESSION_INFO)
    assert (info.counter, info.clock_time, info.epoch) == (6, 2650, EPOCH)
    assert info.public_key == VEHICLE_PUBLIC
    assert info.encode() == SESSION_INFO  # and back, byte for byte


def test_session_info_tag_matches_and_a_changed_byte_does_not() -> None:
    assert crypto.session_info_tag(K, VIN, CHALLENGE, SESSION_INFO) == SESSION_INFO_TAG
    altered = SESSION_INFO[:-1] + b"\x01"
    assert crypto.session_info_tag(K, VIN, CHALLENGE, altered) != SESSION_INFO_TAG
    assert crypto.session_info_tag(K, "5YJ30123456789ABD", CHALLENGE, SESSION_INFO) != (
        SESSION_INFO_TAG
    )


def test_the_hvac_on_action_encodes_as_protoc_does() -> None:
    from carctl.signing import actions

    domain, payload = actions.encode("auto_conditioning_start", {})
    assert (domain, payload) == (m.INFOTAINMENT, bytes.fromhex("120452020801"))


def test_the_debug_line_decodes_as_the_spec_shows() -> None:
    tx = bytes.fromhex(
        "320208023a1212100a7962c10d38b61dd2a7722780a4f0969a031005514f57616bcc81a8ce0f9d7b"
        "48322952040a020805"
    )
    message = m.RoutableMessage.decode(tx)
    assert message.to_domain == m.VCSEC
    assert message.from_address == bytes.fromhex("0a7962c10d38b61dd2a7722780a4f096")
    assert message.payload == bytes.fromhex("0a020805")
    assert message.uuid == bytes.fromhex("05514f57616bcc81a8ce0f9d7b483229")
    assert m.RoutableMessage.decode(message.encode()) == message


def test_aes_gcm_round_trip_with_the_spec_metadata_and_tamper_detection() -> None:
    from cryptography.exceptions import InvalidTag

    meta = bytes.fromhex(
        "000105010103021135594a333031323334353637383941424303104c463f9cc0d3d26906"
        "e982ed224adde6040400000a5f050400000007ff"
    )
    nonce = bytes.fromhex("dbf79447fa156674dae1caed")
    ciphertext, tag = crypto.seal(K, nonce, bytes.fromhex("120452020801"), meta)
    assert crypto.open_sealed(K, nonce, ciphertext, tag, meta) == bytes.fromhex("120452020801")
    with pytest.raises(InvalidTag):
        crypto.open_sealed(K, nonce, ciphertext, tag, meta[:-2] + b"\x08\xff")


@pytest.mark.parametrize(
    "raw", [b"\x08", b"\x0a\x05ab", b"\x0b", b"\x00\x01", b"\x08" + b"\xff" * 11]
)
def test_malformed_bytes_are_refused_not_guessed(raw: bytes) -> None:
    with pytest.raises(wire.WireError):
        wire.parse(raw)
