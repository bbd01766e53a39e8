"""The car's other commands: locks, sentry, charging, seat and wheel heat, trunks, where it
is, honk and flash. Each sends one command and reads back the section that shows it."""

from __future__ import annotations

from typing import Any

from carctl.errors import (
    CarctlError,
    RefusedError,
    TemporaryError,
    UsageError,
    VehicleUnavailableError,
)
from carctl.records import record
from carctl.timefmt import iso
from carctl.vehicle import fields
from carctl.vehicle.commands import Command
from carctl.vehicle.model import Vehicle
from carctl.vehicle.safety import why_not_queued
from carctl.vehicle.service import VehicleService, Wake
from carctl.vehicle.status import battery_summary
from carctl.vehicle.steps import Result, Steps, _read_back, awaken, perform
from carctl.vehicle.words import SEATS, describe


def _send_one(
    service: VehicleService,
    selector: str | None,
    command: Command,
    section: str,
    *,
    timeout: float,
    expires_at: float | None,
) -> tuple[Result, dict[str, Any] | None]:
    """One command, then the car read back from `section` (None: the read-back failed)."""
    steps = Steps(service)
    vehicle = perform(steps, selector, [command], timeout=timeout, expires_at=expires_at)
    result = Result(vehicle, steps, expires_at=expires_at)
    data = _read_back(result, [section])
    result.windows = None  # what was asked about is said by the caller, not the windows
    return result, data


def _state_flag(
    result: Result, data: dict[str, Any], key: str, want: bool, what: str
) -> bool | None:
    """A yes/no of `vehicle_state` after a command: it confirms the command, or says why not."""
    state = fields.section(data, "vehicle_state")
    said = state.get(key) if state is not None else None
    flag = said if isinstance(said, bool) else None
    result.confirmed = flag is want if flag is not None else None
    if result.confirmed is None:
        result.read_back_error = f"the car did not say whether {what}"
    return flag


def lock(
    service: VehicleService,
    selector: str | None,
    *,
    locked: bool,
    timeout: float = 60.0,
    expires_at: float | None = None,
) -> Result:
    """`lock` (queued for a short while when the API fails) and `unlock` (never queued)."""
    command = Command("door_lock" if locked else "door_unlock")
    result, data = _send_one(
        service, selector, command, "vehicle_state", timeout=timeout, expires_at=expires_at
    )
    if data is not None:
        result.locked = _state_flag(result, data, "locked", locked, "it is locked")
    return result


def sentry(
    service: VehicleService,
    selector: str | None,
    *,
    on: bool,
    timeout: float = 60.0,
    expires_at: float | None = None,
) -> Result:
    """`sentry on` (queued for a short while) and `sentry off` (never queued)."""
    command = Command("set_sentry_mode", {"on": on})
    result, data = _send_one(
        service, selector, command, "vehicle_state", timeout=timeout, expires_at=expires_at
    )
    if data is not None:
        result.sentry = _state_flag(result, data, "sentry_mode", on, "sentry is on")
    return result


CHARGE_LIMITS = (50, 100)  # charge_limit_soc_min and _max, as the car reports them


MAX_AMPS = 48


def charge_command(name: str, value: int | None = None) -> Command:
    """`charge start|stop|limit N|amps N|port open|close` as the API's command."""
    if name == "set_charge_limit":
        low, high = CHARGE_LIMITS
        if value is None or not low <= value <= high:
            raise UsageError(
                f"a charge limit is {low}–{high} %, got {value}", hint="e.g. carctl charge limit 80"
            )
        return Command(name, {"percent": value})
    if name == "set_charging_amps":
        if value is None or not 1 <= value <= MAX_AMPS:
            raise UsageError(
                f"charging current is 1–{MAX_AMPS} A (and at most what the charger gives), "
                f"got {value}",
                hint="e.g. carctl charge amps 16",
            )
        return Command(name, {"charging_amps": value})
    return Command(name)


