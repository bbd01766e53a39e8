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
from carctl.vehicle import routines
from carctl.vehicle.cache import VehicleCache
from carctl.vehicle.inputs import format_temperature
from carctl.vehicle.service import Reporter, VehicleService

ACCOUNT = "owner@example.com"
PASSWORD = "ventilate-0600"  # noqa: S105 - the mock's published demo account
CAR = "Model 3"
TEMPERATURE = 21.0

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
            status = await routines.status(service, CAR, wake_first=False)
            state = status.climate or {}
            step(
                "status",
                f"Status: {status.vehicle.state}, cabin "
                f"{format_temperature(state.get('inside_temp'))}, outside "
                f"{format_temperature(state.get('outside_temp'))}, climate "
                f"{'on' if state.get('is_climate_on') else 'off'}, windows "
                f"{'vented' if (status.windows or {}).get('vented') else 'closed'}.",
                status=status.to_json(),
            )
        finally:
            cache.close()
    say("The cabin warms while the windows let the night air out. Nothing was lost.")
    return story
