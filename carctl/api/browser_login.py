"""Signing in with a browser: OAuth 2.0 authorization code with PKCE and a loopback redirect.

The flow Tesla documents for third-party applications (Fleet API,
"Authentication: third-party tokens") and RFC 8252 describes for native apps:
carctl opens the authorize page in the owner's browser with a PKCE S256
challenge and a random `state`; the owner signs in there (carctl never sees
the password); the service redirects to `http://127.0.0.1:PORT/callback` — the
loopback address, not the name `localhost`, which may resolve to `::1` where
another program can listen (RFC 8252 §8.3) — where carctl waits for the one
answer that carries this sign-in's `state`; anything else that reaches the
port (a silent connection, a callback of another sign-in or of nobody's) is
answered and ignored, and the whole wait is bounded by the timeout. carctl
exchanges the code, with its verifier, for tokens. On a machine without a
browser the URL is printed and the final redirect URL pasted back.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
from collections.abc import Callable
from dataclasses import field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

from carctl.errors import AuthError, ConfigError, UsageError
from carctl.records import record

DEFAULT_SCOPES = "openid offline_access vehicle_device_data vehicle_cmds vehicle_location"
CALLBACK_PATH = "/callback"
DONE_PAGE = (
    b"<!doctype html><meta charset=utf-8><title>carctl</title>"
    b"<p>carctl has what it needs: you can close this tab and return to the terminal.</p>"
)


def pkce_pair() -> tuple[str, str]:
    """A verifier and its S256 challenge (RFC 7636)."""
    verifier = secrets.token_urlsafe(64)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


@record
class Request:
    """One browser sign-in: what goes into the authorize URL and what must come back."""

    auth_base: str  # the sign-in service's address, e.g. https://auth.tesla.com
    client_id: str
    redirect_uri: str
    scopes: str = DEFAULT_SCOPES
    state: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    verifier: str = ""
    challenge: str = ""

    def __post_init__(self) -> None:
        if not self.verifier:
            self.verifier, self.challenge = pkce_pair()

    @property
    def url(self) -> str:
        query = urlencode(
            {
                "client_id": self.client_id,
                "redirect_uri": self.redirect_uri,
                "response_type": "code",
                "scope": self.scopes,
                "state": self.state,
                "code_challenge": self.challenge,
                "code_challenge_method": "S256",
            }
        )
        return f"{self.auth_base.rstrip('/')}/oauth2/v3/authorize?{query}"

    def code_from(self, redirect: str) -> str:
        """The authorization code from where the browser was sent back, checked."""
        query = {k: v[0] for k, v in parse_qs(urlparse(redirect.strip()).query).items()}
        if "error" in query:
            said = query.get("error_description") or query["error"]
            raise AuthError(
                f"the sign-in page refused: {said}",
                hint="sign in again and allow carctl the access it asks for",
            )
        if query.get("state") != self.state:
            raise AuthError(
                "the sign-in answer does not belong to this sign-in (its state differs); "
                "nothing was accepted",
                hint="start again with `carctl auth login --web`, and use only the newest "
                "browser tab",
            )
        code = query.get("code")
        if not code:
            raise AuthError(
                "the sign-in answer carries no authorization code",
                hint="copy the whole address the browser ended on",
            )
        return code


NOT_THIS_PAGE = (
    b"<!doctype html><meta charset=utf-8><title>carctl</title>"
    b"<p>This is not the answer carctl is waiting for.</p>"
)


class _Handler(BaseHTTPRequestHandler):
    server: LoopbackReceiver
    timeout = 5  # a connection that says nothing is dropped, never waited on

    def do_GET(self) -> None:
        parts = urlparse(self.path)
        if parts.path != CALLBACK_PATH:
            self.send_error(404)
            return
        ours = self.server.belongs(parse_qs(parts.query).get("state", [""])[0])
        page = DONE_PAGE if ours else NOT_THIS_PAGE
        self.send_response(200 if ours else 400)
        self.send_header("content-type", "text/html; charset=utf-8")
        self.send_header("content-length", str(len(page)))
        self.end_headers()
        self.wfile.write(page)
        if ours:
            self.server.received(f"http://127.0.0.1:{self.server.server_port}{self.path}")

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the request line carries the code, which belongs in no log."""


class LoopbackReceiver(ThreadingHTTPServer):
    """Listens on 127.0.0.1 for the one redirect, with this sign-in's state, that ends it.

    Each connection is handled on its own thread with a read timeout, so a local
    process that connects and says nothing holds nothing up; closing never waits
    for such a connection."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, port: int, state: str = "") -> None:
        try:
            super().__init__(("127.0.0.1", port), _Handler)
        except OSError as exc:
            raise ConfigError(
                f"cannot listen on port {port} for the sign-in's redirect: {exc.strerror or exc}",
                hint="another program uses it: close it, or register another redirect URI "
                "and `carctl config set auth.redirect_port PORT`",
            ) from None
        self.state = state
        self.arrived = threading.Event()
        self.redirect = ""

    @property
    def redirect_uri(self) -> str:
        return f"http://127.0.0.1:{self.server_port}{CALLBACK_PATH}"

    def belongs(self, state: str) -> bool:
        """Does a callback carry this sign-in's state? (No state set: any callback does.)"""
        return not self.state or secrets.compare_digest(state.encode(), self.state.encode())

    def received(self, redirect: str) -> None:
        if not self.arrived.is_set():
            self.redirect = redirect
            self.arrived.set()

    def start(self) -> None:
        """Serve in the background: the browser may come back before `open` returns."""
        thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05})
        thread.daemon = True
        thread.start()

    def wait(self, timeout: float) -> str | None:
        try:
            self.arrived.wait(timeout)
        finally:
            self.shutdown()
            self.server_close()
        return self.redirect or None


Opener = Callable[[str], bool]  # opens a URL in a browser; False when there is none
Paste = Callable[[], str]  # reads the redirect URL the owner pasted


def authorize(
    request: Request,
    receiver: LoopbackReceiver,
    *,
    open_browser: Opener | None,
    paste: Paste | None,
    say: Callable[[str], None],
    timeout: float,
) -> str:
    """The authorization code: from the loopback redirect, or pasted back without a browser."""
    receiver.state = request.state  # only the answer to this sign-in ends the wait
    receiver.start()
    opened = open_browser(request.url) if open_browser is not None else False
    if not opened:
        receiver.shutdown()
        receiver.server_close()
        if paste is None:
            raise UsageError(
                "there is no browser here, and no terminal to paste the answer into",
                hint="sign in on a machine with a browser, or use `carctl auth login "
                "--with-token` with a refresh token",
            )
        say(f"Open this address in a browser and sign in:\n{request.url}")
        say("Then paste here the address the browser ends on (it may show an error page):")
        return request.code_from(paste())
    say("Sign in in the browser window carctl opened; waiting for it to come back…")
    redirect = receiver.wait(timeout)
    if redirect is None:
        raise AuthError(
            f"the browser did not come back within {timeout:g} s; nothing was signed in",
            hint="run `carctl auth login --web` again (or --no-browser to paste the answer)",
        )
    return request.code_from(redirect)
