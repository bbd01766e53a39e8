"""The outage as a new user lives it, with real processes and real time.

`carctl mock serve` with a short hard outage; a new user signs in and runs
`carctl climate on`: the diagnosis and "queued" are printed, the exit code is
75, and — with no further action — the background worker turns the climate
on within a minute of the outage's end.
"""

from __future__ import annotations

import json
import os
import time
import urllib.request

import pytest

from tests.conftest import OWNER, PASSWORD, run_carctl
from tests.support.serving import carctl_serve

OUTAGE_S = 8


def climate_on(url: str) -> bool:
    with urllib.request.urlopen(f"{url}/__mock__/vehicles", timeout=5) as response:  # noqa: S310
        cars = json.load(response)["vehicles"]
    return any(c["display_name"] == "Model 3" and c["is_climate_on"] for c in cars)


@pytest.mark.slow
def test_climate_on_during_an_outage_happens_after_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI")  # the background worker starts, as on a user's machine
    rules = (
        "--fault",
        f"status=500 path=/api/1/* for={OUTAGE_S}s",
        "--fault",
        f"status=503 path=/status for={OUTAGE_S}s",
    )
    with carctl_serve("--admin", *rules) as (url, _server):
        started = time.monotonic()
        assert run_carctl("config", "set", "api_url", url).returncode == 0
        login = run_carctl("auth", "login", "--email", OWNER, "--password-stdin", input=PASSWORD)
        assert login.returncode == 0, login.stderr
        result = run_carctl("--vehicle", "Model 3", "climate", "on", "--temp", "21")
        assert result.returncode == 75, result.stderr
        assert "why: the service has failed (500) since" in result.stderr
        assert "queued: temperature set to 21.0 °C and climate on for Model 3" in result.stderr
        assert "next: sent on recovery until " in result.stderr
        assert not climate_on(url)
        recovered = started + OUTAGE_S
        while not climate_on(url) and time.monotonic() < recovered + 60:
            time.sleep(0.5)
        assert climate_on(url), "the climate did not come on within a minute of recovery"
        delay = time.monotonic() - recovered
        print(f"\nclimate on {delay:.1f} s after the outage ended")
        with urllib.request.urlopen(f"{url}/__mock__/stats", timeout=5) as response:  # noqa: S310
            stats = json.load(response)
        assert set(stats["executions"].values()) == {1}
        assert os.environ.get("CI") is None
