"""`carctl demo`: the morning of 20 November 2021, told end to end.

It runs against the built-in endpoint in a throw-away home directory, with
the session kept in a file there: the user's own config, state and keyring
are never touched. Every step goes through the same code as the real
commands (sign-in, finding the car, waking it, climate, vent, status).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from carctl.api.connect import open_client
from carctl.api.credentials import Credentials, FileStore, entry_name
from carctl.api.oauth import login_with_password
from carctl.clock import Clock
from carctl.paths import HOME_ENV, resolve_paths
from carctl.settings import BUILTIN, DEFAULT_PROFILE, load_settings
from carctl.text import plural
from carctl.vehicle import routines
from carctl.vehicle.cache import VehicleCache
from carctl.vehicle.inputs import format_temperature
from carctl.vehicle.service import Reporter, VehicleService

OUTAGE_RULE = {"status": 500, "path": "/api/1/*"}

ACCOUNT = "owner@example.com"
PASSWORD = "ventilate-0600"  # noqa: S105 - the mock's published demo account
CAR = "Model 3"
TEMPERATURE = 21.0
WARMER = 22.0

Say = Callable[[str], None]


def demo_env(home: Path) -> dict[str, str]:
    """The environment of the demo: the user's CARCTL_* settings left out."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CARCTL_")}
    env[HOME_ENV] = str(home)
    return env


async def run_demo(
    home: Path, *, clock: Clock, say: Say, reporter: Reporter | None = None
) -> dict[str, Any]:
    env = demo_env(home)
    paths = resolve_paths(env)
    settings = load_settings(paths.config_file, env=env)
    assert settings.api_url == BUILTIN
    store = FileStore(paths.state_dir / "credentials.json")
    credentials = Credentials(entry_name(DEFAULT_PROFILE, BUILTIN), store, store, env)
    story: dict[str, Any] = {"home": str(home), "steps": []}

    def step(name: str, text: str, **facts: Any) -> None:
        story["steps"].append({"step": name, "detail": text, **facts})
        say(text)

    say("06:00 in Seoul, 20 November 2021. It is 2 °C outside; the car has slept all night.")
    async with open_client(
        settings=settings, paths=paths, env=env, clock=clock, credentials=credentials
    ) as client:
        signed = await login_with_password(
            client, credentials, email=ACCOUNT, password=PASSWORD, login_command="carctl demo"
        )
        step("sign_in", f"Signed in as {signed.session.account} (built-in vehicle API).")
        cache = VehicleCache(paths.state_db, entry_name(DEFAULT_PROFILE, BUILTIN))
        try:
            service = VehicleService(client, cache, clock=clock, reporter=reporter)
            car = await service.locate(CAR)
            step("find", f"Found {car.label} ({car.vin}): {car.state}.", state=car.state)
            woke = await service.wake(car, timeout=60)
            step("wake", f"Woke it: online after {woke.waited_s:.1f} s.", waited_s=woke.waited_s)
            climate = await routines.climate(service, CAR, on=True, temp=TEMPERATURE)
            step(
                "climate_on",
                f"Climate on at {format_temperature(TEMPERATURE)}"
                + (" — confirmed by the car." if climate.confirmed else " — sent."),
                confirmed=climate.confirmed,
            )
            vented = await routines.windows(service, CAR, close=False)
            step(
                "vent",
                "Windows vented" + (" — confirmed by the car." if vented.confirmed else " — sent."),
                confirmed=vented.confirmed,
            )
            await _status_step(service, step, "status")
        finally:
            cache.close()
        await _outage_act(paths, env, settings, credentials, clock, step, say)
    say("The cabin warms while the night air goes out. Nothing was lost, nothing ran twice.")
    return story


async def _status_step(service: VehicleService, step: Callable[..., None], name: str) -> None:
    status = await routines.status(service, CAR, wake_first=False)
    state = status.climate or {}
    step(
        name,
        f"Status: {status.vehicle.state}, cabin "
        f"{format_temperature(state.get('inside_temp'))}, outside "
        f"{format_temperature(state.get('outside_temp'))}, climate "
        f"{'on' if state.get('is_climate_on') else 'off'} at "
        f"{format_temperature(state.get('driver_temp_setting'))}, windows "
        f"{'vented' if (status.windows or {}).get('vented') else 'closed'}.",
        status=status.to_json(),
    )


async def _outage_act(
    paths: Any,
    env: dict[str, str],
    settings: Any,
    credentials: Credentials,
    clock: Clock,
    step: Callable[..., None],
    say: Say,
) -> None:
    """The service fails with 500s; the command is queued, then delivered on recovery."""
    import random

    from carctl import builtin
    from carctl.delivery.guard import Guard
    from carctl.delivery.health import HealthStore
    from carctl.delivery.queue import Queue
    from carctl.delivery.runner import Delivery
    from carctl.delivery.worker import Runner
    from carctl.errors import CarctlError

    say("06:05. The vehicle API starts answering every request with 500 server error.")
    await builtin.control_async(
        paths.state_db, "PUT", "/__mock__/faults", {"rules": [OUTAGE_RULE]}, None
    )
    health = HealthStore(paths.state_db, BUILTIN)
    queue = Queue(paths.state_db)
    cache = VehicleCache(paths.state_db, entry_name(DEFAULT_PROFILE, BUILTIN))
    rng = random.Random(2021)
    try:
        async with open_client(
            settings=settings, paths=paths, env=env, clock=clock, credentials=credentials
        ) as client:
            client.guard = Guard(health, clock=clock, rng=rng, deadline=clock.now() + 20)
            delivery = Delivery(
                queue=queue,
                health=health,
                request_log=client.request_log,
                scope=entry_name(DEFAULT_PROFILE, BUILTIN),
                origin=BUILTIN,
                clock=clock,
                ttl_s=30 * 60,
            )
            service = VehicleService(client, cache, clock=clock, delivery=delivery)
            try:
                await routines.set_temperature(service, CAR, temp=WARMER)
            except CarctlError as exc:
                queued = exc.queued or {}
                diagnosis = (exc.data or {}).get("diagnosis", {})
                step(
                    "queued",
                    f"Set {format_temperature(WARMER)}: {exc.attempts or 1} attempts failed "
                    f"(HTTP {exc.http.status if exc.http else '–'}); queued as "
                    f"#{', #'.join(map(str, queued.get('ids', [])))}.",
                    queued=queued,
                )
                say(f"  {diagnosis.get('evidence', exc.message)}")
        say("06:20. The service recovers.")
        await builtin.control_async(paths.state_db, "DELETE", "/__mock__/faults", None, None)
        runner = Runner(paths, env, clock=clock, rng=rng)
        try:
            result = await runner.one_pass(due_only=False)
        finally:
            runner.close()
        step(
            "delivered",
            f"The queue delivered {plural(result.delivered, 'command')}, "
            + ("exactly once." if result.delivered == 1 else "each exactly once."),
            delivered=result.delivered,
        )
        await builtin.control_async(
            paths.state_db, "POST", "/__mock__/clock", {"advance": 15 * 60}, None
        )
        say("06:35.")
        async with open_client(
            settings=settings, paths=paths, env=env, clock=clock, credentials=credentials
        ) as client:
            await _status_step(VehicleService(client, cache, clock=clock), step, "warming")
    finally:
        health.close()
        queue.close()
        cache.close()
