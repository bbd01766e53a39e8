"""The mock's API errors as the tests compare them."""

from __future__ import annotations

from typing import Any


def error_body(response: Any) -> dict[str, Any]:
    """An API error's body without its `txid`, which must name the answer's transaction (the
    `x-txid` header), as the service's error bodies do."""
    body = dict(response.json())
    assert body.pop("txid") == response.headers["x-txid"], body
    return body
