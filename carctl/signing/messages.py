"""The envelope every signed exchange travels in, by the field numbers of
`universal_message.proto` and `signatures.proto` (teslamotors/vehicle-command)."""

from __future__ import annotations

from dataclasses import field

from carctl.records import record
from carctl.signing import wire

# UniversalMessage.Domain
VCSEC, INFOTAINMENT = 2, 3
DOMAIN_NAMES = {VCSEC: "vehicle security", INFOTAINMENT: "infotainment"}

# Signatures.Tag
TAG_SIGNATURE_TYPE, TAG_DOMAIN, TAG_PERSONALIZATION, TAG_EPOCH = 0, 1, 2, 3
TAG_EXPIRES_AT, TAG_COUNTER, TAG_CHALLENGE, TAG_FLAGS = 4, 5, 6, 7
TAG_REQUEST_HASH, TAG_FAULT, TAG_END = 8, 9, 255

# Signatures.SignatureType
SIG_AES_GCM_PERSONALIZED, SIG_HMAC, SIG_HMAC_PERSONALIZED, SIG_AES_GCM_RESPONSE = 5, 6, 8, 9

FLAG_ENCRYPT_RESPONSE = 1 << 1  # UniversalMessage.Flags.FLAG_ENCRYPT_RESPONSE is bit 1

# UniversalMessage.OperationStatus_E
STATUS_OK, STATUS_ERROR = 0, 2  # and 1: WAIT, which VCSEC says over BLE only

# Signatures.Session_Info_Status
SESSION_OK, SESSION_KEY_NOT_ON_WHITELIST = 0, 1

# UniversalMessage.MessageFault_E, the ones carctl treats apart
FAULT_NONE = 0
FAULT_BUSY = 1
FAULT_TIMEOUT = 2
FAULT_UNKNOWN_KEY_ID = 3
FAULT_INACTIVE_KEY = 4
FAULT_INVALID_SIGNATURE = 5
FAULT_INVALID_TOKEN_OR_COUNTER = 6
FAULT_INSUFFICIENT_PRIVILEGES = 7
FAULT_INVALID_DOMAINS = 8
FAULT_DECODING = 10
FAULT_INTERNAL = 11
FAULT_WRONG_PERSONALIZATION = 12
FAULT_BAD_PARAMETER = 13
FAULT_INCORRECT_EPOCH = 15
FAULT_TIME_EXPIRED = 17
FAULT_REMOTE_ACCESS_DISABLED = 21
FAULT_REPEATED_COUNTER = 26
FAULT_NAMES = {
    1: "busy",
    2: "timeout",
    3: "unknown key",
    4: "inactive key",
    5: "invalid signature",
    6: "invalid token or counter",
    7: "insufficient privileges",
    8: "invalid domains",
    9: "invalid command",
    10: "decoding error",
    11: "internal error",
    12: "wrong VIN",
    13: "bad parameter",
    14: "keychain is full",
    15: "incorrect epoch",
    16: "IV has the wrong length",
    17: "command expired",
    18: "not provisioned with a VIN",
    19: "could not hash metadata",
    20: "expiry too far in the future",
    21: "remote access disabled",
    22: "remote service access disabled",
    23: "requires account credentials",
    24: "request too large",
    25: "response too large",
    26: "repeated counter",
    27: "invalid key handle",
    28: "requires response encryption",
}


@record
class SessionInfo:
    counter: int = 0
    public_key: bytes = b""
    epoch: bytes = b""
    clock_time: int = 0
    status: int = SESSION_OK
    handle: int = 0

    def encode(self) -> bytes:
        return wire.join(
            [
                wire.uint(1, self.counter),
                wire.blob(2, self.public_key),
                wire.blob(3, self.epoch),
                wire.fixed32(4, self.clock_time),
                wire.uint(5, self.status),
                wire.uint(6, self.handle),
            ]
        )

    @classmethod
    def decode(cls, data: bytes) -> SessionInfo:
        f = wire.parse(data)
        return cls(
            counter=wire.last_int(f, 1),
            public_key=wire.last_bytes(f, 2) or b"",
            epoch=wire.last_bytes(f, 3) or b"",
            clock_time=wire.last_int(f, 4),
            status=wire.last_int(f, 5),
            handle=wire.last_int(f, 6),
        )


