"""The fastest program the mandated libraries allow for carctl's own exchanges.

    python floor.py climate-on|status|vent

click for the command line and a synchronous httpx.Client, with httpx's own
command-line client (which imports rich and pygments) kept out, and — like
carctl — no CA bundle loaded for a plain http:// address. It makes exactly the
exchanges carctl makes for the same work, the car's id known as carctl knows it
from its cache: the command and the read-back of the car's state (`status`:
the read alone). No retries, no queue, no checks: only the cost of the
libraries and the wire. `peers.py` checks that the exchanges are the same.
"""

import os
import ssl
import sys
import types

cli = types.ModuleType("httpx._main")
cli.main = lambda: None  # type: ignore[attr-defined]
sys.modules["httpx._main"] = cli
import click  # noqa: E402
import httpx  # noqa: E402

del sys.modules["httpx._main"]
COMMANDS = {
    "climate-on": ("auto_conditioning_start", None),
    "vent": ("window_control", {"command": "vent", "lat": 0, "lon": 0}),
    "status": (None, None),
}


@click.command()
@click.argument("work", type=click.Choice(list(COMMANDS)))
def main(work: str) -> None:
    headers = {"authorization": "Bearer " + os.environ["PEER_TOKEN"]}
    trusts_nothing = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # never used for http://
    car = f"/vehicles/{os.environ['PEER_ID']}"
    with httpx.Client(
        base_url=os.environ["PEER_URL"] + "/api/1", headers=headers, verify=trusts_nothing
    ) as http:
        command, body = COMMANDS[work]
        if command is not None:
            http.post(f"{car}/command/{command}", json=body).raise_for_status()
        http.get(f"{car}/vehicle_data").raise_for_status()


main()
