"""`carctl mcp`'s server: the Model Context Protocol over stdio, on the official SDK.

Each tool call runs one carctl command in this process with `--json`, one at
a time, and answers its JSON document: `ok` with the data, `queued` with the
queue entry (id, reason, deadline), or the error with carctl's exit code and
its meaning — the same facts the owner's terminal gets. Nothing the policy
refuses is run. A command the person must approve (the `unlock` permission)
is first put to them through the client's elicitation; a client that cannot
ask gets a refusal, and nothing is sent.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import sys
from collections.abc import Callable, Mapping
from typing import Any

import anyio
import mcp_types as types
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server
from mcp.shared.message import SessionMessage

from carctl import __version__
from carctl.cli.mcp_tools import TOOLS, UNLOCK, Tool, allowed, refusal
from carctl.errors import ExitCode

MEANINGS: dict[int, str] = {  # carctl's exit codes (docs/scripting.md), for an assistant to act on
    ExitCode.OK: "done",
    ExitCode.FAILURE: "the car refused, or the command failed: the message says why",
    ExitCode.USAGE: "bad input: the arguments are wrong; nothing was sent",
    ExitCode.UNAVAILABLE: "the car is unavailable (asleep and did not wake, or offline)",
    ExitCode.INTERNAL: "carctl failed; see its log",
    ExitCode.CANTCREAT: "carctl could not write its files",
    ExitCode.TEMPFAIL: "temporary: the vehicle API failed; try again later",
    ExitCode.NOPERM: "not permitted: not signed in, the session expired, or refused",
    ExitCode.CONFIG: "configuration: carctl's settings must be fixed first",
    ExitCode.INTERRUPTED: "interrupted",
}
CarsSeen = Callable[[], list[dict[str, Any]]]
QUEUED = (
    "queued: not sent now; carctl sends it once, when the vehicle API recovers, until "
    "its deadline (the `queue` tool follows it)"
)
CONFIRM: types.ElicitRequestedSchema = {
    "type": "object",
    "properties": {"confirm": {"type": "boolean", "description": "Yes, do it now."}},
    "required": ["confirm"],
}


class CarctlRunner:
    """carctl's commands in this process, one at a time, their output captured."""

    def __init__(self) -> None:
        self.lock = anyio.Lock()

    async def run(self, argv: list[str]) -> tuple[int, dict[str, Any]]:
        async with self.lock:
            return await anyio.to_thread.run_sync(self._run, argv)

    @staticmethod
    def _run(argv: list[str]) -> tuple[int, dict[str, Any]]:
        import os

        from carctl.cli import _run, context
        from carctl.cli.environment import Environment

        out, err, given = io.StringIO(), io.StringIO(), io.StringIO("")
        context.last_app = None
        with (
            contextlib.redirect_stdout(out),
            contextlib.redirect_stderr(err),
            _stdin(given),
        ):
            code = _run(argv, Environment(given, out, err, dict(os.environ)))
        context.last_app = None
        try:
            document: dict[str, Any] = json.loads(out.getvalue().strip().splitlines()[-1])
        except (ValueError, IndexError):
            document = {"ok": code == 0, "output": out.getvalue(), "error": err.getvalue()}
        return code, document


@contextlib.contextmanager
def _stdin(stream: io.StringIO) -> Any:
    saved, sys.stdin = sys.stdin, stream
    try:
        yield
    finally:
        sys.stdin = saved


def _schema(tool: Tool) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": tool.params,
        "required": list(tool.required),
        "additionalProperties": False,
    }


def _answer(document: Mapping[str, Any], code: int) -> types.CallToolResult:
    """The command's JSON document, with what its exit code means for an assistant.

    A queued command is a result, not an error: the assistant can tell the person it
    will be sent once the vehicle API recovers, why it was not sent now, and until when.
    """
    queued = document.get("queued")
    shown = {**document, "exit_code": code, "meaning": MEANINGS.get(code, "failed")}
    if queued:
        shown["meaning"] = QUEUED
        shown["reason"] = (document.get("error") or {}).get("message")
        shown["deadline"] = queued.get("expires_at")
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=json.dumps(shown, ensure_ascii=False))],
        structured_content=shown,
        is_error=code != 0 and not queued,
    )


