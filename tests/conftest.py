"""Fixtures shared by the whole suite.

Every test runs with CARCTL_HOME pointed at its own temporary directory (the
user's real config, state and keyring are never touched), and without
CARCTL_* variables leaking in from the developer's shell.
"""

from __future__ import annotations

import dataclasses
import json
import os
import random
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

import carctl.clock
from carctl.mock import create_app
from carctl.mock.clock import ManualClock
from carctl.mock.seed import Seed, load_seed
from carctl.mock.server import RunningServer

OWNER = "owner@example.com"
PASSWORD = "ventilate-0600"


@pytest.fixture(autouse=True)
def carctl_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for key in list(os.environ):
        if key.startswith("CARCTL_") or key in ("NO_COLOR", "FORCE_COLOR"):
            monkeypatch.delenv(key)
    home = tmp_path / "carctl-home"
    monkeypatch.setenv("CARCTL_HOME", str(home))
    # like CI: no background queue worker unless a test starts one on purpose
    monkeypatch.setenv("CI", "1")
    return home


class FastClock:
    """carctl's clock in this process: real time plus whatever it 'slept' (instantly)."""

    offset = 0.0

    def now(self) -> float:
        import time

        return time.time() + FastClock.offset

    def sleep(self, seconds: float) -> None:
        FastClock.offset += max(0.0, seconds)


@pytest.fixture(autouse=True)
def fresh_secret_registry() -> None:
    """Each test is a new carctl process: its registry of secrets to redact starts empty
    (in one long process it would hold every token the whole suite ever issued)."""
    from carctl.logs import forget_secrets

    forget_secrets()


# The clock `invoke` gives each in-process run (in its Environment): carctl's own modules
# are never patched for it.
RUN_CLOCK: list[Callable[[], Any]] = [FastClock]


@pytest.fixture(autouse=True)
def fast_clock() -> Iterator[type[FastClock]]:
    """No in-process carctl run waits for real: backoff and polling advance a virtual clock."""
    FastClock.offset = 0.0
    RUN_CLOCK[0] = FastClock
    yield FastClock
    RUN_CLOCK[0] = FastClock


@pytest.fixture
def real_clock(fast_clock: type[FastClock]) -> None:
    """For the few in-process runs that wait on something real (the built-in car's wake)."""
    RUN_CLOCK[0] = carctl.clock.SystemClock


