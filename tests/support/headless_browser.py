"""A browser for tests: `BROWSER="python headless_browser.py %s"` makes Python's
`webbrowser` run it with the authorize URL. It loads the sign-in page, fills in
the form it finds there, and follows the redirect — to carctl's loopback
listener — as a person's browser would.

HEADLESS_BROWSER selects what the person does: `sign-in` (default), `deny`,
`wrong-state` (an answer meant for another sign-in), or `never` (the tab is
closed and nothing comes back). HEADLESS_CA names a certificate the browser
trusts (the signing proxy flavour's throw-away one), as a person would accept it.
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
    httpx.get(location, timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
