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
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

from carctl.cli.mcp_server import Handlers, problem
from carctl.cli.mcp_tools import TOOLS
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
    assert read == [
        *("charge_state", "doctor", "list_cars", "queue", "queue_wait", "schedules"),
        *("status", "usage"),
    ]
    assert set(commands) - set(read) == {
        *("cancel_queued", "charge", "climate", "lock", "precondition"),
        *("schedule_off", "schedule_set", "sentry", "vent"),
    }
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


def test_a_person_who_starts_it_in_a_terminal_is_told_what_it_is(carctl_home: Path) -> None:
    from tests.support.terminal import run_in_terminal

    screen = run_in_terminal("mcp", interrupt_after="Ctrl-C to stop", timeout=20)
    assert (
        screen.text == "warning: carctl mcp waits for an assistant on stdin (MCP); Ctrl-C to stop\n"
    )
    assert screen.code == 130


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


@pytest.mark.parametrize("endpoint", ["served"], indirect=True)
def test_a_schedule_is_armed_listed_and_a_bad_time_is_carctls_own_error(car: Endpoint) -> None:
    async def story(session: ClientSession) -> list[dict[str, Any]]:
        return [
            _result(await session.call_tool(name, arguments))
            for name, arguments in (
                ("schedule_set", {"time": "06:30", "days": "weekdays", "temp": 21}),
                ("schedules", {}),
                ("schedule_set", {"time": "25:99"}),
            )
        ]

    (armed, listed, bad), _ = _session(("commands",), story)
    assert armed["ok"] is True, armed
    (schedule,) = listed["data"]["schedules"]
    assert (schedule["ready_at"], schedule["days"]) == ("06:30", "weekdays")
    assert bad["exit_code"] == 2 and "25:99" in bad["error"]["message"]
    assert _executed(car)[-1] == "add_precondition_schedule"


@pytest.mark.parametrize("endpoint", ["served"], indirect=True)
def test_the_resources_read_carctls_cache_and_queue_without_the_api(car: Endpoint) -> None:
    assert invoke("status", "--wake").code == 0  # the cache now holds a live report

    async def story(session: ClientSession) -> tuple[list[str], Any, Any, list[Any]]:
        listed = [str(r.uri) for r in (await session.list_resources()).resources]
        before = car.admin("GET", "/__mock__/stats")["requests"]
        cars = await session.read_resource("carctl://cars")
        queue = await session.read_resource("carctl://queue")
        after = car.admin("GET", "/__mock__/stats")["requests"]
        assert after == before  # read without calling the API
        texts = [c.text for c in (*cars.contents, *queue.contents)]  # type: ignore[union-attr]
        return listed, json.loads(texts[0]), json.loads(texts[1]), []

    listed, cars, queue, _ = _session((), story)[0]
    assert listed == ["carctl://cars", "carctl://queue"]
    model3 = next(c for c in cars if c["name"] == "Model 3")
    assert model3["state"] == "online" and model3["report"]["charge_state"]["battery_level"]
    assert queue["entries"] == [] and queue["breaker"]["state"] == "closed"


def test_a_hostile_message_is_a_protocol_error_and_the_server_keeps_serving(
    carctl_home: Path,
) -> None:
    import subprocess

    hello = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "t", "version": "1"},
        },
    }
    lines = [
        "this is not json",
        json.dumps({"jsonrpc": "2.0", "id": 7, "method": 12}),
        json.dumps([1, 2, 3]),
        "\x00\x01" * 40,
        json.dumps(hello),
    ]
    proc = subprocess.run(
        [sys.executable, "-m", "carctl", "mcp"],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        timeout=30,
    )
    answers = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    errors = [(a["id"], a["error"]["code"]) for a in answers if "error" in a]
    assert errors == [(None, -32700), (None, -32600), (None, -32600), (None, -32700)]
    assert answers[-1]["id"] == 1 and answers[-1]["result"]["serverInfo"]["name"] == "carctl"
    assert "Traceback" not in proc.stderr and proc.returncode == 0


