"""The mock car's side of the Vehicle Command Protocol: it verifies as the car does.

Modelled on the vehicle-side `Verifier` in teslamotors/vehicle-command
(`internal/authentication/verifier.go`, `window.go`): each car has its own key
pair per domain (vehicle security, infotainment), a whitelist of paired client
keys, an epoch that changes when the car reboots, its own clock (seconds since
the epoch began), and per client key a counter with a 64-wide sliding window.
Faults are the car's own (`MessageFault_E`), with fresh session info and its tag
attached where the fault is a matter of synchronisation, so a client can recover.

State lives in the car's `signing` dict (the world is stored as JSON), so a
pairing or a reboot survives the mock's restart like the rest of the world.
"""

from __future__ import annotations

import hmac
import os
import random
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric import ec

from carctl.signing import crypto
from carctl.signing import messages as m

DOMAINS = (m.VCSEC, m.INFOTAINMENT)
WINDOW = 64
EPOCH_LENGTH_S = 30 * 24 * 3600  # an epoch the Go verifier would rotate past this


@dataclass(frozen=True)
class Verified:
    """A command that passed every check: the client's key, its domain, its payload."""

    domain: int
    payload: bytes
    client_key: bytes


class Refused(Exception):
    """The answer to send back instead of executing (already built)."""

    def __init__(self, answer: m.RoutableMessage, fault: int) -> None:
        super().__init__(m.FAULT_NAMES.get(fault, str(fault)))
        self.answer = answer
        self.fault = fault


def _domain_state(car: Any, domain: int, now: float, rng: random.Random) -> dict[str, Any]:
    signing = car.signing
    domains = signing.setdefault("domains", {})
    state: dict[str, Any] | None = domains.get(str(domain))
    if state is None:
        scalar = rng.randrange(1, (1 << 256) - 1) % _P256_ORDER or 1
        state = {
            "private": f"{scalar:064x}",
            "epoch": rng.randbytes(16).hex(),
            "time_zero": float(int(now)),
            "clients": {},
        }
        domains[str(domain)] = state
    return state


_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def _private(state: dict[str, Any]) -> ec.EllipticCurvePrivateKey:
    return ec.derive_private_key(int(state["private"], 16), ec.SECP256R1())


def paired(car: Any) -> list[str]:
    return list(car.signing.get("paired", []))


def pair(car: Any, public_hex: str) -> bool:
    keys = car.signing.setdefault("paired", [])
    if public_hex in keys:
        return False
    keys.append(public_hex)
    return True


def unpair(car: Any, public_hex: str) -> bool:
    keys = car.signing.setdefault("paired", [])
    if public_hex not in keys:
        return False
    keys.remove(public_hex)
    for state in car.signing.get("domains", {}).values():
        state.get("clients", {}).pop(public_hex, None)
    return True


def reboot(car: Any, now: float, rng: random.Random) -> None:
    """New epochs for every domain, clocks from zero, counters forgotten (keys kept)."""
    for domain in DOMAINS:
        state = _domain_state(car, domain, now, rng)
        state.update(epoch=rng.randbytes(16).hex(), time_zero=float(int(now)), clients={})


def describe(car: Any, now: float, rng: random.Random) -> dict[str, Any]:
    out: dict[str, Any] = {"paired_keys": paired(car), "domains": {}}
    for domain in DOMAINS:
        state = _domain_state(car, domain, now, rng)
        out["domains"][m.DOMAIN_NAMES[domain]] = {
            "public_key": crypto.public_bytes(_private(state)).hex(),
            "epoch": state["epoch"],
            "clock": _timestamp(state, now),
            "counters": {key[:16]: c["counter"] for key, c in state["clients"].items()},
        }
    return out


def _timestamp(state: dict[str, Any], now: float) -> int:
    return max(0, int(now - state["time_zero"]))


