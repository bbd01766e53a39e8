"""carctl signs for itself: a fresh home, the served mock's Fleet API flavour, no proxy.

Each mock is `carctl mock serve --flavor fleet` in its own process; carctl talks
real HTTP to it. The mock's stats prove each event: the handshakes (requests to
`signed_command` beyond the commands), the commands it verified and executed as
signed, and that nothing ran twice.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.cli.test_real_car_providers import (
    MODEL_3_VIN,
    Flavour,
    configure,
    flavour,
    nothing_queued,
    web_login,
)
from tests.conftest import run_carctl

SIGNED_PATH = f"/api/1/vehicles/{MODEL_3_VIN}/signed_command"


def _signed_requests(fleet: Flavour) -> int:
    return sum(fleet.requests(SIGNED_PATH).values())


def _executed(fleet: Flavour) -> list[tuple[str, bool]]:
    return [(c["name"], c["signed"]) for c in fleet.admin("GET", "/__mock__/stats")["commands"]]


def _signing_car(fleet: Flavour) -> None:
    fleet.admin("PATCH", f"/__mock__/vehicles/{MODEL_3_VIN}", {"command_signing": "required"})


def _ready(fleet: Flavour) -> None:
    """Signed in, a key made and paired (the Tesla app and the key card, stood in for)."""
    _signing_car(fleet)
    configure("fleet", fleet, **{"key.domain": "example.com"})
    assert web_login(fleet).returncode == 0
    made = run_carctl("key", "generate")
    assert made.returncode == 0, made.stderr
    paired = run_carctl("mock", "pair", "--url", fleet.url)
    assert paired.returncode == 0, paired.stderr
    assert f"key paired with {MODEL_3_VIN}" in paired.stdout


def test_a_fresh_home_signs_climate_on_and_the_car_verifies_it(carctl_home: Path) -> None:
    with flavour("fleet") as fleet:
        _signing_car(fleet)
        configure("fleet", fleet)
        assert web_login(fleet).returncode == 0

        # no key yet: said before anything is sent, with the steps
        refused = run_carctl("--vehicle", "Model 3", "climate", "on")
        assert refused.returncode == 77, refused.stderr
        assert "Model 3 takes only commands signed" in refused.stderr
        assert "this profile has no key to sign them" in refused.stderr
        assert "carctl key generate" in refused.stderr and "Traceback" not in refused.stderr
        assert _signed_requests(fleet) == 0 and _executed(fleet) == [] and nothing_queued()

        made = run_carctl("key", "generate")
        assert made.returncode == 0, made.stderr
        assert "Created a signing key (SHA256:" in made.stdout
        assert "carctl config set key.domain DOMAIN" in made.stdout
        again = run_carctl("key", "generate")
        assert again.returncode == 2 and "already has a signing key" in again.stderr

        no_domain = run_carctl("key", "pair", "--vin", MODEL_3_VIN)
        assert no_domain.returncode == 78 and "carctl config set key.domain" in no_domain.stderr
        assert run_carctl("config", "set", "key.domain", "example.com").returncode == 0
        link = run_carctl("--vehicle", "Model 3", "key", "pair")
        assert link.returncode == 0, link.stderr
        assert f"https://tesla.com/_ak/example.com?vin={MODEL_3_VIN}" in link.stdout
        assert "█" not in link.stdout  # no QR code on a pipe

        # not paired yet: the car's own fault, exit 77, the one thing to do
        unpaired = run_carctl("--vehicle", "Model 3", "climate", "on")
        assert unpaired.returncode == 77, unpaired.stderr
        assert "this key is not paired with Model 3" in unpaired.stderr
        assert "carctl key pair" in unpaired.stderr
        assert _executed(fleet) == [] and nothing_queued()
        status = json.loads(run_carctl("--json", "key", "status").stdout)["data"]
        assert {v["vin"]: v["paired"] for v in status["vehicles"]}[MODEL_3_VIN] is False

        assert run_carctl("mock", "pair", "--url", fleet.url).returncode == 0
        before = _signed_requests(fleet)
        done = run_carctl("--vehicle", "Model 3", "climate", "on")
        assert done.returncode == 0, done.stderr
        assert "Confirmed by the car: climate on" in done.stdout
        assert _executed(fleet) == [("auto_conditioning_start", True)]
        stats = fleet.admin("GET", "/__mock__/stats")
        assert stats["executed"] == {"signed": 1, "unsigned": 0}
        assert _signed_requests(fleet) - before == 2  # one handshake, one command
        plain = f"/api/1/vehicles/{MODEL_3_VIN}/command/auto_conditioning_start"
        assert fleet.requests(plain) == {}  # never sent unsigned
        status = json.loads(run_carctl("--json", "key", "status").stdout)["data"]
        assert {v["vin"]: v["paired"] for v in status["vehicles"]}[MODEL_3_VIN] is True


def test_the_next_run_reuses_the_session_and_a_reboot_costs_one_retry(
    carctl_home: Path,
) -> None:
    with flavour("fleet") as fleet:
        _ready(fleet)
        assert run_carctl("--vehicle", "Model 3", "climate", "on").returncode == 0
        first = _signed_requests(fleet)
        assert first == 2  # handshake + command
        assert run_carctl("--vehicle", "Model 3", "climate", "off").returncode == 0
        assert _signed_requests(fleet) == first + 1  # the kept session: no handshake

        rebooted = run_carctl("mock", "reboot", MODEL_3_VIN, "--url", fleet.url)
        assert rebooted.returncode == 0, rebooted.stderr
        done = run_carctl("--vehicle", "Model 3", "climate", "on")
        assert done.returncode == 0, done.stderr
        # refused for its old epoch (with the new session attached), then sent once more
        assert _signed_requests(fleet) == first + 3
        assert _executed(fleet) == [
            ("auto_conditioning_start", True),
            ("auto_conditioning_stop", True),
            ("auto_conditioning_start", True),
        ]

        # the doors go to the car's security domain (VCSEC): its own handshake, then signed
        for words in (["unlock", "--yes"], ["lock"], ["sentry", "on"], ["frunk", "open", "--yes"]):
            doors = run_carctl("--vehicle", "Model 3", *words)
            assert doors.returncode == 0, doors.stderr
            assert "Confirmed by the car: " in doors.stdout
        assert _executed(fleet)[-4:] == [
            ("door_unlock", True),
            ("door_lock", True),
            ("set_sentry_mode", True),
            ("actuate_trunk", True),  # a VCSEC closure move
        ]


def test_a_key_taken_off_the_car_is_exit_77_and_nothing_is_queued(carctl_home: Path) -> None:
    with flavour("fleet") as fleet:
        _ready(fleet)
        assert run_carctl("--vehicle", "Model 3", "climate", "on").returncode == 0
        removed = run_carctl("mock", "pair", "--remove", "--url", fleet.url)
        assert removed.returncode == 0 and "key removed from" in removed.stdout
        refused = run_carctl("--vehicle", "Model 3", "climate", "off")
        assert refused.returncode == 77, refused.stderr
        assert "this key is not paired with Model 3" in refused.stderr
        assert _executed(fleet) == [("auto_conditioning_start", True)]
        assert nothing_queued()


def test_the_outage_story_on_the_signed_path(carctl_home: Path) -> None:
    """500s: queued; the service recovers; delivered once, signed, verified by the car."""
    with flavour("fleet") as fleet:
        _ready(fleet)
        assert run_carctl("--vehicle", "Model 3", "status").returncode == 0
        rule = {"status": 500, "path": "/api/1/vehicles/*/signed_command", "for": 60}
        fleet.admin("PUT", "/__mock__/faults", {"rules": [rule]})
        queued = run_carctl("--vehicle", "Model 3", "climate", "on")
        assert queued.returncode == 75, queued.stderr
        assert "queued" in queued.stdout + queued.stderr
        assert fleet.requests(SIGNED_PATH).get(500, 0) >= 1  # the outage happened
        assert _executed(fleet) == []
        fleet.admin("POST", "/__mock__/clock", {"advance": 61})
        retried = run_carctl("queue", "retry", "--all")
        assert retried.returncode == 0, retried.stdout + retried.stderr
        assert _executed(fleet) == [("auto_conditioning_start", True)]  # once
        assert fleet.admin("GET", "/__mock__/stats")["executed"] == {"signed": 1, "unsigned": 0}
        assert nothing_queued()


def test_a_command_that_reaches_the_car_after_its_deadline_is_refused_by_the_car(
    carctl_home: Path,
) -> None:
    """The car's own clock decides: its time moves on (as if the command sat in transit
    for an hour) and the signed expiry has passed there. Nothing is executed, nothing is
    retried, and carctl says so; the queued copy fails the same way."""
    with flavour("fleet") as fleet:
        _ready(fleet)
        assert run_carctl("--vehicle", "Model 3", "climate", "on").returncode == 0
        sent = _signed_requests(fleet)
        fleet.admin("POST", "/__mock__/clock", {"advance": 3600})
        fleet.admin("PATCH", f"/__mock__/vehicles/{MODEL_3_VIN}", {"state": "online"})
        late = run_carctl("--vehicle", "Model 3", "climate", "off")
        assert late.returncode == 1, late.stderr
        assert "it arrived after its deadline, so the car did not execute it" in late.stderr
        assert _signed_requests(fleet) == sent + 1  # refused once, never retried
        assert _executed(fleet) == [("auto_conditioning_start", True)]
        assert nothing_queued()
        # the refusal carried the car's clock: the next command is signed on time
        assert run_carctl("--vehicle", "Model 3", "climate", "off").returncode == 0
        assert _executed(fleet)[-1] == ("auto_conditioning_stop", True)


def test_a_queued_command_carries_its_deadline_to_the_car(carctl_home: Path) -> None:
    """Queued with a 10-minute life; the car's clock has moved past it by delivery: the
    car refuses it, the entry fails with the car's reason, nothing was executed."""
    with flavour("fleet") as fleet:
        _ready(fleet)
        assert run_carctl("--vehicle", "Model 3", "climate", "off").returncode == 0
        rule = {"status": 503, "path": "/api/1/vehicles/*/signed_command", "for": 60}
        fleet.admin("PUT", "/__mock__/faults", {"rules": [rule]})
        queued = run_carctl("--vehicle", "Model 3", "climate", "on", "--expires-in", "10m")
        assert queued.returncode == 75, queued.stderr
        fleet.admin("POST", "/__mock__/clock", {"advance": 3600})
        fleet.admin("PATCH", f"/__mock__/vehicles/{MODEL_3_VIN}", {"state": "online"})
        retried = run_carctl("queue", "retry", "--all")
        assert retried.returncode != 0 or "failed" in retried.stdout + retried.stderr
        entries = json.loads(run_carctl("--json", "queue", "list", "--all").stdout)["data"]
        last = entries["entries"][-1]
        assert last["status"] == "failed", last
        assert "arrived after its deadline" in last["last_error"]["message"]
        # the car answered (HTTP 200): the outage's 503 is not shown as this failure's status
        assert last["last_error"]["status"] != 503
        assert _executed(fleet) == [("auto_conditioning_stop", True)]  # the on never ran


