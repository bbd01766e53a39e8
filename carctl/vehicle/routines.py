"""The owner's routines: status, wake, climate, vent, precondition.

Each is a plain function over a `VehicleService` that returns a result
with `to_json()` (the envelope's `data`), so the command line only parses and
renders. Each step is recorded; when one fails, the error carries the steps
that were done, so a script knows how far the morning routine got.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

from carctl.errors import (
    CarctlError,
    RefusedError,
    TemporaryError,
    UsageError,
    VehicleUnavailableError,
)
from carctl.timefmt import iso
from carctl.vehicle import fields
from carctl.vehicle.inputs import format_temperature
from carctl.vehicle.model import Vehicle
from carctl.vehicle.safety import why_not_queued
from carctl.vehicle.schedules import clock_text, days_text, parse_days
from carctl.vehicle.service import Command, VehicleService, Wake

T = TypeVar("T")
WINDOWS = ("fd_window", "fp_window", "rd_window", "rp_window")
CLIMATE_FIELDS = (
    "inside_temp",
    "outside_temp",
    "driver_temp_setting",
    "passenger_temp_setting",
    "is_climate_on",
    "is_preconditioning",
)


@dataclass
class Step:
    name: str
    detail: str  # in metric units: what `data.steps` says
    elapsed_s: float
    command: Command | None = None  # to say it again in the owner's units

    def describe(self, units: str) -> str:
        return describe(self.command, units)[1] if self.command is not None else self.detail

    def to_json(self) -> dict[str, Any]:
        return {"step": self.name, "detail": self.detail, "elapsed_s": round(self.elapsed_s, 1)}


@dataclass
class Steps:
    service: VehicleService
    done: list[Step] = field(default_factory=list)
    vehicle: Vehicle | None = None

    def run(
        self, name: str, detail: str, work: Callable[[], T], command: Command | None = None
    ) -> T:
        started = self.service.clock.now()
        try:
            value = work()
        except CarctlError as exc:
            exc.data = {**(exc.data or {}), "steps": [s.to_json() for s in self.done]}
            if self.vehicle is not None and exc.vehicle is None:
                exc.vehicle = self.vehicle.ref()
            raise
        self.done.append(Step(name, detail, self.service.clock.now() - started, command))
        return value

    def to_json(self) -> list[dict[str, Any]]:
        return [step.to_json() for step in self.done]

    def woke(self, wake: Wake) -> None:
        """A wake that happened inside another step (the car fell asleep after being seen)."""
        label = wake.vehicle.label
        self.done.append(Step("wake", f"woke {label} in {wake.waited_s:.1f} s", wake.waited_s))


TEMPERATURES = ("inside_temp", "outside_temp", "driver_temp_setting", "passenger_temp_setting")


def climate_summary(data: dict[str, Any]) -> dict[str, Any] | None:
    climate = fields.section(data, "climate_state")
    if climate is None:
        return None
    return {
        key: (
            fields.number(climate, key, "climate_state")
            if key in TEMPERATURES
            else fields.flag(climate, key, "climate_state")
        )
        for key in CLIMATE_FIELDS
    }


def windows_summary(data: dict[str, Any]) -> dict[str, Any] | None:
    state = fields.section(data, "vehicle_state")
    if state is None:
        return None
    positions = {key: fields.number(state, key, "vehicle_state") for key in WINDOWS}
    values = [v for v in positions.values() if v is not None]
    return {
        **positions,
        "vented": bool(values) and all(v > 0 for v in values),
        "closed": bool(values) and all(v == 0 for v in values),
    }


@dataclass
class Result:
    """What a routine did and what the car reports afterwards."""

    vehicle: Vehicle
    steps: Steps
    confirmed: bool | None = None  # None: the read-back failed
    climate: dict[str, Any] | None = None
    windows: dict[str, Any] | None = None
    expires_at: float | None = None
    read_back_error: str | None = None
    locked: bool | None = None  # lock and unlock: what the car reports afterwards
    sentry: bool | None = None  # sentry on and off: the same
    battery: dict[str, Any] | None = None  # the charge commands: `charge_state` afterwards
    skipped: dict[str, float] | None = None  # `--if-below`: not cold enough, nothing sent
    fact: str | None = None  # what the read-back confirmed, when no summary says it

    def to_json(self) -> dict[str, Any]:
        data = {
            "state": self.vehicle.state,
            "steps": self.steps.to_json(),
            "confirmed": self.confirmed,
            "climate": self.climate,
            "windows": self.windows,
            "expires_at": iso(self.expires_at),
        }
        if self.locked is not None:
            data["locked"] = self.locked
        if self.sentry is not None:
            data["sentry_mode"] = self.sentry
        if self.battery is not None:
            data["battery"] = self.battery
        if self.skipped is not None:
            data["skipped"] = self.skipped
        return data


def wake(service: VehicleService, selector: str | None, *, timeout: float) -> Wake:
    vehicle = service.locate(selector, ask=True)
    return service.wake(vehicle, timeout=timeout)


def describe(command: Command, units: str = "metric") -> tuple[str, str]:
    """The step name and the words for a command, as `data.steps` and people see them."""
    params = command.params
    if command.name == "set_temps":
        driver, passenger = params.get("driver_temp"), params.get("passenger_temp")
        text = f"temperature set to {format_temperature(driver, units)}"
        if passenger is not None and passenger != driver:
            text += f" (passenger {format_temperature(passenger, units)})"
        return "set_temps", text
    if command.name == "auto_conditioning_start":
        return "climate_on", "climate on"
    if command.name == "auto_conditioning_stop":
        return "climate_off", "climate off"
    if command.name == "window_control":
        close = params.get("command") == "close"
        return ("close", "windows closed") if close else ("vent", "windows vented")
    if command.name == "add_precondition_schedule":
        return "schedule", f"schedule armed: {schedule_words(params)}"
    if command.name == "remove_precondition_schedule":
        return "unschedule", f"schedule {params.get('id')} removed"
    if command.name == "set_scheduled_departure":
        if not params.get("enable"):
            return "departure", "scheduled departure off"
        minutes = int(params.get("departure_time") or 0)
        days = "weekdays" if params.get("preconditioning_weekdays_only") else "every day"
        return "departure", f"scheduled departure armed: {days}, ready at {clock_text(minutes)}"
    if command.name in _PLAIN:
        return _PLAIN[command.name]
    if command.name == "set_sentry_mode":
        return _sentry_words(params)
    if command.name == "actuate_trunk":
        return _trunk_words(params)
    if command.name == "set_preconditioning_max":
        return (
            ("defrost", "defrost on (the most heat)")
            if params.get("on")
            else (
                "defrost",
                "defrost off",
            )
        )
    if command.name == "remote_seat_heater_request":
        seat = next((name for name, (n, _) in SEATS.items() if n == params.get("heater")), "a")
        level = params.get("level")
        return "seat_heat", f"{seat} seat heat {'off' if level == 0 else f'at {level}'}"
    if command.name == "remote_steering_wheel_heater_request":
        return "wheel_heat", f"steering wheel heat {'on' if params.get('on') else 'off'}"
    if command.name == "set_charge_limit":
        return "charge_limit", f"charge limit set to {params.get('percent')} %"
    if command.name == "set_charging_amps":
        return "charge_amps", f"charging current set to {params.get('charging_amps')} A"
    return command.name, command.name.replace("_", " ")


_PLAIN = {
    "door_lock": ("lock", "locked"),
    "door_unlock": ("unlock", "unlocked"),
    "honk_horn": ("honk", "horn honked"),
    "flash_lights": ("flash", "lights flashed"),
}


def _trunk_words(params: dict[str, Any]) -> tuple[str, str]:
    return (
        ("frunk", "frunk opened")
        if params.get("which_trunk") == "front"
        else (
            "trunk",
            "trunk moved",
        )
    )


_PLAIN.update(
    {
        "charge_start": ("charge_start", "charging started"),
        "charge_stop": ("charge_stop", "charging stopped"),
        "charge_port_door_open": ("port_open", "charge port opened"),
        "charge_port_door_close": ("port_close", "charge port closed"),
    }
)


def _sentry_words(params: dict[str, Any]) -> tuple[str, str]:
    return ("sentry_on", "sentry on") if params.get("on") else ("sentry_off", "sentry off")


def schedule_words(params: dict[str, Any]) -> str:
    """ "weekdays, ready at 06:30" from `add_precondition_schedule`'s parameters."""
    minutes = int(params.get("precondition_time") or 0)
    if params.get("one_time"):
        days = "once"
    else:
        try:
            days = days_text(parse_days(str(params.get("days_of_week", "All"))))
        except CarctlError:
            days = str(params.get("days_of_week"))
    return f"{days}, ready at {clock_text(minutes)}"


