"""Inputs are checked before anything is sent; the car is chosen by name, VIN or id."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from carctl.errors import ExitCode, RefusedError, UsageError
from carctl.vehicle.inputs import expiry, parse_clock_time, parse_duration, parse_temperature
from carctl.vehicle.model import Vehicle
from carctl.vehicle.service import choose

M3 = Vehicle("1492931337131", "5YJ3E7EA1MF000621", "Model 3", "asleep")
MY = Vehicle("1492931337242", "7SAYGDEE0NF000242", "Model Y", "online")


@pytest.mark.parametrize(
    ("text", "celsius"),
    [
        ("21", 21.0),
        ("21.5", 21.5),
        ("21,5", 21.5),
        ("21C", 21.0),
        ("21 °C", 21.0),
        ("70F", 21.0),
        ("70 °F", 21.0),
        ("59f", 15.0),
        ("82F", 28.0),
        ("15", 15.0),
        ("28", 28.0),
        ("21.3", 21.5),
    ],
)
def test_temperatures(text: str, celsius: float) -> None:
    assert parse_temperature(text) == celsius


def test_bare_numbers_follow_the_profile_units() -> None:
    assert parse_temperature("70", units="imperial") == 21.0
    assert parse_temperature("21C", units="imperial") == 21.0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("14", "outside what the car accepts"),
        ("29", "outside what the car accepts"),
        ("100F", r"100 °F \(37.8 °C\) is outside"),
        ("warm", "is not a temperature"),
        ("", "is not a temperature"),
        ("21K", "is not a temperature"),
    ],
)
def test_bad_temperatures(text: str, message: str) -> None:
    with pytest.raises(UsageError, match=message) as caught:
        parse_temperature(text)
    assert caught.value.exit_code == ExitCode.USAGE
    assert caught.value.hint


@given(st.text(max_size=20))
def test_any_text_is_a_temperature_or_a_usage_error(text: str) -> None:
    try:
        value = parse_temperature(text)
    except UsageError:
        return
    assert 15.0 <= value <= 28.0 and value * 2 == int(value * 2)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("40m", 2400), ("1h30m", 5400), ("90s", 90), ("1.5h", 5400), ("2 h", 7200)],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["40", "soon", "0m", "25h", "m", "1h 3x", "-5m"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(UsageError):
        parse_duration(text)


def test_a_clock_time_is_later_today_never_silently_tomorrow() -> None:
    now = datetime(2021, 11, 20, 6, 0).astimezone().timestamp()
    later = parse_clock_time("06:45", now=now)
    assert later - now == 45 * 60
    with pytest.raises(UsageError) as passed:
        parse_clock_time("05:30", now=now)
    assert passed.value.message == "--expires-at 05:30 has already passed today (it is 06:00 now)"
    assert passed.value.hint == (
        "give it time from now with --expires-in 40m, or name the day: "
        "--expires-at 2021-11-21T05:30"
    )
    tomorrow = parse_clock_time("2021-11-21T05:30", now=now)  # the hint's form works
    assert timedelta(seconds=tomorrow - now) == timedelta(hours=23, minutes=30)
    for bad in ("25:00", "06:61", "noon", "2020-01-01T00:00"):
        with pytest.raises(UsageError):
            parse_clock_time(bad, now=now)


def test_expiry_takes_one_of_the_two() -> None:
    with pytest.raises(UsageError, match="cannot be used together"):
        expiry(expires_in="40m", expires_at="06:45", now=0)
    assert expiry(expires_in="40m", expires_at=None, now=100.0) == 2500.0
    assert expiry(expires_in=None, expires_at=None, now=100.0) is None


def test_choose_a_car() -> None:
    both = [M3, MY]
    assert choose([M3], None) is M3
    assert choose(both, "model 3") is M3
    assert choose(both, "MODEL Y") is MY
    assert choose(both, "5yj3e7ea1mf000621") is M3
    assert choose(both, "1492931337242") is MY
    with pytest.raises(UsageError, match=r"this account has 2 cars: Model 3 \(5YJ3") as several:
        choose(both, None)
    assert "--vehicle" in (several.value.hint or "")
    with pytest.raises(UsageError, match="'model' matches several cars"):
        choose(both, "model")
    with pytest.raises(UsageError, match="no car 'Roadster' on this account; its cars: Model 3"):
        choose(both, "Roadster")
    with pytest.raises(RefusedError, match="no car on this account"):
        choose([], None)
    prefixed = [M3, Vehicle("9", "VIN9", "Daily driver", "online")]
    assert choose(prefixed, "daily").display_name == "Daily driver"
