"""What owners type, checked before anything is sent: temperatures, durations, times.

Every rejection is a `UsageError` (exit 2) that says what was wrong and shows
an example that works.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from carctl.durations import DAY_S, parse_duration
from carctl.errors import UsageError

MIN_TEMP_C = 15.0
MAX_TEMP_C = 28.0

_TEMPERATURE = re.compile(r"^\s*(-?\d+(?:[.,]\d+)?)\s*(°?\s*[cCfF])?\s*$")


def f_to_c(fahrenheit: float) -> float:
    return (fahrenheit - 32) * 5 / 9


def c_to_f(celsius: float) -> float:
    return celsius * 9 / 5 + 32


def parse_temperature(text: str, *, units: str = "metric", option: str = "--temp") -> float:
    """°C, rounded to the car's half-degree steps. `21`, `21.5`, `21C`, `70F`, `70 °F`.

    A bare number is in the profile's units (°F for `units = "imperial"`).
    """
    found = _TEMPERATURE.match(text)
    if not found:
        raise UsageError(
            f"{option} {text!r} is not a temperature", hint="e.g. 21, 21.5, 21C or 70F"
        )
    value = float(found.group(1).replace(",", "."))
    unit = (found.group(2) or "").replace("°", "").strip().upper()
    if unit == "F" or (not unit and units == "imperial"):
        celsius = f_to_c(value)
        shown = f"{value:g} °F ({celsius:.1f} °C)"
    else:
        celsius = value
        shown = f"{value:g} °C"
    celsius = round(celsius * 2) / 2
    if not MIN_TEMP_C <= celsius <= MAX_TEMP_C:
        raise UsageError(
            f"{option} {shown} is outside what the car accepts",
            hint=f"choose {MIN_TEMP_C:g}–{MAX_TEMP_C:g} °C "
            f"({c_to_f(MIN_TEMP_C):.0f}–{c_to_f(MAX_TEMP_C):.0f} °F)",
        )
    return celsius


def parse_threshold(text: str, *, units: str = "metric", option: str = "--if-below") -> float:
    """An outside temperature to compare with, °C: `5`, `-3`, `41F`; -40–40 °C."""
    found = _TEMPERATURE.match(text)
    if not found:
        raise UsageError(f"{option} {text!r} is not a temperature", hint="e.g. 5, -3 or 41F")
    value = float(found.group(1).replace(",", "."))
    unit = (found.group(2) or "").replace("°", "").strip().upper()
    celsius = f_to_c(value) if unit == "F" or (not unit and units == "imperial") else value
    if not -40.0 <= celsius <= 40.0:
        raise UsageError(
            f"{option} {text.strip()} is not an outside temperature a car meets",
            hint="choose -40–40 °C (-40–104 °F)",
        )
    return celsius


def format_temperature(celsius: float | None, units: str = "metric") -> str:
    if celsius is None:
        return "–"
    if units == "imperial":
        return f"{c_to_f(celsius):.0f} °F"
    return f"{celsius:.1f} °C"


def parse_time_of_day(text: str, *, option: str) -> tuple[int, int] | None:
    """`HH:MM` as (hour, minute); None when the text is not of that shape at all."""
    found = re.fullmatch(r"(\d{1,2}):(\d{2})", text.strip())
    if not found:
        return None
    hour, minute = int(found.group(1)), int(found.group(2))
    if hour > 23 or minute > 59:
        raise UsageError(f"{option} {text!r} is not a time of day", hint="e.g. 06:45")
    return hour, minute


def parse_clock_time(text: str, *, now: float, option: str = "--expires-at") -> float:
    """A local `HH:MM` later today, or an ISO date and time, as an epoch time.

    `HH:MM` that has already passed today is refused rather than read as
    tomorrow: a morning command must never wait silently for the next day.
    """
    raw = text.strip()
    found = parse_time_of_day(raw, option=option)
    current = datetime.fromtimestamp(now).astimezone()
    if found:
        hour, minute = found
        moment = current.replace(hour=hour, minute=minute, second=0, microsecond=0)
        if moment <= current:
            tomorrow = (moment + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
            raise UsageError(
                f"{option} {raw} has already passed today (it is {current:%H:%M} now)",
                hint=f"give it time from now with --expires-in 40m, or name the day: "
                f"{option} {tomorrow}",
            )
        return moment.timestamp()
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise UsageError(
            f"{option} {text!r} is not a time", hint="e.g. 06:45 or 2021-11-20T06:45+09:00"
        ) from None
    if moment.tzinfo is None:
        moment = moment.astimezone()  # local time, as a person means it
    when = moment.timestamp()
    if when <= now:
        raise UsageError(f"{option} {text!r} is already past")
    if when - now > DAY_S:
        raise UsageError(f"{option} {text!r} is more than 24 hours away")
    return when


def expiry(*, expires_in: str | None, expires_at: str | None, now: float) -> float | None:
    """The deadline of a command from `--expires-in` or `--expires-at` (not both)."""
    if expires_in is not None and expires_at is not None:
        raise UsageError(
            "--expires-in and --expires-at cannot be used together", hint="choose one of them"
        )
    if expires_in is not None:
        return now + parse_duration(expires_in)
    if expires_at is not None:
        return parse_clock_time(expires_at, now=now)
    return None
