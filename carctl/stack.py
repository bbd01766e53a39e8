"""Where carctl is put together: one run's client, guard, queue link and car service.

The CLI, the queue worker (given `car_run` by whoever starts it), the demo and
the tests all get their objects here, built with constructor injection only:
endpoint → credentials and session → guard (budget, breaker) → client →
delivery (the link to the queue) → vehicle service. Nothing is wired by
assignment afterwards, so what a run is made of can be read in one place.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from carctl.api import DEADLINE_S
from carctl.api.client import ApiClient, Observer
from carctl.api.connect import Endpoint, Warn, credentials_for, open_client, profile_endpoint
from carctl.api.providers import FLEET, TESLEMETRY
from carctl.clock import Clock
from carctl.delivery.guard import Guard
from carctl.delivery.health import HealthStore
from carctl.delivery.queue import Queue
from carctl.delivery.runner import Delivery
from carctl.paths import Paths
from carctl.settings import DEFAULT_PROFILE, Settings
from carctl.vehicle.cache import VehicleCache
from carctl.vehicle.service import Reporter, Seen, VehicleService

if TYPE_CHECKING:
    from carctl.api.keys import KeyVault
    from carctl.api.ledger import Meter
    from carctl.vehicle.signed import SignedChannel


@dataclass(frozen=True)
class Queueing:
    """How a direct run keeps what it could not send (absent: it keeps nothing)."""

    ttl_s: float
    use_queue: bool = True  # False: --no-queue, the diagnosis only
    start_worker: Callable[[], str] | None = None  # "started", "running" or "off"


@dataclass(frozen=True)
class CarRun:
    """The objects of one run, for the caller that needs more than the service."""

    service: VehicleService
    client: ApiClient
    health: HealthStore
    queue: Queue | None


def api_client(
    *,
    settings: Settings,
    paths: Paths,
    env: Mapping[str, str],
    clock: Clock,
    insecure: bool = False,
    observer: Observer | None = None,
    warn: Warn | None = None,
    credentials: Any = None,
    with_session: bool = True,
    total_timeout_s: float | None = None,
) -> contextlib.AbstractContextManager[ApiClient]:
    """A client with no guard: one attempt per request (sign-in, `carctl api`, doctor)."""
    return open_client(
        settings=settings,
        paths=paths,
        env=env,
        insecure=insecure,
        clock=clock,
        observer=observer,
        warn=warn,
        credentials=credentials,
        with_session=with_session,
        total_timeout_s=total_timeout_s,
    )


@contextlib.contextmanager
def car_run(
    *,
    settings: Settings,
    paths: Paths,
    env: Mapping[str, str],
    clock: Clock,
    rng: random.Random | None = None,
    deadline_s: float = DEADLINE_S,
    insecure: bool = False,
    observer: Observer | None = None,
    warn: Warn | None = None,
    reporter: Reporter | None = None,
    credentials: Any = None,
    queueing: Queueing | None = None,
    probe_now: bool = False,
    on_seen: Seen | None = None,
) -> Iterator[CarRun]:
    """Everything one run of car commands needs, closed again when it ends."""
    endpoint = profile_endpoint(settings, insecure=insecure)
    scope = f"{settings.profile}@{endpoint.origin}"
    cache = VehicleCache(paths.state_db, scope)
    health = HealthStore(paths.state_db, endpoint.origin)
    queue = Queue(paths.state_db) if queueing is not None else None
    guard = Guard(
        health,
        clock=clock,
        rng=rng or random.Random(),
        deadline=clock.now() + deadline_s,
        probe_now=probe_now,
    )
    signed: _LazyChannel | None = None
    try:
        with open_client(
            settings=settings,
            paths=paths,
            env=env,
            insecure=insecure,
            clock=clock,
            observer=observer,
            warn=warn,
            credentials=credentials,
            total_timeout_s=deadline_s,
            guard=guard,
        ) as client:
            delivery = None
            if queueing is not None and queue is not None:
                delivery = Delivery(
                    queue=queue,
                    health=health,
                    request_log=client.request_log,
                    scope=scope,
                    origin=endpoint.origin,
                    api_url=endpoint.setting,
                    clock=clock,
                    ttl_s=queueing.ttl_s,
                    use_queue=queueing.use_queue,
                    start_worker=queueing.start_worker,
                )
            signed = _signed_channel(settings, paths, env, endpoint, client, clock, credentials)
            service = VehicleService(
                client,
                cache,
                clock=clock,
                reporter=reporter,
                delivery=delivery,
                on_seen=on_seen or (delivery.learned if delivery is not None else None),
                by_vin=endpoint.by_vin,
                signs=endpoint.provider.signs if endpoint.provider else None,
                signed=signed.get if signed is not None else None,
                rewake=client.meter is None,
            )
            yield CarRun(service, client, health, queue)
    finally:
        if signed is not None:
            signed.close()
        cache.close()
        health.close()
        if queue is not None:
            queue.close()


def usage_meter(
    *, settings: Settings, paths: Paths, clock: Clock, warn: Warn | None = None
) -> Meter | None:
    """The profile's usage ledger and cap (`carctl usage`); None: its calls are free."""
    from carctl.api.connect import meter_for

    meter: Meter | None = meter_for(
        settings, paths, profile_endpoint(settings), clock=clock, warn=warn
    )
    return meter