def _refused(text: str, code: int = 2) -> types.CallToolResult:
    return _answer({"ok": False, "error": {"message": text}}, code)


def problem(tool: Tool, arguments: Mapping[str, Any]) -> str | None:
    """What is wrong with the arguments against the tool's schema, in carctl's voice."""
    unknown = sorted(set(arguments) - set(tool.params))
    if unknown:
        return f"{tool.name} takes no argument {unknown[0]!r}; it takes {sorted(tool.params)}"
    for name in tool.required:
        if name not in arguments:
            return f"{tool.name} needs {name!r}"
    for name, value in arguments.items():
        kind = tool.params[name]["type"]
        numeric = isinstance(value, int | float) and not isinstance(value, bool)
        fits = {
            "string": isinstance(value, str) and value.isprintable() and 0 < len(value) <= 64,
            "boolean": isinstance(value, bool),
            "number": numeric and math.isfinite(value),
            "integer": numeric and math.isfinite(value) and float(value).is_integer(),
            "array": isinstance(value, list)
            and 0 < len(value) <= 50
            and all(isinstance(i, int) and not isinstance(i, bool) and i > 0 for i in value),
        }[kind]
        if not fits:
            return f"{tool.name}: {name} must be a {kind}, got {value!r}"[:200]
        low = tool.params[name].get("minimum")
        high = tool.params[name].get("maximum")
        if numeric and ((low is not None and value < low) or (high is not None and value > high)):
            return f"{tool.name}: {name} must be from {low} to {high}, got {value}"
    return None


class Spend:
    """This server session's spending on a paid vehicle API, from carctl's own ledger
    (`carctl usage`): the month's cost before the session's first call, and the limit."""

    def __init__(self, runner: CarctlRunner, limit: float | None) -> None:
        self.runner, self.limit = runner, limit
        self.start: float | None = None

    async def month(self) -> float:
        code, document = await self.runner.run(["--json", "usage"])
        cost = (document.get("data") or {}).get("cost") if code == 0 else None
        return float(cost) if isinstance(cost, int | float) else 0.0

    async def refusal(self) -> str | None:
        """Why the next call may not spend any more, or None."""
        if self.limit is None:
            return None
        now = await self.month()
        if self.start is None:
            self.start = now
        spent = now - self.start
        if spent < self.limit:
            return None
        return (
            f"the spend limit of this session is reached: ${spent:.3f} of ${self.limit:.3f} "
            "(carctl mcp --max-cost); nothing was sent"
        )


RESOURCES = {
    "carctl://cars": (
        "The cars as last seen",
        "Each car's name, VIN, state and its last live report (cabin, climate, windows, "
        "battery), with when it was read: from carctl's cache, without calling the API.",
    ),
    "carctl://queue": (
        "The queue",
        "Commands waiting to be delivered when the vehicle API recovers: id, command, "
        "state, deadline (carctl's own queue, no API call).",
    ),
}


