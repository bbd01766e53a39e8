"""A command in the owner's words: the step names of `data.steps`, the words people see
(in °C or °F), the queue's listing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from carctl.errors import (
    CarctlError,
)
from carctl.vehicle.commands import Command
from carctl.vehicle.inputs import format_temperature

SEATS = {
    "driver": (0, "seat_heater_left"),
    "passenger": (1, "seat_heater_right"),
    "rear-left": (2, "seat_heater_rear_left"),
    "rear-center": (4, "seat_heater_rear_center"),
    "rear-right": (5, "seat_heater_rear_right"),
}


def describe(command: Command, units: str = "metric") -> tuple[str, str]:
    """The step name and the words for a command, as `data.steps` and people see them."""
    if command.name in _PLAIN:
        return _PLAIN[command.name]
    words = _WORDS.get(command.name)
    if words is None:
        return command.name, command.name.replace("_", " ")
    return words(command.params, units)


Words = Callable[[dict[str, Any], str], tuple[str, str]]


def _temps_words(params: dict[str, Any], units: str) -> tuple[str, str]:
    driver, passenger = params.get("driver_temp"), params.get("passenger_temp")
    text = f"temperature set to {format_temperature(driver, units)}"
    if passenger is not None and passenger != driver:
        text += f" (passenger {format_temperature(passenger, units)})"
    return "set_temps", text


def _windows_words(params: dict[str, Any], units: str) -> tuple[str, str]:
    close = params.get("command") == "close"
    return ("close", "windows closed") if close else ("vent", "windows vented")


def _departure_words(params: dict[str, Any], units: str) -> tuple[str, str]:
    from carctl.vehicle.schedules import clock_text  # zoneinfo: only for schedules

    if not params.get("enable"):
        return "departure", "scheduled departure off"
    minutes = int(params.get("departure_time") or 0)
    days = "weekdays" if params.get("preconditioning_weekdays_only") else "every day"
    return "departure", f"scheduled departure armed: {days}, ready at {clock_text(minutes)}"


def _seat_words(params: dict[str, Any], units: str) -> tuple[str, str]:
    seat = next((name for name, (n, _) in SEATS.items() if n == params.get("heater")), "a")
    level = params.get("level")
    return "seat_heat", f"{seat} seat heat {'off' if level == 0 else f'at {level}'}"


def _defrost_words(params: dict[str, Any], units: str) -> tuple[str, str]:
    return ("defrost", "defrost on (the most heat)" if params.get("on") else "defrost off")


_WORDS: dict[str, Words] = {
    "set_temps": _temps_words,
    "window_control": _windows_words,
    "add_precondition_schedule": lambda p, u: ("schedule", f"schedule armed: {schedule_words(p)}"),
    "remove_precondition_schedule": lambda p, u: ("unschedule", f"schedule {p.get('id')} removed"),
    "set_scheduled_departure": _departure_words,
    "set_sentry_mode": lambda p, u: _sentry_words(p),
    "actuate_trunk": lambda p, u: _trunk_words(p),
    "set_preconditioning_max": _defrost_words,
    "remote_seat_heater_request": _seat_words,
    "remote_steering_wheel_heater_request": lambda p, u: (
        "wheel_heat",
        f"steering wheel heat {'on' if p.get('on') else 'off'}",
    ),
    "set_charge_limit": lambda p, u: ("charge_limit", f"charge limit set to {p.get('percent')} %"),
    "set_charging_amps": lambda p, u: (
        "charge_amps",
        f"charging current set to {p.get('charging_amps')} A",
    ),
}

_PLAIN = {
    "auto_conditioning_start": ("climate_on", "climate on"),
    "auto_conditioning_stop": ("climate_off", "climate off"),
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


def _sentry_words(params: dict[str, Any]) -> tuple[str, str]:
    return ("sentry_on", "sentry on") if params.get("on") else ("sentry_off", "sentry off")


def schedule_words(params: dict[str, Any]) -> str:
    from carctl.vehicle.schedules import clock_text, days_text, parse_days

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
