"""Each extension point is one entry in one registry, and nothing else is touched.

A provider is one `register(Kind(...))` in `carctl.providers`; a doctor check is
one function with `REGISTRY.check`. These tests add one of each from outside
and use it through the whole of carctl: settings, sign-in, the stack, the
vehicle API over real HTTP, the ledger, doctor's report, bundle and verdict.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from carctl.providers import PROVIDERS, TOKEN_PATH, Kind, Overrides, Provider
from tests.conftest import Served, invoke, sign_in

M3 = "1492931337131"


@pytest.fixture
def acme(served: Served, monkeypatch: pytest.MonkeyPatch) -> Served:
    """A provider carctl has never heard of, registered as a plugin would: it serves the
    Owner API's shape at the served mock's address, signs commands itself, bills per call."""

    def where(overrides: Overrides) -> Provider:
        base = overrides.provider_url or served.url
        return Provider("acme", base, base, TOKEN_PATH, signs=True)

    monkeypatch.setitem(
        PROVIDERS,
        "acme",
        Kind("acme", "Acme Cars", "a provider from a plugin", where, paid=True),
    )
    return served


def test_a_provider_registered_once_works_through_the_whole_stack(acme: Served) -> None:
    acme.admin("PATCH", f"/__mock__/vehicles/{M3}", json={"wake_delay": 0, "state": "online"})
    assert invoke("config", "set", "api_url", "acme").code == 0  # the settings know it
    sign_in()  # its sign-in: the password flow it declares
    status = invoke("--json", "auth", "status").json()["data"]
    assert status["provider"] == "acme"
    assert invoke("--json", "climate", "on", "--vehicle", "Model 3").code == 0
    commands = [c["name"] for c in acme.admin("GET", "/__mock__/stats")["commands"]]
    assert "auto_conditioning_start" in commands  # sent over HTTP to its address
    usage = invoke("--json", "usage").json()["data"]  # paid: the ledger counts its calls
    assert usage["provider"] == "acme" and usage["categories"]["command"]["billed"] >= 1
    wrong = invoke("config", "set", "api_url", "acmee")
    assert wrong.code == 2 and '"acme"' in wrong.stderr  # listed among the names


def test_without_its_entry_the_name_means_nothing(served: Served) -> None:
    refused = invoke("config", "set", "api_url", "acme")
    assert refused.code == 2 and '"fleet"' in refused.stderr and "acme" not in PROVIDERS


@pytest.fixture
def tyres(monkeypatch: pytest.MonkeyPatch) -> None:
    """One decorated function, on a copy of the registry (the test leaves the real one)."""
    from carctl.doctor import checks
    from carctl.doctor.model import FAIL, VEHICLE, Doctor, Finding, Registry

    registry = Registry(list(checks.REGISTRY))
    monkeypatch.setattr(checks, "REGISTRY", registry)

    @registry.check("tyres", "tyre pressure", order=82, needs=("config",), blames=VEHICLE)
    def tyre_pressure(doc: Doctor) -> Finding:
        return Finding(FAIL, "front left at 1.2 bar", "pump it to 2.9 bar before driving")


def test_a_doctor_check_is_one_decorated_function(
    tyres: None, served: Served, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CARCTL_API_URL", served.url)
    sign_in()
    listed = invoke("--json", "doctor", "--list").json()["data"]
    assert "tyres" in [row["id"] for row in listed]
    bundle = tmp_path / "report.zip"
    result = invoke("--json", "doctor", "--bundle", str(bundle))
    assert result.code == 1, result.output  # a check failed
    report: dict[str, Any] = result.json()["data"]
    tyre = next(c for c in report["checks"] if c["id"] == "tyres")
    assert tyre["status"] == "fail" and tyre["detail"] == "front left at 1.2 bar"
    assert report["verdict"] == "vehicle"  # what it declares it blames
    assert report["evidence"] == (
        "Tyre pressure: front left at 1.2 bar. Pump it to 2.9 bar before driving."
    )
    with zipfile.ZipFile(bundle) as archive:
        kept = json.loads(archive.read("doctor.json"))
    assert [c["id"] for c in kept["checks"]] == [c["id"] for c in report["checks"]]
    only = invoke("--json", "doctor", "tyres").json()["data"]  # one check, by its id
    assert [c["id"] for c in only["checks"]] == ["tyres"]
