"""The checks, in the order they run. Each returns a `Finding` with what to do.

None of them wakes the car or sends a vehicle command: the API check lists the
cars (which never wakes one) and the vehicle check reads that list.
"""

from __future__ import annotations

import os
import platform
import shutil
import socket
import ssl
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from carctl import __version__
from carctl.doctor.model import FAIL, PASS, SKIP, WARN, Doctor, Finding, Registry
from carctl.errors import AuthError, CarctlError
from carctl.text import plural
from carctl.timefmt import hhmm

T = TypeVar("T")
CONNECT_TIMEOUT_S = 3.0
FREE_SPACE_WARN = 50 * 1024 * 1024
FREE_SPACE_FAIL = 5 * 1024 * 1024


def in_thread(work: Callable[[], T], timeout: float) -> T:
    """Blocking work in a daemon thread: a hung call cannot stop doctor or its exit.

    Raises `TimeoutError(timeout)` when `work` has not finished in time; the
    thread is left to end on its own (it holds nothing doctor needs).
    """
    outcome: list[tuple[T | None, BaseException | None]] = []

    def target() -> None:
        try:
            outcome.append((work(), None))
        except BaseException as exc:  # handed to the waiting check
            outcome.append((None, exc))

    thread = threading.Thread(target=target, daemon=True, name="doctor")
    thread.start()
    thread.join(timeout)
    if not outcome:
        raise TimeoutError(timeout)
    value, error = outcome[0]
    if error is not None:
        raise error
    return value  # type: ignore[return-value]


# -- this computer ----------------------------------------------------------------------


REGISTRY = Registry()


@REGISTRY.check("versions", "carctl and Python", order=10)
def versions(doc: Doctor) -> Finding:
    detail = (
        f"carctl {__version__}, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()} ({platform.machine()})"
    )
    return Finding(PASS, detail, facts={"carctl": __version__, "python": platform.python_version()})


@REGISTRY.check("config", "config and directories", order=20)
def config(doc: Doctor) -> Finding:
    path = doc.paths.config_file
    settings = doc.stack.settings  # a config that cannot be read fails here, with its reason
    endpoint = doc.stack.endpoint
    notes = []
    for directory in (doc.paths.config_dir, doc.paths.state_dir, doc.paths.log_dir):
        problem = _cannot_write(directory)
        if problem is not None:
            return Finding(
                FAIL,
                f"carctl cannot write to {problem}",
                "carctl keeps its config, state and log there: make it writable "
                f"(chmod u+w {directory}), or set CARCTL_HOME to a directory you can write",
            )
    where = doc.paths.state_dir if doc.paths.state_dir.exists() else doc.paths.state_dir.parent
    while not where.exists() and where != where.parent:
        where = where.parent
    free = shutil.disk_usage(where).free
    if free < FREE_SPACE_FAIL:
        return Finding(
            FAIL,
            f"only {free // 1024} KiB free for {doc.paths.state_dir}",
            "free some disk space: the queue cannot be written",
        )
    if free < FREE_SPACE_WARN:
        notes.append(f"only {free // 1024 // 1024} MiB free")
    exposed = _loose_modes(doc)
    if exposed:
        return Finding(
            WARN,
            "readable by other users: " + ", ".join(f"{p} ({mode})" for p, mode in exposed),
            "make them private: "
            + "; ".join(f"chmod {700 if p.is_dir() else 600} {p}" for p, _ in exposed[:4]),
        )
    exists = "" if path.exists() else " (no config file: defaults)"
    provider = endpoint.provider
    api = provider.describe() if provider is not None else settings.api_url
    detail = f"profile {settings.profile}, api {api}{exists}; state in {doc.paths.state_dir}" + (
        f"; {', '.join(notes)}" if notes else ""
    )
    return Finding(WARN if notes else PASS, detail, "free some disk space" if notes else "")


def _cannot_write(directory: Path) -> str | None:
    """Try it: a real file in `directory` (or its nearest existing parent), then gone.

    Permission bits alone do not tell (root ignores them; a read-only mount does not).
    """
    import tempfile

    where = directory
    while not where.exists() and where != where.parent:
        where = where.parent
    try:
        fd, name = tempfile.mkstemp(dir=where, prefix=".carctl-doctor-")
    except OSError as exc:
        return f"{where}: {(exc.strerror or str(exc)).lower()}"
    os.close(fd)
    Path(name).unlink(missing_ok=True)
    return None


