"""A deliberately hostile HTTP server on 127.0.0.1 (port 0), for what the mock will not do.

It answers every request with the same crafted bytes: a body under any
`Content-Encoding` stack, a body trickled one byte at a time, or whatever a
test writes. Real sockets, so carctl's real HTTP stack is what is tested.
"""

from __future__ import annotations

import socket
import socketserver
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class Script:
    head: bytes  # status line and headers, ending with a blank line
    body: bytes = b""
    trickle_s: float | None = None  # send the body one byte per interval
    requests: list[bytes] = field(default_factory=list)


def response(status: int, headers: dict[str, str], body: bytes, *, length: bool = True) -> Script:
    lines = [f"HTTP/1.1 {status} X".encode()]
    if length:
        headers = {**headers, "content-length": str(len(body))}
    lines += [f"{k}: {v}".encode() for k, v in headers.items()]
    return Script(b"\r\n".join(lines) + b"\r\n\r\n", body)


def _handler(script: Script) -> type[socketserver.BaseRequestHandler]:
    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            sock: socket.socket = self.request
            sock.settimeout(30)
            try:
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = sock.recv(65536)
                    if not chunk:
                        return
                    data += chunk
                script.requests.append(data.split(b"\r\n", 1)[0])
                sock.sendall(script.head)
                if script.trickle_s is None:
                    sock.sendall(script.body)
                    time.sleep(0.2)  # let the client read before the close
                    return
                for byte in script.body:
                    sock.sendall(bytes([byte]))
                    time.sleep(script.trickle_s)
            except OSError:
                return

    return Handler


@contextmanager
def raw_server(script: Script) -> Iterator[str]:
    """Serve `script` until the block ends; yields the base URL."""

    class Server(socketserver.ThreadingTCPServer):
        daemon_threads = True
        allow_reuse_address = True

    with Server(("127.0.0.1", 0), _handler(script)) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}"
        finally:
            server.shutdown()
