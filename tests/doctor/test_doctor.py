"""`carctl doctor` names the right cause in each situation support meets."""

from __future__ import annotations

import json
import logging
import re
import zipfile
from pathlib import Path
from typing import Any

import pytest

from carctl.doctor import checks
from tests.conftest import OWNER, PASSWORD, Endpoint, Served, invoke, run_carctl, sign_in
from tests.support.car import M3
from tests.support.serving import carctl_serve


def doctor(*args: str, env: dict[str, str] | None = None) -> tuple[int, dict[str, Any], str]:
    """Run doctor twice: JSON for the facts, plain text for what a person reads."""
    as_json = invoke("--json", "doctor", *args, env=env)
    as_text = invoke("doctor", *args, env=env)
    drawn = invoke("doctor", *args, env=env, terminal=True)  # the terminal layout, in colour
    assert as_json.code == as_text.code == drawn.code, (as_json.output, as_text.output)
    assert "Traceback" not in as_json.output + as_text.output + drawn.output
    assert "\x1b[" in drawn.stdout and "Verdict: " in drawn.stdout
    report = as_json.json()["data"]
    never_contradicts(report)
    readable(report["evidence"])
    return as_json.code, report, as_text.stdout


# What the verdict may call fine, and the check that must then have passed.
FINE = {
    "your config": "config",
    "the credential store": "credentials",
    "sign-in": "session",
    "your network": "network",
    "the vehicle service": "api",
}


def never_contradicts(report: dict[str, Any]) -> None:
    """A verdict never calls fine what a check of the same run did not find fine."""
    evidence = report["evidence"].lower()
    found = statuses(report)
    for clause in re.findall(r"([^.;:]*) (?:is|are) fine", evidence):
        for phrase, check in FINE.items():
            if phrase in clause:
                assert found.get(check) in ("pass", "warn"), (phrase, found, evidence)
    if "answers" in evidence:
        assert found.get("api") in ("pass", "warn"), evidence


def readable(evidence: str) -> None:
    """One sentence or a few: capitalized, no doubled stops, no hint said twice."""
    assert evidence[:1].isupper(), evidence
    assert ".." not in evidence and ". ." not in evidence, evidence
    assert evidence.endswith((".", ")")), evidence
    hints = re.findall(r"`carctl [^`]+`|carctl auth login", evidence)
    assert len(hints) == len(set(hints)), evidence


def statuses(report: dict[str, Any]) -> dict[str, str]:
    return {check["id"]: check["status"] for check in report["checks"]}


def never_touched_the_car(endpoint: Endpoint) -> None:
    rows = endpoint.admin("GET", "/__mock__/stats")
    assert not [r for r in rows["requests"] if r["path"].endswith(("/wake_up", "/vehicle_data"))]
    assert not [r for r in rows["requests"] if "/command/" in r["path"]]


def test_healthy(car: Endpoint) -> None:
    code, report, text = doctor()
    assert code == 0
    assert report["verdict"] == "ok"
    assert statuses(report)["api"] == "pass" and statuses(report)["vehicle"] == "pass"
    assert "Verdict: ok — Everything works: signed in as owner@example.com" in text
    assert "Model 3 is asleep" in report["evidence"]
    never_touched_the_car(car)


def test_outage_is_the_service(car: Endpoint) -> None:
    car.faults({"status": 500, "path": "/api/1/*"}, {"status": 503, "path": "/status"})
    assert invoke("climate", "on").code == 75
    assert invoke("vent").code == 75
    code, report, text = doctor()
    assert code == 1
    assert report["verdict"] == "service"
    evidence = report["evidence"]
    assert evidence.startswith("The vehicle service is failing: ")
    assert "returned 500." in evidence  # one readable sentence: the txids are in the check
    assert "returned 500 (txids " in next(c for c in report["checks"] if c["id"] == "api")["detail"]
    assert "sign-in" in evidence and "queued commands will be delivered" in evidence
    assert "Verdict: service — The vehicle service is failing" in text
    assert statuses(report)["session"] == "pass"
    never_touched_the_car(car)


