"""`carctl status`: one read of the car, summarised (climate, windows, locks, battery, the
position fix's age), from the vehicle cache when the car sleeps or the API fails."""

from __future__ import annotations

from typing import Any

from carctl.errors import (
    CarctlError,
    TemporaryError,
    VehicleUnavailableError,
)
from carctl.records import record
from carctl.timefmt import iso
from carctl.vehicle import fields
from carctl.vehicle.model import Vehicle
from carctl.vehicle.service import VehicleService, Wake
from carctl.vehicle.steps import climate_summary, windows_summary


@record
class Status:
    vehicle: Vehicle
    live: bool
    as_of: float | None
    climate: dict[str, Any] | None
    windows: dict[str, Any] | None
    battery: dict[str, Any] | None
    woke: Wake | None = None
    # the vehicle API failed (or the breaker held the request back): this is the last state
    # carctl read, from the vehicle cache, and the failure is what the owner is told
    failure: CarctlError | None = None
    locks: dict[str, Any] | None = None  # locked, doors, trunks, sentry (vehicle_state)
    fix_at: float | None = None  # when the car last gave its position (`carctl where`)

    def to_json(self, now: float | None = None) -> dict[str, Any]:
        stale = self.failure is not None
        age = None if not stale or self.as_of is None or now is None else now - self.as_of
        return {
            "state": self.vehicle.state,
            "in_service": self.vehicle.in_service,
            "live": self.live,
            "stale": stale,
            "age_s": None if age is None else round(max(0.0, age)),
            "as_of": iso(self.as_of),
            "climate": self.climate,
            "windows": self.windows,
            "battery": self.battery,
            "locks": self.locks,
            "position_fix_at": iso(self.fix_at),
        }


def locks_summary(data: dict[str, Any]) -> dict[str, Any] | None:
    """Locks, doors, trunks and sentry as `status` shows them (from `vehicle_state`)."""
    state = fields.section(data, "vehicle_state")
    if state is None:
        return None

    def closed(key: str) -> bool | None:
        value = state.get(key)
        return value == 0 if isinstance(value, int) and not isinstance(value, bool) else None

    doors = [closed(k) for k in ("df", "dr", "pf", "pr")]
    return {
        "locked": _flag(state.get("locked")),
        "doors_closed": None if None in doors else all(doors),
        "frunk_closed": closed("ft"),
        "trunk_closed": closed("rt"),
        "sentry_mode": _flag(state.get("sentry_mode")),
    }


def _summary(
    vehicle: Vehicle,
    data: dict[str, Any],
    *,
    live: bool,
    as_of: float,
    fix_at: float | None,
    woke: Wake | None = None,
    failure: CarctlError | None = None,
) -> Status:
    return Status(
        vehicle,
        live=live,
        as_of=as_of,
        climate=climate_summary(data),
        windows=windows_summary(data),
        battery=battery_summary(data),
        woke=woke,
        failure=failure,
        locks=locks_summary(data),
        fix_at=fix_at,
    )


def _fix_at(service: VehicleService, vehicle: Vehicle) -> float | None:
    """When the car last reported its position, from the vehicle cache (no request)."""
    snapshot = service.cache.snapshot(vehicle.id)
    if snapshot is None:
        return None
    drive = snapshot.data.get("drive_state")
    fix = drive.get("gps_as_of") if isinstance(drive, dict) else None
    return float(fix) if isinstance(fix, int | float) and not isinstance(fix, bool) else None


def battery_summary(data: dict[str, Any]) -> dict[str, Any] | None:
    """The battery and charging as `status` and `charge` show them (from `charge_state`)."""
    charge = fields.section(data, "charge_state")
    if charge is None:
        return None
    where = "charge_state"
    miles = fields.number(charge, "battery_range", where)
    cable = fields.text(charge, "conn_charge_cable", where)
    minutes = fields.integer(charge, "minutes_to_full_charge", where, low=0, high=100_000)
    return {
        "level": fields.integer(charge, "battery_level", where, low=0, high=100),
        "range_km": round(miles * 1.609344) if miles is not None else None,
        "charging_state": fields.text(charge, "charging_state", where),
        "limit": fields.integer(charge, "charge_limit_soc", where, low=0, high=100),
        "minutes_to_full": minutes,
        "plugged_in": None if cable is None else cable not in ("<invalid>", ""),
        "power_kw": fields.number(charge, "charger_power", where),
        "amps": fields.integer(charge, "charge_amps", where, low=0, high=1000),
        "port_open": _flag(charge.get("charge_port_door_open")),
    }


def _flag(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _live(service: VehicleService, vehicle: Vehicle) -> dict[str, Any] | None:
    """The car's data now, or None when it is not online (or no longer is: 408)."""
    if vehicle.state != "online":
        return None
    try:
        return service.data(vehicle, ["charge_state", "climate_state", "vehicle_state"])
    except VehicleUnavailableError:
        return None


def status(
    service: VehicleService, selector: str | None, *, wake_first: bool, timeout: float = 60.0
) -> Status:
    """Live data when the car is online; otherwise what it reported last, never waking it.

    While the vehicle API fails (or the breaker holds requests back, which costs no
    request at all), the answer is the last state carctl read, marked stale."""
    try:
        return _status(service, selector, wake_first=wake_first, timeout=timeout)
    except TemporaryError as exc:
        known = service.known(selector)
        snapshot = service.cache.snapshot(known.id) if known is not None else None
        if known is None or snapshot is None:
            raise
        return _summary(
            known,
            snapshot.data,
            live=False,
            as_of=snapshot.at,
            fix_at=_fix_at(service, known),
            failure=exc,
        )


def _status(
    service: VehicleService, selector: str | None, *, wake_first: bool, timeout: float
) -> Status:
    vehicle = service.locate(selector)
    woke = None
    data = _live(service, vehicle)
    if data is None and vehicle.state == "online":  # asleep since it was last seen awake
        vehicle = service.current(vehicle)
    if data is None and wake_first and vehicle.state != "online":
        woke = service.wake(vehicle, timeout=timeout)
        vehicle = woke.vehicle
        data = _live(service, vehicle)
    fix_at = _fix_at(service, vehicle)
    if data is not None:
        now = service.clock.now()
        return _summary(vehicle, data, live=True, as_of=now, fix_at=fix_at, woke=woke)
    snapshot = service.cache.snapshot(vehicle.id)
    if snapshot is None:
        return Status(vehicle, False, None, None, None, None)
    return _summary(vehicle, snapshot.data, live=False, as_of=snapshot.at, fix_at=fix_at)
