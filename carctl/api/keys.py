"""The owner's virtual key: a NIST P-256 private key, kept like a token.

It lives in the credential store (the keyring first, the 0600 file when no
keyring can take it), one per profile, and is never printed: only its public
half leaves this module, as PEM (to host at the domain's `.well-known`
address) and as a fingerprint. Every form of the private key is registered as
a secret the moment it is read, so no log or error can carry it.
"""

from __future__ import annotations

import hashlib

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from carctl.api.credentials import Credentials
from carctl.api.keyring_store import KeyringTimeout
from carctl.api.sessions import Location
from carctl.errors import AuthError
from carctl.logs import remember_secrets
from carctl.records import record
from carctl.signing.crypto import public_bytes

WELL_KNOWN_PATH = "/.well-known/appspecific/com.tesla.3p.public-key.pem"


def well_known_url(domain: str) -> str:
    """Where Tesla (and the Tesla app, when pairing) reads the application's public key."""
    return f"https://{domain}{WELL_KNOWN_PATH}"


def entry_for(profile: str) -> str:
    return f"signing-key:{profile}"


def generate() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def private_pem(key: ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def public_pem(key: ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey) -> str:
    public = key.public_key() if isinstance(key, ec.EllipticCurvePrivateKey) else key
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def fingerprint(key: ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey) -> str:
    """SHA-256 of the 65-byte public point, as `SHA256:` and 16 hex pairs (enough to compare)."""
    digest = hashlib.sha256(public_bytes(key)).hexdigest()
    return "SHA256:" + ":".join(digest[i : i + 2] for i in range(0, 32, 2))


def key_id(key: ec.EllipticCurvePrivateKey) -> str:
    return hashlib.sha256(public_bytes(key)).hexdigest()[:32]


def _remember(key: ec.EllipticCurvePrivateKey, pem: str) -> None:
    scalar = key.private_numbers().private_value
    lines = [line for line in pem.splitlines() if line and not line.startswith("-----")]
    remember_secrets(pem, "".join(lines), *lines, f"{scalar:064x}", f"{scalar:064X}", str(scalar))


def parse_private(pem: str, where: str) -> ec.EllipticCurvePrivateKey:
    try:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError):
        raise AuthError(
            f"the signing key in {where} is not a readable private key",
            hint="replace it: carctl key generate --force (the new key must be paired again)",
        ) from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise AuthError(
            f"the signing key in {where} is not a NIST P-256 key",
            hint="replace it: carctl key generate --force (the new key must be paired again)",
        )
    _remember(key, pem)
    return key


@record(frozen=True)
class StoredKey:
    key: ec.EllipticCurvePrivateKey
    location: Location


class KeyVault:
    """One profile's key in the stores a token would use, in the same order."""

    def __init__(self, credentials: Credentials, profile: str) -> None:
        self.credentials = credentials
        self.entry = entry_for(profile)

    def load(self) -> StoredKey | None:
        stuck: KeyringTimeout | None = None
        for store in reversed(self.credentials.stores()):
            try:
                pem = store.load_text(self.entry)
            except KeyringTimeout as exc:
                stuck = exc
                continue
            if pem:
                return StoredKey(parse_private(pem, store.location.describe()), store.location)
        if stuck is not None:
            raise stuck
        return None

    def save(self, key: ec.EllipticCurvePrivateKey) -> Location:
        pem = private_pem(key)
        _remember(key, pem)
        credentials = self.credentials
        try:
            credentials.primary.save_text(self.entry, pem)
        except KeyringTimeout as exc:
            if credentials.require_keyring:
                raise
            credentials.warn(
                f"{exc.message}; the key is kept in {credentials.fallback_file.path} "
                "(mode 600) instead"
            )
            credentials.fallback_file.save_text(self.entry, pem)
            return credentials.fallback_file.location
        if credentials.primary is not credentials.fallback_file:
            credentials.fallback_file.delete(self.entry)
        return credentials.primary.location

    def delete(self) -> list[Location]:
        removed = []
        for store in self.credentials.stores():
            if store.delete(self.entry):
                removed.append(store.location)
        return removed
