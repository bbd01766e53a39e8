"""`carctl mock drive`: put one of the mock's cars on the road, or park it.

The car follows the route over the mock's clock (`carctl mock clock --advance`
moves it on), and everything that reads the car sees it move: `vehicle_data`,
the streaming websocket, carctl's own status.
"""

from __future__ import annotations

import click

from carctl.cli.context import AppContext, pass_app
from carctl.cli.mock_options import URL_OPTION
from carctl.errors import UsageError

POINT_EXAMPLE = "37.5600,126.9880"


def _point(text: str) -> list[float]:
    parts = text.replace(" ", "").split(",")
    try:
        lat, lon = (float(p) for p in parts)
    except ValueError:
        raise UsageError(
            f"{text!r} is not a position", hint=f"give LAT,LON in degrees, e.g. {POINT_EXAMPLE}"
        ) from None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise UsageError(
            f"{text!r} is off the globe", hint="latitude -90 to 90, longitude -180 to 180"
        )
    return [lat, lon]


@click.command()
@click.argument("vin")
@click.argument("route", nargs=-1, metavar="LAT,LON...")
@click.option(
    "--speed",
    type=click.FloatRange(1, 250),
    default=50.0,
    show_default=True,
    metavar="KM/H",
    help="A steady speed along the whole route.",
)
@click.option("--park", is_flag=True, help="Stop where the car is and park it.")
@URL_OPTION
@pass_app
def drive(
    app: AppContext, vin: str, route: tuple[str, ...], speed: float, park: bool, url: str | None
) -> None:
    """Drive a car of the mock from where it is through LAT,LON points, then park.

    Example: carctl mock drive 5YJ3E7EA1MF000621 37.56,126.988 37.56,126.995
    """
    from carctl.api.builtin import control

    path = f"/__mock__/vehicles/{vin.strip()}/drive"
    if park:
        if route:
            raise UsageError("--park takes no route", hint="drop the points, or drop --park")
        car = control(app.paths.state_db, "DELETE", path, url=url)
        human = f"{car['display_name']} parked at {car['latitude']:.5f},{car['longitude']:.5f}"
        app.output.result(app.command, car, human=human)
        return
    if not route:
        raise UsageError("give the route: one or more LAT,LON points", hint=f"e.g. {POINT_EXAMPLE}")
    body = {"route": [_point(p) for p in route], "speed_kph": speed}
    trip = control(app.paths.state_db, "POST", path, body, url=url)
    from carctl.mock.durations import format_duration

    human = (
        f"{trip['display_name']} drives {trip['route_km']:.2f} km at {trip['speed_kph']:g} km/h: "
        f"there in {format_duration(trip['takes_s'])} of mock time"
    )
    app.output.result(app.command, trip, human=human)
