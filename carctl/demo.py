"""`carctl demo`: the morning of 20 November 2021, told end to end.

It runs against the built-in endpoint in a throw-away home directory, with
the session kept in a file there: the user's own config, state and keyring
are never touched. Every step goes through the same code as the real
commands (sign-in, finding the car, waking it, climate, vent, status).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Protocol

from carctl.api.credentials import Credentials, FileStore
from carctl.api.sessions import entry_name
from carctl.api.signin import login_with_password
from carctl.paths import HOME_ENV, resolve_paths
from carctl.providers import BUILTIN
from carctl.settings import DEFAULT_PROFILE, load_settings
from carctl.stack import CarRun, Queueing, Stack
from carctl.text import plural
from carctl.timefmt import hhmm
from carctl.vehicle import routines
from carctl.vehicle.inputs import format_temperature
from carctl.vehicle.service import Reporter, VehicleService
from carctl.vehicle.status import status as read_status

OUTAGE_RULE = {"status": 500, "path": "/api/1/*"}

ACCOUNT = "owner@example.com"
PASSWORD = "ventilate-0600"  # noqa: S105 - the mock's published demo account
CAR = "Model 3"
TEMPERATURE = 21.0
WARMER = 22.0

SEOUL = timezone(timedelta(hours=9), "KST")
STORY_START = datetime(2021, 11, 20, 6, 0, tzinfo=SEOUL).timestamp()
STORY_TZ = "KST-9"  # POSIX form: needs no time zone database
SPARK = "▁▂▃▄▅▆▇█"


class Narrator(Protocol):
    """How the story reaches the screen: the CLI draws it, tests read it."""

    def act(self, clock: str, title: str) -> None: ...

    def say(self, text: str, *, ok: bool = False) -> None: ...

    def queued(self, error: Any) -> None: ...


class StoryClock:
    """The story's clock: 06:00 in Seoul when the demo starts, moving with real time.

    Every time carctl prints during the demo (a diagnosis's "since 06:05", a
    deadline) comes from here, so the story never mixes its clock with the
    real one. Acts jump it forward; it never runs backwards.
    """

    def __init__(self, start: float = STORY_START) -> None:
        self.offset = start - time.time()

    def now(self) -> float:
        return time.time() + self.offset

    def sleep(self, seconds: float) -> None:
        time.sleep(max(0.0, seconds))

    def jump_to(self, moment: float) -> None:
        self.offset = max(self.offset, moment - time.time())

    def at(self, minutes: int) -> str:
        """Jump to 06:MM of the story and say it: "06:05"."""
        self.jump_to(STORY_START + minutes * 60)
        return hhmm(self.now())


def sparkline(values: list[float]) -> str:
    """ "▁▂▄▆▇█": the cabin warming, one block per reading."""
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    return "".join(SPARK[round((v - low) / span * (len(SPARK) - 1))] for v in values)


def demo_env(home: Path) -> dict[str, str]:
    """The environment of the demo: the user's CARCTL_* settings left out."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CARCTL_")}
    env[HOME_ENV] = str(home)
    return env


def run_demo(home: Path, *, narrator: Narrator, reporter: Reporter | None = None) -> dict[str, Any]:
    """The story, told through `narrator`, on the story's clock and in Seoul's time zone."""
    saved = os.environ.get("TZ")
    os.environ["TZ"] = STORY_TZ
    time.tzset()
    try:
        return _story(home, StoryClock(), narrator, reporter)
    finally:
        if saved is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = saved
        time.tzset()


def _story(
    home: Path, clock: StoryClock, narrator: Narrator, reporter: Reporter | None
) -> dict[str, Any]:
    from carctl.api import builtin

    env = demo_env(home)
    paths = resolve_paths(env)
    # the built-in car lives on the story's clock too: its schedules run at story times
    builtin.control(paths.state_db, "POST", "/__mock__/clock", {"set": clock.now()})
    builtin.control(paths.state_db, "POST", "/__mock__/reset")
    settings = load_settings(paths.config_file, env=env)
    assert settings.api_url == BUILTIN
    store = FileStore(paths.state_dir / "credentials.json")
    credentials = Credentials(entry_name(DEFAULT_PROFILE, BUILTIN), store, store, env)
    story: dict[str, Any] = {"home": str(home), "steps": []}

    def step(name: str, text: str, *, ok: bool = True, show: bool = True, **facts: Any) -> None:
        story["steps"].append({"step": name, "detail": text, **facts})
        if show:
            narrator.say(text, ok=ok)

    narrator.act(clock.at(0), "Before the drive: 2 °C outside, the car asleep all night")
    # every run of the story: the demo's home, its session file, the story's clock
    stack = Stack(settings=settings, paths=paths, env=env, clock=clock, credentials=credentials)
    try:
        _drive(stack, credentials, step, narrator, reporter)
        _outage_act(stack, paths, clock, step, narrator)
        _schedule_act(stack.car_run, paths, clock, step, narrator)
    finally:
        stack.close()
    return story