class Handlers:
    """The server's answers to `tools/list`, `tools/call`, `resources/list` and `/read`."""

    def __init__(self, allow: set[str], max_cost: float | None, cars_seen: CarsSeen) -> None:
        self.allow, self.cars_seen = allow, cars_seen
        self.tools = {tool.name: tool for tool in TOOLS}
        self.runner = CarctlRunner()
        self.spend = Spend(self.runner, max_cost)

    async def list_tools(
        self, ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        return types.ListToolsResult(
            tools=[
                types.Tool(name=t.name, description=t.description, input_schema=_schema(t))
                for t in TOOLS
                if allowed(t, self.allow)
            ]
        )

    async def call_tool(
        self, ctx: ServerRequestContext[Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        tool = self.tools.get(params.name)
        if tool is None:
            return _refused(f"there is no tool {params.name!r}; `tools/list` names them")
        arguments = dict(params.arguments or {})
        wrong = problem(tool, arguments)
        if wrong is not None:
            return _refused(wrong)
        refused = refusal(tool, arguments, self.allow) or await self.spend.refusal()
        if refused is None and tool.tier(arguments) == UNLOCK:
            refused = await _confirm(ctx, tool)
        if refused is not None:
            return _refused(refused, 77)
        car = ["--vehicle", arguments["car"]] if "car" in arguments else []
        code, document = await self.runner.run(["--json", *car, *tool.argv(arguments)])
        return _answer(document, code)

    async def list_resources(
        self, ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListResourcesResult:
        return types.ListResourcesResult(
            resources=[
                types.Resource(uri=uri, name=name, description=text, mime_type="application/json")
                for uri, (name, text) in RESOURCES.items()
            ]
        )

    async def read_resource(
        self, ctx: ServerRequestContext[Any], params: types.ReadResourceRequestParams
    ) -> types.ReadResourceResult:
        uri = str(params.uri)
        if uri == "carctl://cars":  # a few rows of carctl's cache, read on this thread
            body: Any = self.cars_seen()
        elif uri == "carctl://queue":
            code, document = await self.runner.run(["--json", "queue"])
            body = document.get("data") if code == 0 else document
        else:
            raise ValueError(f"there is no resource {uri!r}; resources/list names them")
        text = json.dumps(body, ensure_ascii=False)
        return types.ReadResourceResult(
            contents=[types.TextResourceContents(uri=uri, mime_type="application/json", text=text)]
        )


def build(allow: set[str], max_cost: float | None, cars_seen: CarsSeen) -> Server[Any]:
    handlers = Handlers(allow, max_cost, cars_seen)
    return Server(
        "carctl",
        version=__version__,
        instructions=(
            "carctl drives the owner's car through its vehicle API, with retries, a queue "
            "for outages and a safety policy. Results carry `ok`, `queued` (delivered when "
            "the API recovers) or `error` with an exit code and its meaning."
        ),
        on_list_tools=handlers.list_tools,
        on_call_tool=handlers.call_tool,
        on_list_resources=handlers.list_resources,
        on_read_resource=handlers.read_resource,
    )


async def _confirm(ctx: ServerRequestContext[Any], tool: Tool) -> str | None:
    """The person's yes, through the client; the reason for a refusal otherwise."""
    asks = types.ClientCapabilities(elicitation=types.ElicitationCapability())
    if not ctx.session.check_client_capability(asks):
        return (
            f"{tool.name} needs the person's confirmation, and this client cannot ask "
            "(no elicitation): nothing was sent"
        )
    answer = await ctx.session.elicit_form(
        f"carctl: {tool.description.split('.')[0]}. Do it now?", CONFIRM, ctx.request_id
    )
    content = answer.content or {}
    if answer.action != "accept" or content.get("confirm") is not True:
        return f"{tool.name} was not confirmed by the person: nothing was sent"
    return None


def _protocol_error(problem: Exception) -> SessionMessage:
    """The answer to a line that is no JSON-RPC message (JSON-RPC 2.0: id null)."""
    kinds = {e.get("type") for e in getattr(problem, "errors", lambda: [])()}
    code = types.PARSE_ERROR if "json_invalid" in kinds else types.INVALID_REQUEST
    words = "not JSON" if code == types.PARSE_ERROR else "not a JSON-RPC request"
    error = types.ErrorData(code=code, message=f"the message is {words}; it was ignored")
    return SessionMessage(message=types.JSONRPCError(jsonrpc="2.0", id=None, error=error))


def serve(allow: set[str], max_cost: float | None, cars_seen: CarsSeen) -> None:
    """Serve until the assistant closes stdin. Ctrl-C ends the process at once: the
    thread reading stdin cannot be woken, and nothing here needs tidying (a command
    cut short is one carctl survives a kill -9 of)."""
    import os
    import signal

    server = build(allow, max_cost, cars_seen)
    signal.signal(signal.SIGINT, lambda *_: os._exit(130))

    async def main() -> None:
        async with stdio_server() as (read, write):
            screened_in, screened = anyio.create_memory_object_stream[Any](0)

            async def screen() -> None:
                """Hostile or broken lines get a protocol error; the rest go on."""
                async with screened_in:
                    async for item in read:
                        if isinstance(item, Exception):
                            await write.send(_protocol_error(item))
                        else:
                            await screened_in.send(item)

            async with anyio.create_task_group() as group:
                group.start_soon(screen)
                await server.run(screened, write, server.create_initialization_options())

    anyio.run(main)
