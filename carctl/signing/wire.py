"""The protocol-buffer wire format, for the handful of messages the car speaks.

Hand-written rather than generated: eight small messages do not justify a
runtime dependency, and decoding stays strict (a malformed answer is an error,
never a guess). Only the wire types the messages use are supported: varint (0),
64-bit (1, skipped), length-delimited (2) and 32-bit (5).
"""

from __future__ import annotations

import struct
from collections.abc import Iterable

Fields = dict[int, list[int | bytes]]


class WireError(ValueError):
    """Bytes that are not a well-formed protocol-buffer message."""


def varint(value: int) -> bytes:
    if value < 0:
        value &= (1 << 64) - 1  # negative int32/int64: ten bytes, two's complement
    out = bytearray()
    while True:
        low = value & 0x7F
        value >>= 7
        if value:
            out.append(low | 0x80)
        else:
            out.append(low)
            return bytes(out)


def _key(number: int, wire_type: int) -> bytes:
    return varint(number << 3 | wire_type)


def uint(number: int, value: int | bool | None) -> bytes:
    """A varint field; proto3 leaves a zero value out."""
    if not value:
        return b""
    return _key(number, 0) + varint(int(value))


def blob(number: int, value: bytes | None) -> bytes:
    """A length-delimited field (bytes, string or an embedded message); empty is left out."""
    if not value:
        return b""
    return _key(number, 2) + varint(len(value)) + value


def message(number: int, value: bytes) -> bytes:
    """An embedded message that is present even when empty (a oneof's `Void`)."""
    return _key(number, 2) + varint(len(value)) + value


def fixed32(number: int, value: int) -> bytes:
    if not value:
        return b""
    return _key(number, 5) + struct.pack("<I", value)


def float32(number: int, value: float) -> bytes:
    if not value:
        return b""
    return _key(number, 5) + struct.pack("<f", value)


def join(parts: Iterable[bytes]) -> bytes:
    return b"".join(parts)


def _read_varint(data: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if at >= len(data):
            raise WireError("truncated varint")
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, at
        shift += 7
        if shift > 63:
            raise WireError("varint too long")


def parse(data: bytes) -> Fields:
    """Field number → its values in order (varints and 32-bit values as ints, the rest as bytes)."""
    fields: Fields = {}
    at = 0
    while at < len(data):
        key, at = _read_varint(data, at)
        number, wire_type = key >> 3, key & 7
        if number == 0:
            raise WireError("field number 0")
        value: int | bytes
        if wire_type == 0:
            value, at = _read_varint(data, at)
        elif wire_type == 1:
            if at + 8 > len(data):
                raise WireError("truncated 64-bit field")
            value, at = struct.unpack_from("<Q", data, at)[0], at + 8
        elif wire_type == 2:
            length, at = _read_varint(data, at)
            if at + length > len(data):
                raise WireError("truncated length-delimited field")
            value, at = data[at : at + length], at + length
        elif wire_type == 5:
            if at + 4 > len(data):
                raise WireError("truncated 32-bit field")
            value, at = struct.unpack_from("<I", data, at)[0], at + 4
        else:
            raise WireError(f"unsupported wire type {wire_type}")
        fields.setdefault(number, []).append(value)
    return fields


def last_int(fields: Fields, number: int, default: int = 0) -> int:
    values = fields.get(number)
    if not values:
        return default
    value = values[-1]
    if not isinstance(value, int):
        raise WireError(f"field {number} is not a number")
    return value


def last_bytes(fields: Fields, number: int) -> bytes | None:
    values = fields.get(number)
    if not values:
        return None
    value = values[-1]
    if not isinstance(value, bytes):
        raise WireError(f"field {number} is not length-delimited")
    return value


def as_float(raw: int) -> float:
    return float(struct.unpack("<f", struct.pack("<I", raw))[0])


def as_int32(raw: int) -> int:
    """A varint read back as a signed 32-bit integer."""
    raw &= 0xFFFFFFFF
    return raw - (1 << 32) if raw & 0x80000000 else raw
