"""The protocol's cryptography, as `protocol.md` specifies it, with its test vectors
checked in tests/test_signing_vectors.py.

K = SHA1(ECDH x-coordinate)[:16] is shared by client and car; commands are
authenticated with HMAC-SHA256 under HMAC(K, "authenticated command") over the
serialised metadata and the payload; session info is tagged under
HMAC(K, "session info"); responses are encrypted with AES-GCM under K."""

from __future__ import annotations

import hashlib
import hmac
import struct

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from carctl.signing import messages as m


class MetadataError(ValueError):
    pass


def public_bytes(key: ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey) -> bytes:
    """ENCODE_PUBLIC: 0x04 || X || Y, 65 bytes."""
    public = key.public_key() if isinstance(key, ec.EllipticCurvePrivateKey) else key
    return public.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)


def load_public(raw: bytes) -> ec.EllipticCurvePublicKey:
    """A peer's 65-byte point; ValueError when it is not one on P-256."""
    if len(raw) != 65 or raw[0] != 4:
        raise ValueError("not an uncompressed P-256 point")
    return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)


def shared_key(private: ec.EllipticCurvePrivateKey, peer: bytes) -> bytes:
    secret = private.exchange(ec.ECDH(), load_public(peer))
    return hashlib.sha1(secret).digest()[:16]  # noqa: S324 - the protocol's KDF


def metadata(items: dict[int, bytes]) -> bytes:
    """Tag-length-value items in ascending tag order, then 0xFF."""
    out = bytearray()
    for tag in sorted(items):
        value = items[tag]
        if len(value) > 255:
            raise MetadataError(f"metadata item {tag} is too long")
        out += bytes([tag, len(value)]) + value
    out.append(m.TAG_END)
    return bytes(out)


def u32(value: int) -> bytes:
    return struct.pack(">I", value)


def command_metadata(
    *,
    signature_type: int,
    domain: int,
    vin: str,
    epoch: bytes,
    expires_at: int,
    counter: int,
    flags: int = 0,
) -> bytes:
    items = {
        m.TAG_SIGNATURE_TYPE: bytes([signature_type]),
        m.TAG_DOMAIN: bytes([domain]),
        m.TAG_PERSONALIZATION: vin.encode(),
        m.TAG_EPOCH: epoch,
        m.TAG_EXPIRES_AT: u32(expires_at),
        m.TAG_COUNTER: u32(counter),
    }
    if flags:
        items[m.TAG_FLAGS] = u32(flags)
    return metadata(items)


def command_hmac(key: bytes, meta: bytes, payload: bytes) -> bytes:
    signing_key = hmac.new(key, b"authenticated command", hashlib.sha256).digest()
    return hmac.new(signing_key, meta + payload, hashlib.sha256).digest()


def session_info_tag(key: bytes, vin: str, challenge: bytes, encoded_info: bytes) -> bytes:
    info_key = hmac.new(key, b"session info", hashlib.sha256).digest()
    meta = metadata(
        {
            m.TAG_SIGNATURE_TYPE: bytes([m.SIG_HMAC]),
            m.TAG_PERSONALIZATION: vin.encode(),
            m.TAG_CHALLENGE: challenge,
        }
    )
    return hmac.new(info_key, meta + encoded_info, hashlib.sha256).digest()


def request_hash(signature: m.Signature, domain: int) -> bytes:
    """The byte that names the request's method, then its tag (17 bytes for VCSEC)."""
    kind = (
        m.SIG_AES_GCM_PERSONALIZED
        if signature.kind == "aes_gcm_personalized"
        else m.SIG_HMAC_PERSONALIZED
    )
    hashed = bytes([kind]) + signature.tag
    return hashed[:17] if domain == m.VCSEC else hashed


def response_metadata(
    *, domain: int, vin: str, counter: int, flags: int, request: bytes, fault: int
) -> bytes:
    return metadata(
        {
            m.TAG_SIGNATURE_TYPE: bytes([m.SIG_AES_GCM_RESPONSE]),
            m.TAG_DOMAIN: bytes([domain]),
            m.TAG_PERSONALIZATION: vin.encode(),
            m.TAG_COUNTER: u32(counter),
            m.TAG_FLAGS: u32(flags),
            m.TAG_REQUEST_HASH: request,
            m.TAG_FAULT: u32(fault),
        }
    )


def seal(key: bytes, nonce: bytes, plaintext: bytes, meta: bytes) -> tuple[bytes, bytes]:
    """AES-GCM with AAD = SHA256(metadata): (ciphertext, tag)."""
    sealed = AESGCM(key).encrypt(nonce, plaintext, hashlib.sha256(meta).digest())
    return sealed[:-16], sealed[-16:]


def open_sealed(key: bytes, nonce: bytes, ciphertext: bytes, tag: bytes, meta: bytes) -> bytes:
    """The plaintext; `cryptography.exceptions.InvalidTag` when anything was altered."""
    return AESGCM(key).decrypt(nonce, ciphertext + tag, hashlib.sha256(meta).digest())
