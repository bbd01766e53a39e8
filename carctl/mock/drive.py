"""A car on the road: a route of positions driven at a steady speed over the mock's clock.

Like the rest of the car, the drive is computed lazily: `advance` moves the car
along what is left of its route for the time that passed, straight from point
to point, and parks it ("P") at the last one. The odometer counts the distance
in miles (the Owner API's unit) and the battery pays for it at `KWH_PER_KM` of
a `BATTERY_KWH` pack, so a client that streams or polls sees a car that moves,
uses charge and arrives. Driving keeps the car awake.
"""

from __future__ import annotations

import itertools
from typing import Any, Protocol

from carctl.mock.geo import bearing, km_between


class Traveller(Protocol):
    """What a drive moves: the simulated car (`carctl.mock.car.Traveller`)."""

    latitude: float
    longitude: float
    heading: float
    odometer: float
    battery_level: float
    last_activity: float
    state: str
    wake_at: float | None
    shift_state: str | None
    drive: dict[str, Any]


KM_PER_MILE = 1.609344
KWH_PER_KM = 0.15  # a Model 3 at town speeds
BATTERY_KWH = 75.0
MAX_POINTS = 10_000
SPEED_KPH = (1.0, 250.0)
UNKNOWN_ROAD_KPH = 48.0


class RouteError(ValueError):
    """A route or speed no car could drive."""


def checked_route(points: Any, speed_kph: Any) -> tuple[list[list[float]], float]:
    """The admin API's `{"route": [[lat, lon], ...], "speed_kph": n}`, or RouteError."""
    if not isinstance(points, list) or not 1 <= len(points) <= MAX_POINTS:
        raise RouteError(f"route must be a list of 1 to {MAX_POINTS} [lat, lon] points")
    route = []
    for index, point in enumerate(points):
        if (
            not isinstance(point, list | tuple)
            or len(point) != 2
            or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in point)
            or not (-90 <= point[0] <= 90 and -180 <= point[1] <= 180)
        ):
            raise RouteError(f"route[{index}] must be [lat, lon] in degrees, got {point!r}")
        route.append([float(point[0]), float(point[1])])
    low, high = SPEED_KPH
    if isinstance(speed_kph, bool) or not isinstance(speed_kph, int | float):
        raise RouteError(f"speed_kph must be a number from {low:g} to {high:g}")
    if not low <= speed_kph <= high:
        raise RouteError(f"speed_kph must be from {low:g} to {high:g}, got {speed_kph:g}")
    return route, float(speed_kph)


def start(car: Traveller, route: list[list[float]], speed_kph: float, now: float) -> float:
    """Put the car on the road (an asleep car is woken by its driver); the route's length
    in km."""
    car.drive = {"route": route, "speed_kph": speed_kph, "started_at": now}
    car.shift_state = "D"
    car.state, car.wake_at = "online", None
    car.last_activity = max(car.last_activity, now)
    points = [[car.latitude, car.longitude], *route]
    return sum(km_between(a, b) for a, b in itertools.pairwise(points))


def park(car: Traveller, now: float) -> None:
    car.drive = {}
    car.shift_state = "P"
    car.last_activity = max(car.last_activity, now)


def advance(car: Traveller, since: float, now: float) -> None:
    """Move the car along its route for `now - since` seconds at its speed."""
    left_km = car.drive["speed_kph"] * (now - since) / 3600.0
    route: list[list[float]] = car.drive["route"]
    driven = 0.0
    while route and left_km > 0:
        target = route[0]
        here = [car.latitude, car.longitude]
        leg = km_between(here, target)
        if leg > 0:
            car.heading = bearing(here, target)
        if leg <= left_km:
            car.latitude, car.longitude = target
            route.pop(0)
            left_km -= leg
            driven += leg
            continue
        share = left_km / leg
        car.latitude = here[0] + (target[0] - here[0]) * share
        car.longitude = here[1] + (target[1] - here[1]) * share
        driven += left_km
        left_km = 0.0
    car.odometer += driven / KM_PER_MILE
    car.battery_level = max(0.0, car.battery_level - driven * KWH_PER_KM / BATTERY_KWH * 100)
    car.last_activity = max(car.last_activity, now)
    if not route:
        park(car, now)


def _speed_kph(car: Traveller) -> float:
    """The route's speed; a car put in gear without a route (the admin API's `shift_state`)
    is driven somewhere the mock does not follow, at `UNKNOWN_ROAD_KPH`."""
    if car.drive:
        return float(car.drive["speed_kph"])
    return UNKNOWN_ROAD_KPH if car.shift_state in ("D", "R", "N") else 0.0


def speed_mph(car: Traveller) -> int | None:
    """What the speedometer shows, in the Owner API's mph; None when parked."""
    kph = _speed_kph(car)
    return round(kph / KM_PER_MILE) if kph else None


def power_kw(car: Traveller) -> int:
    """The power drawn: the energy per km at the speed."""
    return round(_speed_kph(car) * KWH_PER_KM)
