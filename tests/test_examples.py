"""The morning script as cron runs it: `env -i HOME=… PATH=…`, stdin closed, real processes."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import OWNER, PASSWORD, Served

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "examples" / "morning-precondition.sh"
BIN = Path(sys.executable).parent
M3 = "1492931337131"


class Cron:
    """A user's machine as cron sees it: only HOME and a minimal PATH."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.env = {"HOME": str(home), "PATH": f"{BIN}:/usr/bin:/bin"}
        self.log = home / ".local" / "state" / "carctl" / "morning.log"

    def carctl(self, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(BIN / "carctl"), *args],
            env=self.env,
            input=input,
            stdin=None if input is not None else subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def morning(self, deadline: str = "23:59", **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["sh", str(SCRIPT)],
            env={**self.env, "CARCTL_DEADLINE": deadline, **extra},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def start_morning(self, **extra: str) -> subprocess.Popen[str]:
        """The script running in the background, as a timer starts it (deadline 23:59)."""
        return subprocess.Popen(
            ["sh", str(SCRIPT)],
            env={**self.env, "CARCTL_DEADLINE": "23:59", **extra},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def last_log_line(self) -> str:
        return self.log.read_text().splitlines()[-1]


@pytest.fixture
def cron(served: Served, tmp_path: Path) -> Cron:
    machine = Cron(tmp_path / "home")
    machine.home.mkdir()
    assert machine.carctl("config", "set", "api_url", served.url).returncode == 0
    assert machine.carctl("config", "set", "vehicle", "Model 3").returncode == 0
    login = machine.carctl("auth", "login", "--email", OWNER, "--password-stdin", input=PASSWORD)
    assert login.returncode == 0, login.stderr
    assert (machine.home / ".config" / "carctl" / "config.toml").exists()  # found under HOME
    return machine


def car(served: Served) -> dict[str, Any]:
    cars = served.admin("GET", "/__mock__/vehicles")["vehicles"]
    return next(c for c in cars if str(c["id"]) == M3)  # type: ignore[no-any-return]


def worker_running(cron: Cron) -> bool:
    listing = cron.carctl("--json", "queue")
    return bool(json.loads(listing.stdout)["data"]["worker_running"])


def test_healthy_morning(cron: Cron, served: Served) -> None:
    result = cron.morning()
    assert result.returncode == 0, result.stderr
    assert result.stdout == result.stderr == ""  # nothing on the console, no prompt
    state = car(served)
    assert state["is_climate_on"] is True and state["driver_temp_setting"] == 21.0
    assert set(state["windows"].values()) == {1}
    assert cron.last_log_line().endswith("ok: preconditioning to 21 with the windows vented")


def test_outage_morning_is_queued(cron: Cron, served: Served) -> None:
    served.admin("PUT", "/__mock__/faults", json={"rules": [{"status": 500, "path": "/api/1/*"}]})
    result = cron.morning(CARCTL_WAIT="0")
    assert result.returncode == 75, result.stderr
    line = cron.last_log_line()
    assert "queued: the vehicle API is failing (the service has failed (500) since" in line
    assert line.endswith("carctl delivers it before 23:59")
    listing = cron.carctl("--json", "queue")
    entries = json.loads(listing.stdout)["data"]["entries"]
    assert [e["command"] for e in entries] == [
        "set_temps",
        "auto_conditioning_start",
        "window_control",
    ]
    assert car(served)["is_climate_on"] is False
    assert worker_running(cron)  # the script left a background worker to deliver them
    assert cron.carctl("queue", "cancel", "--all").returncode == 0
    deadline = time.monotonic() + 45  # it may be sleeping until its next due entry (<= 30 s)
    while worker_running(cron) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not worker_running(cron)  # with nothing pending, the worker exits by itself


def test_the_log_says_when_the_queued_steps_arrive(cron: Cron, served: Served) -> None:
    """The script waits after queueing and logs each step's outcome as it happens."""
    served.admin("PUT", "/__mock__/faults", json={"rules": [{"status": 500, "path": "/api/1/*"}]})
    script = cron.start_morning()
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if cron.log.exists() and "queued:" in cron.log.read_text():
                break
            time.sleep(0.1)
        assert "queued:" in cron.log.read_text()
        assert script.poll() is None  # still there: waiting for the outcome
        served.admin("DELETE", "/__mock__/faults")
        cron.carctl("queue", "retry", "--all")  # the owner (or the worker) gets it through
        out, err = script.communicate(timeout=60)
    finally:
        script.kill()
    assert script.returncode == 0, (out, err, cron.log.read_text())
    lines = cron.log.read_text().splitlines()
    delivered = [line for line in lines if "queue: #" in line]
    assert len(delivered) == 3, lines
    assert "temperature set to 21.0 °C for Model 3: delivered at " in delivered[0]
    assert "climate on for Model 3: delivered at " in delivered[1]
    assert "windows vented for Model 3: delivered at " in delivered[2]
    names = [c["name"] for c in served.admin("GET", "/__mock__/stats")["commands"]]
    assert names.count("auto_conditioning_start") == 1 and names.count("window_control") == 1
    assert car(served)["is_climate_on"] is True


def test_steps_delivered_before_the_script_starts_waiting_are_logged(
    cron: Cron, served: Served, tmp_path: Path
) -> None:
    """The worker may deliver between the queueing and the wait: the log still says so."""
    served.admin("PUT", "/__mock__/faults", json={"rules": [{"status": 500, "path": "/api/1/*"}]})
    waiting, delivered = tmp_path / "wait-begins", tmp_path / "delivered"
    wrapper = tmp_path / "carctl-late-wait"
    wrapper.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = queue ] && [ "$2" = wait ]; then\n'
        f"    touch {waiting}\n"
        f"    while [ ! -e {delivered} ]; do sleep 0.05; done\n"
        "fi\n"
        f'exec {BIN / "carctl"} "$@"\n'
    )
    wrapper.chmod(0o755)
    script = cron.start_morning(CARCTL=str(wrapper))
    try:
        deadline = time.monotonic() + 60
        while not waiting.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert waiting.exists(), cron.log.read_text() if cron.log.exists() else "no log"
        served.admin("DELETE", "/__mock__/faults")
        cron.carctl("queue", "retry", "--all")  # the script's worker may be delivering too
        while time.monotonic() < deadline and any(
            e["status"] != "delivered" for e in queue_entries(cron)
        ):
            cron.carctl("queue", "run")
            time.sleep(0.1)
        assert [e["status"] for e in queue_entries(cron)] == ["delivered"] * 3
        delivered.touch()
        out, err = script.communicate(timeout=60)
    finally:
        script.kill()
    assert script.returncode == 0, (out, err, cron.log.read_text())
    lines = [line for line in cron.log.read_text().splitlines() if "queue: " in line]
    assert len(lines) == 3 and all("delivered at" in line for line in lines), lines


