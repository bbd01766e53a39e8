"""The mock vehicle API that carctl ships.

A faithful imitation of the public shape of the Tesla Owner API: OAuth token
endpoint, vehicles, wake, vehicle data, commands, the Owner-API envelope and
error bodies, with a simulated car and fault injection.

This package imports nothing from the rest of carctl, so it can be served on
its own (`carctl mock serve`) or mounted in-process as the built-in endpoint.
The entry points are `create_app` (the Starlette application),
`carctl.mock.server.serve` and `carctl.mock.embedded.builtin_transport`.
"""

from carctl.mock.app import create_app

__all__ = ["create_app"]
