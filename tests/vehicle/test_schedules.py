"""The days, times and zones of the car's schedules, as carctl reads and checks them."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from carctl.errors import ExitCode, ProtocolError, UsageError
from carctl.vehicle import schedules as plans
from carctl.vehicle.schedules import CarSchedule

SEOUL = ZoneInfo("Asia/Seoul")
NEW_YORK = ZoneInfo("America/New_York")


@pytest.mark.parametrize(
    ("text", "mask", "words", "sent"),
    [
        ("weekdays", 0b0011111, "weekdays", "Weekdays"),
        ("all", 0b1111111, "every day", "All"),
        ("Weekends", 0b1100000, "weekends", "Saturday,Sunday"),
        ("mon,wed,fri", 0b0010101, "Mon, Wed, Fri", "Monday,Wednesday,Friday"),
        ("Tuesday, thu", 0b0001010, "Tue, Thu", "Tuesday,Thursday"),
        ("sa", 0b0100000, "Sat", "Saturday"),
    ],
)
def test_days_read_shown_and_sent(text: str, mask: int, words: str, sent: str) -> None:
    assert plans.parse_days(text) == mask
    assert plans.days_text(mask) == words
    assert plans.api_days(mask) == sent


@pytest.mark.parametrize("text", ["funday", "", "t", "mon,,fri", "s"])
def test_a_day_that_is_not_one_is_a_usage_error(text: str) -> None:
    with pytest.raises(UsageError) as caught:
        plans.parse_days(text)
    assert caught.value.exit_code == ExitCode.USAGE
    assert "is not a day of the week" in caught.value.message


def test_the_next_ready_time_follows_the_days_in_the_cars_zone() -> None:
    friday_evening = datetime(2021, 11, 19, 22, 0, tzinfo=SEOUL).timestamp()
    weekdays = CarSchedule(1, plans.WEEKDAYS, 6 * 60 + 30)
    ready = plans.next_ready(weekdays, SEOUL, friday_evening)
    assert ready == datetime(2021, 11, 22, 6, 30, tzinfo=SEOUL).timestamp()  # Monday
    off = CarSchedule(2, plans.ALL_DAYS, 390, enabled=False)
    assert plans.next_ready(off, SEOUL, friday_evening) is None


def test_a_one_time_schedule_is_checked_on_its_own_day_only() -> None:
    # 02:30 is skipped in New York on 13 March 2022; a one-time schedule on
    # another day is fine, a repeating one that would meet that day is not.
    march_1 = datetime(2022, 3, 1, 12, 0, tzinfo=NEW_YORK).timestamp()
    tuesday = 1 << 1
    plans.check_time_exists(150, tuesday, NEW_YORK, march_1, once=True, zone_name="NY")
    with pytest.raises(UsageError, match="02:30 does not exist in NY on Sun 13 Mar 2022"):
        plans.check_time_exists(150, plans.ALL_DAYS, NEW_YORK, march_1, once=False, zone_name="NY")
    plans.check_time_exists(150, plans.ALL_DAYS, SEOUL, march_1, once=False, zone_name="Seoul")


def test_schedules_the_api_reports_without_their_fields_are_skipped() -> None:
    assert CarSchedule.from_api({"id": 3}) is None
    with pytest.raises(ProtocolError, match=r"precondition_schedules\[\]\.id as text"):
        CarSchedule.from_api({"id": "x", "days_of_week": 1, "precondition_time": 3})
    found = CarSchedule.from_api({"id": 3, "days_of_week": 31, "precondition_time": 390})
    assert found == CarSchedule(3, 31, 390)
    assert found.describe() == "weekdays, ready at 06:30"


def test_the_scheduled_departure_is_read_from_charge_state() -> None:
    charge = {
        "scheduled_charging_mode": "DepartBy",
        "preconditioning_enabled": True,
        "scheduled_departure_time_minutes": 420,
        "preconditioning_times": "weekdays",
    }
    departure = plans.departure_from(charge)
    assert departure == CarSchedule(0, plans.WEEKDAYS, 420, kind="departure")
    assert plans.departure_from({**charge, "preconditioning_enabled": False}) is None
    assert plans.departure_from({**charge, "scheduled_charging_mode": "Off"}) is None
