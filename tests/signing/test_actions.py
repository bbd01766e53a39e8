"""carctl's commands as the car's payloads and back: what carctl encodes, the mock car
reads as the same REST command (tesla-fleet-api's encodings are checked against the
mock in test_third_party_signer.py)."""

from __future__ import annotations

from typing import Any

import pytest

from carctl.signing import actions, wire
from carctl.signing import messages as m

WEEKDAY_SCHEDULE = {"precondition_time": 390, "one_time": False, "enabled": True}
HERE = {"lat": 37.5, "lon": 127.0}
ONCE = {"precondition_time": 0, "one_time": True, "enabled": True, "id": 7, "name": "gym"}
DEPART = {"enable": True, "departure_time": 420, "off_peak_charging_enabled": False}
WEEKDAYS_ONLY = {"preconditioning_enabled": True, "preconditioning_weekdays_only": True}
NO_PRECONDITIONING = {"preconditioning_enabled": False, "preconditioning_weekdays_only": False}
OFF_PEAK = {"enable": False, "departure_time": 0, "off_peak_charging_enabled": True}
SENT: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    ("auto_conditioning_start", {}, {}),
    ("auto_conditioning_stop", {}, {}),
    (
        "set_temps",
        {"driver_temp": 21.5, "passenger_temp": 20},
        {"driver_temp": 21.5, "passenger_temp": 20.0},
    ),
    ("set_temps", {"driver_temp": 22}, {"driver_temp": 22.0, "passenger_temp": 22.0}),
    ("window_control", {"command": "vent", "lat": 0, "lon": 0}, {"command": "vent"}),
    ("window_control", {"command": "close", **HERE}, {"command": "close"}),
    (
        "add_precondition_schedule",
        {"days_of_week": "Weekdays", **WEEKDAY_SCHEDULE, **HERE},
        {"days_of_week": 31, **WEEKDAY_SCHEDULE, **HERE},
    ),
    (
        "add_precondition_schedule",
        {"days_of_week": "Monday,Friday", **ONCE},
        {"days_of_week": 17, **ONCE, "lat": 0.0, "lon": 0.0},
    ),
    ("remove_precondition_schedule", {"id": 7}, {"id": 7}),
    ("set_scheduled_departure", {**DEPART, **WEEKDAYS_ONLY}, {**DEPART, **WEEKDAYS_ONLY}),
    ("set_scheduled_departure", OFF_PEAK, {**OFF_PEAK, **NO_PRECONDITIONING}),
    ("flash_lights", {}, {}),
    ("honk_horn", {}, {}),
    ("set_sentry_mode", {"on": True}, {"on": True}),
    ("charge_start", {}, {}),
    ("set_preconditioning_max", {"on": True}, {"on": True}),
    ("remote_steering_wheel_heater_request", {"on": False}, {"on": False}),
    ("remote_seat_heater_request", {"heater": 0, "level": 3}, {"heater": 0, "level": 3}),
    ("remote_seat_heater_request", {"heater": 5, "level": 0}, {"heater": 5, "level": 0}),
    ("charge_stop", {}, {}),
    ("set_charge_limit", {"percent": 80}, {"percent": 80}),
    ("set_charging_amps", {"charging_amps": 16}, {"charging_amps": 16}),
    ("charge_port_door_open", {}, {}),
    ("charge_port_door_close", {}, {}),
    ("set_sentry_mode", {"on": False}, {"on": False}),
    ("door_lock", {}, {}),
    ("actuate_trunk", {"which_trunk": "front"}, {"which_trunk": "front"}),
    ("actuate_trunk", {"which_trunk": "rear"}, {"which_trunk": "rear"}),
    ("door_unlock", {}, {}),
    ("wake_vehicle", {}, {}),
]


@pytest.mark.parametrize(("name", "params", "read"), SENT)
def test_what_carctl_encodes_the_car_reads_as_the_same_command(
    name: str, params: dict[str, Any], read: dict[str, Any]
) -> None:
    domain, payload = actions.encode(name, params)
    assert domain == (
        m.VCSEC
        if name in ("door_lock", "door_unlock", "wake_vehicle", "actuate_trunk")
        else m.INFOTAINMENT
    )
    decoded = actions.decode(domain, payload)
    assert decoded.name == name
    lat = read.get("lat")
    if lat:
        assert decoded.params.pop("lat") == pytest.approx(lat, abs=1e-4)
        assert decoded.params.pop("lon") == pytest.approx(read["lon"], abs=1e-4)
        read = {k: v for k, v in read.items() if k not in ("lat", "lon")}
    assert decoded.params == read


@pytest.mark.parametrize(
    ("name", "params"),
    [("actuate_trunk", {"which_trunk": "side"}), ("window_control", {"command": "half"}),
     ("add_precondition_schedule", {"days_of_week": "someday"})],
)  # fmt: skip
def test_what_the_table_has_no_action_for_is_refused(name: str, params: dict[str, Any]) -> None:
    with pytest.raises(actions.UnsupportedCommand):
        actions.encode(name, params)


@pytest.mark.parametrize(
    ("domain", "payload"),
    [
        (m.VCSEC, wire.uint(1, 5)),  # an information request, not an RKE action
        (m.VCSEC, wire.uint(2, 20)),  # remote drive: not in the table
        (m.INFOTAINMENT, wire.uint(1, 1)),  # an Action without a vehicle action
        (m.INFOTAINMENT, wire.message(2, wire.message(5, b"") + wire.message(6, b""))),
        (m.INFOTAINMENT, wire.message(2, wire.message(34, b""))),  # windows: neither
        (m.INFOTAINMENT, wire.message(2, wire.message(6, b""))),  # charging: neither start nor stop
        (m.INFOTAINMENT, wire.message(2, wire.message(7, b""))),  # not in the table
    ],
)
def test_payloads_the_mock_car_cannot_read_are_refused(domain: int, payload: bytes) -> None:
    with pytest.raises(actions.UnsupportedCommand):
        actions.decode(domain, payload)


def test_a_vehicle_action_that_is_no_message_is_a_wire_error() -> None:
    with pytest.raises(wire.WireError):
        actions.decode(m.INFOTAINMENT, wire.message(2, wire.uint(10, 1)))


def test_results_read_back_in_both_domains() -> None:
    assert actions.read_result(m.INFOTAINMENT, actions.infotainment_result(True, "")) == (True, "")
    assert actions.read_result(
        m.INFOTAINMENT, actions.infotainment_result(False, "user_too_far")
    ) == (
        False,
        "user_too_far",
    )
    assert actions.read_result(m.INFOTAINMENT, b"") == (True, "")
    assert actions.read_result(m.VCSEC, actions.vcsec_result(True, "")) == (True, "")
    assert actions.read_result(m.VCSEC, actions.vcsec_result(False, "vehicle_not_in_park")) == (
        False,
        "vehicle_not_in_park",
    )
    assert actions.read_result(m.VCSEC, actions.vcsec_result(False, "something else")) == (
        False,
        "unknown",
    )
    status_error = wire.message(4, wire.uint(1, m.STATUS_ERROR))
    ok, reason = actions.read_result(m.VCSEC, status_error)
    assert ok is False and "security controller" in reason
