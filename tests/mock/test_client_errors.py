"""Every error tesla-fleet-api tells apart, injected by a fault rule in the service's words.

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