def awaken(steps: Steps, vehicle: Vehicle, timeout: float) -> Vehicle:
    """The car, online: woken (and the wake recorded as a step) only when it is not."""
    steps.vehicle = vehicle
    if vehicle.state == "online":
        return vehicle
    woke = steps.run(
        "wake", f"woke {vehicle.label}", lambda: steps.service.wake(vehicle, timeout=timeout)
    )
    steps.done[-1].detail = f"woke {vehicle.label} in {woke.waited_s:.1f} s"
    return woke.vehicle


def perform(
    steps: Steps,
    selector: str | None,
    plan: list[Command],
    *,
    timeout: float,
    expires_at: float | None = None,
) -> Vehicle:
    """Find the car, wake it if needed, send the plan in order.

    When a step fails in a way that may pass, that step and the ones after it
    are queued together (same idempotency keys) before the error is raised.
    """
    service = steps.service
    vehicle: Vehicle | None = None
    sent = 0
    try:
        # on a paid provider: the plan and its read-back must fit under the month's cap
        # before anything is sent, and a wake too before the car is woken for it
        service.afford(commands=len(plan), reads=1)
        vehicle = service.locate(selector)
        service.check_signing(vehicle)
        if vehicle.state != "online":
            service.afford(wakes=1, commands=len(plan), reads=1)
        vehicle = awaken(steps, vehicle, timeout)
        for command in plan:
            name, detail = describe(command)
            steps.run(
                name,
                detail,
                partial(service.command, vehicle, command, timeout=timeout, on_wake=steps.woke),
                command,
            )
            sent += 1
            if service.delivery is not None:
                service.delivery.sent(vehicle, command)
    except CarctlError as exc:
        if service.delivery is not None:
            known = vehicle or service.known(selector)
            kept = service.delivery.keep_for_later(
                exc, known, plan[sent:], expires_at=expires_at, selector=selector
            )
            if kept is not None:
                exc.kept(kept)
        raise
    return vehicle


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


def _read_back(result: Result, sections: list[str]) -> dict[str, Any] | None:
    """What the car reports after the commands; a read-back that fails, or that carries
    what carctl cannot read, leaves the commands reported as sent, unconfirmed."""
    try:
        data = result.steps.service.data(result.vehicle, sections)
        result.climate = climate_summary(data) if "climate_state" in sections else None
        result.windows = windows_summary(data) if "vehicle_state" in sections else None
    except CarctlError as exc:
        result.climate = result.windows = None
        result.read_back_error = exc.message
        return None
    return data


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
SEATS = {
    "driver": (0, "seat_heater_left"),
    "passenger": (1, "seat_heater_right"),
    "rear-left": (2, "seat_heater_rear_left"),
    "rear-center": (4, "seat_heater_rear_center"),
    "rear-right": (5, "seat_heater_rear_right"),
}


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


@dataclass
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


@dataclass
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