def test_a_closed_port_is_the_network() -> None:
    with carctl_serve() as (url, _server):
        assert invoke("config", "set", "api_url", url).code == 0
        sign_in()
    # the server is gone: nothing listens on its port any more
    code, report, text = doctor()
    assert code == 1
    assert report["verdict"] == "network"
    assert statuses(report)["network"] == "fail"
    assert "TCP connect to port" in report["evidence"]
    assert "Verdict: network — Cannot reach" in text


def test_dns_failure_is_the_network(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CARCTL_API_URL", "https://vehicle-api.invalid")
    code, report, _ = doctor()
    assert code == 1 and report["verdict"] == "network"
    assert "does not resolve" in report["evidence"]


def test_signed_out_is_setup(car: Endpoint) -> None:
    assert invoke("auth", "logout").code == 0
    code, report, text = doctor()
    assert code == 1 and report["verdict"] == "setup"
    assert "not signed in" in report["evidence"] and "carctl auth login" in report["evidence"]
    assert "Verdict: setup — You are not signed in" in text
    assert statuses(report)["api"] == "skip"


def test_a_revoked_session_is_setup(
    served: Served, monkeypatch: pytest.MonkeyPatch, carctl_home: Path
) -> None:
    monkeypatch.setenv("CARCTL_API_URL", served.url)
    sign_in()
    stored = json.loads((carctl_home / "state" / "credentials.json").read_text())
    refresh = next(iter(stored["entries"].values()))["refresh_token"]
    with served.client() as client:
        client.post("/oauth2/v3/revoke", data={"token": refresh})
    code, report, _ = doctor()
    assert code == 1 and report["verdict"] == "setup"
    assert "signed out on the server" in report["evidence"]


def test_an_offline_car_is_the_vehicle(car: Endpoint) -> None:
    car.admin("PATCH", f"/__mock__/vehicles/{M3}", {"state": "offline"})
    code, report, text = doctor()
    assert code == 1 and report["verdict"] == "vehicle"
    assert "Model 3 (5YJ3E7EA1MF000621) is offline" in report["evidence"]
    assert "setup, network and the vehicle service are fine" in report["evidence"]
    assert "Verdict: vehicle" in text


def test_damaged_state_and_broken_config_are_results(car: Endpoint, carctl_home: Path) -> None:
    db = carctl_home / "state" / "state.db"
    for suffix in ("-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    db.write_bytes(b"garbage" * 1000)
    code, report, _ = doctor()
    assert code == 1 and report["verdict"] == "setup"
    state = next(c for c in report["checks"] if c["id"] == "state")
    assert state["status"] == "fail" and f"mv {db} {db}.broken" in state["remediation"]
    (carctl_home / "config" / "config.toml").write_text("[profiles.default\n")
    code, report, _ = doctor()
    assert code == 1 and report["verdict"] == "setup"
    assert "config.toml, line 1" in report["evidence"]
    assert statuses(report)["session"] == "skip"


def test_a_hanging_keyring_is_a_result(
    car: Endpoint,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import keyring

    from carctl.api import keyring_store
    from tests.support.keyrings import HangingKeyring

    backend = HangingKeyring()
    keyring.set_keyring(backend)
    monkeypatch.setattr(keyring_store, "KEYRING_TIMEOUT_S", 0.2)
    try:
        code, report, _ = doctor()
    finally:
        backend.release.set()
    assert code == 1 and report["verdict"] == "setup"
    assert "did not answer within 0.2 s" in report["evidence"]


def test_offline_named_checks_and_list(car: Endpoint) -> None:
    code, report, _ = doctor("--offline")
    assert statuses(report)["network"] == "skip" and statuses(report)["api"] == "skip"
    assert code == 0
    _, only, _ = doctor("session", "queue")
    assert [c["id"] for c in only["checks"]] == ["session", "queue"]
    listing = invoke("doctor", "--list")
    assert listing.code == 0 and "network" in listing.stdout
    unknown = invoke("doctor", "nonsense")
    assert unknown.code == 2 and "no check named 'nonsense'" in unknown.stderr


@pytest.mark.parametrize("check_id", checks.REGISTRY.ids())
def test_a_crashing_check_fails_and_the_run_goes_on(
    car: Endpoint,
    monkeypatch: pytest.MonkeyPatch,
    check_id: str,
) -> None:
    def crash(doc: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(checks, "REGISTRY", checks.REGISTRY.with_run(check_id, crash))
    code, report, _ = doctor()
    assert code == 1
    crashed = next(c for c in report["checks"] if c["id"] == check_id)
    assert crashed["status"] == "fail"
    assert crashed["detail"] == "the check itself failed: RuntimeError: boom"
    ran = [c["id"] for c in report["checks"]]
    # every check ran but those that do not apply to a free API that signs nothing (signing,
    # usage), unless made to here
    assert ran == [
        i for i in checks.REGISTRY.ids() if i not in ("signing", "usage") or check_id == i
    ]
    queue = report["checks"][-1]  # the last check still ran (unless it needed the crashed one)
    assert queue["status"] != "skip" or check_id == "config"


def test_the_bundle_holds_no_secret(car: Endpoint, carctl_home: Path, tmp_path: Path) -> None:
    from carctl.logs import setup_logging

    car.faults({"status": 500, "path": "/api/1/*"})
    assert invoke("climate", "on").code == 75
    stored = json.loads((carctl_home / "state" / "credentials.json").read_text())
    session = next(iter(stored["entries"].values()))
    secrets = [PASSWORD, session["access_token"], session["refresh_token"], OWNER]
    setup_logging(carctl_home / "log" / "carctl.log")
    logging.getLogger("carctl.test").info(
        'drive_state {"latitude": 37.566535, "longitude": 126.977969} for %s', OWNER
    )
    target = tmp_path / "report.zip"
    result = invoke("doctor", "--bundle", str(target))
    assert result.code == 1  # the service is failing
    assert f"Wrote {target}: README.txt, doctor.json" in result.stdout
    assert "It holds no token, password or full e-mail address" in result.stdout
    with zipfile.ZipFile(target) as archive:
        names = archive.namelist()
        content = {name: archive.read(name).decode() for name in names}
    assert names == [
        "README.txt",
        "doctor.json",
        "config.json",
        "request_log.json",
        "queue.json",
        "carctl.log",
        "versions.json",
    ]
    everything = "\n".join(content.values())
    for secret in secrets:
        assert secret not in everything
    assert "…@example.com" in everything
    assert '"latitude": 37.57' in content["carctl.log"]
    assert "37.566535" not in everything and "126.977969" not in everything
    assert json.loads(content["doctor.json"])["verdict"] == "service"
    assert len(json.loads(content["request_log.json"])) >= 3


def test_doctor_as_a_process_exits_1_on_failure(car: Endpoint) -> None:
    car.admin("PATCH", f"/__mock__/vehicles/{M3}", {"state": "offline"})
    result = run_carctl("doctor")
    assert result.returncode == 1
    assert "Verdict: vehicle" in result.stdout


def test_several_cars_and_no_default_are_all_checked(carctl_home: Path) -> None:
    from tests.conftest import sign_in

    sign_in()  # no terminal: two cars, no default chosen
    assert invoke("config", "get", "vehicle").stdout.strip() in ("", "None")
    report = invoke("--json", "doctor").json()["data"]
    check = next(c for c in report["checks"] if c["id"] == "vehicle")
    assert check["status"] == "pass", check
    assert "Model 3 (5YJ3E7EA1MF000621) is asleep" in check["detail"]
    assert "Model Y (7SAYGDEE0NF000242) is online" in check["detail"]
    assert report["verdict"] == "ok", report["evidence"]


def test_a_wrong_port_is_the_network_and_the_session_could_not_be_checked(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CARCTL_API_URL", served.url)
    sign_in()
    with carctl_serve() as (closed, _server):
        pass  # a port that was just free again: nothing listens on it
    code, report, text = doctor(env={"CARCTL_API_URL": closed})
    assert code == 1
    assert report["verdict"] == "network", report["evidence"]
    session = next(c for c in report["checks"] if c["id"] == "session")
    assert session["status"] == "skip", session
    assert "could not check" in session["detail"], session
    assert "kept per address" in session["detail"], session
    assert "not signed in" not in report["evidence"]
    assert "Verdict: network — Cannot reach" in text


def test_the_verdict_and_the_api_check_count_the_same_failures(car: Endpoint) -> None:
    car.faults({"status": 500, "path": "/api/1/*"})
    assert invoke("climate", "on").code == 75
    car.faults()
    assert invoke("status").code == 0  # a success in between ends the first streak
    car.faults({"status": 500, "path": "/api/1/*"})
    assert invoke("vent").code == 75
    code, report, _ = doctor()
    assert code == 1 and report["verdict"] == "service"
    api = next(c for c in report["checks"] if c["id"] == "api")
    in_verdict = re.findall(r"the last (\d+) requests", report["evidence"])
    in_check = re.findall(r"the last (\d+) requests", api["detail"])
    assert in_verdict and in_verdict == in_check[:1], (report["evidence"], api["detail"])
    # the scenario is what it claims: the mock answered 500 more often than the last streak
    rows = car.admin("GET", "/__mock__/stats")["requests"]
    failed = sum(r["count"] for r in rows if r["status"] == 500)
    assert 0 < int(in_verdict[0]) < failed, (in_verdict, failed)


def test_offline_never_says_the_api_answers(car: Endpoint) -> None:
    code, report, _ = doctor("--offline")
    assert code == 0 and report["verdict"] == "ok"
    assert "answers" not in report["evidence"]
    assert "--offline" in report["evidence"] or "not checked" in report["evidence"]


def test_network_checks_go_through_the_proxy_the_client_uses(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CARCTL_API_URL", served.url)
    sign_in()
    with carctl_serve() as (gone, _server):
        pass
    proxy = gone.replace("http://", "")
    code, report, _ = doctor(env={"HTTP_PROXY": f"http://{proxy}", "NO_PROXY": ""})
    network = next(c for c in report["checks"] if c["id"] == "network")
    assert network["status"] == "fail", network
    assert f"proxy {proxy}" in network["detail"], network
    assert report["verdict"] == "network"
    assert "proxy" in report["evidence"]
    code, report, _ = doctor(env={"HTTP_PROXY": f"http://{proxy}", "NO_PROXY": "127.0.0.1"})
    assert code == 0, report
    assert statuses(report)["network"] == "pass", report
    assert "proxy" not in next(c for c in report["checks"] if c["id"] == "network")["detail"]


def test_on_a_pipe_each_check_is_one_line_with_its_remedy_under_it(car: Endpoint) -> None:
    car.faults({"status": 500, "path": "/api/1/*"})
    result = run_carctl("doctor")
    lines = result.stdout.splitlines()
    assert lines[0].startswith("ok    carctl and Python: carctl "), lines
    assert any(
        line.startswith("FAIL  vehicle API: listing the cars failed: HTTP 500") for line in lines
    )
    failed = next(i for i, line in enumerate(lines) if line.startswith("FAIL  vehicle API"))
    assert lines[failed + 1].startswith("      → the fault is the service's"), lines
    assert any(
        line.startswith("skip  the car: skipped: needs a working vehicle API") for line in lines
    )
    assert lines[-1].startswith("Verdict: service — The vehicle service is failing")
    assert "\x1b[" not in result.stdout


def test_the_registry_is_the_one_list_of_checks() -> None:
    from carctl.cli.complete import doctor_checks
    from carctl.doctor.model import Finding, Registry

    registry = Registry()

    @registry.check("later", "runs second", order=20)
    def later(doc: Any) -> Finding:
        return Finding("pass", "")

    @registry.check("first", "runs first", order=10)
    def first(doc: Any) -> Finding:
        return Finding("pass", "")

    assert registry.ids() == ["first", "later"]  # by order, not by where they are written
    with pytest.raises(ValueError, match="a second doctor check named 'first'"):
        registry.check("first", "again", order=40)(first)
    registry.check("orphan", "needs a missing check", order=30, needs=("nope",))(first)
    with pytest.raises(ValueError, match=r"'orphan' needs unknown checks \['nope'\]"):
        list(registry)  # modules register in any order: a missing need is said on use
    offered = [item.value for item in doctor_checks(None, None, "")]  # type: ignore[arg-type]
    assert offered == checks.REGISTRY.ids()  # completion offers exactly the registry's checks
    assert checks.REGISTRY.ids().index("network") < checks.REGISTRY.ids().index("session")


def schedule_check(report: dict[str, Any]) -> dict[str, Any]:
    return next(c for c in report["checks"] if c["id"] == "schedule")


def test_doctor_says_whether_the_morning_is_armed_even_during_an_outage(
    car: Endpoint,
) -> None:
    code, report, _ = doctor()
    check = schedule_check(report)
    assert check["status"] == "pass"
    assert "Model 3: not known yet (carctl has not read its schedules" in check["detail"]
    assert invoke("schedule").code == 0
    code, report, _ = doctor()
    check = schedule_check(report)
    assert check["status"] == "pass"  # information, not a failure
    assert "Model 3: no schedule armed (as read 0 min ago)" in check["detail"]
    assert invoke("schedule", "set", "06:30", "--days", "all").code == 0
    car.faults({"status": 500, "path": "/api/1/*"}, {"status": 503, "path": "/status"})
    before = car.admin("GET", "/__mock__/stats")["requests"]
    code, report, _ = doctor()
    assert code == 1 and report["verdict"] == "service"
    check = schedule_check(report)
    assert check["status"] == "pass"
    assert "Model 3: every day, ready at 06:30, next " in check["detail"]
    assert (
        "Asia/Seoul (as read 0 min ago); it runs on the car even when the API is down"
        in (check["detail"])
    )
    after = car.admin("GET", "/__mock__/stats")["requests"]
    touched = [r for r in after if r not in before and "/vehicles/" in r["path"]]
    assert touched == []  # doctor read no car: the cache said it


def test_a_one_time_schedule_that_has_run_is_not_reported_as_armed(
    car: Endpoint,
    fast_clock: Any,
) -> None:
    # three hours ahead on the car's clock (Seoul): armed, not yet in its warming window,
    # whatever the time of day the suite runs at
    from datetime import datetime
    from zoneinfo import ZoneInfo

    ready = datetime.fromtimestamp(fast_clock().now() + 3 * 3600, ZoneInfo("Asia/Seoul"))
    assert invoke("precondition", "--at", f"{ready:%H:%M}").code == 0
    _, report, _ = doctor()
    assert f"once, ready at {ready:%H:%M}" in schedule_check(report)["detail"]
    fast_clock.offset += 2 * 86400  # two days later, nothing read since
    _, report, _ = doctor()
    assert (
        "Model 3: no schedule armed (as read 2880 min ago)" not in schedule_check(report)["detail"]
    )
    assert "Model 3: no schedule armed (as read 48 h ago)" in schedule_check(report)["detail"]


def test_a_bundle_into_a_directory_that_does_not_exist(carctl_home: Path, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-dir"
    result = invoke("doctor", "--offline", "--bundle", str(missing / "report.zip"))
    assert result.code == 73, result.output
    assert f"cannot write to {missing}: no such directory" in result.stderr
    assert "mkdir -p" in result.stderr
    assert not missing.exists()  # nothing was made where the owner did not ask
