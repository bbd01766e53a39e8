"""A browser for tests: `BROWSER="python headless_browser.py %s"` makes Python's
`webbrowser` run it with the authorize URL. It loads the sign-in page, fills in
the form it finds there, and follows the redirect — to carctl's loopback
listener — as a person's browser would.

HEADLESS_BROWSER selects what the person does: `sign-in` (default), `deny`,
`wrong-state` (an answer meant for another sign-in), `never` (the tab is
closed and nothing comes back), `silent-only` (nothing comes back, and a local
process holds a silent connection to the redirect port), `silent-first` (a
local process holds a silent connection to the redirect port first) or
`squatters-first` (that, and local callbacks that are not this sign-in's,
before the real one). HEADLESS_CA names a certificate the browser trusts (the
signing proxy flavour's throw-away one), as a person would accept it.
"""

from __future__ import annotations

import os
import re
import sys
from urllib.parse import parse_qs, urlencode, urlparse, urlunparse

import httpx


def main(url: str) -> int:
    mode = os.environ.get("HEADLESS_BROWSER", "sign-in")
    if mode == "never":
        return 0
    if mode == "silent-only":  # a local process holds the redirect port's ear, for 20 s
        import subprocess

        port = parse_qs(urlparse(url).query)["redirect_uri"][0].rsplit(":", 1)[1].split("/")[0]
        hold = (
            "import socket, time; s = socket.create_connection(('127.0.0.1', PORT)); time.sleep(20)"
        ).replace("PORT", port)
        subprocess.Popen(  # detached, holding none of carctl's pipes
            [sys.executable, "-c", hold],
            start_new_session=True,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        return 0
    verify: str | bool = os.environ.get("HEADLESS_CA") or True
    page = httpx.get(url, timeout=10, verify=verify)
    page.raise_for_status()
    form = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
    form.update({"identity": "owner@example.com", "credential": "ventilate-0600"})
    if mode == "deny":
        form["deny"] = "1"
    action = urlunparse(urlparse(url)._replace(path="/oauth2/v3/authorize", query=""))
    answer = httpx.post(action, data=form, timeout=10, verify=verify)
    location = answer.headers["location"]
    if mode == "wrong-state":
        parts = urlparse(location)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        query["state"] = "someone-elses"
        location = urlunparse(parts._replace(query=urlencode(query)))
    if os.environ.get("HEADLESS_PRINT_ONLY"):
        print(location)
        return 0
    if mode in ("squatters-first", "silent-first"):
        _squatters(location, silent_only=mode == "silent-first")
    httpx.get(location, timeout=10)
    return 0


def _squatters(location: str, *, silent_only: bool) -> None:
    """Other local processes reach the redirect port before the browser does: one opens a
    connection and says nothing (left open), others send callbacks that are not this
    sign-in's (no state, another state, an error without state)."""
    import socket

    parts = urlparse(location)
    silent = socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80))
    _SILENT.append(silent)  # kept open while the real answer arrives
    if silent_only:
        return
    base = urlunparse(parts._replace(query=""))
    for query in ("code=stolen", "code=stolen&state=someone-elses", "error=access_denied"):
        httpx.get(f"{base}?{query}", timeout=10)


_SILENT: list[object] = []


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
