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
from typing import Any

from carctl.api import DEADLINE_S
from carctl.api.client import ApiClient, Observer
from carctl.api.connect import Warn, open_client, profile_endpoint
from carctl.clock import Clock
from carctl.delivery.guard import Guard
from carctl.delivery.health import HealthStore
from carctl.delivery.queue import Queue
from carctl.delivery.runner import Delivery
from carctl.paths import Paths
from carctl.settings import Settings
from carctl.vehicle.cache import VehicleCache
from carctl.vehicle.service import Reporter, Seen, VehicleService


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
            service = VehicleService(
                client,
                cache,
                clock=clock,
                reporter=reporter,
                delivery=delivery,
                on_seen=on_seen or (delivery.learned if delivery is not None else None),
                by_vin=endpoint.by_vin,
                signs=endpoint.provider.signs if endpoint.provider else None,
            )
            yield CarRun(service, client, health, queue)
    finally:
        cache.close()
        health.close()
        if queue is not None:
            queue.close()