def _loose_modes(doc: Doctor) -> list[tuple[Path, str]]:
    """carctl's directories and files that others may read (they hold positions and tokens)."""
    from carctl.files import loose

    paths = doc.paths
    candidates = [paths.config_dir, paths.state_dir, paths.log_dir]
    candidates += [paths.config_file, paths.state_db, paths.log_file]
    candidates += [paths.state_dir / "credentials.json"]
    found = []
    for candidate in candidates:
        mode = loose(candidate)
        if mode is not None:
            found.append((candidate, mode))
    return found


@REGISTRY.check("state", "state database", order=30, needs=("config",))
def state(doc: Doctor) -> Finding:
    """The state file is consistent, and carctl can read every row it will need."""
    path = doc.paths.state_db
    if not path.exists():
        return Finding(PASS, f"{path} does not exist yet (it is created on first use)")
    verdict, problems = in_thread(lambda: _inspect_state(doc), 8.0)
    if verdict != "ok":
        return Finding(
            FAIL,
            f"{path} is damaged: {verdict}",
            f"move it aside (mv {path} {path}.broken); carctl starts a new one",
        )
    if problems:
        unreadable = [p for p in problems if p.startswith("queue entry #")]
        ids = [p.split("#", 1)[1].split(":", 1)[0] for p in unreadable]
        remedy = "; ".join(f"carctl queue cancel {i}" for i in ids[:5]) if ids else ""
        return Finding(
            WARN,
            f"{path} was changed outside carctl: " + "; ".join(problems[:6]),
            (remedy + " drops the unreadable entries; the others are kept")
            if remedy
            else "carctl repaired it on use; nothing queued was lost",
        )
    return Finding(PASS, f"{path} is readable and consistent")


def _inspect_state(doc: Doctor) -> tuple[str, list[str]]:
    """`quick_check`, then what carctl would find unreadable: tables, columns, rows."""
    from carctl.delivery.health import unreadable_health
    from carctl.state import inspect

    verdict, damage = inspect(doc.paths.state_db)
    if verdict != "ok":
        return verdict, []
    problems = [f"{item} was missing (restored, empty)" for item in damage]
    db = doc.stack.db.connection()  # restores what was missing, as every carctl run does
    names = [c[1] for c in db.execute("PRAGMA table_info(api_health)")]
    for row in db.execute("SELECT * FROM api_health"):
        values = dict(zip(names, row, strict=True))
        reason = unreadable_health(values)
        if reason is not None:
            problems.append(
                f"the breaker row for {values['origin']} is unreadable ({reason}; it starts afresh)"
            )
    problems += [f"queue entry {p}" for p in doc.stack.queue.unreadable()]
    return verdict, problems


@REGISTRY.check("credentials", "credential store", order=40, needs=("config",), timeout_s=15)
def credentials(doc: Doctor) -> Finding:
    from carctl.api.connect import credentials_for
    from carctl.api.credentials import ENV_ACCESS, ENV_REFRESH

    assert doc.settings is not None and doc.endpoint is not None
    settings, endpoint = doc.settings, doc.endpoint
    warnings: list[str] = []
    try:
        store = in_thread(
            lambda: credentials_for(
                settings, doc.paths, doc.env, endpoint, warn=warnings.append, fresh=True
            ),
            12.0,
        )
    except AuthError as exc:
        if doc.env.get(ENV_ACCESS) or doc.env.get(ENV_REFRESH):
            return Finding(WARN, f"{exc.message}; the session comes from the environment")
        return Finding(FAIL, exc.message, exc.hint or "")
    location = store.primary.location
    facts = {"credentials": store}
    if location.kind == "file":
        path = store.fallback_file.path
        mode = f"{path.stat().st_mode & 0o777:o}" if path.exists() else "not written yet"
        if path.exists() and path.stat().st_mode & 0o077:
            return Finding(
                FAIL,
                f"{path} is readable by other users (mode {mode})",
                f"chmod 600 {path}, then sign in again to replace the session",
                facts,
            )
        return Finding(
            WARN,
            f"no keyring: {store.primary_note}; the session is kept in {path} (mode {mode})",
            "install or unlock a keyring (e.g. gnome-keyring) to keep the session encrypted",
            facts,
        )
    try:  # a keyring that is locked, or waits for a dialog, must show up here
        in_thread(lambda: store.primary.load(store.entry), 12.0)
    except AuthError as exc:
        return Finding(FAIL, f"keyring {location.detail}: {exc.message}", exc.hint or "", facts)
    secure = "secure" if location.secure else "not encrypted (a plaintext backend)"
    return Finding(
        PASS if location.secure else WARN,
        f"keyring {location.detail}, {secure}",
        "" if location.secure else "use an encrypted keyring backend",
        facts,
    )


