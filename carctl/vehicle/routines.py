"""The owner's routines: wake, climate, vent, precondition.

Each is a plain function over a `VehicleService` that returns a result
with `to_json()` (the envelope's `data`), so the command line only parses and
renders. The machinery they share is in `carctl.vehicle.steps`; the car's other
commands are in `carctl.vehicle.car_routines`, `status` in `carctl.vehicle.status`.
"""

from __future__ import annotations

from typing import Any

from carctl.errors import (
    RefusedError,
    TemporaryError,
)
from carctl.vehicle import fields
from carctl.vehicle.commands import Command
from carctl.vehicle.model import Vehicle
from carctl.vehicle.service import VehicleService, Wake
from carctl.vehicle.steps import Result, Steps, _read_back, awaken, perform


def wake(service: VehicleService, selector: str | None, *, timeout: float) -> Wake:
    vehicle = service.locate(selector, ask=True)
    return service.wake(vehicle, timeout=timeout)


def _outside(steps: Steps, selector: str | None, timeout: float) -> tuple[Vehicle, float]:
    """The car, awake, and the outside temperature it reads now (a sleeping car's last
    reading may be hours old: it is woken, as the routine would wake it anyway)."""
    service = steps.service
    vehicle = service.locate(selector)
    service.check_signing(vehicle)
    vehicle = awaken(steps, vehicle, timeout)
    data = steps.run(
        "outside", "outside temperature read", lambda: service.data(vehicle, ["climate_state"])
    )
    outside = fields.number(fields.section(data, "climate_state"), "outside_temp", "climate_state")
    if outside is None:
        raise RefusedError(
            f"{vehicle.label} did not report the outside temperature, so carctl cannot tell "
            "whether it is cold enough; nothing was sent",
            hint="run it without --if-below, or try again in a minute",
        )
    steps.done[-1].detail = f"outside {outside:.1f} °C"
    return vehicle, float(outside)


def temps(temp: float, passenger: float | None = None) -> Command:
    both = passenger if passenger is not None else temp
    return Command("set_temps", {"driver_temp": temp, "passenger_temp": both})


def climate(
    service: VehicleService,
    selector: str | None,
    *,
    on: bool,
    temp: float | None = None,
    timeout: float = 60.0,
    expires_at: float | None = None,
) -> Result:
    """`climate on [--temp C]` and `climate off`."""
    steps = Steps(service)
    plan = [temps(temp)] if temp is not None else []
    plan.append(Command("auto_conditioning_start" if on else "auto_conditioning_stop"))
    vehicle = perform(steps, selector, plan, timeout=timeout, expires_at=expires_at)
    result = Result(vehicle, steps, expires_at=expires_at)
    if _read_back(result, ["climate_state"]) is not None and result.climate is not None:
        result.confirmed = result.climate.get("is_climate_on") is on and (
            temp is None or result.climate.get("driver_temp_setting") == temp
        )
    return result


def set_temperature(
    service: VehicleService,
    selector: str | None,
    *,
    temp: float,
    passenger: float | None = None,
    timeout: float = 60.0,
    expires_at: float | None = None,
) -> Result:
    steps = Steps(service)
    command = temps(temp, passenger)
    vehicle = perform(steps, selector, [command], timeout=timeout, expires_at=expires_at)
    result = Result(vehicle, steps, expires_at=expires_at)
    if _read_back(result, ["climate_state"]) is not None and result.climate is not None:
        result.confirmed = (
            result.climate.get("driver_temp_setting") == temp
            and result.climate.get("passenger_temp_setting") == command.params["passenger_temp"]
        )
    return result


def windows(
    service: VehicleService,
    selector: str | None,
    *,
    close: bool,
    timeout: float = 60.0,
    expires_at: float | None = None,
) -> Result:
    steps = Steps(service)
    params: dict[str, Any] = (
        {"command": "close"} if close else {"command": "vent", "lat": 0, "lon": 0}
    )
    plan = [Command("window_control", params)]
    vehicle = perform(steps, selector, plan, timeout=timeout, expires_at=expires_at)
    result = Result(vehicle, steps, expires_at=expires_at)
    if _read_back(result, ["vehicle_state"]) is not None and result.windows is not None:
        result.confirmed = bool(result.windows["closed" if close else "vented"])
    return result


def precondition(
    service: VehicleService,
    selector: str | None,
    *,
    temp: float | None,
    vent: bool,
    expires_at: float | None,
    timeout: float = 60.0,
    if_below: float | None = None,
    defrost: bool = False,
) -> Result:
    """The morning routine: wake, set the temperature, climate on, vent — each step reported.

    If the API fails part-way, the remaining steps are queued together. With
    `if_below` the car's outside temperature is read first and nothing is sent
    when it is not below; with `defrost` the most heat is asked for below 0 °C.
    """
    steps = Steps(service)
    outside = None
    if if_below is not None or defrost:
        try:
            vehicle, outside = _outside(steps, selector, timeout)
        except TemporaryError as exc:
            exc.hint = (
                "not queued: whether to warm the car depends on the outside temperature it "
                "reads, and the failing vehicle API could not give it; try again later"
            )
            raise
        if if_below is not None and outside >= if_below:
            result = Result(vehicle, steps, confirmed=True)
            result.skipped = {"outside_temp": outside, "if_below": if_below}
            return result
    plan = [temps(temp)] if temp is not None else []
    plan.append(Command("auto_conditioning_start"))
    if defrost and outside is not None and outside < 0:  # ice on the glass: the most heat
        plan.append(Command("set_preconditioning_max", {"on": True}))
    if vent:
        plan.append(Command("window_control", {"command": "vent", "lat": 0, "lon": 0}))
    vehicle = perform(steps, selector, plan, timeout=timeout, expires_at=expires_at)
    result = Result(vehicle, steps, expires_at=expires_at)
    sections = ["climate_state", "vehicle_state"] if vent else ["climate_state"]
    if _read_back(result, sections) is not None and result.climate is not None:
        confirmed = result.climate.get("is_climate_on") is True and (
            temp is None or result.climate.get("driver_temp_setting") == temp
        )
        if vent:
            confirmed = confirmed and bool(result.windows and result.windows["vented"])
        result.confirmed = confirmed
    return result