def test_every_command_carctl_sends_works_signed(carctl_home: Path) -> None:
    """The morning routine, closing the windows, a schedule armed and removed, and the
    scheduled departure of a car that keeps only that: each executed as signed."""
    with flavour("fleet") as fleet:
        _ready(fleet)
        routine = run_carctl("--vehicle", "Model 3", "precondition", "--temp", "22")
        assert routine.returncode == 0, routine.stderr
        closed = run_carctl("--vehicle", "Model 3", "vent", "--close")
        assert closed.returncode == 0, closed.stderr
        armed = run_carctl("--vehicle", "Model 3", "schedule", "set", "06:30", "--days", "weekdays")
        assert armed.returncode == 0, armed.stderr
        listed = json.loads(run_carctl("--json", "--vehicle", "Model 3", "schedule").stdout)
        schedule_id = next(s["id"] for s in listed["data"]["schedules"] if s["id"])
        removed = run_carctl("--vehicle", "Model 3", "schedule", "off", str(schedule_id))
        assert removed.returncode == 0, removed.stderr
        fleet.admin("PATCH", f"/__mock__/vehicles/{MODEL_3_VIN}", {"schedule_support": "departure"})
        departure = run_carctl("--vehicle", "Model 3", "schedule", "set", "07:00")
        assert departure.returncode == 0, departure.stderr
        executed = _executed(fleet)
        assert all(signed for _, signed in executed), executed
        windows = [
            c
            for c in fleet.admin("GET", "/__mock__/stats")["commands"]
            if c["name"] == "window_control"
        ]
        assert [w["params"]["command"] for w in windows] == ["close"]
        assert [name for name, _ in executed] == [
            "set_temps",
            "auto_conditioning_start",
            "window_control",
            "add_precondition_schedule",
            "remove_precondition_schedule",
            "set_scheduled_departure",
        ]
        car = next(
            c
            for c in fleet.admin("GET", "/__mock__/vehicles")["vehicles"]
            if c["vin"] == MODEL_3_VIN
        )
        assert car["driver_temp_setting"] == 22 and set(car["windows"].values()) == {0}
        assert car["departure"]["departure_time"] == 7 * 60
        assert car["departure"]["preconditioning_enabled"] is True
        plain = [
            r for r in fleet.admin("GET", "/__mock__/stats")["requests"] if "/command/" in r["path"]
        ]
        assert plain == []  # nothing went the unsigned way


def test_two_processes_signing_at_once_never_collide(carctl_home: Path) -> None:
    """Six carctl processes command the car at the same moment (after one has made the
    session): every one is executed, signed, and the car refused no counter."""
    import subprocess
    import sys

    with flavour("fleet") as fleet:
        _ready(fleet)
        assert run_carctl("--vehicle", "Model 3", "climate", "on").returncode == 0
        env = {**os.environ}
        words = ["off", "on", "off", "on", "off", "on"]
        procs = [
            subprocess.Popen(
                [sys.executable, "-m", "carctl", "--vehicle", "Model 3", "climate", word],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=env,
            )
            for word in words
        ]
        codes = [p.wait(timeout=60) for p in procs]
        errors = [p.stderr.read() if p.stderr else "" for p in procs]
        assert codes == [0] * 6, errors
        executed = _executed(fleet)
        assert len(executed) == 7 and all(signed for _, signed in executed)
        assert _signed_requests(fleet) == 2 + 6  # no refusal, no resend: no counter shared