@REGISTRY.check("session", "session", order=60, needs=("credentials",), timeout_s=20)
def session(doc: Doctor) -> Finding:
    from carctl.api.connect import login_command
    from carctl.api.credentials import ENV_ACCESS
    from carctl.api.oauth import load_session

    assert doc.settings is not None and doc.endpoint is not None
    store = doc.fact("credentials", "credentials")
    current, location = in_thread(lambda: load_session(store, doc.env), 12.0)
    login = login_command(doc.settings.profile)
    if current is None and doc.results.get("network", None) and not doc.passed("network"):
        return Finding(
            SKIP,
            f"could not check: no session is kept for {doc.endpoint.label} (sessions are kept "
            "per address) and that address does not answer",
            "check the address first (carctl config get api_url)",
            {"signed_in": None},
        )
    if current is None:
        return Finding(
            FAIL, f"not signed in to {doc.endpoint.label}", f"run `{login}`", {"signed_in": False}
        )
    facts: dict[str, Any] = {"signed_in": True, "account": current.account}
    expiry = ""
    if current.expires_at is not None:
        left = current.expires_at - doc.clock.now()
        expiry = (
            f", access token valid for {left / 60:.0f} min"
            if left > 0
            else ", access token expired (renewed on use)"
        )
    where = location.describe() if location else "?"
    detail = f"signed in as {current.account or 'an unknown account'} ({where}){expiry}"
    if doc.offline or doc.env.get(ENV_ACCESS) or not current.refresh_token:
        return Finding(PASS, detail, facts=facts)
    try:
        _renew(doc)
    except AuthError as exc:
        facts["signed_in"] = False
        return Finding(
            FAIL, f"{detail}; renewing it failed: {exc.message}", f"run `{login}`", facts
        )
    except CarctlError as exc:
        return Finding(
            WARN, f"{detail}; could not check renewal: {exc.message}", "see the next checks", facts
        )
    return Finding(PASS, f"{detail}; renewal works", facts=facts)


def _client(doc: Doctor) -> Any:
    """The API client the checks share: this profile, the store found by `credentials`.

    From the stack, without a guard: doctor asks once and never adds retries to an outage.
    """
    return doc.stack.client(credentials=doc.fact("credentials", "credentials"))


def _renew(doc: Doctor) -> None:
    with _client(doc) as client:
        client.renew_session()


# -- the way to the API -----------------------------------------------------------------