def charge(
    service: VehicleService,
    selector: str | None,
    command: Command,
    *,
    timeout: float = 60.0,
    expires_at: float | None = None,
) -> Result:
    """One charging command, read back from `charge_state`."""
    result, data = _send_one(
        service, selector, command, "charge_state", timeout=timeout, expires_at=expires_at
    )
    if data is None:
        return result
    battery = battery_summary(data)
    result.battery = battery
    if battery is None:
        result.confirmed = None
        result.read_back_error = "the car did not report its charge state"
        return result
    charging = battery.get("charging_state") == "Charging"
    expected = {
        "charge_start": charging,
        "charge_stop": not charging,
        "set_charge_limit": battery.get("limit") == command.params.get("percent"),
        "set_charging_amps": battery.get("amps") == command.params.get("charging_amps"),
        "charge_port_door_open": battery.get("port_open") is True,
        "charge_port_door_close": battery.get("port_open") is False,
    }
    result.confirmed = expected.get(command.name, True)
    return result


# the seats `carctl seat heat` names, as the REST API numbers them (`heater`), and the
# climate_state field each reads back from (timdorr/tesla-api: remote_seat_heater_request)


def seat_heat(seat: str, level: int) -> Command:
    if seat not in SEATS:
        raise UsageError(
            f"there is no seat {seat!r}", hint=f"seats: {', '.join(SEATS)}; e.g. driver 3"
        )
    if not 0 <= level <= 3:
        raise UsageError(f"a seat heats at level 0–3 (0 is off), got {level}")
    return Command("remote_seat_heater_request", {"heater": SEATS[seat][0], "level": level})


def comfort(
    service: VehicleService,
    selector: str | None,
    command: Command,
    *,
    timeout: float = 60.0,
    expires_at: float | None = None,
) -> Result:
    """Seat heat, wheel heat, defrost: sent, then read back from `climate_state`."""
    result, data = _send_one(
        service, selector, command, "climate_state", timeout=timeout, expires_at=expires_at
    )
    if data is None:
        return result
    climate = fields.section(data, "climate_state") or {}
    params = command.params
    if command.name == "remote_seat_heater_request":
        key = next((k for n, k in SEATS.values() if n == params["heater"]), "")
        said: Any = climate.get(key)
        result.confirmed = said == params["level"] if isinstance(said, int) else None
    elif command.name == "remote_steering_wheel_heater_request":
        said = climate.get("steering_wheel_heater")
        result.confirmed = said is params["on"] if isinstance(said, bool) else None
    else:  # set_preconditioning_max
        said = climate.get("is_front_defroster_on")
        result.confirmed = said is params["on"] if isinstance(said, bool) else None
    if result.confirmed is None:
        result.read_back_error = "the car did not report it"
    elif result.confirmed:
        result.fact = describe(command)[1]
    return result


TRUNK_FIELDS = {"front": "ft", "rear": "rt"}  # vehicle_state: 0 closed, else open


def trunk(
    service: VehicleService,
    selector: str | None,
    *,
    which: str,
    open_: bool,
    timeout: float = 60.0,
) -> Result:
    """Open the frunk or the trunk, or close a powered tailgate — never queued.

    The API's `actuate_trunk` moves the trunk whichever way it is, so carctl reads
    it first: one that is already as asked is left alone, and nothing is sent."""
    name = "frunk" if which == "front" else "trunk"
    steps = Steps(service)
    vehicle = service.locate(selector)
    service.check_signing(vehicle)
    if which == "front" and not open_:
        raise RefusedError(
            f"{vehicle.label}'s frunk closes by hand, not remotely", hint="nothing was sent"
        )
    try:
        vehicle = awaken(steps, vehicle, timeout)
        data = steps.run(
            "read", f"{name} state read", lambda: service.data(vehicle, ["vehicle_state"])
        )
    except TemporaryError as exc:  # never kept for later: said at once
        exc.hint = f"not queued: {why_not_queued('actuate_trunk')}; try again later"
        raise
    state = fields.section(data, "vehicle_state") or {}
    position = state.get(TRUNK_FIELDS[which])
    if isinstance(position, int) and (position != 0) is open_:
        result = Result(vehicle, steps, confirmed=True)
        result.fact = f"the {name} is {'open' if open_ else 'closed'} already; nothing was sent"
        return result
    command = Command("actuate_trunk", {"which_trunk": which})
    vehicle = perform(steps, selector, [command], timeout=timeout)
    result = Result(vehicle, steps)
    after = _read_back(result, ["vehicle_state"])
    result.windows = None
    if after is not None:
        now_at = (fields.section(after, "vehicle_state") or {}).get(TRUNK_FIELDS[which])
        result.confirmed = (now_at != 0) is open_ if isinstance(now_at, int) else None
        if result.confirmed:
            result.fact = f"{name} {'open' if open_ else 'closed'}"
        elif result.confirmed is None:
            result.read_back_error = f"the car did not report its {name}"
    return result