def _drive(
    stack: Stack,
    credentials: Credentials,
    step: Callable[..., None],
    narrator: Narrator,
    reporter: Reporter | None,
) -> None:
    """Before the drive: sign in, find and wake the car, climate on, vent, read it back."""
    with stack.car_run(reporter=reporter) as run:
        signed = login_with_password(
            run.client, credentials, email=ACCOUNT, password=PASSWORD, login_command="carctl demo"
        )
        step("sign_in", f"Signed in as {signed.session.account} (built-in vehicle API)")
        service = run.service
        car = service.locate(CAR)
        step("find", f"Found {car.label} ({car.vin}): {car.state}", state=car.state)
        woke = service.wake(car, timeout=60)
        step("wake", f"Woke it: online after {woke.waited_s:.1f} s", waited_s=woke.waited_s)
        climate = routines.climate(service, CAR, on=True, temp=TEMPERATURE)
        step(
            "climate_on",
            f"Climate on at {format_temperature(TEMPERATURE)}"
            + (" — confirmed by the car" if climate.confirmed else " — sent"),
            confirmed=climate.confirmed,
        )
        vented = routines.windows(service, CAR, close=False)
        step(
            "vent",
            "Windows vented" + (" — confirmed by the car" if vented.confirmed else " — sent"),
            confirmed=vented.confirmed,
        )
        _status_step(service, step, "status")


def _status_step(
    service: VehicleService, step: Callable[..., None], name: str, warming: str = ""
) -> None:
    status = read_status(service, CAR, wake_first=False)
    state = status.climate or {}
    cabin = (
        f"{warming}\nOutside"
        if warming
        else (f"Cabin {format_temperature(state.get('inside_temp'))}; outside")
    )
    step(
        name,
        f"{cabin} "
        f"{format_temperature(state.get('outside_temp'))}; climate "
        f"{'on' if state.get('is_climate_on') else 'off'} at "
        f"{format_temperature(state.get('driver_temp_setting'))}; windows "
        f"{'vented' if (status.windows or {}).get('vented') else 'closed'}",
        ok=False,
        status=status.to_json(),
    )


def _cabin_readings(paths: Any, service: VehicleService, minutes: int, every: int) -> list[float]:
    """The car's own cabin readings while the story's clock moves on (the mock's clock too)."""
    from carctl.api import builtin

    readings: list[float] = []
    for _ in range(0, minutes + 1, every):
        status = read_status(service, CAR, wake_first=False)
        inside = (status.climate or {}).get("inside_temp")
        if isinstance(inside, int | float):
            readings.append(float(inside))
        builtin.control(paths.state_db, "POST", "/__mock__/clock", {"advance": every * 60})
    return readings


def _outage_act(
    stack: Stack,
    paths: Any,
    clock: StoryClock,
    step: Callable[..., None],
    narrator: Narrator,
) -> None:
    """The service fails with 500s; the command is queued, then delivered on recovery."""
    import random

    from carctl.api import builtin
    from carctl.errors import CarctlError

    narrator.act(clock.at(5), "The vehicle API fails: every request answers 500")
    builtin.control(paths.state_db, "PUT", "/__mock__/faults", {"rules": [OUTAGE_RULE]})
    rng = random.Random(2021)
    # the pass at 06:20 plays the background worker
    queueing = Queueing(ttl_s=30 * 60, start_worker=lambda: "started")
    with stack.car_run(rng=rng, queueing=queueing) as run:
        narrator.say(f"$ carctl climate on --temp {WARMER:g}")
        try:
            routines.set_temperature(run.service, CAR, temp=WARMER)
        except CarctlError as exc:
            queued = exc.queued.to_json() if exc.queued is not None else {}
            step("queued", exc.message, show=False, queued=queued)
            narrator.queued(exc)  # exactly as an owner sees it
    narrator.act(clock.at(20), "The service recovers")
    builtin.control(paths.state_db, "DELETE", "/__mock__/faults")
    result = stack.queue_runner(rng=rng).one_pass(due_only=False)
    step(
        "delivered",
        f"The worker delivered {plural(result.delivered, 'queued command')}, "
        + ("exactly once" if result.delivered == 1 else "each exactly once"),
        delivered=result.delivered,
    )
    narrator.act(clock.at(35), "Ready to drive: the cabin over the last 15 minutes")
    with stack.car_run() as run:
        readings = _cabin_readings(paths, run.service, minutes=15, every=1)
        warming = (
            f"Cabin {format_temperature(readings[0])} {sparkline(readings)} "
            f"{format_temperature(readings[-1])} in 15 min"
            if len(readings) > 1
            else ""
        )
        _status_step(run.service, step, "warming", warming)