@REGISTRY.check(
    "network", "network to the API", order=50, needs=("config",), network=True, timeout_s=15
)
def network(doc: Doctor) -> Finding:
    from carctl.api.oauth import SKEW_WARN_S, clock_skew, describe_skew

    assert doc.endpoint is not None
    if doc.endpoint.origin == "builtin":
        return Finding(
            PASS,
            "the built-in endpoint runs inside carctl: no network involved",
            facts={"reachable": True},
        )
    from carctl.api.proxy import proxy_for

    parts = urlsplit(doc.endpoint.api_url)
    proxy = proxy_for(doc.endpoint.api_url, doc.env)
    facts: dict[str, Any] = {"proxy": proxy.label if proxy else None}
    steps: list[str] = [f"via proxy {proxy.label}"] if proxy else []
    if proxy:  # the client talks to the proxy: that is the road to test
        host, port = proxy.host, proxy.port
    else:
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
    what_host = f"the proxy {proxy.label}" if proxy else host
    try:
        addresses = in_thread(lambda: socket.getaddrinfo(host, port, type=socket.SOCK_STREAM), 5.0)
    except (OSError, TimeoutError) as exc:
        return Finding(
            FAIL,
            "; ".join([*steps, f"{host} does not resolve: {_os_error(exc)}"]),
            f"check the proxy setting ({proxy.url})"
            if proxy
            else "check the host name in api_url, your DNS and your connection",
            {**facts, "reachable": False, "stage": "dns"},
        )
    steps.append(f"DNS {host} → {addresses[0][4][0]}")
    started = time.monotonic()
    try:
        sock = in_thread(
            lambda: socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S),
            CONNECT_TIMEOUT_S + 1,
        )
    except (OSError, TimeoutError) as exc:
        what = "timed out" if isinstance(exc, TimeoutError | socket.timeout) else _os_error(exc)
        return Finding(
            FAIL,
            f"{'; '.join(steps)}; TCP connect to port {port} failed: {what}",
            f"{what_host} does not answer: check the proxy setting and whether the proxy runs"
            if proxy
            else "the API's port does not answer from here: check the address and port in "
            "api_url, your connection, VPN or firewall — or whether the service is up",
            {**facts, "reachable": False, "stage": "tcp"},
        )
    steps.append(f"TCP {port} in {(time.monotonic() - started) * 1000:.0f} ms")
    try:
        if parts.scheme == "https" and not proxy:  # through a proxy, /status below tests TLS
            trusted = doc.endpoint.ca_file if doc.endpoint else None
            steps.append(in_thread(lambda: _tls(sock, host, doc.clock.now(), trusted), 6.0))
    except (OSError, ssl.SSLError, TimeoutError, ValueError) as exc:
        return Finding(
            FAIL,
            f"{'; '.join(steps)}; TLS failed: {exc}",
            "a wrong clock, an intercepting proxy or an expired certificate; check the date "
            "and the network you are on",
            {**facts, "reachable": False, "stage": "tls"},
        )
    finally:
        sock.close()
    import httpx

    from carctl.api.transport import trusting

    facts["reachable"] = True
    ca_file = doc.endpoint.ca_file
    try:
        verify: Any = trusting(ca_file) if ca_file else True
        with httpx.Client(timeout=5.0, follow_redirects=False, verify=verify) as client:
            started = time.monotonic()
            response = client.get(doc.endpoint.api_url + "/status")
            latency = (time.monotonic() - started) * 1000
    except httpx.HTTPError as exc:
        return Finding(
            WARN,
            f"{'; '.join(steps)}; /status did not answer: {exc or type(exc).__name__}",
            "the server accepts connections but does not answer: likely the service",
            {**facts, "status": None},
        )
    facts["status"] = response.status_code
    steps.append(f"/status {response.status_code} in {latency:.0f} ms")
    skew = clock_skew(response.headers, doc.clock.now())
    if skew is not None:
        facts["skew"] = skew
        if abs(skew) >= SKEW_WARN_S:
            steps.append(f"this computer's clock is {describe_skew(skew)} the server's")
            return Finding(WARN, "; ".join(steps), "set the clock: timedatectl set-ntp true", facts)
    if response.status_code >= 500:
        return Finding(
            WARN,
            "; ".join(steps),
            "the service says it is down; your network is fine",
            facts,
        )
    return Finding(PASS, "; ".join(steps), facts=facts)


def _os_error(exc: BaseException) -> str:
    """'connection refused', not '[Errno 111] Connection refused'."""
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return text[:1].lower() + text[1:]


def _tls(sock: socket.socket, host: str, now: float, ca_file: str | None = None) -> str:
    """The handshake carctl's client makes: the usual CAs, and tls.ca_file if set."""
    context = ssl.create_default_context()
    if ca_file:
        context.load_verify_locations(cafile=ca_file)
    with context.wrap_socket(sock, server_hostname=host) as tls:
        cert = tls.getpeercert() or {}
        version = tls.version()
    not_after = cert.get("notAfter")
    if not isinstance(not_after, str):
        return f"TLS {version}"
    expires = ssl.cert_time_to_seconds(not_after)
    days = (expires - now) / 86400
    if days < 14:
        raise ValueError(f"the certificate expires in {days:.0f} days")
    return f"TLS {version}, certificate valid for {days:.0f} days"


# -- the vehicle API and the car --------------------------------------------------------


