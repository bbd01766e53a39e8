"""A command in the owner's words: the step names of `data.steps`, the words people see
(in °C or °F), the queue's listing."""

from __future__ import annotations

from typing import Any

from carctl.errors import (
    CarctlError,
)
from carctl.vehicle.commands import Command
from carctl.vehicle.inputs import format_temperature
from carctl.vehicle.schedules import clock_text, days_text, parse_days

SEATS = {
    "driver": (0, "seat_heater_left"),
    "passenger": (1, "seat_heater_right"),
    "rear-left": (2, "seat_heater_rear_left"),
    "rear-center": (4, "seat_heater_rear_center"),
    "rear-right": (5, "seat_heater_rear_right"),
}


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
