"""The commands the Fleet API added that the Owner API never had, as tescmd sends them.

Sources: tescmd `src/tescmd/api/command.py` (names and bodies); Tesla's
vehicle-commands page for `add_charge_schedule` and `auto_secure_vehicle`; the
Fleet API's `ChargeScheduleState` and `ChargeSchedule` (tesla-fleet-api's
`vehicle_pb2`/`common_pb2`) for how charge schedules read back, under
`vehicle_data?endpoints=charge_schedule_data`. A car without the hardware a
command moves refuses it with a reason, as it does for a sunroof it lacks.
"""

from __future__ import annotations

from typing import Any

from carctl.mock import schedules as plans
from carctl.mock.car import SimVehicle
from carctl.mock.params import (
    OK,
    Command,
    InvalidField,
    Params,
    days_of_week,
    flag,
    given,
    ignore,
    keep,
    location_labels,
    minutes,
    no_params,
    number,
    whole,
)

Result = tuple[bool, str]
MAX_CHARGE_SCHEDULES = 10  # `max_num_charge_schedules`
FRONT_DOORS = ("df", "dr", "pf", "pr")


def _charge_schedule(params: Params) -> Params:
    """`add_charge_schedule`: when charging starts and/or ends, on which days, where."""
    days = days_of_week(params)
    checked: Params = {
        "days_of_week": days,
        "start_enabled": flag(params, "start_enabled", given(params, "start_time")),
        "end_enabled": flag(params, "end_enabled", given(params, "end_time")),
        "lat": number(params, "lat", low=-90, high=90),
        "lon": number(params, "lon", low=-180, high=180),
        "one_time": flag(params, "one_time", False),
        "enabled": flag(params, "enabled", True),
    }
    for key in ("start_time", "end_time"):
        wanted = checked[key.replace("_time", "_enabled")]
        checked[key] = minutes(params, key) if wanted or given(params, key) else 0
    if not (checked["start_enabled"] or checked["end_enabled"]):
        raise InvalidField("a charge schedule needs a start_time or an end_time")
    if params.get("id") not in (None, "", 0):
        checked["id"] = whole(params, "id", low=1, high=2**31)
    if isinstance(params.get("name"), str):
        checked["name"] = params["name"][:40]
    return checked


def _add_charge_schedule(car: SimVehicle, params: Params, now: float) -> Result:
    schedule: dict[str, Any] = {
        "id": params.get("id") or car.next_charge_schedule_id,
        "name": params.get("name", ""),
        "days_of_week": params["days_of_week"],
        "start_enabled": params["start_enabled"],
        "start_time": params["start_time"],
        "end_enabled": params["end_enabled"],
        "end_time": params["end_time"],
        "one_time": params["one_time"],
        "enabled": params["enabled"],
        "latitude": params["lat"],
        "longitude": params["lon"],
    }
    schedules = plans.placed(
        car.charge_schedules, schedule, replacing="id" in params, limit=MAX_CHARGE_SCHEDULES
    )
    if isinstance(schedules, str):
        return False, schedules
    if "id" not in params:
        car.next_charge_schedule_id += 1
    car.charge_schedules = schedules
    return OK


def _schedule_id(params: Params) -> Params:
    return {"id": whole(params, "id", low=1, high=2**31)}


def _remove_charge_schedule(car: SimVehicle, params: Params, now: float) -> Result:
    kept = [s for s in car.charge_schedules if s["id"] != params["id"]]
    if len(kept) == len(car.charge_schedules):
        return False, "schedule_not_found"
    car.charge_schedules = kept
    return OK


def _batch_remove_charge_schedules(car: SimVehicle, params: Params, now: float) -> Result:
    """The mock's cars keep no location labels, so any of home/work/other removes them all."""
    if any(params.values()):
        car.charge_schedules = []
    return OK


def charge_schedule_data(car: SimVehicle, now: float) -> dict[str, Any]:
    """`charge_schedule_data` (the Fleet API's `ChargeScheduleState`)."""
    return {
        "charge_schedules": [dict(s) for s in car.charge_schedules],
        "max_num_charge_schedules": MAX_CHARGE_SCHEDULES,
        "next_schedule": any(s["enabled"] for s in car.charge_schedules),
        "show_schedule_complete_state": False,
        "timestamp": int(now * 1000),
    }


def _auto_secure(car: SimVehicle, params: Params, now: float) -> Result:
    """Closes the falcon-wing doors and locks: a Model X's own; any other car says so."""
    if car.car_type != "modelx":
        return False, "falcon_wing_doors_not_installed"
    car.doors.update(dict.fromkeys(FRONT_DOORS, 0))
    car.locked = True
    return OK


def _managed_amps(params: Params) -> Params:
    return {"charging_amps": whole(params, "charging_amps", low=0, high=48)}


def _tonneau(car: SimVehicle, params: Params, now: float) -> Result:
    """Only a Cybertruck has a powered tonneau cover: any other car says so."""
    return OK if car.car_type == "cybertruck" else (False, "tonneau_not_installed")


COMMANDS: dict[str, Command] = {
    "add_charge_schedule": Command(_charge_schedule, _add_charge_schedule),
    "remove_charge_schedule": Command(_schedule_id, _remove_charge_schedule),
    "batch_remove_charge_schedules": Command(location_labels, _batch_remove_charge_schedules),
    "auto_secure_vehicle": Command(no_params, _auto_secure),
    "set_low_power_mode": Command(keep("enable"), ignore),
    "keep_accessory_power_mode": Command(keep("enable"), ignore),
    # a fleet manager's request for the charge current: the car takes it (within 0-48 A)
    "set_managed_charge_current_request": Command(_managed_amps, ignore),
    "set_managed_charger_location": Command(keep("location", "lat", "lon"), ignore),
    "set_managed_scheduled_charging_time": Command(keep("time"), ignore),
    "open_tonneau": Command(no_params, _tonneau),
    "close_tonneau": Command(no_params, _tonneau),
    "stop_tonneau": Command(no_params, _tonneau),
}