def _failures(doc: Doctor) -> dict[str, Any]:
    """The request log's recent failures, grouped by status, with times and txids."""
    rows = doc.stack.request_log.recent(doc.stack.endpoint.origin, limit=500)
    now = doc.clock.now()
    recent = [r for r in rows if now - r.at <= 3600]
    groups: dict[str, dict[str, Any]] = {}
    streak: list[Any] = []
    for row in recent:
        if row.path.startswith("/oauth2/"):  # the sign-in service: not the vehicle API's story
            continue
        if row.outcome == "ok" or (row.status is not None and row.status < 500):
            streak = []
            continue
        streak.append(row)
        key = str(row.status) if row.status is not None else row.outcome
        group = groups.setdefault(key, {"count": 0, "first": row.at, "txids": []})
        group["count"] += 1
        group["last"] = row.at
        if row.txid:
            group["txids"] = [*group["txids"], row.txid][-3:]
    return {"groups": groups, "streak": streak, "total": len(recent)}


def failure_story(history: dict[str, Any], *, txids: bool = True) -> str:
    """The failures that are still going on, told once: the check and the verdict both say it.

    Only the unbroken run of failures up to now counts; a success ends a story, so
    the report never mixes this morning's count with the last hour's.
    """
    streak = history.get("streak", [])
    if not streak:
        return ""
    statuses = "/".join(sorted({str(r.status or r.outcome) for r in streak}))
    ids = ", ".join(r.txid for r in streak[-3:] if r.txid) if txids else ""
    what = (
        "the last request"
        if len(streak) == 1
        else f"the last {len(streak)} requests since {hhmm(streak[0].at)}"
    )
    verb = "returned" if statuses[:1].isdigit() else "ended in"
    return f"{what} {verb} {statuses}" + (f" (txids {ids})" if ids else "")


@REGISTRY.check(
    "api", "vehicle API", order=70, needs=("session", "network"), network=True, timeout_s=20
)
def api(doc: Doctor) -> Finding:
    from carctl.vehicle.model import Vehicle

    assert doc.settings is not None and doc.endpoint is not None
    facts: dict[str, Any] = {}
    listing: Any = None
    latency = 0.0
    try:
        with _client(doc) as client:
            started = time.monotonic()
            listing = client.request("GET", "/api/1/vehicles")  # never wakes a car
            latency = (time.monotonic() - started) * 1000
    except CarctlError as exc:
        facts["error"] = exc
    origin = doc.endpoint.origin

    def read_health() -> Any:
        return doc.stack.health(origin).read()

    history = in_thread(lambda: _failures(doc), 5.0)  # including this check's request
    health = in_thread(read_health, 5.0)
    now = doc.clock.now()
    breaker = health.describe_state(now)
    facts.update({"history": history, "breaker": breaker})
    notes = [f"breaker {breaker}"]
    if health.retry_after_until and health.retry_after_until > now:
        notes.append(f"asked to wait until {hhmm(health.retry_after_until)}")
    story = failure_story(history)
    if story:
        notes.append(story)
    error = facts.get("error")
    if isinstance(error, CarctlError):
        status = f"HTTP {error.http.status}" if error.http and error.http.status else error.code
        txid = f" (txid {error.http.txid})" if error.http and error.http.txid else ""
        hint = (
            "sign in again: carctl auth login"
            if isinstance(error, AuthError)
            else "the fault is the service's: queued commands are delivered when it recovers"
        )
        return Finding(
            FAIL,
            f"listing the cars failed: {status}{txid}; " + "; ".join(notes),
            hint,
            facts,
        )
    by_vin = doc.endpoint is not None and doc.endpoint.by_vin
    cars = (
        [Vehicle.from_api(item, by_vin=by_vin) for item in listing]
        if isinstance(listing, list)
        else []
    )
    facts["vehicles"] = cars
    facts["latency_ms"] = latency
    detail = f"{plural(len(cars), 'car')} listed in {latency:.0f} ms; " + "; ".join(notes)
    if breaker != "closed" or history["streak"]:
        return Finding(
            WARN,
            detail,
            "it answers again; queued commands go out with the next worker pass",
            facts,
        )
    return Finding(PASS, detail, facts=facts)


