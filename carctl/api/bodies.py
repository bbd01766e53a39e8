"""Reading an answer's body without letting the server choose how much memory it takes.

httpx decodes `Content-Encoding` one network chunk at a time, but each chunk
is decompressed whole: 1.8 KB of `gzip, gzip` becomes 1 GiB in one call. Here
the raw bytes are decoded layer by layer with `max_length`, so no layer ever
produces more than `STEP` bytes in one call, and the body is refused as soon
as any layer's output passes the limit. Peak memory stays within a few MiB of
the limit whatever the encoding stack.

Parsed JSON is bounded too: nesting deeper than Python's recursion limit is
"not JSON" (a protocol error later), never a `RecursionError`.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable, Iterator
from typing import Any

MAX_BODY_BYTES = 4 * 1024 * 1024
STEP = 64 * 1024  # the most one decompression call may produce
ACCEPT_ENCODING = "gzip, deflate"  # what carctl can decode within the bound


class BodyTooLarge(Exception):
    """The answer (after any layer of content encoding) is larger than the limit."""


class UnreadableEncoding(Exception):
    """A content encoding carctl did not ask for, or a corrupt compressed stream."""


class _Layer:
    """One content-encoding layer, decoded with bounded output per call."""

    def __init__(self, name: str, limit: int) -> None:
        if name not in ("gzip", "x-gzip", "deflate"):
            raise UnreadableEncoding(
                f"an answer in the {name!r} encoding, which carctl never asks for"
            )
        self.name = name
        self.limit = limit
        self.produced = 0
        self._started = False
        wbits = zlib.MAX_WBITS | 16 if name != "deflate" else zlib.MAX_WBITS
        self._decoder = zlib.decompressobj(wbits)

    def _decompress(self, data: bytes) -> bytes:
        try:
            out = self._decoder.decompress(data, STEP)
        except zlib.error as exc:
            if self.name == "deflate" and not self._started:
                # "deflate" is often sent as raw deflate, without the zlib header
                self._decoder = zlib.decompressobj(-zlib.MAX_WBITS)
                self._started = True
                return self._decompress(data)
            raise UnreadableEncoding(f"a corrupt {self.name} body ({exc})") from None
        self._started = True
        self.produced += len(out)
        if self.produced > self.limit:
            raise BodyTooLarge
        return out

    def feed(self, data: bytes) -> Iterator[bytes]:
        out = self._decompress(data)
        while True:
            if out:
                yield out
            tail = self._decoder.unconsumed_tail
            if not tail and len(out) < STEP:
                return
            out = self._decompress(tail)

    def finish(self) -> Iterator[bytes]:
        while out := self._decompress(b""):
            yield out


class Decoder:
    """Undo a `Content-Encoding` stack chunk by chunk, within `limit` at every layer."""

    def __init__(self, content_encoding: str | None, *, limit: int = MAX_BODY_BYTES) -> None:
        names = [
            part.strip().lower()
            for part in (content_encoding or "").split(",")
            if part.strip() and part.strip().lower() != "identity"
        ]
        self.limit = limit
        self.layers = [_Layer(name, limit) for name in reversed(names)]

    def feed(self, chunk: bytes) -> Iterator[bytes]:
        return self._through(0, (chunk,), finishing=False)

    def finish(self) -> Iterator[bytes]:
        return self._through(0, (), finishing=True)

    def _through(self, index: int, pieces: Iterable[bytes], *, finishing: bool) -> Iterator[bytes]:
        if index == len(self.layers):
            yield from pieces
            return
        layer = self.layers[index]

        def decoded() -> Iterator[bytes]:
            for piece in pieces:
                yield from layer.feed(piece)
            if finishing:
                yield from layer.finish()

        yield from self._through(index + 1, decoded(), finishing=finishing)


def read_bounded(
    raw: Iterator[bytes], content_encoding: str | None, *, limit: int = MAX_BODY_BYTES
) -> bytes:
    """The decoded body, or `BodyTooLarge` as soon as it (or any layer) passes `limit`."""
    decoder = Decoder(content_encoding, limit=limit)
    body = bytearray()
    received = 0
    for chunk in raw:
        received += len(chunk)
        if received > limit:
            raise BodyTooLarge
        for piece in decoder.feed(chunk):
            body += piece
            if len(body) > limit:
                raise BodyTooLarge
    for piece in decoder.finish():
        body += piece
        if len(body) > limit:
            raise BodyTooLarge
    return bytes(body)


def parse_json(text: str) -> Any:
    """The JSON value of `text`, or None when it is not JSON (or nested too deep to read)."""
    if not text.strip():
        return None
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None
