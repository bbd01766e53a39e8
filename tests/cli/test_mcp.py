"""`carctl mcp` as an assistant starts it: the official MCP SDK's client, over stdio, a
real `carctl mcp` process, and the served mock behind it."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import mcp_types as types
import pytest
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

from tests.conftest import Endpoint, invoke

OUTAGE = {"status": 500, "path": "/api/1/vehicles/*/command/*", "count": 100}
Story = Callable[[ClientSession], Awaitable[Any]]


def _session(
    allow: tuple[str, ...], story: Story, *, answer: str | None = None, extra: tuple[str, ...] = ()
) -> Any:
    """Start `carctl mcp --allow …` as an assistant does and play `story` against it;
    `answer`: what the person says to a confirmation (None: the client cannot ask)."""
    env = {k: v for k, v in os.environ.items() if k.startswith(("CARCTL_", "PYTHON"))}
    env["CI"] = "1"
    words = [w for a in allow for w in ("--allow", a)] + list(extra)
    server = StdioServerParameters(
        command=sys.executable, args=["-m", "carctl", "mcp", *words], env=env
    )
    asked: list[str] = []

    async def confirm(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        asked.append(params.message)
        if answer == "yes":
            return types.ElicitResult(action="accept", content={"confirm": True})
        return types.ElicitResult(action="decline")

    async def main() -> Any:
        async with stdio_client(server) as (read, write):
            callback = confirm if answer is not None else None
            async with ClientSession(read, write, elicitation_callback=callback) as session:
                await session.initialize()
                return await story(session)

    return anyio.run(main), asked


def _result(answer: types.CallToolResult) -> dict[str, Any]:
    first = answer.content[0]
    assert isinstance(first, types.TextContent)
    document: dict[str, Any] = json.loads(first.text)
    assert document == answer.structured_content
    return document


def _executed(car: Endpoint) -> list[str]:
    return [c["name"] for c in car.admin("GET", "/__mock__/stats")["commands"]]


@pytest.mark.parametrize("endpoint", ["served"], indirect=True)
def test_the_tools_listed_follow_the_policy(car: Endpoint) -> None:
    async def names(session: ClientSession) -> list[str]:
        return sorted(t.name for t in (await session.list_tools()).tools)

    read, _ = _session((), names)
    commands, _ = _session(("commands",), names)
    everything, _ = _session(("commands", "unlock", "location"), names)
    assert read == ["charge_state", "list_cars", "queue", "schedules", "status", "usage"]
    assert set(commands) - set(read) == {"cancel_queued", "climate", "lock", "sentry", "vent"}
    assert set(everything) - set(commands) == {"flash", "honk", "unlock", "where"}


@pytest.mark.parametrize("endpoint", ["served"], indirect=True)
def test_status_then_climate_on_then_an_outage_queues_it_for_later(car: Endpoint) -> None:
    async def story(session: ClientSession) -> list[dict[str, Any]]:
        status = _result(await session.call_tool("status", {"wake": True}))
        on = _result(await session.call_tool("climate", {"on": True, "temp": 22}))
        car.admin("PUT", "/__mock__/faults", {"rules": [OUTAGE]})
        queued = await session.call_tool("climate", {"on": False})
        assert not queued.is_error  # a result the assistant can explain
        return [status, on, _result(queued)]

    (status, on, later), _ = _session(("commands",), story)
    assert status["ok"] is True and status["data"]["state"] == "online"
    assert on["ok"] is True and on["exit_code"] == 0
    assert later["queued"]["ids"] and later["queued"]["commands"] == ["auto_conditioning_stop"]
    assert later["deadline"] == later["queued"]["expires_at"] and "500" in later["reason"]
    assert later["exit_code"] == 75 and later["meaning"].startswith("queued: not sent now")
    assert _executed(car) == ["set_temps", "auto_conditioning_start"]
    car.admin("DELETE", "/__mock__/faults")
    assert invoke("queue", "run").code == 0  # the service is back: delivered once
    assert _executed(car) == ["set_temps", "auto_conditioning_start", "auto_conditioning_stop"]


@pytest.mark.parametrize("endpoint", ["served"], indirect=True)
def test_unlock_needs_the_flag_and_the_persons_yes(car: Endpoint) -> None:
    async def unlock(session: ClientSession) -> dict[str, Any]:
        return _result(await session.call_tool("unlock", {}))

    refused, asked = _session(("commands",), unlock, answer="yes")
    assert refused["exit_code"] == 77 and asked == []
    assert "start it with `carctl mcp --allow unlock`" in refused["error"]["message"]
    cannot, _ = _session(("unlock",), unlock)  # a client without elicitation
    assert "this client cannot ask" in cannot["error"]["message"]
    declined, asked = _session(("unlock",), unlock, answer="no")
    assert "not confirmed by the person: nothing was sent" in declined["error"]["message"]
    assert len(asked) == 1 and "Unlock the car" in asked[0]
    assert _executed(car) == []
    accepted, asked = _session(("unlock",), unlock, answer="yes")
    assert accepted["ok"] is True and len(asked) == 1
    assert _executed(car) == ["door_unlock"]  # once


@pytest.mark.parametrize("endpoint", ["served"], indirect=True)
def test_bad_arguments_are_tool_errors_and_the_server_keeps_serving(car: Endpoint) -> None:
    async def story(session: ClientSession) -> list[dict[str, Any]]:
        answers = []
        for name, arguments in (
            ("climate", {"temp": 99}),
            ("climate", {"temp": "hot"}),
            ("climate", {"colour": "red"}),
            ("status", {"car": "No Such Car"}),
            ("teleport", {}),
        ):
            answers.append(_result(await session.call_tool(name, arguments)))
        answers.append(_result(await session.call_tool("list_cars", {})))
        return answers

    *bad, listed = _session(("commands",), story)[0]
    assert [a["exit_code"] for a in bad] == [2, 2, 2, 2, 2]
    assert "temp must be from 15 to 28, got 99" in bad[0]["error"]["message"]
    assert "No Such Car" in bad[3]["error"]["message"]
    assert listed["ok"] is True and len(listed["data"]) == 2
    assert _executed(car) == []


def test_the_command_says_where_it_is_documented(carctl_home: Path) -> None:
    shown = invoke("mcp", "--help")
    assert shown.code == 0 and "docs/assistants.md" in shown.stdout


@pytest.mark.parametrize("endpoint", ["served"], indirect=True)
def test_the_spend_limit_refuses_before_sending(car: Endpoint) -> None:
    assert invoke("config", "set", "billing", "on").code == 0  # carctl counts what it spends

    async def story(session: ClientSession) -> list[dict[str, Any]]:
        first = _result(await session.call_tool("status", {"wake": True}))  # a wake: $0.02
        before = car.admin("GET", "/__mock__/stats")["requests"]
        second = _result(await session.call_tool("climate", {"on": True}))
        assert car.admin("GET", "/__mock__/stats")["requests"] == before  # nothing sent
        return [first, second]

    (first, second), _ = _session(("commands",), story, extra=("--max-cost", "0.01"))
    assert first["ok"] is True
    assert (
        second["exit_code"] == 77
        and "spend limit of this session is reached" in (second["error"]["message"])
    )
    assert _executed(car) == []
