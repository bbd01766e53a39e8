"""The request and response shapes every mock handler shares."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from starlette.datastructures import Headers, QueryParams
from starlette.responses import JSONResponse, PlainTextResponse, Response

from carctl.mock.seed import Seed
from carctl.mock.world import World

# The service's words, which clients match on (sources in docs/mock.md).
VEHICLE_UNAVAILABLE = "vehicle unavailable: vehicle is offline or asleep"
IN_SERVICE = "vehicle is curently in service"
SIGNING_REQUIRED = (
    "Tesla Vehicle Command Protocol required, please refer to the documentation here: "
    "https://developer.tesla.com/docs/fleet-api#2023-10-09-rest-api-vehicle-commands-"
    "endpoint-deprecation-warning"
)


class BadBody(ValueError):
    """The request body is not what the endpoint accepts."""


@dataclass
class Call:
    """One request as the handlers see it: parsed, with the world and the time."""

    method: str
    path: str
    query: QueryParams
    headers: Headers
    body: bytes
    world: World
    now: float
    base_url: str
    rng: random.Random
    seed_for: Callable[[str], Seed]
    params: dict[str, str] = field(default_factory=dict)
    signed: bool = False  # came through the signing-proxy stand-in
    flavor: str = "owner"  # owner | fleet | proxy: which API this server imitates
    region: str = "na"  # fleet, proxy: the account's region
    # requests answered at the same time, counted by this server process (not persisted)
    concurrency: dict[str, int] = field(default_factory=dict)

    def fields(self) -> dict[str, Any]:
        """A JSON object or form-encoded body as a dict; an empty body is {}."""
        if not self.body.strip():
            return {}
        content_type = self.headers.get("content-type", "")
        if "json" in content_type or self.body.lstrip()[:1] in (b"{", b"["):
            try:
                data = json.loads(self.body)
            except (ValueError, UnicodeDecodeError):
                raise BadBody("the body is not valid JSON") from None
            if not isinstance(data, dict):
                raise BadBody("the body must be a JSON object")
            return data
        try:
            form = parse_qs(self.body.decode(), keep_blank_values=True, strict_parsing=True)
        except (ValueError, UnicodeDecodeError):
            raise BadBody("the body is neither JSON nor form-encoded") from None
        return {key: values[-1] for key, values in form.items()}


def envelope(response: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse({"response": response}, status_code=status, headers=headers)


def listing(items: list[Any]) -> Response:
    return JSONResponse({"response": items, "count": len(items)})


def api_error(
    status: int, error: str, description: str = "", headers: dict[str, str] | None = None
) -> Response:
    """The Owner API's error envelope."""
    body = {"response": None, "error": error, "error_description": description}
    return JSONResponse(body, status_code=status, headers=headers)


def oauth_error(
    status: int, error: str, description: str, headers: dict[str, str] | None = None
) -> Response:
    """The auth service's error shape (RFC 6749 section 5.2)."""
    return JSONResponse(
        {"error": error, "error_description": description},
        status_code=status,
        headers={"cache-control": "no-store", **(headers or {})},
    )


def not_found(description: str = "") -> Response:
    return api_error(404, "not_found", description)


def text(body: str, status: int = 200) -> Response:
    return PlainTextResponse(body, status_code=status)
