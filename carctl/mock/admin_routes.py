"""The control API under `/__mock__/`, served only with `--admin`.

The contract (tests and users' scripts rely on it; extend, don't change):
`/faults` GET (with each rule's remaining time) / PUT (replace) / POST
(append) / DELETE; `/stats` GET / DELETE; `/clock` GET / POST
`{"advance": s}`; `/reset` POST; `/vehicles/{v}` PATCH for test set-ups;
`/vehicles/{v}/drive` POST (a route to follow) / DELETE (park).
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from starlette.responses import JSONResponse, Response

from carctl.mock import drive as road
from carctl.mock.car import VEHICLE_FIELDS, SimVehicle
from carctl.mock.car_data import summary
from carctl.mock.durations import MAX_DURATION
from carctl.mock.faults import (
    FaultRule,
    FaultRuleError,
    parse_moment,
    parse_rule,
    rule_from_mapping,
)
from carctl.mock.http import BadBody, Call, api_error, not_found
from carctl.mock.seed import COMMAND_SIGNING, SCHEDULE_SUPPORT
from carctl.mock.world import Stats, iso


def _rules(call: Call) -> list[FaultRule] | Response:
    try:
        fields = call.fields()
    except BadBody as exc:
        return api_error(400, "invalid_field", str(exc))
    items = fields.get("rules")
    if not isinstance(items, list):
        return api_error(400, "invalid_field", 'expected {"rules": [ ... ]}')
    rules = []
    for index, item in enumerate(items):
        try:
            if isinstance(item, str):
                rule = parse_rule(item)
            elif isinstance(item, dict):
                rule = rule_from_mapping(item, typed=True)
            else:
                raise FaultRuleError("expected a rule object or a rule string")
        except FaultRuleError as exc:
            return api_error(400, "invalid_field", f"rules[{index}]: {exc}")
        rules.append(rule.installed(call.now))
    return rules


def faults_show(call: Call) -> Response:
    return JSONResponse({"now": iso(call.now), "rules": call.world.plan.describe(call.now)})


def faults_replace(call: Call) -> Response:
    rules = _rules(call)
    if isinstance(rules, Response):
        return rules
    call.world.plan.rules = rules
    return faults_show(call)


def faults_append(call: Call) -> Response:
    rules = _rules(call)
    if isinstance(rules, Response):
        return rules
    call.world.plan.rules.extend(rules)
    return faults_show(call)


def faults_clear(call: Call) -> Response:
    call.world.plan.rules = []
    return faults_show(call)


def stats_show(call: Call) -> Response:
    return JSONResponse({**call.world.stats.to_json(), "concurrency": dict(call.concurrency)})


def stats_clear(call: Call) -> Response:
    call.world.stats = Stats()
    for key in call.concurrency:
        if key != "in_flight":
            call.concurrency[key] = 0
    return stats_show(call)


def clock_show(call: Call) -> Response:
    return JSONResponse(
        {"now": iso(call.now), "epoch": call.now, "offset": call.world.clock_offset}
    )


def clock_advance(call: Call) -> Response:
    try:
        fields = call.fields()
    except BadBody as exc:
        return api_error(400, "invalid_field", str(exc))
    if "set" in fields:  # a moment, forwards or back: follow with a reset for a fresh world
        try:
            moment = parse_moment(fields["set"], "set")
        except FaultRuleError as exc:
            return api_error(400, "invalid_field", str(exc))
        call.world.clock_offset += moment - call.now
        call.now = moment
        return clock_show(call)
    advance = fields.get("advance")
    if (
        isinstance(advance, bool)
        or not isinstance(advance, int | float)
        or not 0 <= advance <= MAX_DURATION
    ):
        return api_error(
            400, "invalid_field", "advance must be a number of seconds from 0 to ten years"
        )
    call.world.clock_offset += float(advance)
    call.now += float(advance)
    return clock_show(call)


def reset(call: Call) -> Response:
    """Restore the seed the world was made from; the fault plan and clock stay."""
    call.world.reset(call.seed_for(call.world.seed_source), now=call.now)
    return clock_show(call)


def vehicles_show(call: Call) -> Response:
    """Every car of the world, settled to now: what `carctl mock show` prints."""
    cars = []
    for car in call.world.vehicles:
        car.settle(call.now)
        cars.append(
            {
                **summary(car),
                "owner": car.owner,
                "inside_temp": round(car.inside_temp, 1),
                "outside_temp": car.outside_temp,
                "is_climate_on": car.is_climate_on,
                "driver_temp_setting": car.driver_temp_setting,
                "battery_level": round(car.battery_level, 1),
                "windows": car.windows,
                "locked": car.locked,
                "sentry_mode": car.sentry_mode,
                "latitude": car.latitude,
                "longitude": car.longitude,
                "refusal": car.refusal or None,
                "wake_in": None if car.wake_at is None else round(car.wake_at - call.now, 1),
                "time_zone": car.time_zone,
                "local_time": datetime.fromtimestamp(call.now, car.zone).strftime("%a %H:%M"),
                "schedule_support": car.schedule_support,
                "schedules": car.schedules,
                "departure": car.departure or None,
                "schedule_runs": [
                    {**run, "started_at": iso(run["started_at"]), "ready_at": iso(run["ready_at"])}
                    for run in car.runs[-5:]
                ],
                "scheduled_until": None
                if car.scheduled_until is None
                else iso(car.scheduled_until),
                "shift_state": car.shift_state,
                "speed_kph": car.drive.get("speed_kph"),
                "route_left": len(car.drive.get("route", [])),
                "odometer": round(car.odometer, 1),
            }
        )
    return JSONResponse({"now": iso(call.now), "vehicles": cars})


def _is_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


CHOICES = {
    "car_type": ("model3", "modely", "models", "modelx", "cybertruck"),
    "state": ("online", "asleep", "offline"),
    "schedule_support": SCHEDULE_SUPPORT,
    "command_signing": COMMAND_SIGNING,
}


def _field_problem(key: str, value: Any) -> str | None:
    """What is wrong with one PATCH field, or None."""
    expected, bounds = VEHICLE_FIELDS[key]
    if isinstance(value, bool) and expected is not bool:
        return "expected a number" if bounds else "expected text"
    if not isinstance(value, expected):
        names: dict[Any, str] = {bool: "true or false", str: "text", int: "a whole number"}
        return f"expected {names.get(expected, 'a number')}"
    if isinstance(value, float) and not math.isfinite(value):
        return "expected a finite number"
    number = float(value) if isinstance(value, int | float) else None
    if bounds is not None and number is not None and not bounds[0] <= number <= bounds[1]:
        return f"expected {bounds[0]:g} to {bounds[1]:g}"
    if key in CHOICES and value not in CHOICES[key]:
        return f"expected one of {', '.join(CHOICES[key])}"
    if key == "time_zone" and not _is_zone(str(value)):
        return "expected an IANA time zone such as Asia/Seoul"
    return None


def vehicle_patch(call: Call) -> Response:
    found = _car_and_fields(call)
    if isinstance(found, Response):
        return found
    car, fields = found
    unknown = sorted(set(fields) - set(VEHICLE_FIELDS))
    if unknown:
        return api_error(
            400,
            "invalid_field",
            f"cannot set {unknown[0]!r}; settable: {', '.join(VEHICLE_FIELDS)}",
        )
    for key, value in fields.items():
        problem = _field_problem(key, value)
        if problem is not None:
            return api_error(400, "invalid_field", f"{key}: {problem}, got {value!r}")
    for key, value in fields.items():  # all checked first: a bad field changes nothing
        setattr(car, key, value)
        car.__dict__.pop("zone", None)  # a new time zone: read again on next use
        if key == "state":
            car.wake_at = None
            car.last_activity = call.now
    return JSONResponse(summary(car))


def _admin_car(call: Call) -> SimVehicle | Response:
    car = next((c for c in call.world.vehicles if c.matches(call.params["v"])), None)
    if car is None:
        return not_found(f"no vehicle {call.params['v']!r}")
    car.settle(call.now)
    return car


def _car_and_fields(call: Call) -> tuple[SimVehicle, dict[str, Any]] | Response:
    """The car a control request names, settled to now, and the request's JSON body."""
    try:
        fields = call.fields()
    except BadBody as exc:
        return api_error(400, "invalid_field", str(exc))
    car = _admin_car(call)
    return car if isinstance(car, Response) else (car, fields)


