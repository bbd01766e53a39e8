"""The seed: the accounts, vehicles and settings a mock world starts from.

Seeds are TOML (or JSON) files. A file that does not parse, or that holds a
value of the wrong kind, raises `SeedError` naming the file, the line and what
was expected, because a person edits these by hand.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from carctl.mock.durations import parse_duration

VEHICLE_STATES = ("online", "asleep", "offline")
# What a car's software keeps: precondition schedules (and a scheduled departure), or
# only the older scheduled departure.
SCHEDULE_SUPPORT = ("precondition", "departure")
# Whether the car takes plain REST commands ("off"), or only ones signed with Tesla's
# Vehicle Command Protocol ("required"), as newer cars do.
COMMAND_SIGNING = ("off", "required")


class SeedError(ValueError):
    """A seed or scenario file is unreadable; the message says where and why."""


@dataclass(frozen=True)
class RateLimits:
    data_per_minute: int = 60
    commands_per_minute: int = 30
    wakes_per_minute: int = 3


@dataclass(frozen=True)
class Settings:
    access_token_ttl: float = 8 * 3600.0
    idle_sleep: float = 15 * 60.0
    wake_delay: float = 4.0
    rate_limits: RateLimits = field(default_factory=RateLimits)


@dataclass(frozen=True)
class SeedAccount:
    email: str
    password: str
    full_name: str = ""


@dataclass(frozen=True)
class SeedVehicle:
    owner: str
    id: int
    vehicle_id: int
    vin: str
    display_name: str
    car_type: str = "model3"
    state: str = "asleep"
    in_service: bool = False
    latitude: float = 37.5665
    longitude: float = 126.9780
    outside_temp: float = 2.0
    inside_temp: float = 4.0
    driver_temp_setting: float = 21.0
    passenger_temp_setting: float = 21.0
    battery_level: float = 80.0
    odometer: float = 10000.0
    wake_delay: float | None = None
    time_zone: str = "Asia/Seoul"
    schedule_support: str = "precondition"
    plugged_in: bool = False
    charge_limit_soc: int = 80
    command_signing: str = "off"


@dataclass(frozen=True)
class Seed:
    settings: Settings
    accounts: tuple[SeedAccount, ...]
    vehicles: tuple[SeedVehicle, ...]
    source: str = "default"


def load_document(path: Path) -> tuple[dict[str, Any], str]:
    """Parse a TOML or JSON file; return the data and its text (for line lookups)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SeedError(f"{path}: cannot read the file ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise SeedError(f"{path}: not a text file (expected UTF-8 TOML or JSON)") from None
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SeedError(f"{path}, line {exc.lineno}: invalid JSON: {exc.msg}") from None
    else:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            # tomllib says "... (at line 3, column 9)"; lift the line to the front.
            message = str(exc)
            found = re.search(r"\(at line (\d+), column \d+\)", message)
            where = f", line {found.group(1)}" if found else ""
            reason = re.sub(r"\s*\(at line \d+, column \d+\)", "", message)
            raise SeedError(f"{path}{where}: invalid TOML: {reason}") from None
    if not isinstance(data, dict):
        raise SeedError(f"{path}, line 1: expected a table of settings, accounts and vehicles")
    return data, text


def line_of(text: str, key: str, occurrence: int = 0) -> int | None:
    """Best-effort line number of the `occurrence`-th definition of `key`."""
    pattern = re.compile(rf'^\s*"?{re.escape(key)}"?\s*[=:]', re.MULTILINE)
    for index, match in enumerate(pattern.finditer(text)):
        if index == occurrence:
            return text.count("\n", 0, match.start()) + 1
    return None


class _Reader:
    """Typed access to one table of a seed, with errors that point at the line."""

    def __init__(self, source: str, text: str, table: dict[str, Any], where: str) -> None:
        self.source, self.text, self.table, self.where = source, text, table, where
        self.occurrence = 0

    def fail(self, key: str, expected: str) -> SeedError:
        line = None
        if self.text and key in self.table:
            line = line_of(self.text, key, self.occurrence)
        elif self.text:  # a missing key: point at the table it is missing from
            header = f"[[{self.where.split('[')[0]}]]"
            starts = [i for i, row in enumerate(self.text.splitlines()) if row.strip() == header]
            line = starts[self.occurrence] + 1 if self.occurrence < len(starts) else None
        at = f", line {line}" if line else ""
        got = repr(self.table[key]) if key in self.table else "nothing"
        return SeedError(f"{self.source}{at}: {self.where}{key}: expected {expected}, got {got}")

    def text_value(self, key: str, default: str | None = None) -> str:
        value = self.table.get(key, default)
        if not isinstance(value, str) or (default is None and not value):
            raise self.fail(key, "a non-empty string")
        return value

    def number(
        self, key: str, default: float, low: float | None = None, high: float | None = None
    ) -> float:
        value = self.table.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(key, "a number")
        if (low is not None and value < low) or (high is not None and value > high):
            raise self.fail(key, f"a number from {low} to {high}")
        return float(value)

    def integer(self, key: str, default: int | None = None, low: int = 0) -> int:
        value = self.table.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise self.fail(key, f"a whole number of at least {low}")
        return value

    def duration(self, key: str, default: float | None) -> float | None:
        value = self.table.get(key, default)
        if value is None:
            return None
        try:
            return parse_duration(value)
        except ValueError:
            raise self.fail(key, "a duration such as 4s or 15m") from None

    def zone(self, key: str, default: str) -> str:
        name = self.text_value(key, default)
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise self.fail(key, "an IANA time zone such as Asia/Seoul") from None
        return name

    def boolean(self, key: str, default: bool) -> bool:
        value = self.table.get(key, default)
        if not isinstance(value, bool):
            raise self.fail(key, "true or false")
        return value


def parse_seed(data: dict[str, Any], *, source: str, text: str = "") -> Seed:
    settings = _settings(data, source, text)
    accounts = [
        _account(_Reader(source, text, table, f"accounts[{index}]."), index)
        for index, table in enumerate(_tables(data, "accounts", source, text))
    ]
    emails = {account.email for account in accounts}
    vehicles = [
        _vehicle(_Reader(source, text, table, f"vehicles[{index}]."), index, emails)
        for index, table in enumerate(_tables(data, "vehicles", source, text))
    ]
    ids = [vehicle.id for vehicle in vehicles]
    if len(set(ids)) != len(ids):
        raise SeedError(f"{source}: two vehicles share an id; each needs its own")
    return Seed(
        settings=settings, accounts=tuple(accounts), vehicles=tuple(vehicles), source=source
    )


def _settings(data: dict[str, Any], source: str, text: str) -> Settings:
    settings_table = data.get("settings", {})
    if not isinstance(settings_table, dict):
        raise SeedError(f"{source}: [settings] must be a table")
    s = _Reader(source, text, settings_table, "settings.")
    limits_table = settings_table.get("rate_limits", {})
    if not isinstance(limits_table, dict):
        raise SeedError(f"{source}: [settings.rate_limits] must be a table")
    r = _Reader(source, text, limits_table, "settings.rate_limits.")
    return Settings(
        access_token_ttl=s.duration("access_token_ttl", 8 * 3600.0) or 8 * 3600.0,
        idle_sleep=s.duration("idle_sleep", 900.0) or 0.0,
        wake_delay=s.duration("wake_delay", 4.0) or 0.0,
        rate_limits=RateLimits(
            data_per_minute=r.integer("data_per_minute", 60, low=1),
            commands_per_minute=r.integer("commands_per_minute", 30, low=1),
            wakes_per_minute=r.integer("wakes_per_minute", 3, low=1),
        ),
    )


def _account(a: _Reader, index: int) -> SeedAccount:
    a.occurrence = index
    return SeedAccount(
        email=a.text_value("email").lower(),
        password=a.text_value("password"),
        full_name=a.text_value("full_name", ""),
    )


def _vehicle(v: _Reader, index: int, emails: set[str]) -> SeedVehicle:
    v.occurrence = index
    owner = v.text_value("owner").lower()
    if owner not in emails:
        raise v.fail(
            "owner", f"the e-mail of an account in this seed ({', '.join(sorted(emails))})"
        )
    state = v.text_value("state", "asleep")
    if state not in VEHICLE_STATES:
        raise v.fail("state", " or ".join(VEHICLE_STATES))
    return SeedVehicle(
        owner=owner,
        id=v.integer("id", 1492931337000 + index, low=1),
        vehicle_id=v.integer("vehicle_id", 1349185000 + index, low=1),
        vin=v.text_value("vin", f"5YJ3E7EA1MF{index:06d}").upper(),
        display_name=v.text_value("display_name", f"Car {index + 1}"),
        car_type=v.text_value("car_type", "model3"),
        state=state,
        in_service=v.boolean("in_service", False),
        latitude=v.number("latitude", 37.5665, -90, 90),
        longitude=v.number("longitude", 126.9780, -180, 180),
        outside_temp=v.number("outside_temp", 2.0, -50, 60),
        inside_temp=v.number("inside_temp", 4.0, -50, 80),
        driver_temp_setting=v.number("driver_temp_setting", 21.0, 15, 28),
        passenger_temp_setting=v.number("passenger_temp_setting", 21.0, 15, 28),
        battery_level=v.number("battery_level", 80.0, 0, 100),
        odometer=v.number("odometer", 10000.0, 0),
        wake_delay=v.duration("wake_delay", None),
        time_zone=v.zone("time_zone", "Asia/Seoul"),
        schedule_support=_choice(v, "schedule_support", SCHEDULE_SUPPORT),
        plugged_in=v.boolean("plugged_in", False),
        charge_limit_soc=int(v.number("charge_limit_soc", 80, 50, 100)),
        command_signing=_choice(v, "command_signing", COMMAND_SIGNING),
    )


def _choice(reader: _Reader, key: str, choices: tuple[str, ...]) -> str:
    value = reader.text_value(key, choices[0])
    if value not in choices:
        raise reader.fail(key, " or ".join(choices))
    return value


def _tables(data: dict[str, Any], key: str, source: str, text: str) -> list[dict[str, Any]]:
    tables = data.get(key, [])
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        line = line_of(text, key) if text else None
        at = f", line {line}" if line else ""
        raise SeedError(f"{source}{at}: expected [[{key}]] tables")
    return tables


def load_seed(path: Path | str | None = None) -> Seed:
    """The seed at `path`, or the default seed shipped with carctl."""
    if path is None:
        text = resources.files("carctl.mock").joinpath("seeds/default.toml").read_text("utf-8")
        return parse_seed(tomllib.loads(text), source="default", text=text)
    file = Path(path)
    data, text = load_document(file)
    return parse_seed(data, source=str(file), text=text)
