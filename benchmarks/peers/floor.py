"""The fastest program the mandated libraries allow for the same work.

    python floor.py climate-on|status|vent

click for the command line and a synchronous httpx.Client, with httpx's own
command-line client (which imports rich and pygments) kept out; two exchanges
(list the cars, then the command or the data), as TeslaPy does. No retries,
no queue, no checks: only the cost of the libraries and the wire.
"""

import os
import sys
import types

cli = types.ModuleType("httpx._main")
cli.main = lambda: None  # type: ignore[attr-defined]
sys.modules["httpx._main"] = cli
import click  # noqa: E402
import httpx  # noqa: E402

del sys.modules["httpx._main"]
PATHS = {
    "climate-on": ("POST", "command/auto_conditioning_start"),
    "vent": ("POST", "command/window_control"),
    "status": ("GET", "vehicle_data"),
}


@click.command()
@click.argument("work", type=click.Choice(list(PATHS)))
def main(work: str) -> None:
    headers = {"authorization": "Bearer " + os.environ["PEER_TOKEN"]}
    with httpx.Client(base_url=os.environ["PEER_URL"] + "/api/1", headers=headers) as http:
        cars = http.get("/vehicles").json()["response"]
        car = next(c for c in cars if c["display_name"] == os.environ["PEER_VEHICLE"])
        method, path = PATHS[work]
        body = {"command": "vent", "lat": 0, "lon": 0} if work == "vent" else None
        http.request(method, f"/vehicles/{car['id_s']}/{path}", json=body).raise_for_status()


main()