def queue_entries(cron: Cron) -> list[dict[str, Any]]:
    listing = cron.carctl("--json", "queue", "list", "--all")
    return json.loads(listing.stdout)["data"]["entries"]  # type: ignore[no-any-return]


def test_a_late_start_sends_nothing(cron: Cron, served: Served) -> None:
    """The laptop opened at 09:00, or a timer catching up: past the deadline, nothing goes."""
    served.admin("DELETE", "/__mock__/stats")
    result = cron.morning(deadline="00:00")
    assert result.returncode == 0, result.stderr
    assert cron.last_log_line().endswith("skipped: past the 00:00 deadline; nothing was sent")
    stats = served.admin("GET", "/__mock__/stats")
    assert stats["commands"] == [] and not any(
        r["path"].startswith("/api/") for r in stats["requests"]
    )


def test_on_a_paid_api_the_log_says_what_the_run_cost(cron: Cron, served: Served) -> None:
    assert cron.carctl("config", "set", "billing", "on").returncode == 0  # counted as Fleet
    assert cron.carctl("config", "set", "usage.monthly_limit", "0.033").returncode == 0
    served.admin("PATCH", f"/__mock__/vehicles/{M3}", json={"state": "asleep"})
    result = cron.morning()
    assert result.returncode == 0, result.stderr
    warning, line = cron.log.read_text().splitlines()[-2:]
    # a wake (2 cents), the state and the read-back (0.2 cents each), three commands
    assert line.endswith(
        "ok: preconditioning to 21 with the windows vented (this run US$0.027; this month "
        "US$0.03 of the US$0.03 cap)"
    ), line
    assert "warning: this month's use of" in warning and "of your US$0.03 cap (" in warning
    served.admin("PATCH", f"/__mock__/vehicles/{M3}", json={"state": "asleep"})
    capped = cron.morning()
    assert capped.returncode == 77 and capped.stdout == capped.stderr == ""
    line = cron.last_log_line()
    # (the car answered as online a moment ago: its 408 costs a command, the wake is refused)
    assert "not sent: a wake call (wake_up) would take this month's use of" in line, line
    # a read or two before the wake was refused: what they cost is said
    assert re.search(
        r"'carctl usage' shows the month \(this run US\$0\.00[1-9]; this month US\$0\.03 of "
        r"the US\$0\.03 cap\)$",
        line,
    ), line