@REGISTRY.check("vehicle", "the car", order=80, needs=("api",), network=True)
def vehicle(doc: Doctor) -> Finding:
    """The chosen car — or, with several and none chosen, every car — without waking one."""
    from carctl.vehicle.service import choose

    assert doc.settings is not None
    cars = doc.fact("api", "vehicles", [])
    selector = doc.settings.get("vehicle")
    if selector is not None:
        chosen = [choose(cars, str(selector))]
    elif len(cars) > 1:
        chosen = list(cars)  # no default: every car is someone's morning
    else:
        chosen = [choose(cars, None)]  # one car (or none: the account has no car)
    facts: dict[str, Any] = {"vehicles": [car.to_json() for car in chosen]}
    if len(chosen) == 1:
        facts["vehicle"] = chosen[0].to_json()
    problems, states = [], []
    for car in chosen:  # signing is the next check's (carctl signs on the Fleet API)
        name = f"{car.label} ({car.vin})"
        if car.in_service:
            problems.append((f"{name} is in service", "commands work again after the visit"))
        elif car.state == "offline":
            problems.append(
                (
                    f"{name} is offline: it has no connection to the vehicle service",
                    "the car needs mobile coverage (a garage or car park may block it); it "
                    "cannot be woken until it is back online",
                )
            )
        else:
            states.append(f"{name} is {car.state}")
    if problems:
        return Finding(
            FAIL,
            "; ".join(p for p, _ in problems) + ("; " + "; ".join(states) if states else ""),
            problems[0][1],
            facts,
        )
    asleep = any(car.state == "asleep" for car in chosen)
    note = " (doctor does not wake a car; commands do)" if asleep else ""
    return Finding(PASS, "; ".join(states) + note, facts=facts)


def _signs_itself(doc: Doctor) -> bool:
    """carctl signs on the Fleet API and Teslemetry: elsewhere the check means nothing."""
    from carctl.doctor.signing_checks import applies

    return applies(doc)


@REGISTRY.check(
    "signing",
    "signed commands",
    order=85,
    needs=("api",),
    network=True,
    timeout_s=20,
    applies=_signs_itself,
)
def signing(doc: Doctor) -> Finding:
    """Key, domain, .well-known, scopes, pairing: see `carctl.doctor.signing_checks`."""
    from carctl.doctor.signing_checks import signing as check

    return check(doc, lambda: _client(doc))


def _billed(doc: Doctor) -> bool:
    """Only a paid provider's calls are counted and capped."""
    from carctl.api.connect import billed_account

    if doc.settings is None or doc.endpoint is None:
        return False
    return billed_account(doc.settings, doc.endpoint) is not None


@REGISTRY.check(
    "usage", "this month's cost", order=65, needs=("config",), applies=_billed, timeout_s=10
)
def usage(doc: Doctor) -> Finding:
    """The month's spending against the cap, from carctl's ledger (no request): a cap that
    is reached explains every refusal after it, so it is named before the API is blamed."""
    from carctl.api import usage as rules

    def read() -> rules.Month | None:
        meter = doc.stack.meter()
        return meter.month() if meter is not None else None

    month = in_thread(read, 8.0)
    if month is None:
        return Finding(SKIP, "this vehicle API is not billed")
    facts = month.to_json()
    limit = month.prices.limit
    spent = f"US${month.cost:.2f} spent in {month.month}"
    raise_it = "raise the cap: carctl config set usage.monthly_limit 20 (or off)"
    if limit is None:
        return Finding(PASS, f"{spent}; no cap", facts=facts)
    share = f"{spent} of the US${limit:.2f} cap ({month.cost / limit:.0%})" if limit else spent
    cheapest = min(month.prices.of(c) for c in (rules.DATA, rules.COMMAND))
    if rules.over_limit(month.cost, cheapest, limit):
        return Finding(
            FAIL,
            f"{share}: the cap is reached, so carctl sends nothing until next month",
            f"`carctl usage` shows where it went; {raise_it}",
            facts,
        )
    projected = month.projected
    if month.cost >= limit * rules.WARN_AT:
        return Finding(WARN, f"{share}: nearly at the cap", raise_it, facts)
    if projected is not None and projected > limit:
        return Finding(
            WARN,
            f"{share}; at this rate the month comes to US${projected:.2f}, past the cap",
            f"fewer calls (on-car schedules need none: `carctl schedule set 06:30`), or {raise_it}",
            facts,
        )
    return Finding(PASS, share, facts=facts)


