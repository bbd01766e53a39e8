"""carctl's commands as the payloads a signing car executes, and back.

Field numbers are those of `car_server.proto` and `vcsec.proto`
(teslamotors/vehicle-command); the mapping from a REST command to its action
follows that repository's `pkg/vehicle` and tesla-fleet-api's `commands.py`.
`encode` is carctl's side; `decode` is the mock car's, and answers in the
REST command's own names and fields, so one executor serves both paths.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from carctl.records import record
from carctl.signing import messages as m
from carctl.signing import wire

# VehicleAction's fields
_HVAC_AUTO, _TEMPS, _WINDOWS, _DEPARTURE, _PING = 10, 14, 34, 42, 46
_ADD_PRECONDITION, _REMOVE_PRECONDITION = 99, 100
_FLASH, _HONK = 26, 27
_SENTRY = 30  # VehicleControlSetSentryModeAction
_CHARGE_LIMIT, _CHARGE_START_STOP, _CHARGE_AMPS = 5, 6, 43
_PRECONDITIONING_MAX, _WHEEL_HEATER, _SEAT_HEATERS = 12, 13, 36
# HvacSeatHeaterAction's oneofs (Void messages): level OFF..HIGH = 2..5; the REST API's seat
# numbers 0-8 are CAR_SEAT_FRONT_LEFT..CAR_SEAT_THIRD_ROW_RIGHT = 7..15
_SEAT_LEVEL_BASE, _SEAT_POSITION_BASE = 2, 7
_PORT_CLOSE, _PORT_OPEN = 61, 62
_CHARGE_START, _CHARGE_STOP = 2, 5  # ChargingStartStopAction's oneof (Void messages)
# VCSEC.RKEAction_E
RKE_UNLOCK, RKE_LOCK, RKE_WAKE = 0, 1, 30
_RKE_COMMANDS = {"door_unlock": RKE_UNLOCK, "door_lock": RKE_LOCK, "wake_vehicle": RKE_WAKE}
_DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_ALL_DAYS, _WEEKDAYS = 0b1111111, 0b0011111
VCSEC_GENERIC_ERRORS = {
    1: "unknown",
    2: "closures_open",
    3: "already_on",
    4: "disabled_for_user_command",
    5: "vehicle_not_in_park",
    6: "unauthorized",
    7: "not_allowed_over_transport",
}


# VCSEC.ClosureMoveRequest: rearTrunk = 5, frontTrunk = 6; ClosureMoveType_E MOVE = 1 (what
# the REST `actuate_trunk` does: the frunk opens, a powered tailgate moves)
_CLOSURE_MOVE, _REAR_TRUNK, _FRONT_TRUNK, _MOVE = 4, 5, 6, 1


class UnsupportedCommand(ValueError):
    """A command the signed protocol has no action for (in carctl's table)."""


def _vehicle_action(number: int, body: bytes) -> bytes:
    return wire.message(2, wire.message(number, body))


def _days(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    mask = 0
    for part in str(value).split(","):
        word = part.strip().casefold()
        if word.isdigit():
            mask |= int(word)
        elif word == "all":
            mask |= _ALL_DAYS
        elif word == "weekdays":
            mask |= _WEEKDAYS
        elif word in _DAY_NAMES:
            mask |= 1 << _DAY_NAMES.index(word)
        else:
            raise UnsupportedCommand(f"days_of_week {value!r}")
    return mask


Encoder = Callable[[str, dict[str, Any]], tuple[int, bytes]]


def encode(name: str, params: dict[str, Any]) -> tuple[int, bytes]:
    """(domain, payload) for one command; `UnsupportedCommand` for any other."""
    encoder = _ENCODERS.get(name)
    if encoder is None:
        raise UnsupportedCommand(name)
    return encoder(name, params)


def _action(number: int, body: bytes = b"") -> tuple[int, bytes]:
    return m.INFOTAINMENT, _vehicle_action(number, body)


def _trunk(name: str, params: dict[str, Any]) -> tuple[int, bytes]:
    which = {"front": _FRONT_TRUNK, "rear": _REAR_TRUNK}.get(str(params.get("which_trunk")))
    if which is None:
        raise UnsupportedCommand(f"which_trunk {params.get('which_trunk')!r}")
    return m.VCSEC, wire.message(_CLOSURE_MOVE, wire.uint(which, _MOVE))


def _rke(name: str, params: dict[str, Any]) -> tuple[int, bytes]:
    return m.VCSEC, wire.uint(2, _RKE_COMMANDS[name]) or wire.varint(2 << 3) + b"\x00"


def _hvac(name: str, params: dict[str, Any]) -> tuple[int, bytes]:
    return _action(_HVAC_AUTO, wire.uint(1, name == "auto_conditioning_start"))


def _temps(name: str, params: dict[str, Any]) -> tuple[int, bytes]:
    driver = float(params.get("driver_temp") or 0)
    passenger = float(params.get("passenger_temp") or params.get("driver_temp") or 0)
    return _action(_TEMPS, wire.float32(6, driver) + wire.float32(7, passenger))


def _windows(name: str, params: dict[str, Any]) -> tuple[int, bytes]:
    which = {"vent": 3, "close": 4}.get(str(params.get("command")))
    if which is None:
        raise UnsupportedCommand(f"window_control {params.get('command')!r}")
    return _action(_WINDOWS, wire.message(which, b""))


def _add_precondition(name: str, params: dict[str, Any]) -> tuple[int, bytes]:
    body = wire.join(
        [
            wire.uint(1, int(params.get("id") or 0)),
            wire.blob(2, str(params.get("name") or "").encode()),
            wire.uint(3, _days(params.get("days_of_week", "All"))),
            wire.uint(4, int(params.get("precondition_time") or 0)),
            wire.uint(5, bool(params.get("one_time"))),
            wire.uint(6, bool(params.get("enabled", True))),
            wire.float32(7, float(params.get("lat") or 0)),
            wire.float32(8, float(params.get("lon") or 0)),
        ]
    )
    return _action(_ADD_PRECONDITION, body)


def _remove_precondition(name: str, params: dict[str, Any]) -> tuple[int, bytes]:
    return _action(_REMOVE_PRECONDITION, wire.uint(1, int(params.get("id") or 0)))


def _departure(name: str, params: dict[str, Any]) -> tuple[int, bytes]:
    parts = [
        wire.uint(1, bool(params.get("enable"))),
        wire.uint(2, int(params.get("departure_time") or 0)),
    ]
    if params.get("preconditioning_enabled"):
        times = 2 if params.get("preconditioning_weekdays_only") else 1
        parts.append(wire.message(3, wire.message(times, b"")))
    if params.get("off_peak_charging_enabled"):
        times = 2 if params.get("off_peak_charging_weekdays_only") else 1
        parts.append(wire.message(4, wire.message(times, b"")))
    return _action(_DEPARTURE, wire.join(parts))


def _charging(name: str, params: dict[str, Any]) -> tuple[int, bytes]:
    which = _CHARGE_START if name == "charge_start" else _CHARGE_STOP
    return _action(_CHARGE_START_STOP, wire.message(which, b""))


def _number(number: int, key: str) -> Encoder:
    """An action whose one field is a number the REST command gives as `key`."""
    return lambda name, params: _action(number, wire.uint(1, int(params.get(key) or 0)))


def _flag(number: int) -> Encoder:
    """An action whose one field is the REST command's `on`."""
    return lambda name, params: _action(number, wire.uint(1, bool(params.get("on"))))


def _plain(number: int) -> Encoder:
    """An action without fields (honk, flash, the charge port)."""
    return lambda name, params: _action(number)


def _seat_heater(name: str, params: dict[str, Any]) -> tuple[int, bytes]:
    seat = int(params.get("heater", params.get("seat_position", -1)))
    level = int(params.get("level", -1))
    if not 0 <= seat <= 8 or not 0 <= level <= 3:
        raise UnsupportedCommand(f"seat {seat} at level {level}")
    action = wire.message(_SEAT_LEVEL_BASE + level, b"") + wire.message(
        _SEAT_POSITION_BASE + seat, b""
    )
    return _action(_SEAT_HEATERS, wire.message(1, action))


_ENCODERS: dict[str, Encoder] = {
    "actuate_trunk": _trunk,
    **dict.fromkeys(_RKE_COMMANDS, _rke),
    "auto_conditioning_start": _hvac,
    "auto_conditioning_stop": _hvac,
    "set_temps": _temps,
    "window_control": _windows,
    "add_precondition_schedule": _add_precondition,
    "remove_precondition_schedule": _remove_precondition,
    "set_scheduled_departure": _departure,
    "charge_start": _charging,
    "charge_stop": _charging,
    "set_charge_limit": _number(_CHARGE_LIMIT, "percent"),
    "set_charging_amps": _number(_CHARGE_AMPS, "charging_amps"),
    "charge_port_door_open": _plain(_PORT_OPEN),
    "charge_port_door_close": _plain(_PORT_CLOSE),
    "set_sentry_mode": _flag(_SENTRY),
    "set_preconditioning_max": _flag(_PRECONDITIONING_MAX),
    "remote_steering_wheel_heater_request": _flag(_WHEEL_HEATER),
    "remote_seat_heater_request": _seat_heater,
    "flash_lights": _plain(_FLASH),
    "honk_horn": _plain(_HONK),
}


@record(frozen=True)
class Decoded:
    """A payload read back as a REST command (the mock car's side)."""

    name: str
    params: dict[str, Any]


def decode(domain: int, payload: bytes) -> Decoded:
    """The command a payload asks for; `UnsupportedCommand` or `wire.WireError` otherwise."""
    fields = wire.parse(payload)
    if domain == m.VCSEC:
        return _decode_vcsec(fields)
    body = wire.last_bytes(fields, 2)
    if body is None:
        raise UnsupportedCommand("an Action without a vehicle action")
    inner = wire.parse(body)
    if len(inner) != 1:
        raise UnsupportedCommand("a vehicle action must hold exactly one action")
    number = next(iter(inner))
    raw = wire.last_bytes(inner, number)
    if raw is None:
        raise wire.WireError(f"vehicle action {number} is not a message")
    decoder = _DECODERS.get(number)
    if decoder is None:
        raise UnsupportedCommand(f"vehicle action {number}")
    return decoder(number, wire.parse(raw))


Fields = wire.Fields
Decoder = Callable[[int, Fields], Decoded]


def _decode_vcsec(fields: Fields) -> Decoded:
    closure = wire.last_bytes(fields, _CLOSURE_MOVE)
    if closure is not None:
        moves = wire.parse(closure)
        for number, which in ((_FRONT_TRUNK, "front"), (_REAR_TRUNK, "rear")):
            if wire.last_int(moves, number) == _MOVE:
                return Decoded("actuate_trunk", {"which_trunk": which})
        raise UnsupportedCommand("a closure move carctl's table has no command for")
    if 2 not in fields:
        raise UnsupportedCommand("a VCSEC message without an RKE action")
    action = wire.last_int(fields, 2)
    for name, value in _RKE_COMMANDS.items():
        if value == action:
            return Decoded(name, {})
    raise UnsupportedCommand(f"RKE action {action}")


def _read_hvac(number: int, f: Fields) -> Decoded:
    on = bool(wire.last_int(f, 1))
    return Decoded("auto_conditioning_start" if on else "auto_conditioning_stop", {})


def _read_temps(number: int, f: Fields) -> Decoded:
    return Decoded(
        "set_temps",
        {
            "driver_temp": round(wire.as_float(wire.last_int(f, 6)), 2),
            "passenger_temp": round(wire.as_float(wire.last_int(f, 7)), 2),
        },
    )


def _read_windows(number: int, f: Fields) -> Decoded:
    if 3 in f:
        return Decoded("window_control", {"command": "vent"})
    if 4 in f:
        return Decoded("window_control", {"command": "close"})
    raise UnsupportedCommand("a window action that is neither vent nor close")


def _read_add_precondition(number: int, f: Fields) -> Decoded:
    params: dict[str, Any] = {
        "days_of_week": wire.as_int32(wire.last_int(f, 3)),
        "precondition_time": wire.as_int32(wire.last_int(f, 4)),
        "one_time": bool(wire.last_int(f, 5)),
        "enabled": bool(wire.last_int(f, 6)),
        "lat": round(wire.as_float(wire.last_int(f, 7)), 6),
        "lon": round(wire.as_float(wire.last_int(f, 8)), 6),
    }
    if wire.last_int(f, 1):
        params["id"] = wire.last_int(f, 1)
    label = wire.last_bytes(f, 2)
    if label:
        params["name"] = label.decode("utf-8", "replace")
    return Decoded("add_precondition_schedule", params)


def _read_departure(number: int, f: Fields) -> Decoded:
    precondition = wire.last_bytes(f, 3)
    off_peak = wire.last_bytes(f, 4)
    return Decoded(
        "set_scheduled_departure",
        {
            "enable": bool(wire.last_int(f, 1)),
            "departure_time": wire.as_int32(wire.last_int(f, 2)),
            "preconditioning_enabled": precondition is not None,
            "preconditioning_weekdays_only": precondition is not None
            and 2 in wire.parse(precondition),
            "off_peak_charging_enabled": off_peak is not None,
        },
    )


def _read_charging(number: int, f: Fields) -> Decoded:
    if _CHARGE_START in f:
        return Decoded("charge_start", {})
    if _CHARGE_STOP in f:
        return Decoded("charge_stop", {})
    raise UnsupportedCommand("a charging action that is neither start nor stop")


def _read_seat_heater(number: int, f: Fields) -> Decoded:
    one = wire.last_bytes(f, 1)
    if one is None:
        raise UnsupportedCommand("a seat heater action without a seat")
    given = wire.parse(one)
    levels = [n - _SEAT_LEVEL_BASE for n in given if _SEAT_LEVEL_BASE <= n <= 5]
    seats = [n - _SEAT_POSITION_BASE for n in given if _SEAT_POSITION_BASE <= n <= 15]
    if len(levels) != 1 or len(seats) != 1:
        raise UnsupportedCommand("a seat heater action needs one seat and one level")
    return Decoded("remote_seat_heater_request", {"heater": seats[0], "level": levels[0]})


def _read_number(name: str, key: str) -> Decoder:
    return lambda number, f: Decoded(name, {key: wire.as_int32(wire.last_int(f, 1))})


def _read_flag(name: str) -> Decoder:
    return lambda number, f: Decoded(name, {"on": bool(wire.last_int(f, 1))})


def _read_plain(name: str) -> Decoder:
    return lambda number, f: Decoded(name, {})


_DECODERS: dict[int, Decoder] = {
    _HVAC_AUTO: _read_hvac,
    _TEMPS: _read_temps,
    _WINDOWS: _read_windows,
    _ADD_PRECONDITION: _read_add_precondition,
    _REMOVE_PRECONDITION: lambda number, f: Decoded(
        "remove_precondition_schedule", {"id": wire.last_int(f, 1)}
    ),
    _DEPARTURE: _read_departure,
    _CHARGE_START_STOP: _read_charging,
    _CHARGE_LIMIT: _read_number("set_charge_limit", "percent"),
    _CHARGE_AMPS: _read_number("set_charging_amps", "charging_amps"),
    _PORT_OPEN: _read_plain("charge_port_door_open"),
    _PORT_CLOSE: _read_plain("charge_port_door_close"),
    _PRECONDITIONING_MAX: _read_flag("set_preconditioning_max"),
    _WHEEL_HEATER: _read_flag("remote_steering_wheel_heater_request"),
    _SEAT_HEATERS: _read_seat_heater,
    _SENTRY: _read_flag("set_sentry_mode"),
    _FLASH: _read_plain("flash_lights"),
    _HONK: _read_plain("honk_horn"),
    _PING: _read_plain("ping"),
}


def infotainment_result(ok: bool, reason: str) -> bytes:
    """`CarServer.Response` with its `actionStatus`."""
    status = wire.uint(1, 0 if ok else 1)
    if reason:
        status += wire.message(2, wire.blob(1, reason.encode()))
    return wire.message(1, status)


def vcsec_result(ok: bool, reason: str) -> bytes:
    """`VCSEC.FromVCSECMessage`: empty for success, a nominal error otherwise."""
    if ok:
        return b""
    code = next((k for k, v in VCSEC_GENERIC_ERRORS.items() if v == reason), 1)
    return wire.message(46, wire.uint(1, code))


def read_result(domain: int, payload: bytes) -> tuple[bool, str]:
    """(executed, reason) from the car's answer to a command."""
    fields = wire.parse(payload)
    if domain == m.VCSEC:
        error = wire.last_bytes(fields, 46)
        if error is not None:
            code = wire.last_int(wire.parse(error), 1)
            return False, VCSEC_GENERIC_ERRORS.get(code, f"error {code}")
        status = wire.last_bytes(fields, 4)
        if status is not None and wire.last_int(wire.parse(status), 1) == m.STATUS_ERROR:
            return False, "the car's security controller answered with an error"
        return True, ""
    status = wire.last_bytes(fields, 1)
    if status is None:
        return True, ""
    s = wire.parse(status)
    ok = wire.last_int(s, 1) == 0
    reason_raw = wire.last_bytes(s, 2)
    reason = ""
    if reason_raw is not None:
        reason = (wire.last_bytes(wire.parse(reason_raw), 1) or b"").decode("utf-8", "replace")
    return ok, reason