def test_signed_out_morning_does_not_prompt(cron: Cron) -> None:
    assert cron.carctl("auth", "logout").returncode == 0
    result = cron.morning()
    assert result.returncode == 77
    assert result.stdout == result.stderr == ""
    line = cron.last_log_line()
    assert "signed out: not signed in to" in line and "run 'carctl auth login'" in line


def test_a_refused_credential_file_says_why(cron: Cron) -> None:
    assert cron.carctl("config", "set", "auth.require_keyring", "true").returncode == 0
    result = cron.morning()
    assert result.returncode == 77
    assert "no usable keyring backend" in cron.last_log_line()
    assert "auth.require_keyring is true" in cron.last_log_line()


# -- the evening step: the car keeps the schedule -----------------------------------------


def evening(cron: Cron, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["sh", str(SCRIPT), "arm"],
        env={**cron.env, **extra},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def armed_file(cron: Cron) -> Path:
    return cron.log.parent / "morning.armed"


def test_the_evening_step_arms_the_car_once(cron: Cron, served: Served) -> None:
    result = evening(cron)
    assert result.returncode == 0, result.stderr
    assert result.stdout == result.stderr == ""
    line = cron.last_log_line()
    assert "armed: weekdays, ready at 06:30, 21; the car warms itself at " in line
    schedules = car(served)["schedules"]
    assert [(s["days_of_week"], s["precondition_time"]) for s in schedules] == [(31, 390)]
    listing = json.loads(cron.carctl("--json", "schedule").stdout)["data"]
    assert armed_file(cron).read_text().strip() == listing["next_ready_local"].split("T")[0]
    commands = len(served.admin("GET", "/__mock__/stats")["commands"])
    assert evening(cron).returncode == 0  # the next evening: read, nothing sent
    assert "armed already: weekdays, ready at 06:30" in cron.last_log_line()
    assert len(served.admin("GET", "/__mock__/stats")["commands"]) == commands


def test_a_morning_the_car_is_armed_for_sends_nothing(cron: Cron, served: Served) -> None:
    assert evening(cron).returncode == 0
    today = subprocess.run(["date", "+%Y-%m-%d"], capture_output=True, text=True, check=True)
    armed_file(cron).write_text(today.stdout)  # this morning is the one it was armed for
    served.admin("PUT", "/__mock__/faults", json={"rules": [{"status": 500, "path": "/api/1/*"}]})
    served.admin("DELETE", "/__mock__/stats")
    result = cron.morning()
    assert result.returncode == 0, result.stderr
    assert cron.last_log_line().endswith(
        "nothing to send: the car warms itself this morning (armed the evening before)"
    )
    stats = served.admin("GET", "/__mock__/stats")
    assert stats["commands"] == [] and stats["requests"] == []  # not one request
    # a morning it was not armed for (a stale file) falls back to the direct command
    armed_file(cron).write_text("2021-01-01\n")
    served.admin("DELETE", "/__mock__/faults")
    assert cron.morning().returncode == 0
    assert cron.last_log_line().endswith("ok: preconditioning to 21 with the windows vented")


def test_the_evening_step_leaves_a_schedule_changed_in_the_app(cron: Cron, served: Served) -> None:
    served.admin("PATCH", f"/__mock__/vehicles/{M3}", json={"state": "online"})
    with served.client() as client:
        from tests.conftest import bearer, login

        answer = client.post(
            f"/api/1/vehicles/{M3}/command/add_precondition_schedule",
            json={
                "days_of_week": "Weekdays",
                "precondition_time": 420,
                "lat": 37.5665,
                "lon": 126.978,
            },
            headers=bearer(login(client)),
        )
        assert answer.json()["response"]["result"] is True
    result = evening(cron)
    assert result.returncode == 0, result.stderr
    line = cron.last_log_line()
    assert "the car holds a different schedule (changed in the app?), left as it is" in line
    assert (
        'To replace it: carctl --vehicle "Model 3" schedule off 1 && '
        'carctl --vehicle "Model 3" schedule set 06:30 --days weekdays --temp 21' in line
    )
    assert [s["precondition_time"] for s in car(served)["schedules"]] == [420]  # untouched


def test_an_evening_outage_queues_the_arming(cron: Cron, served: Served) -> None:
    served.admin("PUT", "/__mock__/faults", json={"rules": [{"status": 500, "path": "/api/1/*"}]})
    result = evening(cron, CI="1")  # no background worker left behind
    assert result.returncode == 75, result.stderr
    assert "queued: arming waits for the vehicle API (the service has failed (500)" in (
        cron.last_log_line()
    )
    assert not armed_file(cron).exists()  # so the morning falls back to the direct command
    assert [e["command"] for e in queue_entries(cron)] == ["set_temps", "add_precondition_schedule"]


def test_the_crontab_runs_as_written_after_the_readme_set_up(
    cron: Cron, served: Served, tmp_path: Path
) -> None:
    """examples/crontab names one path — where the README's set-up ran — and its lines
    work with carctl where that set-up puts it (`.venv/bin/carctl` there)."""
    assert "python3 -m venv .venv && . .venv/bin/activate && pip install ." in (
        (ROOT / "README.md").read_text()
    )
    lines = (ROOT / "examples" / "crontab").read_text().splitlines()
    settings = [line for line in lines if re.match(r"^[A-Z_]+=", line)]
    assert settings == ["CARCTL_DIR=/home/you/carctl"]  # the one path to fill in
    jobs = [line for line in lines if line and not line.startswith("#") and line not in settings]
    assert len(jobs) == 3
    set_up = tmp_path / "carctl"  # what the README's set-up leaves: a clone with its .venv
    (set_up / ".venv" / "bin").mkdir(parents=True)
    (set_up / ".venv" / "bin" / "carctl").symlink_to(BIN / "carctl")
    (set_up / "examples").symlink_to(ROOT / "examples")
    shims = tmp_path / "shims"  # the morning job's random start, without the wait
    shims.mkdir()
    (shims / "sleep").write_text("#!/bin/sh\nexit 0\n")
    (shims / "sleep").chmod(0o755)
    env = {
        "HOME": cron.env["HOME"],
        "PATH": f"{shims}:/usr/bin:/bin",
        "CARCTL_DIR": str(set_up),
        "CARCTL_DEADLINE": "23:59",  # the morning job acts whenever the test runs
    }
    codes = []
    for job in jobs:
        command = job.split(None, 5)[5]  # after the five time fields, as cron hands it to sh
        done = subprocess.run(
            ["sh", "-c", command],
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        codes.append(done.returncode)
        assert "not found" not in done.stderr, (command, done.stderr)
    assert codes == [0, 0, 0]
    assert armed_file(cron).exists()  # the evening line armed the car
    log = cron.log.read_text()
    evening, morning = (line.split(" ", 2)[2] for line in log.splitlines()[-2:])
    assert evening.startswith("armed: weekdays, ready at 06:30, 21")
    assert morning == "ok: preconditioning to 21 with the windows vented"
    assert car(served)["is_climate_on"] is True


def test_a_mild_morning_sends_nothing_when_asked_only_below(cron: Cron, served: Served) -> None:
    result = cron.morning(CARCTL_IF_BELOW="5")  # the seeded morning is 2 °C outside
    assert result.returncode == 0, result.stderr
    assert cron.last_log_line().endswith("ok: preconditioning to 21 with the windows vented")
    served.admin("PATCH", f"/__mock__/vehicles/{M3}", json={"outside_temp": 9.0})
    before = len(served.admin("GET", "/__mock__/stats")["commands"])
    mild = cron.morning(CARCTL_IF_BELOW="5")
    assert mild.returncode == 0 and mild.stdout == mild.stderr == ""
    assert cron.last_log_line().endswith(
        "skipped: 9.0 °C outside, not below 5.0 °C; nothing was sent"
    )
    assert len(served.admin("GET", "/__mock__/stats")["commands"]) == before
