"""Every error tesla-fleet-api and tescmd tell apart, injected by a fault rule in the
service's words.

The table comes from the client itself: each exception class its
`raise_for_status` raises, with the status and the `error` text it matches
(`key`). A fault rule gives that status and text (`error=`); the client must
raise exactly that class — so a test of carctl (or of anyone) can put the
service's real refusals in front of a client.
"""

from __future__ import annotations

import asyncio
import inspect
import re
from typing import Any

import pytest

from tests.conftest import Served, login


def cases() -> list[tuple[int, str | None, type]]:
    from tesla_fleet_api import exceptions

    source = inspect.getsource(exceptions.raise_for_status)
    found = []
    for name in sorted(set(re.findall(r"\b([A-Z]\w+)\b", source))):
        cls = getattr(exceptions, name, None)
        if not (isinstance(cls, type) and issubclass(cls, exceptions.TeslaFleetError)):
            continue
        status = getattr(cls, "status", None)
        if isinstance(status, int) and 400 <= status <= 599:
            found.append((status, getattr(cls, "key", None), cls))
    return found


def test_the_table_covers_the_errors_that_matter() -> None:
    from tesla_fleet_api import exceptions

    covered = {cls for _, _, cls in cases()}
    for needed in (
        "InvalidCommand",
        "LoginRequired",
        "Forbidden",
        "InvalidScope",
        "PaymentRequired",
        "PreconditionFailed",
        "InvalidRegion",
        "RateLimited",
        "VehicleOffline",
        "MobileAccessDisabled",
        "InsufficientCredits",
    ):
        assert getattr(exceptions, needed) in covered, needed
    assert len(covered) >= 25


@pytest.mark.parametrize(
    ("status", "error", "expected"),
    cases(),
    ids=lambda value: value.__name__ if isinstance(value, type) else str(value),
)
def test_each_injected_error_is_the_clients_own_exception(
    served: Served, status: int, error: str | None, expected: type
) -> None:
    import aiohttp
    from tesla_fleet_api import TeslaFleetApi

    with served.client() as client:
        token = login(client)["access_token"]
    rule: dict[str, Any] = {"status": status, "path": "/api/1/products", "count": 1}
    if error is not None:
        rule["error"] = error
    served.admin("PUT", "/__mock__/faults", json={"rules": [rule]})

    async def ask() -> BaseException | None:
        async with aiohttp.ClientSession() as session:
            api = TeslaFleetApi(session=session, access_token=token, server=served.url)
            try:
                await api.products()
            except BaseException as exc:
                return exc
        return None

    raised = asyncio.run(ask())
    assert type(raised) is expected, (status, error, raised)
    fired = served.admin("GET", "/__mock__/faults")["rules"][0]["fired"]
    assert fired == 1  # the rule answered this request


# tescmd's `TeslaFleetClient._send` / `_parse_response` (src/tescmd/api/client.py): the status,
# and for a 403 the words in the body, decide the class.
TESCMD_CASES: list[tuple[int, str | None, str]] = [
    (401, None, "AuthError"),
    (403, "Unauthorized missing scopes", "MissingScopesError"),
    (403, "signing", "VCPRequiredError"),  # the service's own sentence, below
    (403, "forbidden", "AuthError"),
    (408, None, "VehicleAsleepError"),
    (412, "Account must be registered in the current region", "RegistrationRequiredError"),
    (429, None, "RateLimitError"),
    (402, "subscription_required", "TeslaAPIError"),
    (421, None, "TeslaAPIError"),
    (500, None, "TeslaAPIError"),
    (503, None, "TeslaAPIError"),
]


def test_the_tescmd_table_names_every_class_its_client_raises() -> None:
    from tescmd.api.client import TeslaFleetClient

    source = inspect.getsource(TeslaFleetClient._send) + inspect.getsource(
        TeslaFleetClient._parse_response
    )
    raised = set(re.findall(r"raise (\w+Error)\(", source)) - {"NetworkError"}
    assert raised == {name for _, _, name in TESCMD_CASES}  # NetworkError: no answer at all


@pytest.mark.parametrize(("status", "error", "expected"), TESCMD_CASES)
def test_each_injected_error_is_tescmds_own_exception(
    served: Served,
    monkeypatch: pytest.MonkeyPatch,
    status: int,
    error: str | None,
    expected: str,
) -> None:
    from tescmd.api import client as tescmd_client
    from tescmd.api import errors

    from carctl.mock.http import SIGNING_REQUIRED

    monkeypatch.setattr(tescmd_client, "_API_BASE_OVERRIDE", served.url)  # TESLA_API_BASE_URL
    with served.client() as client:
        token = login(client)["access_token"]
    rule: dict[str, Any] = {"status": status, "path": "/api/1/vehicles", "count": 4}
    if error is not None:
        rule["error"] = SIGNING_REQUIRED if error == "signing" else error
    served.admin("PUT", "/__mock__/faults", json={"rules": [rule]})
    waits: list[int] = []

    async def wait(seconds: int, attempt: int, attempts: int) -> None:
        waits.append(seconds)  # tescmd's own hook instead of sleeping between retries

    async def ask() -> BaseException | None:
        async with tescmd_client.TeslaFleetClient(token, on_rate_limit_wait=wait) as fleet:
            try:
                await fleet.get("/api/1/vehicles")
            except BaseException as exc:
                return exc
        return None

    raised = asyncio.run(ask())
    assert type(raised) is getattr(errors, expected), (status, error, raised)
    fired = served.admin("GET", "/__mock__/faults")["rules"][0]["fired"]
    assert fired == (4 if status == 429 else 1)  # tescmd asks again after a 429, three times
    assert waits == ([30, 30, 30] if status == 429 else [])  # the mock's retry-after
