"""What owners and support read, captured from a real terminal at 80 columns.

Each screen is compared with its golden file in tests/screens/ (times, ids,
durations and paths masked). A change to what people see shows up as a diff
here and is reviewed like code; `CARCTL_UPDATE_SCREENS=1 pytest
tests/test_screens.py` writes the files anew after a deliberate change.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import OWNER, PASSWORD, run_carctl
from tests.support.screenshot import svg_text, terminal_svg
from tests.support.terminal import Screen, run_in_terminal

SCREENS = Path(__file__).parent / "screens"
IMAGES = Path(__file__).resolve().parents[1] / "docs" / "images"
# the screens docs/ shows as pictures, and the command each one is
PICTURES = {
    "demo": "carctl demo",
    "queued": "carctl --no-worker vent",
    "queue": "carctl queue",
    "doctor-outage": "carctl doctor",
}
UPDATE = os.environ.get("CARCTL_UPDATE_SCREENS") == "1"


@pytest.fixture
def short_home(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A home whose path always has the same length, so wrapped lines wrap alike."""
    home = Path(tempfile.mkdtemp(prefix="carctl-screens-", dir="/tmp"))
    monkeypatch.setenv("CARCTL_HOME", str(home))
    try:
        yield home
    finally:
        shutil.rmtree(home, ignore_errors=True)


def masked(screen: Screen, home: Path) -> str:
    """The screen as a person reads it, with what changes from run to run masked.

    The home directory has a name of fixed length (see `short_home`), so a path
    that wraps wraps at the same place in every run; the platform line does
    not, so it is masked whole, across its wrap.
    """
    # a line the program went back up to erase (a finished spinner) is gone from the screen
    erased = re.sub(r"[^\n]*\r\n(?:\x1b\[\?25h)?\r?\x1b\[1A\x1b\[2K", "", screen.raw)
    return mask_text(Screen(screen.code, erased).text, home)


def mask_text(text: str, home: Path | None) -> str:
    text = re.sub(
        r"carctl \d[\d.]*, Python [\d.]+, .*?\(\w+\)",
        "carctl X, Python X, OS X (arch)",
        text,
        flags=re.DOTALL,
    )
    lines = []
    for raw in text.split("\n"):
        line = raw.rsplit("\r", 1)[-1]  # what a redrawn line finally shows
        if home is not None:
            line = line.replace(str(home), "/tmp/carctl-screens-XXXXXXXX")
        line = re.sub(r"/tmp/carctl-screens-\w{8}", "/tmp/carctl-screens-XXXXXXXX", line)
        line = re.sub(r"\b[0-9a-f]{32}\b", "<txid>", line)
        line = re.sub(r"\b\d\d:\d\d(:\d\d)?\b", lambda m: "hh:mm" + (":ss" if m[1] else ""), line)
        line = re.sub(r"\b\d+(\.\d+)? (s|ms|min)\b", r"N \2", line)
        line = re.sub(r"valid for \d+ min", "valid for N min", line)
        # the budget earns a token a minute of real time: a slow machine shows 5.1, not 5.0
        line = re.sub(r"retry budget \d+\.\d/10", "retry budget N.N/10", line)
        lines.append(line.rstrip())
    return "\n".join(lines).strip("\n") + "\n"


def check(name: str, screen: Screen, home: Path) -> None:
    text = masked(screen, home)
    golden = SCREENS / f"{name}.txt"
    if UPDATE:
        SCREENS.mkdir(exist_ok=True)
        golden.write_text(text)
    assert golden.exists(), f"no golden screen {golden}: run with CARCTL_UPDATE_SCREENS=1"
    assert text == golden.read_text(), f"{name} changed:\n{text}"
    if name in PICTURES:
        picture = IMAGES / f"screen-{name}.svg"
        if UPDATE:
            IMAGES.mkdir(parents=True, exist_ok=True)
            picture.write_text(terminal_svg(screen.raw, PICTURES[name]))
        assert picture.exists(), f"no picture {picture}: run python docs/make_figures.py"
        assert mask_text(svg_text(picture.read_text()), None) == text, (
            f"{picture} no longer shows what carctl prints: run python docs/make_figures.py"
        )
    erased = re.sub(r"[^\n]*\r\n(?:\x1b\[\?25h)?\r?\x1b\[1A\x1b\[2K", "", screen.raw)
    shown = [line.rsplit("\r", 1)[-1] for line in Screen(0, erased).text.splitlines()]
    too_wide = [line for line in shown if len(line) > 80]
    assert not too_wide, f"{name}: lines wider than the terminal: {too_wide}"


