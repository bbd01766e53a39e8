"""One client's side of the protocol with one domain of one car, without a transport.

`Signer` builds handshake requests and signed commands and reads the car's
answers; what it learns (`SessionState`) is kept by the caller (`store`), and
the bytes travel however the caller likes (the Fleet API's `signed_command`
today; the spec's BLE framing carries the same `RoutableMessage`s).
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Callable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric import ec

from carctl.records import record
from carctl.signing import crypto, wire
from carctl.signing import messages as m

TTL_S = 30.0  # a direct command's signed lifetime (the Go client's default is 30 s too)
MAX_TTL_S = 5 * 60.0  # never ask the car to hold a command longer than this


class Unauthenticated(Exception):
    """An answer whose tag or encryption does not verify: treated as an attack."""


class Fault(Exception):
    """The car refused at the protocol layer (`signedMessageStatus.signed_message_fault`)."""

    def __init__(self, code: int, resync: SessionState | None) -> None:
        super().__init__(m.FAULT_NAMES.get(code, f"fault {code}"))
        self.code = code
        self.resync = resync  # the car's current session, when it sent one (verified)


class NotPaired(Exception):
    """The car does not know this key (unknown key, or not on its whitelist)."""


@record(frozen=True)
class SessionState:
    vehicle_key: bytes  # the domain's public key, 65 bytes
    epoch: bytes
    counter: int
    clock_offset: float  # local wall time minus the domain's clock, in seconds

    def car_time(self, local: float) -> int:
        return max(0, int(local - self.clock_offset))


@record(frozen=True)
class Sent:
    """A signed request as sent: what reading its answer needs."""

    message: m.RoutableMessage
    domain: int
    shared_key: bytes


class Signer:
    def __init__(
        self,
        private_key: ec.EllipticCurvePrivateKey,
        vin: str,
        *,
        now: Callable[[], float],
        random_bytes: Callable[[int], bytes] = os.urandom,
    ) -> None:
        self.private_key = private_key
        self.public = crypto.public_bytes(private_key)
        self.vin = vin
        self.now = now
        self.random_bytes = random_bytes
        self.address = random_bytes(16)  # this connection's routing address

    def handshake(self, domain: int) -> m.RoutableMessage:
        return m.RoutableMessage(
            to_domain=domain,
            from_address=self.address,
            session_info_request=self.public,
            uuid=self.random_bytes(16),
        )

    def _session_from(
        self, answer: m.RoutableMessage, challenge: bytes, sent_at: float
    ) -> SessionState | None:
        """The session info an answer carries, once its tag proves it came from the car."""
        if answer.session_info is None:
            return None
        try:
            info = m.SessionInfo.decode(answer.session_info)
        except wire.WireError as exc:
            raise Unauthenticated(f"unreadable session info: {exc}") from None
        if info.status == m.SESSION_KEY_NOT_ON_WHITELIST:
            raise NotPaired()
        try:
            key = crypto.shared_key(self.private_key, info.public_key)
        except ValueError:
            raise Unauthenticated("the car's public key is not a P-256 point") from None
        signature = answer.signature
        if signature is None or signature.kind != "session_info_tag":
            raise Unauthenticated("session info without its tag")
        expected = crypto.session_info_tag(key, self.vin, challenge, answer.session_info)
        if not hmac.compare_digest(expected, signature.tag):
            raise Unauthenticated("the session info's tag does not verify")
        return SessionState(info.public_key, info.epoch, info.counter, sent_at - info.clock_time)

    def accept_handshake(
        self, request: m.RoutableMessage, answer: m.RoutableMessage, sent_at: float
    ) -> SessionState:
        if answer.fault in (m.FAULT_UNKNOWN_KEY_ID, m.FAULT_INACTIVE_KEY):
            raise NotPaired()
        if answer.fault:
            raise Fault(answer.fault, None)
        state = self._session_from(answer, request.uuid, sent_at)
        if state is None:
            raise Unauthenticated("the car's answer to the handshake has no session info")
        return state

    def sign(
        self, domain: int, state: SessionState, counter: int, payload: bytes, expires_at: int
    ) -> Sent:
        key = crypto.shared_key(self.private_key, state.vehicle_key)
        flags = m.FLAG_ENCRYPT_RESPONSE
        meta = crypto.command_metadata(
            signature_type=m.SIG_HMAC_PERSONALIZED,
            domain=domain,
            vin=self.vin,
            epoch=state.epoch,
            expires_at=expires_at,
            counter=counter,
            flags=flags,
        )
        signature = m.Signature(
            public_key=self.public,
            kind="hmac_personalized",
            epoch=state.epoch,
            counter=counter,
            expires_at=expires_at,
            tag=crypto.command_hmac(key, meta, payload),
        )
        message = m.RoutableMessage(
            to_domain=domain,
            from_address=self.address,
            payload=payload,
            signature=signature,
            uuid=self.random_bytes(16),
            flags=flags,
        )
        return Sent(message, domain, key)

    def read_answer(self, sent: Sent, answer: m.RoutableMessage, sent_at: float) -> bytes:
        """The car's application-layer answer to a command, decrypted and verified.

        Raises `NotPaired`, `Fault` (with a verified resync when the car sent
        one) or `Unauthenticated`."""
        if answer.from_domain is not None and answer.from_domain != sent.domain:
            raise Unauthenticated("the answer came from another domain than the one asked")
        if answer.request_uuid and answer.request_uuid != sent.message.uuid:
            raise Unauthenticated("the answer is for another request")
        if answer.fault in (m.FAULT_UNKNOWN_KEY_ID, m.FAULT_INACTIVE_KEY):
            raise NotPaired()
        if answer.fault:
            resync = self._session_from(answer, sent.message.uuid, sent_at)
            raise Fault(answer.fault, resync)
        payload = answer.payload or b""
        signature = answer.signature
        if signature is not None and signature.kind == "aes_gcm_response":
            assert sent.message.signature is not None
            meta = crypto.response_metadata(
                domain=sent.domain,
                vin=self.vin,
                counter=signature.counter,
                flags=answer.flags,
                request=crypto.request_hash(sent.message.signature, sent.domain),
                fault=answer.fault,
            )
            try:
                return crypto.open_sealed(
                    sent.shared_key, signature.nonce, payload, signature.tag, meta
                )
            except (InvalidTag, ValueError):
                raise Unauthenticated("the answer's encryption does not verify") from None
        if sent.message.flags & m.FLAG_ENCRYPT_RESPONSE and payload:
            # firmware before 2024.38 ignores the flag and answers in plaintext; carctl
            # accepts that (the spec says clients need not check the firmware)
            return payload
        return payload