ARGUMENT = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=80),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.sampled_from([t.name for t in TOOLS] + ["", "status\x00", "../etc"]),
    arguments=st.dictionaries(
        st.sampled_from(["car", "temp", "on", "wake", "id", "ids", "time", "at", "x", "", "close"]),
        ARGUMENT,
        max_size=4,
    ),
)
def test_fuzzed_arguments_never_crash_the_server_nor_reach_the_car(
    name: str, arguments: dict[str, Any]
) -> None:
    """Whatever an assistant sends, the server answers; what it refuses runs nothing."""
    handlers = Handlers({"read", "commands", "unlock", "location"}, None, list)
    ran: list[list[str]] = []

    async def run(argv: list[str]) -> tuple[int, dict[str, Any]]:
        ran.append(argv)
        return 0, {"ok": True}

    handlers.runner.run = run  # type: ignore[method-assign]
    call = types.CallToolRequestParams(name=name, arguments=arguments)
    tool = handlers.tools.get(name)
    wrong = tool is None or problem(tool, arguments) is not None

    async def ask() -> types.CallToolResult:
        return await handlers.call_tool(None, call)  # type: ignore[arg-type]

    if not wrong and tool is not None and tool.tier(arguments) == "unlock":
        return  # would ask the person: covered against a real client above
    answer = anyio.run(ask)
    assert answer.is_error is wrong
    if wrong:  # refused with carctl's bad-input code, and nothing run
        assert ran == []
        assert answer.structured_content and answer.structured_content["exit_code"] == 2
    else:
        assert len(ran) == 1 and ran[0][0] == "--json"


@pytest.mark.parametrize("endpoint", ["served"], indirect=True)
def test_the_documented_configuration_lists_carctls_tools(car: Endpoint, tmp_path: Path) -> None:
    """docs/assistants.md's `mcpServers` entry, run as an assistant runs it: its command
    (carctl, as installed next to this Python) and its arguments, unchanged."""
    page = (Path(__file__).parents[2] / "docs" / "assistants.md").read_text()
    block = page.split("```json\n", 1)[1].split("```", 1)[0]
    entry = json.loads(block)["mcpServers"]["carctl"]
    command = Path(sys.executable).with_name(entry["command"])
    assert command.exists(), f"{command}: carctl is not installed as a console script"
    env = {k: v for k, v in os.environ.items() if k.startswith(("CARCTL_", "PYTHON"))}
    server = StdioServerParameters(command=str(command), args=entry["args"], env=env)

    async def main() -> list[str]:
        async with (
            stdio_client(server) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            return sorted(t.name for t in (await session.list_tools()).tools)

    names = anyio.run(main)
    assert {"status", "climate", "vent", "precondition", "queue"} <= set(names)
    assert "unlock" not in names  # the documented example stops short of it


def test_every_exit_code_has_its_meaning_for_an_assistant() -> None:
    from carctl.cli.mcp_server import MEANINGS
    from carctl.errors import ExitCode

    assert set(MEANINGS) == set(ExitCode)
    assert "signed in" in MEANINGS[ExitCode.NOPERM] and "refused" in MEANINGS[ExitCode.FAILURE]


def test_without_the_sdk_it_says_what_to_install(carctl_home: Path) -> None:
    import subprocess

    blocked = (  # carctl as installed without the `assistants` extra: no `mcp` to import
        "import sys; sys.modules['mcp'] = None; sys.argv = ['carctl', 'mcp']; "
        "from carctl.entry import main; sys.exit(main())"
    )
    result = subprocess.run(
        [sys.executable, "-c", blocked], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 78
    assert result.stderr == (
        "error: carctl mcp needs the Model Context Protocol SDK, which is not installed\n"
        "hint: pip install 'carctl[assistants]'\n"
    )