def known_car(
    *, settings: Settings, paths: Paths, selector: str | None
) -> tuple[str, float | None] | None:
    """The selected car as the vehicle cache knows it (its label, when it was last heard
    from), without a request: for a question asked before anything is sent."""
    from carctl.errors import RefusedError, UsageError
    from carctl.vehicle.service import choose

    endpoint = profile_endpoint(settings)
    cache = VehicleCache(paths.state_db, f"{settings.profile}@{endpoint.origin}")
    try:
        try:
            car = choose(cache.vehicles(), selector)
        except (UsageError, RefusedError):
            return None
        return car.label, cache.last_seen(car.id)
    finally:
        cache.close()


def key_vault(
    *,
    settings: Settings,
    paths: Paths,
    env: Mapping[str, str],
    warn: Warn | None = None,
    credentials: Any = None,
) -> KeyVault:
    """The profile's signing key, in the stores its session would use."""
    from carctl.api.keys import KeyVault

    endpoint = profile_endpoint(settings)
    stores = credentials or credentials_for(settings, paths, env, endpoint, warn=warn)
    return KeyVault(stores, settings.profile)


class _LazyChannel:
    """The signer of one run, made on first use: the key is read only for a signing car."""

    def __init__(self, make: Callable[[str], SignedChannel | None]) -> None:
        self._make = make
        self._made = False
        self._channel: SignedChannel | None = None

    def get(self, label: str) -> SignedChannel | None:
        """`label`: the car it is first needed for, named if there is no key. None: the
        service signs (Teslemetry without a key of the profile's)."""
        if not self._made:
            self._channel = self._make(label)
            self._made = True
        return self._channel

    def close(self) -> None:
        if self._channel is not None:
            self._channel.sessions.close()


def _signed_channel(
    settings: Settings,
    paths: Paths,
    env: Mapping[str, str],
    endpoint: Endpoint,
    client: ApiClient,
    clock: Clock,
    credentials: Any,
) -> _LazyChannel | None:
    """carctl signs on the Fleet API, and on Teslemetry when the profile has a key (without
    one, Teslemetry signs); other roads sign themselves or not at all."""
    provider = endpoint.provider
    if provider is None or provider.name not in (FLEET, TESLEMETRY):
        return None
    hint = "" if settings.profile == DEFAULT_PROFILE else f" --profile {settings.profile}"

    def make(label: str) -> SignedChannel | None:
        from carctl.api.keys import key_id
        from carctl.signing.store import SessionStore
        from carctl.vehicle.signed import SignedChannel, missing_key

        vault = key_vault(settings=settings, paths=paths, env=env, credentials=credentials)
        stored = vault.load()
        if stored is None:
            if provider.name == TESLEMETRY:
                return None  # Teslemetry signs for the owner who has no key of their own
            raise missing_key(label, hint)
        sessions = SessionStore(paths.state_db, key_id(stored.key))
        return SignedChannel(client, stored.key, sessions, clock=clock, profile_hint=hint)

    return _LazyChannel(make)