def vehicle_drive(call: Call) -> Response:
    """`POST /__mock__/vehicles/{v}/drive {"route": [[lat, lon], ...], "speed_kph": n}`:
    the car leaves where it is and follows the route over the mock's clock."""
    found = _car_and_fields(call)
    if isinstance(found, Response):
        return found
    car, fields = found
    if car.state == "offline":
        return api_error(409, "vehicle_offline", "an offline car cannot be driven; set it online")
    try:
        route, speed = road.checked_route(fields.get("route"), fields.get("speed_kph", 50))
    except road.RouteError as exc:
        return api_error(400, "invalid_field", str(exc))
    km = road.start(car, route, speed, call.now)
    takes = km / speed * 3600.0
    return JSONResponse(
        {
            "vin": car.vin,
            "display_name": car.display_name,
            "route_km": round(km, 3),
            "speed_kph": speed,
            "takes_s": round(takes, 1),
            "arrives_at": iso(call.now + takes),
        }
    )


def vehicle_park(call: Call) -> Response:
    """`DELETE /__mock__/vehicles/{v}/drive`: the driver stops where the car is and parks."""
    car = _admin_car(call)
    if isinstance(car, Response):
        return car
    road.park(car, call.now)
    return JSONResponse(
        {
            "vin": car.vin,
            "display_name": car.display_name,
            "latitude": car.latitude,
            "longitude": car.longitude,
            "odometer": round(car.odometer, 1),
            "shift_state": car.shift_state,
        }
    )