@pytest.fixture(autouse=True)
def no_keyring(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The real "no backend" situation by default: the user's keyring is never touched."""
    import keyring
    from keyring.backends import fail

    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    before = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    yield
    keyring.set_keyring(before)


@pytest.fixture
def memory_keyring() -> Any:
    """An in-memory keyring backend, installed as the one `keyring` uses."""
    import keyring

    from tests.support.keyrings import MemoryKeyring

    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    return backend


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        import json

        return json.loads(self.stdout)

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def invoke(
    *args: str, input: str = "", env: dict[str, str] | None = None, terminal: bool = False
) -> Result:
    """carctl in this process (fast, sees in-process keyrings): main()'s error mapping included.

    `terminal` draws as on an 80-column terminal (colour, spinner, tables), so the
    human-mode code runs in the suite as JSON mode does.
    """
    if terminal:
        env = {"FORCE_COLOR": "1", "COLUMNS": "80", **(env or {})}
    import io

    from carctl.cli import _run, context
    from carctl.cli.environment import Environment

    context.last_app = None
    saved = sys.stdin, sys.stdout, sys.stderr
    saved_env = dict(os.environ)
    out, err, given = io.StringIO(), io.StringIO(), io.StringIO(input)
    try:
        # click's own prompts and help read and write the process's streams: the same ones
        sys.stdin, sys.stdout, sys.stderr = given, out, err
        os.environ.update(env or {})
        environment = Environment(given, out, err, dict(os.environ), RUN_CLOCK[0]())
        code = _run(list(args), environment)
    finally:
        sys.stdin, sys.stdout, sys.stderr = saved
        os.environ.clear()
        os.environ.update(saved_env)
        context.last_app = None
    OUTPUTS.append(out.getvalue() + err.getvalue())
    return Result(code, out.getvalue(), err.getvalue())


def make_seed(**settings: Any) -> Seed:
    """The default seed with some settings changed (e.g. wake_delay=0)."""
    seed = load_seed()
    return dataclasses.replace(seed, settings=dataclasses.replace(seed.settings, **settings))


@dataclass
class Served:
    url: str
    clock: ManualClock
    app: Any

    def client(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=5.0, **kwargs)

    def admin(self, method: str, path: str, **kwargs: Any) -> Any:
        with self.client() as client:
            response = client.request(method, path, **kwargs)
            response.raise_for_status()
            return response.json()


def serve(
    seed: Seed | None = None,
    *,
    admin: bool = True,
    clock: ManualClock | None = None,
    rng_seed: int = 7,
) -> RunningServer:
    clock = clock or ManualClock()
    app = create_app(
        seed=seed or make_seed(), clock=clock, admin=admin, rng=random.Random(rng_seed)
    )
    server = RunningServer(app)
    server.clock = clock  # type: ignore[attr-defined]
    server.app = app  # type: ignore[attr-defined]
    return server


@pytest.fixture(scope="session")
def _shared_server() -> Iterator[RunningServer]:
    with serve() as server:
        yield server


@pytest.fixture
def served(_shared_server: RunningServer) -> Served:
    """The mock served over real HTTP on 127.0.0.1 (port 0), with a manual clock.

    One server for the session (starting uvicorn costs a fifth of a second);
    each test gets a fresh world, clock and random generator.
    """
    from carctl.mock.store import MemoryStore

    server = _shared_server
    api = server.app.state.api  # type: ignore[attr-defined]
    api.store = MemoryStore(make_seed(wake_delay=0.0))
    api.rng = random.Random(7)
    api.concurrency.update(dict.fromkeys(api.concurrency, 0))  # counted per test
    server.clock.set(ManualClock().now())  # type: ignore[attr-defined]
    return Served(url=server.url, clock=server.clock, app=server.app)  # type: ignore[attr-defined]


def password_grant(
    client_id: str = "ownerapi", email: str = OWNER, password: str = PASSWORD
) -> dict[str, str]:
    """The token request body of a password sign-in."""
    return {"grant_type": "password", "client_id": client_id, "email": email, "password": password}


def login(client: httpx.Client, email: str = OWNER, password: str = PASSWORD) -> dict[str, Any]:
    response = client.post(
        "/oauth2/v3/token",
        data=password_grant("ownerapi", email, password),
    )
    assert response.status_code == 200, response.text
    tokens: dict[str, Any] = response.json()
    return tokens


def bearer(tokens: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def run_carctl(
    *args: str, env: dict[str, str] | None = None, input: str | None = None, timeout: float = 60
) -> Any:
    """carctl as a real process, the way users and scripts run it."""
    import subprocess

    full_env = {**os.environ, **(env or {})}
    result = subprocess.run(
        [sys.executable, "-m", "carctl", *args],
        capture_output=True,
        text=True,
        env=full_env,
        input=input,
        timeout=timeout,
        check=False,
    )
    OUTPUTS.append(result.stdout + result.stderr)
    return result


# -- one scan for secrets over everything the run leaves behind ----------------------

OUTPUTS: list[str] = []  # what carctl printed, in this process and in its subprocesses
ISSUED: set[str] = set()  # every token the mock issued in this process
PRIVATE_KEYS: set[str] = set()  # every signing key carctl saved in this process (PEM)


def private_key_secrets(pem: str) -> set[str]:
    """What of a private key must never be seen: its PEM lines and its scalar in hex."""
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    found = {line for line in pem.splitlines() if line and not line.startswith("-----")}
    try:
        key = load_pem_private_key(pem.encode(), password=None)
    except ValueError:
        return found
    if isinstance(key, ec.EllipticCurvePrivateKey):
        found.add(f"{key.private_numbers().private_value:064x}")
    return found


KNOWN_PASSWORDS = {PASSWORD, "wrong-password", "bad-pass-77"}
# where sessions are meant to be: carctl's file store, and the test keyring's file
# (`tests.support.keyrings.FileKeyring`, standing in for a real keyring)
STORES = {"credentials.json", "test-keyring.json"}


@pytest.fixture(scope="session", autouse=True)
def secrets_scan(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """After the whole run: no token or password in any file or output but the stores.

    Tokens issued in this process are recorded as the mock issues them; those
    issued in carctl subprocesses are read back from the credential stores
    (`credentials.json`) they ended up in. Every file under the run's temporary
    directory — state databases, request logs, queues, logs, bundles, configs —
    and every captured output is searched for all of them.
    """
    from carctl.mock.accounts import TokenBook
    from tests.reliability.numbers import record
    from tests.support.literal_pattern import literal_pattern

    original = TokenBook.issue

    def issue(self: TokenBook, **kwargs: Any) -> dict[str, Any]:
        body = original(self, **kwargs)
        ISSUED.update(body[k] for k in ("access_token", "refresh_token", "id_token"))
        return body

    from carctl.api.keys import KeyVault, private_pem

    saving = KeyVault.save

    def save(self: KeyVault, key: Any) -> Any:
        PRIVATE_KEYS.add(private_pem(key))
        return saving(self, key)

    TokenBook.issue = issue  # type: ignore[method-assign]
    KeyVault.save = save  # type: ignore[method-assign]
    yield
    TokenBook.issue = original  # type: ignore[method-assign]
    KeyVault.save = saving  # type: ignore[method-assign]
    base = tmp_path_factory.getbasetemp()
    stores = [p for p in base.rglob("credentials.json") if p.is_file()]
    secrets = set(ISSUED) | KNOWN_PASSWORDS
    for store in stores:
        try:
            for entry in json.loads(store.read_text())["entries"].values():
                if isinstance(entry, str):  # a signing key, kept as PEM
                    secrets.update(private_key_secrets(entry))
                    continue
                secrets.update(v for k, v in entry.items() if k.endswith("_token") and v)
        except (ValueError, KeyError, OSError):
            continue
    for keyring_file in base.rglob("test-keyring.json"):
        try:
            for name, value in json.loads(keyring_file.read_text()).items():
                if name.startswith("carctl/signing-key:"):
                    secrets.update(private_key_secrets(value))
        except (ValueError, OSError):
            continue
    secrets.update(*(private_key_secrets(pem) for pem in PRIVATE_KEYS))
    pattern = literal_pattern(secrets)
    leaks: list[str] = []
    files = 0
    for path in base.rglob("*"):
        if not path.is_file() or path.name in STORES or path.is_symlink():
            continue
        try:
            content = path.read_bytes().decode("utf-8", errors="replace")
        except OSError:
            continue
        files += 1
        if pattern.search(content):
            leaks.append(str(path.relative_to(base)))
    leaked_outputs = sum(1 for text in OUTPUTS if pattern.search(text))
    record(
        "secrets scan",
        secrets=len(secrets),
        files=files,
        outputs=len(OUTPUTS),
        leaked=len(leaks) + leaked_outputs,
    )
    assert not leaks and not leaked_outputs, (
        f"secrets found in {leaks[:10]} and {leaked_outputs} outputs"
    )


@dataclass
class Endpoint:
    """The vehicle API a test signs in to: the served mock or the built-in one."""

    name: str
    api_url: str
    state_db: Path
    served: Served | None

    def admin(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        if self.served is not None:
            return self.served.admin(method, path, json=body)
        from carctl.api import builtin

        return builtin.control(self.state_db, method, path, body)

    def advance(self, seconds: float) -> None:
        self.admin("POST", "/__mock__/clock", {"advance": seconds})

    def faults(self, *rules: dict[str, Any]) -> None:
        self.admin("PUT", "/__mock__/faults", {"rules": list(rules)})

    def requests(self, path: str, status: int | None = None) -> int:
        """How many requests the mock saw on `path` (with `status`, if given)."""
        rows = self.admin("GET", "/__mock__/stats")["requests"]
        return sum(
            row["count"]
            for row in rows
            if row["path"] == path and (status is None or row["status"] == status)
        )


@pytest.fixture(params=["served", "builtin"])
def endpoint(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, carctl_home: Path
) -> Endpoint:
    state_db = carctl_home / "state" / "state.db"
    if request.param == "served":
        served = request.getfixturevalue("served")
        monkeypatch.setenv("CARCTL_API_URL", served.url)
        return Endpoint("served", served.url, state_db, served)
    return Endpoint("builtin", "builtin", state_db, None)


def sign_in(*, env: dict[str, str] | None = None) -> Result:
    result = invoke(
        "auth", "login", "--email", OWNER, "--password-stdin", input=PASSWORD + "\n", env=env
    )
    assert result.code == 0, result.output
    return result


def pytest_sessionfinish(session: Any) -> None:
    """An xdist worker hands its reliability numbers to the controller, which prints them."""
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        from tests.reliability.numbers import NUMBERS

        workeroutput["reliability"] = json.dumps(NUMBERS)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """The controller's side (pytest-xdist): each worker's numbers, added up."""
    from tests.reliability.numbers import record

    output = getattr(node, "workeroutput", {}).get("reliability")
    for suite, counts in json.loads(output or "{}").items():
        record(suite, **counts)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: Any) -> None:
    """The reliability suite's numbers (trials, lost, duplicated, leaked) at the end."""
    from tests.reliability.numbers import NUMBERS

    if not NUMBERS:
        return
    terminalreporter.section("reliability")
    for suite, counts in NUMBERS.items():
        figures = ", ".join(f"{key} {value}" for key, value in counts.items())
        terminalreporter.write_line(f"{suite}: {figures}")


SEEDED_M3 = "1492931337131"


@pytest.fixture
def car(endpoint: Endpoint) -> Endpoint:
    """Signed in; the Model 3 asleep and quick to wake; it is the profile's car."""
    endpoint.admin("PATCH", f"/__mock__/vehicles/{SEEDED_M3}", {"wake_delay": 0})
    sign_in()
    assert invoke("config", "set", "vehicle", "Model 3").code == 0
    return endpoint


@pytest.fixture
def awake_car(endpoint: Endpoint) -> Endpoint:
    """Signed in; the Model 3 awake (and locked, as seeded); it is the profile's car."""
    endpoint.admin("PATCH", f"/__mock__/vehicles/{SEEDED_M3}", {"wake_delay": 0, "state": "online"})
    sign_in()
    assert invoke("config", "set", "vehicle", "Model 3").code == 0
    return endpoint