@pytest.fixture
def outage(short_home: Path) -> Iterator[Path]:
    """Two cars, no default car, the vehicle API failing, five commands queued."""
    env = {"TZ": "UTC"}
    login = run_carctl("auth", "login", "--email", OWNER, "--password-stdin", input=PASSWORD)
    assert login.returncode == 0, login.stderr
    assert run_carctl("mock", "fault", "add", "status=500 path=/api/1/*").returncode == 0
    for words in (
        ["climate", "on", "--vehicle", "Model 3"],
        ["vent", "--vehicle", "Model Y"],
        ["climate", "on", "--temp", "22", "--vehicle", "Model Y"],
        ["vent", "--vehicle", "Model 3"],
        ["climate", "off", "--vehicle", "Model 3"],  # the last word: supersedes climate on
    ):
        assert run_carctl(*words, env=env).returncode == 75
    yield short_home


def test_the_demo(short_home: Path) -> None:
    home = short_home
    screen = run_in_terminal("demo", env={"TZ": "UTC"}, timeout=120)
    assert screen.code == 0, screen.text
    check("demo", screen, home)


def test_the_queued_message(outage: Path) -> None:
    screen = run_in_terminal("--no-worker", "vent", "--vehicle", "Model Y", env={"TZ": "UTC"})
    assert screen.code == 75
    check("queued", screen, outage)
    assert len(masked(screen, outage).splitlines()) == 3


def test_the_queue(outage: Path) -> None:
    screen = run_in_terminal("queue", env={"TZ": "UTC"})
    assert screen.code == 0
    check("queue", screen, outage)
    assert masked(screen, outage).count(" pending ") == 5


def test_the_queue_with_finished_entries(outage: Path) -> None:
    screen = run_in_terminal("queue", "list", "--all", env={"TZ": "UTC"})
    assert screen.code == 0
    check("queue-all", screen, outage)
    assert "superseded" in screen.text and "by #6" in screen.text  # climate off won


def test_doctor_during_an_outage_with_two_cars(outage: Path) -> None:
    screen = run_in_terminal("doctor", env={"TZ": "UTC"})
    assert screen.code == 1
    check("doctor-outage", screen, outage)
    assert "Verdict: service — The vehicle service is failing" in screen.text


def test_the_readme_shows_the_demo_as_it_is() -> None:
    """The README's captured demo is the golden screen (itself checked against a real run)."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    start = readme.index("```\n06:00 Before the drive")
    shown = readme[start + 4 : readme.index("```", start + 4)]
    assert mask_text(shown, None) == (SCREENS / "demo.txt").read_text()


@pytest.mark.parametrize(
    ("page", "name"), [("docs/support.md", "doctor-outage"), ("docs/delivery.md", "queued")]
)
def test_the_text_beside_a_picture_is_the_picture(page: str, name: str) -> None:
    """A page that shows a screen as a picture and as text shows the same screen twice."""
    text = (Path(__file__).resolve().parents[1] / page).read_text()
    after = text.split(f"images/screen-{name}.svg", 1)[1]
    block = after.split("```\n$ ", 1)[1].split("```", 1)[0]
    screen = block.split("\n", 1)[1].split("\n$ echo", 1)[0]  # after the command line
    assert mask_text(screen.rstrip("\n") + "\n", None) == (SCREENS / f"{name}.txt").read_text()


@pytest.fixture
def signed_in(short_home: Path) -> Path:
    """The built-in mock, signed in, the Model 3 the default car."""
    login = run_carctl("auth", "login", "--email", OWNER, "--password-stdin", input=PASSWORD)
    assert login.returncode == 0, login.stderr
    assert run_carctl("config", "set", "vehicle", "Model 3").returncode == 0
    return short_home


def test_the_status_summary(signed_in: Path) -> None:
    assert run_carctl("where", "--wake").returncode == 0  # a position fix, a woken car
    screen = run_in_terminal("status", env={"TZ": "UTC"})
    assert screen.code == 0, screen.text
    check("status", screen, signed_in)
    for line in ("  battery   ", "  locks     locked; doors and trunks closed; sentry off"):
        assert line in screen.text


def test_the_charge_state(signed_in: Path) -> None:
    assert run_carctl("charge", "limit", "90").returncode == 0
    screen = run_in_terminal("charge", env={"TZ": "UTC"})
    assert screen.code == 0, screen.text
    check("charge", screen, signed_in)


def test_an_unlock_refused_during_an_outage(outage: Path) -> None:
    screen = run_in_terminal("unlock", "--vehicle", "Model 3", "--yes", env={"TZ": "UTC"})
    assert screen.code == 75
    check("unlock-outage", screen, outage)
    assert "hint: not queued: unlocking later could leave the car open" in screen.text