@REGISTRY.check("queue", "queue and worker", order=90, needs=("config",))
def queue(doc: Doctor) -> Finding:
    from carctl.delivery.worker import running

    path = doc.paths.state_db
    if not path.exists():
        return Finding(PASS, "nothing queued")

    def read() -> dict[str, Any]:
        entries = doc.stack.queue.entries(include_finished=True, limit=1000)
        pending = [e for e in entries if e.status == "pending"]
        day = doc.clock.now() - 86400
        expired = [e for e in entries if e.status == "expired" and (e.finished_at or 0) > day]
        return {
            "pending": len(pending),
            "expired_24h": len(expired),
            "oldest": min((e.created_at for e in pending), default=None),
            "worker": running(doc.paths),
        }

    facts = in_thread(read, 8.0)
    if not facts["pending"]:
        expired = (
            f"; {facts['expired_24h']} expired in the last 24 h" if facts["expired_24h"] else ""
        )
        return Finding(PASS, f"nothing queued{expired}", facts=facts)
    age = (doc.clock.now() - facts["oldest"]) / 60
    detail = (
        f"{facts['pending']} pending, the oldest {age:.0f} min old; "
        f"{facts['expired_24h']} expired in the last 24 h; worker "
        + ("running" if facts["worker"] else "not running")
    )
    if not facts["worker"]:
        return Finding(
            WARN, detail, "run `carctl queue run` (or `carctl queue worker`) to deliver", facts
        )
    return Finding(PASS, detail, facts=facts)


@REGISTRY.check("schedule", "schedules on the car", order=85, needs=("config",))
def schedule(doc: Doctor) -> Finding:
    """Whether each car holds a schedule and when it next runs: information, never a failure.

    Doctor never wakes a car, nor keeps one awake with a read: each car is
    described from what it held when carctl last read it (`carctl schedule`,
    the evening arming), with the age of that reading — which also works while
    the API fails, when the owner most wants to know that the morning is safe.
    """
    from carctl.vehicle.model import Vehicle

    assert doc.settings is not None and doc.endpoint is not None
    now = doc.clock.now()
    chosen = doc.fact("vehicle", "vehicles")  # the car check's choice, failed or not
    cars = (
        [Vehicle(c["id"], c["vin"], c["display_name"], c["state"]) for c in chosen]
        if chosen is not None
        else in_thread(lambda: _cached_cars(doc), 5.0)
    )
    notes, unknown, facts = [], [], {}
    for car in cars:
        described, fact = _schedules_of(doc, car, now)
        if described is None:
            unknown.append(car.display_name)
        else:
            notes.append(described)
        facts[car.id] = fact
    if unknown:
        their = "its" if len(unknown) == 1 else "their"
        notes.append(
            f"{' and '.join(unknown)}: not known yet (carctl has not read {their} schedules; "
            "`carctl schedule` does)"
        )
    if not notes:
        return Finding(PASS, "no car known yet", facts=facts)
    return Finding(PASS, "; ".join(notes), facts=facts)


def _cached_cars(doc: Doctor) -> list[Any]:
    """The cars carctl knows, when the API cannot list them: the chosen one, or all."""
    from carctl.vehicle.service import choose

    assert doc.settings is not None
    cars = doc.stack.cache().vehicles()
    selector = doc.settings.get("vehicle")
    if selector is None or not cars:
        return cars
    try:
        return [choose(cars, str(selector))]
    except CarctlError:
        return cars


def _schedules_of(doc: Doctor, car: Any, now: float) -> tuple[str | None, dict[str, Any]]:
    """What the car holds, in words (None: not known), and as facts."""
    from carctl.vehicle.on_car import Holding
    from carctl.vehicle.schedules import departure_from, when_text

    snapshot = in_thread(lambda: doc.stack.cache().snapshot(car.id), 5.0)
    seen = snapshot is not None and (
        "preconditioning_schedule_data" in snapshot.data
        or departure_from(snapshot.data.get("charge_state")) is not None
    )
    if snapshot is None or not seen:
        return None, {"armed": None}
    source = f"as read {_age(now - snapshot.at)} ago"
    holding = Holding.from_data(car, snapshot.data).still_held(snapshot.at, now)
    following = holding.next_run(now)
    if following is None:
        return (
            f"{car.display_name}: no schedule armed ({source}); mornings depend on the "
            "vehicle API at the time — `carctl schedule set 06:30` lets the car keep one",
            {"armed": False},
        )
    armed, ready = following
    return (
        f"{car.display_name}: {armed.describe()}, next {when_text(ready, holding.zone)} "
        f"{holding.zone_name} ({source}); it runs on the car even when the API is down",
        {"armed": True, "next_ready": ready},
    )


def _age(seconds: float) -> str:
    minutes = max(0, round(seconds / 60))
    return f"{minutes} min" if minutes < 90 else f"{round(minutes / 60)} h"