@record
class Signature:
    """`Signatures.SignatureData`: who signed, and one of the four kinds of signature data."""

    public_key: bytes = b""
    kind: str = ""  # hmac_personalized | aes_gcm_personalized | session_info_tag | aes_gcm_response
    epoch: bytes = b""
    nonce: bytes = b""
    counter: int = 0
    expires_at: int = 0
    tag: bytes = b""

    def encode(self) -> bytes:
        identity = wire.blob(1, wire.blob(1, self.public_key)) if self.public_key else b""
        if self.kind == "hmac_personalized":
            body = wire.join(
                [
                    wire.blob(1, self.epoch),
                    wire.uint(2, self.counter),
                    wire.fixed32(3, self.expires_at),
                    wire.blob(4, self.tag),
                ]
            )
            return identity + wire.message(8, body)
        if self.kind == "aes_gcm_personalized":
            body = wire.join(
                [
                    wire.blob(1, self.epoch),
                    wire.blob(2, self.nonce),
                    wire.uint(3, self.counter),
                    wire.fixed32(4, self.expires_at),
                    wire.blob(5, self.tag),
                ]
            )
            return identity + wire.message(5, body)
        if self.kind == "session_info_tag":
            return identity + wire.message(6, wire.blob(1, self.tag))
        if self.kind == "aes_gcm_response":
            body = wire.join(
                [wire.blob(1, self.nonce), wire.uint(2, self.counter), wire.blob(3, self.tag)]
            )
            return identity + wire.message(9, body)
        return identity

    @classmethod
    def decode(cls, data: bytes) -> Signature:
        f = wire.parse(data)
        identity = wire.last_bytes(f, 1)
        public_key = b""
        if identity is not None:
            public_key = wire.last_bytes(wire.parse(identity), 1) or b""
        for number, kind in (
            (8, "hmac_personalized"),
            (5, "aes_gcm_personalized"),
            (6, "session_info_tag"),
            (9, "aes_gcm_response"),
        ):
            raw = wire.last_bytes(f, number)
            if raw is None:
                continue
            g = wire.parse(raw)
            if kind == "hmac_personalized":
                return cls(
                    public_key,
                    kind,
                    epoch=wire.last_bytes(g, 1) or b"",
                    counter=wire.last_int(g, 2),
                    expires_at=wire.last_int(g, 3),
                    tag=wire.last_bytes(g, 4) or b"",
                )
            if kind == "aes_gcm_personalized":
                return cls(
                    public_key,
                    kind,
                    epoch=wire.last_bytes(g, 1) or b"",
                    nonce=wire.last_bytes(g, 2) or b"",
                    counter=wire.last_int(g, 3),
                    expires_at=wire.last_int(g, 4),
                    tag=wire.last_bytes(g, 5) or b"",
                )
            if kind == "session_info_tag":
                return cls(public_key, kind, tag=wire.last_bytes(g, 1) or b"")
            return cls(
                public_key,
                kind,
                nonce=wire.last_bytes(g, 1) or b"",
                counter=wire.last_int(g, 2),
                tag=wire.last_bytes(g, 3) or b"",
            )
        return cls(public_key)


def _destination(domain: int | None, address: bytes | None) -> bytes:
    if address is not None:
        return wire.blob(2, address)
    # a domain of 0 (broadcast) is still a chosen member of the oneof: written explicitly
    return wire.varint(1 << 3) + wire.varint(domain or 0)


@record
class RoutableMessage:
    to_domain: int | None = None
    to_address: bytes | None = None
    from_domain: int | None = None
    from_address: bytes | None = None
    payload: bytes | None = None  # protobuf_message_as_bytes
    session_info_request: bytes | None = None  # the client's public key
    challenge: bytes = b""
    session_info: bytes | None = None
    signature: Signature | None = None
    operation_status: int = STATUS_OK
    fault: int = FAULT_NONE
    has_status: bool = False
    request_uuid: bytes = b""
    uuid: bytes = b""
    flags: int = 0
    extra: dict[int, list[int | bytes]] = field(default_factory=dict)

    def encode(self) -> bytes:
        parts = []
        if self.to_domain is not None or self.to_address is not None:
            parts.append(wire.message(6, _destination(self.to_domain, self.to_address)))
        if self.from_domain is not None or self.from_address is not None:
            parts.append(wire.message(7, _destination(self.from_domain, self.from_address)))
        if self.payload is not None:
            parts.append(wire.message(10, self.payload))
        if self.has_status or self.fault or self.operation_status:
            status = wire.uint(1, self.operation_status) + wire.uint(2, self.fault)
            parts.append(wire.message(12, status))
        if self.signature is not None:
            parts.append(wire.message(13, self.signature.encode()))
        if self.session_info_request is not None:
            request = wire.blob(1, self.session_info_request) + wire.blob(2, self.challenge)
            parts.append(wire.message(14, request))
        if self.session_info is not None:
            parts.append(wire.message(15, self.session_info))
        parts += [
            wire.blob(50, self.request_uuid),
            wire.blob(51, self.uuid),
            wire.uint(52, self.flags),
        ]
        return wire.join(parts)

    @classmethod
    def decode(cls, data: bytes) -> RoutableMessage:
        f = wire.parse(data)
        out = cls()
        for number, (domain_attr, address_attr) in (
            (6, ("to_domain", "to_address")),
            (7, ("from_domain", "from_address")),
        ):
            raw = wire.last_bytes(f, number)
            if raw is None:
                continue
            d = wire.parse(raw)
            if 2 in d:
                setattr(out, address_attr, wire.last_bytes(d, 2))
            else:
                setattr(out, domain_attr, wire.last_int(d, 1))
        out.payload = wire.last_bytes(f, 10)
        status = wire.last_bytes(f, 12)
        if status is not None:
            s = wire.parse(status)
            out.has_status = True
            out.operation_status, out.fault = wire.last_int(s, 1), wire.last_int(s, 2)
        signature = wire.last_bytes(f, 13)
        if signature is not None:
            out.signature = Signature.decode(signature)
        request = wire.last_bytes(f, 14)
        if request is not None:
            r = wire.parse(request)
            out.session_info_request = wire.last_bytes(r, 1) or b""
            out.challenge = wire.last_bytes(r, 2) or b""
        out.session_info = wire.last_bytes(f, 15)
        out.request_uuid = wire.last_bytes(f, 50) or b""
        out.uuid = wire.last_bytes(f, 51) or b""
        out.flags = wire.last_int(f, 52)
        return out