class SigningCar:
    """One car's verifier for one request (the world is loaded per request)."""

    def __init__(
        self, car: Any, now: float, rng: random.Random, other_vins: tuple[str, ...] = ()
    ) -> None:
        self.car, self.now, self.rng = car, now, rng
        self.other_vins = other_vins  # the account's other cars: a tag for one of them is
        # reported as the wrong VIN rather than a bad signature (the mock can tell)

    def _reply(self, request: m.RoutableMessage, domain: int | None) -> m.RoutableMessage:
        return m.RoutableMessage(
            to_address=request.from_address or b"",
            from_domain=domain if domain is not None else request.to_domain,
            request_uuid=request.uuid,
        )

    def _session_info(self, state: dict[str, Any], client: bytes) -> bytes:
        counter = state["clients"].get(client.hex(), {}).get("counter", 0)
        info = m.SessionInfo(
            counter=counter,
            public_key=crypto.public_bytes(_private(state)),
            epoch=bytes.fromhex(state["epoch"]),
            clock_time=_timestamp(state, self.now),
        )
        return info.encode()

    def _with_session(
        self, reply: m.RoutableMessage, state: dict[str, Any], client: bytes, challenge: bytes
    ) -> m.RoutableMessage:
        encoded = self._session_info(state, client)
        key = crypto.shared_key(_private(state), client)
        tag = crypto.session_info_tag(key, self.car.vin, challenge, encoded)
        reply.session_info = encoded
        reply.signature = m.Signature(kind="session_info_tag", tag=tag)
        return reply

    def _refuse(
        self,
        request: m.RoutableMessage,
        fault: int,
        *,
        state: dict[str, Any] | None = None,
        client: bytes | None = None,
    ) -> Refused:
        reply = self._reply(request, request.to_domain)
        reply.operation_status, reply.fault, reply.has_status = m.STATUS_ERROR, fault, True
        if state is not None and client is not None:
            self._with_session(reply, state, client, request.uuid)
        return Refused(reply, fault)

    def handshake(self, request: m.RoutableMessage) -> m.RoutableMessage:
        domain = request.to_domain
        if domain not in DOMAINS:
            raise self._refuse(request, m.FAULT_INVALID_DOMAINS)
        client = request.session_info_request or b""
        try:
            crypto.load_public(client)
        except ValueError:
            raise self._refuse(request, m.FAULT_DECODING) from None
        if client.hex() not in paired(self.car):
            raise self._refuse(request, m.FAULT_UNKNOWN_KEY_ID)
        state = _domain_state(self.car, domain, self.now, self.rng)
        return self._with_session(self._reply(request, domain), state, client, request.uuid)

    def verify(self, request: m.RoutableMessage) -> Verified:
        """The checks of the Go verifier, in its order; `Refused` carries the car's answer."""
        domain = request.to_domain
        signature = request.signature
        if domain not in DOMAINS:
            raise self._refuse(request, m.FAULT_INVALID_DOMAINS)
        if signature is None or signature.kind not in ("hmac_personalized", "aes_gcm_personalized"):
            raise self._refuse(request, m.FAULT_BAD_PARAMETER)
        client = signature.public_key
        if client.hex() not in paired(self.car):
            raise self._refuse(request, m.FAULT_UNKNOWN_KEY_ID)
        state = _domain_state(self.car, domain, self.now, self.rng)
        clients = state["clients"]
        record = clients.setdefault(client.hex(), {"counter": 0, "window": 0})
        now = _timestamp(state, self.now)
        if signature.epoch and signature.epoch != bytes.fromhex(state["epoch"]):
            raise self._refuse(request, m.FAULT_INCORRECT_EPOCH, state=state, client=client)
        if signature.expires_at and signature.expires_at < now:
            raise self._refuse(request, m.FAULT_TIME_EXPIRED, state=state, client=client)
        if signature.expires_at > EPOCH_LENGTH_S:
            raise self._refuse(request, m.FAULT_BAD_PARAMETER, state=state, client=client)
        key = crypto.shared_key(_private(state), client)
        payload = self._authentic(request, key, state, client)
        ok, record["counter"], record["window"] = _slide(
            record["counter"], record["window"], signature.counter
        )
        if not ok:
            raise self._refuse(
                request, m.FAULT_INVALID_TOKEN_OR_COUNTER, state=state, client=client
            )
        return Verified(domain, payload, client)

    def _authentic(
        self, request: m.RoutableMessage, key: bytes, state: dict[str, Any], client: bytes
    ) -> bytes:
        """The payload, once its tag proves it signed for this car, domain, epoch and time
        (an AES-GCM one is opened)."""
        signature, domain = request.signature, request.to_domain
        assert signature is not None and domain is not None  # checked by `verify`
        try:
            meta = crypto.command_metadata(
                signature_type=m.SIG_HMAC_PERSONALIZED
                if signature.kind == "hmac_personalized"
                else m.SIG_AES_GCM_PERSONALIZED,
                domain=domain,
                vin=self.car.vin,
                epoch=bytes.fromhex(state["epoch"]),
                expires_at=signature.expires_at,
                counter=signature.counter,
                flags=request.flags,
            )
        except crypto.MetadataError:
            raise self._refuse(request, m.FAULT_DECODING) from None
        payload = request.payload or b""
        if signature.kind == "hmac_personalized":
            expected = crypto.command_hmac(key, meta, payload)
            if not hmac.compare_digest(expected, signature.tag):
                fault = m.FAULT_INVALID_SIGNATURE
                if self._signed_for_another_car(request, signature, key, domain, state):
                    fault = m.FAULT_WRONG_PERSONALIZATION
                raise self._refuse(request, fault, state=state, client=client)
            return payload
        if len(signature.nonce) != 12:
            raise self._refuse(request, 16)  # IV_INCORRECT_LENGTH
        try:
            return crypto.open_sealed(key, signature.nonce, payload, signature.tag, meta)
        except InvalidTag:
            raise self._refuse(
                request, m.FAULT_INVALID_SIGNATURE, state=state, client=client
            ) from None

    def _signed_for_another_car(
        self,
        request: m.RoutableMessage,
        signature: m.Signature,
        key: bytes,
        domain: int,
        state: dict[str, Any],
    ) -> bool:
        for vin in self.other_vins:
            meta = crypto.command_metadata(
                signature_type=m.SIG_HMAC_PERSONALIZED,
                domain=domain,
                vin=vin,
                epoch=bytes.fromhex(state["epoch"]),
                expires_at=signature.expires_at,
                counter=signature.counter,
                flags=request.flags,
            )
            if hmac.compare_digest(
                crypto.command_hmac(key, meta, request.payload or b""), signature.tag
            ):
                return True
        return False

    def answer(
        self, request: m.RoutableMessage, verified: Verified, result: bytes
    ) -> m.RoutableMessage:
        """The car's answer to a verified command, encrypted when the client asked."""
        reply = self._reply(request, verified.domain)
        if not request.flags & m.FLAG_ENCRYPT_RESPONSE:
            reply.payload = result
            return reply
        state = _domain_state(self.car, verified.domain, self.now, self.rng)
        key = crypto.shared_key(_private(state), verified.client_key)
        assert request.signature is not None
        counter = 1  # the first (and, over the Fleet API, only) answer to this request
        meta = crypto.response_metadata(
            domain=verified.domain,
            vin=self.car.vin,
            counter=counter,
            flags=reply.flags,
            request=crypto.request_hash(request.signature, verified.domain),
            fault=0,
        )
        nonce = os.urandom(12)
        ciphertext, tag = crypto.seal(key, nonce, result, meta)
        reply.payload = ciphertext
        reply.signature = m.Signature(
            kind="aes_gcm_response", nonce=nonce, counter=counter, tag=tag
        )
        return reply


def _slide(counter: int, window: int, new: int) -> tuple[bool, int, int]:
    """`updateSlidingWindow` of the Go verifier: (fresh, counter, window)."""
    if new == counter:
        return False, counter, window
    if new < counter:
        age = counter - new
        if age > WINDOW or window >> (age - 1) & 1:
            return False, counter, window
        return True, counter, window | (1 << (age - 1))
    shift = new - counter
    window = ((window << shift) | (1 << (shift - 1))) & ((1 << WINDOW) - 1)
    return True, new, window
