"""`carctl api`: one signed-in request to the vehicle API, printed as JSON.

For support ("what does the API say about my car?") and for scripts that need
an endpoint carctl has no command for. It goes through the same client as
every command: session renewal, error mapping, request log, `-v`.
"""

from __future__ import annotations

import json
from typing import Any

import click

from carctl.cli.context import AppContext, pass_app
from carctl.errors import UsageError

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def _fields(pairs: tuple[str, ...]) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"field {pair!r} is not KEY=VALUE", hint="e.g. -f driver_temp=21")
        try:
            body[key] = json.loads(raw)  # numbers, true/false, null and quoted strings
        except ValueError:
            body[key] = raw
    return body


@click.command()
@click.argument("path")
@click.option(
    "-X",
    "--method",
    type=click.Choice(METHODS, case_sensitive=False),
    help="HTTP method (default GET, or POST with fields).",
)
@click.option(
    "-f", "--field", "fields", multiple=True, metavar="KEY=VALUE", help="A JSON body field."
)
@pass_app
def api(app: AppContext, path: str, method: str | None, fields: tuple[str, ...]) -> None:
    """Send one request to the vehicle API and print its response.

    For support and scripts: the `response` member of the answer, signed in.

    PATH is an Owner API path such as /api/1/vehicles. Example:
    carctl api -X POST /api/1/vehicles/1492931337131/command/set_temps
    -f driver_temp=21 -f passenger_temp=21
    """
    if not path.startswith("/") or "://" in path:
        raise UsageError(f"{path!r} is not a path on the vehicle API", hint="e.g. /api/1/vehicles")
    body = _fields(fields)
    verb = (method or ("POST" if body else "GET")).upper()

    def send() -> Any:
        from carctl.errors import ExitCode, NotFoundError

        with app.api() as client:
            try:
                return client.request(verb, path, json_body=body or None)
            except NotFoundError as exc:  # an answer, not a mistake in how carctl was called
                exc.exit_code = ExitCode.FAILURE
                raise

    data = app.run(send)
    app.output.result(app.command, data, human=json.dumps(data, indent=2, ensure_ascii=False))
