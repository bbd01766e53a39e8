"""A vehicle API that answers what a test scripts, over real HTTP on 127.0.0.1 (port 0).

For what the mock, being faithful, will not do: name another car than the one
asked for, echo the bearer token, send field types no car sends. Routes are
`(METHOD, path glob)` → `(status, response)`; a response that is `bytes` is
sent as it is, anything else inside the Owner API's `{"response": …}`
envelope. The last matching route wins, so a test can override as it goes.
Every request is recorded (method, path, headers, body) for the test to check.
Set as HTTP_PROXY it also receives what carctl would send to any http:// host
(recorded with `x-proxied-for`), so a test can see traffic meant for another
computer while every byte stays on loopback.
"""

from __future__ import annotations

import fnmatch
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class ScriptedApi:
    url: str = ""
    routes: list[list[Any]] = field(default_factory=list)  # method, glob, status, body, times
    seen: list[Seen] = field(default_factory=list)

    def on(
        self, method: str, path: str, response: Any, status: int = 200, times: int | None = None
    ) -> None:
        """Answer `method path` so; `times`: only for the next N such requests."""
        self.routes.append([method, path, status, response, times])

    def answer(self, method: str, path: str) -> tuple[int, bytes]:
        for route in reversed(self.routes):
            want_method, pattern, status, response, times = route
            if times == 0:
                continue
            if want_method in (method, "*") and fnmatch.fnmatchcase(path, pattern):
                if times is not None:
                    route[4] = times - 1
                if isinstance(response, bytes):
                    return status, response
                if status >= 400 and isinstance(response, dict) and "error" in response:
                    return status, json.dumps({"response": None, **response}).encode()
                body: dict[str, Any] = {"response": response}
                if isinstance(response, list):
                    body["count"] = len(response)
                return status, json.dumps(body).encode()
        return 404, b'{"response": null, "error": "not_found"}'

    def requests(self, method: str, path: str = "*") -> list[Seen]:
        return [s for s in self.seen if s.method == method and fnmatch.fnmatchcase(s.path, path)]


def _handler(api: ScriptedApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _any(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            path = self.path.split("?", 1)[0]
            if path.startswith("http://"):  # asked as a proxy: `GET http://host/path`
                path = "/" + path.split("/", 3)[3] if path.count("/") >= 3 else "/"
                self.headers["x-proxied-for"] = self.path.split("/", 3)[2]
            api.seen.append(Seen(self.command, path, dict(self.headers.items()), body))
            status, payload = api.answer(self.command, path)
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_DELETE = _any

        def log_message(self, format: str, *args: Any) -> None:
            return None

    return Handler


@contextmanager
def scripted_api() -> Iterator[ScriptedApi]:
    api = ScriptedApi()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(api))
    server.daemon_threads = True
    api.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield api
    finally:
        server.shutdown()
        server.server_close()