def _jump(paths: Any, clock: StoryClock, moment: float) -> None:
    """Move the story and the built-in car's clock to `moment` (the car may be ahead)."""
    from carctl.api import builtin

    car_now = builtin.control(paths.state_db, "GET", "/__mock__/clock")["epoch"]
    if moment > car_now:
        builtin.control(paths.state_db, "POST", "/__mock__/clock", {"advance": moment - car_now})
    clock.jump_to(moment)


def _api_requests(paths: Any) -> int:
    from carctl.api import builtin

    rows = builtin.control(paths.state_db, "GET", "/__mock__/stats")["requests"]
    return sum(int(row["count"]) for row in rows)


def _model_3(paths: Any) -> dict[str, Any]:
    """The car as the mock sees it: its own view, which needs no vehicle API."""
    from carctl.api import builtin

    cars = builtin.control(paths.state_db, "GET", "/__mock__/vehicles")["vehicles"]
    return next(car for car in cars if car["display_name"] == CAR)


def _schedule_act(
    story_run: Callable[..., AbstractContextManager[CarRun]],
    paths: Any,
    clock: StoryClock,
    step: Callable[..., None],
    narrator: Narrator,
) -> None:
    """The next morning, armed the evening before: the car warms itself, the API down."""
    from carctl.api import builtin
    from carctl.vehicle import on_car
    from carctl.vehicle.schedules import ALL_DAYS

    with story_run() as run:  # the drive: the climate goes off when the owner arrives
        routines.climate(run.service, CAR, on=False)
    _jump(paths, clock, STORY_START + 16 * 3600)  # Saturday 22:00
    narrator.act(hhmm(clock.now()), "The evening before the next drive: the car keeps the schedule")
    narrator.say("$ carctl schedule set 06:30")
    with story_run() as run:
        armed = on_car.arm(
            run.service, CAR, minutes=6 * 60 + 30, days=ALL_DAYS, temp=TEMPERATURE, once=False,
            timeout=60,
        )  # fmt: skip
    words = (armed.schedule or armed.wanted).describe()
    step(
        "schedule",
        f"Armed on {CAR}: {words}, {format_temperature(TEMPERATURE)}\n"
        "It runs on the car even when the vehicle API is down.",
        confirmed=armed.confirmed,
    )
    morning = STORY_START + 24 * 3600  # Sunday 06:00
    _jump(paths, clock, morning)
    builtin.control(paths.state_db, "PUT", "/__mock__/faults", {"rules": [OUTAGE_RULE]})
    narrator.act(hhmm(clock.now()), "Sunday: the vehicle API fails again, and carctl sends nothing")
    sent_before = _api_requests(paths)
    readings = []
    for minutes in range(0, 31, 2):
        _jump(paths, clock, morning + minutes * 60)
        readings.append(float(_model_3(paths)["inside_temp"]))
    car = _model_3(paths)
    sent = _api_requests(paths) - sent_before
    runs = car.get("schedule_runs") or [{}]
    how = (
        "the car started it at 06:00 by itself"
        if car["is_climate_on"]
        else f"the car did not run its schedule ({runs[-1].get('skipped', 'no run')})"
    )
    step(
        "warm",
        f"{hhmm(clock.now())}: cabin {format_temperature(readings[0])} {sparkline(readings)} "
        f"{format_temperature(readings[-1])}, climate {'on' if car['is_climate_on'] else 'off'}"
        f"\n{how[0].upper()}{how[1:]}.",
        ok=bool(car["is_climate_on"]),
        readings=readings,
    )
    step(
        "requests",
        f"Requests to the vehicle API this morning: {sent}",
        ok=sent == 0,
        requests=sent,
    )