@record
class Position:
    """Where the car is, and how old that fix is (`carctl where`)."""

    vehicle: Vehicle
    latitude: float | None
    longitude: float | None
    heading: float | None
    speed_kmh: float | None
    fix_at: float | None  # when the car took the fix (gps_as_of)
    live: bool  # read now (False: what the car reported when last awake)
    woke: Wake | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "state": self.vehicle.state,
            "live": self.live,
            "latitude": self.latitude,
            "longitude": self.longitude,
            "heading": self.heading,
            "speed_kmh": self.speed_kmh,
            "fix_at": iso(self.fix_at),
        }


def where(
    service: VehicleService, selector: str | None, *, wake_first: bool, timeout: float = 60.0
) -> Position:
    """The car's position: read now when it is awake (or woken with `wake_first`), else the
    last fix it reported — a sleeping car is parked where it fell asleep."""
    vehicle = service.locate(selector)
    woke = None
    if vehicle.state != "online" and wake_first:
        woke = service.wake(vehicle, timeout=timeout)
        vehicle = woke.vehicle
    if vehicle.state == "online":
        try:
            data = service.data(vehicle, ["location_data"])
        except VehicleUnavailableError:
            data = None
        except CarctlError as exc:
            if (
                exc.exit_code == 77
                and "not granted" in exc.message
                and "vehicle_location" not in exc.message
            ):
                exc.message = (
                    f"the session was not granted vehicle_location, which the car's position "
                    f"needs ({exc.message})"
                )
                exc.hint = (
                    "sign in again and allow vehicle_location: `carctl auth login --web` asks "
                    "for the scopes in `carctl config get auth.scopes`"
                )
            raise
        if data is not None:
            return _position(vehicle, data, live=True, woke=woke)
    snapshot = service.cache.snapshot(vehicle.id)
    if snapshot is not None:
        return _position(vehicle, snapshot.data, live=False)
    return Position(vehicle, None, None, None, None, None, live=False)


def _position(
    vehicle: Vehicle, data: dict[str, Any], *, live: bool, woke: Wake | None = None
) -> Position:
    drive = fields.section(data, "drive_state")
    lat = fields.number(drive, "latitude", "drive_state")
    lon = fields.number(drive, "longitude", "drive_state")
    speed = fields.number(drive, "speed", "drive_state")
    fix = fields.number(drive, "gps_as_of", "drive_state")
    return Position(
        vehicle,
        lat,
        lon,
        fields.number(drive, "heading", "drive_state"),
        None if speed is None else round(speed * 1.609344),
        fix,
        live=live and lat is not None,
        woke=woke,
    )


def signal(
    service: VehicleService, selector: str | None, *, name: str, timeout: float = 60.0
) -> Result:
    """`honk` and `flash`: sent once, never queued; nothing to read back but the car's yes."""
    steps = Steps(service)
    vehicle = perform(steps, selector, [Command(name)], timeout=timeout)
    return Result(vehicle, steps, confirmed=True)
