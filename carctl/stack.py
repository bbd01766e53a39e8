"""Where carctl is put together: the only place its objects are built.

A `Stack` is one process's carctl: its settings, paths, environment and clock,
and one `StateDB` (one SQLite connection) shared by every store. The CLI hands
one to every command and to doctor, the way `gh` hands its `Factory` around;
the worker, the demo and the tests make their own. Everything else is built
lazily from it with constructor injection only: endpoint → credentials and
session → guard (budget, breaker) and meter → client → delivery (the link to
the queue) → vehicle service. Nothing is wired by assignment afterwards, so
what a run is made of can be read here, in one place.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Callable, Iterator, Mapping
from functools import cached_property
from typing import TYPE_CHECKING, Any

from carctl.api import DEADLINE_S
from carctl.api.connect import (
    Endpoint,
    Warn,
    authorizer_for,
    billed_account,
    credentials_for,
    http_client,
    prices_for,
    profile_endpoint,
)
from carctl.clock import Clock
from carctl.paths import Paths
from carctl.records import record
from carctl.settings import DEFAULT_PROFILE, Settings
from carctl.state import StateDB

if TYPE_CHECKING:
    from carctl.api.client import ApiClient, Observer
    from carctl.api.keys import KeyVault
    from carctl.api.ledger import Meter
    from carctl.api.request_log import RequestLog
    from carctl.delivery.breaker import HealthStore
    from carctl.delivery.news import News
    from carctl.delivery.queue import Queue
    from carctl.delivery.worker import QueueRunner
    from carctl.signing.store import SessionStore
    from carctl.vehicle.cache import VehicleCache
    from carctl.vehicle.service import Reporter, Seen, VehicleService
    from carctl.vehicle.signed import SignedChannel


@record(frozen=True)
class Queueing:
    """How a direct run keeps what it could not send (absent: it keeps nothing)."""

    ttl_s: float
    use_queue: bool = True  # False: --no-queue, the diagnosis only
    start_worker: Callable[[], str] | None = None  # "started", "running" or "off"


@record(frozen=True)
class CarRun:
    """The objects of one run, for the caller that needs more than the service."""

    service: VehicleService
    client: ApiClient
    health: HealthStore
    queue: Queue | None


class Stack:
    """One process's carctl, built on demand; `close` ends it (the state connection).

    `settings` is the profile the run was asked for; the worker delivers for
    other profiles too, and passes each entry's settings to `car_run`.
    `credentials` stands in for the profile's stores (the demo, sign-in tests).
    """

    def __init__(
        self,
        *,
        settings: Settings | Callable[[], Settings],
        paths: Paths,
        env: Mapping[str, str],
        clock: Clock,
        insecure: bool = False,
        observer: Observer | None = None,
        warn: Warn | None = None,
        credentials: Any = None,
        db: StateDB | None = None,
    ) -> None:
        self._settings = settings
        self.paths = paths
        self.env = env
        self.clock = clock
        self.insecure = insecure
        self.observer = observer
        self.warn = warn
        self.credentials = credentials
        self._db = db

    # -- what the run is about ----------------------------------------------------------------

    @cached_property
    def settings(self) -> Settings:
        """The profile's settings, read on first use (`carctl --help` reads none)."""
        given = self._settings
        return given if isinstance(given, Settings) else given()

    @cached_property
    def endpoint(self) -> Endpoint:
        return profile_endpoint(self.settings, insecure=self.insecure)

    @property
    def scope(self) -> str:
        """What queue entries and the vehicle cache are kept under: `profile@origin`."""
        return scope_of(self.settings, self.endpoint)

    def reloaded(self) -> Stack:
        """The same process (its state connection) with the config file read again."""
        return self.for_settings(self._reload)

    def for_settings(self, settings: Settings | Callable[[], Settings]) -> Stack:
        """This process's stack for other settings, sharing its state connection."""
        return Stack(
            settings=settings,
            paths=self.paths,
            env=self.env,
            clock=self.clock,
            insecure=self.insecure,
            observer=self.observer,
            warn=self.warn,
            credentials=self.credentials,
            db=self.db,
        )

    def _reload(self) -> Settings:
        from carctl.settings import load_settings

        old = self.settings
        return load_settings(self.paths.config_file, env=self.env, profile=old.profile)

    # -- the state database and its stores ----------------------------------------------------

    @cached_property
    def db(self) -> StateDB:
        return self._db if self._db is not None else StateDB(self.paths.state_db)

    @cached_property
    def queue(self) -> Queue:
        from carctl.delivery.queue import Queue
        from carctl.durations import parse_duration

        keep = parse_duration(str(self.settings.get("queue.retention")), most=float("inf"))
        return Queue(self.db, retention_s=keep)

    @cached_property
    def news(self) -> News:
        """What the owner has been told of the queue's outcomes."""
        from carctl.delivery.news import News

        return News(self.db)

    def health(self, origin: str | None = None) -> HealthStore:
        """The budget and breaker of `origin` (the profile's API by default)."""
        from carctl.delivery.breaker import HealthStore

        return HealthStore(self.db, origin or self.endpoint.origin)

    @cached_property
    def request_log(self) -> RequestLog:
        from carctl.api.request_log import RequestLog

        return RequestLog(self.db)

    def cache(self, settings: Settings | None = None) -> VehicleCache:
        from carctl.vehicle.cache import VehicleCache

        settings = settings or self.settings
        return VehicleCache(self.db, scope_of(settings, self._endpoint(settings)))

    def sessions(self, key_id: str) -> SessionStore:
        """Signed-command sessions of the key `key_id`."""
        from carctl.signing.store import SessionStore

        return SessionStore(self.db, key_id)

    def meter(self, settings: Settings | None = None) -> Meter | None:
        """The ledger and cap of a paid provider's calls (`carctl usage`); None: free."""
        settings = settings or self.settings
        endpoint = self._endpoint(settings)
        account = billed_account(settings, endpoint)
        if account is None:
            return None
        from carctl.api.ledger import Ledger, Meter

        return Meter(
            Ledger(self.db, account),
            prices_for(settings),
            clock=self.clock,
            provider=endpoint.label,
            warn=self.warn,
        )

    def credential_stores(self, *, fresh: bool = False) -> Any:
        """Where the profile's session is kept; `fresh`: the keyring backend found anew (a
        sign-in, after the owner may have unlocked or installed one)."""
        return self.credentials or credentials_for(
            self.settings, self.paths, self.env, self.endpoint, warn=self.warn, fresh=fresh
        )

    def key_vault(self, credentials: Any = None) -> KeyVault:
        """The profile's signing key, in the stores its session would use (or `credentials`,
        the stores doctor found)."""
        from carctl.api.keys import KeyVault

        stores = (
            credentials
            or self.credentials
            or credentials_for(self.settings, self.paths, self.env, self.endpoint, warn=self.warn)
        )
        return KeyVault(stores, self.settings.profile)

    def known_car(self, selector: str | None) -> tuple[str, float | None] | None:
        """The selected car as the vehicle cache knows it (its label, when it was last heard
        from), without a request: for a question asked before anything is sent."""
        from carctl.errors import RefusedError, UsageError
        from carctl.vehicle.service import choose

        cache = self.cache()
        try:
            car = choose(cache.vehicles(), selector)
        except (UsageError, RefusedError):
            return None
        return car.label, cache.last_seen(car.id)

    # -- talking to the vehicle API -----------------------------------------------------------

    @contextlib.contextmanager
    def client(
        self,
        *,
        settings: Settings | None = None,
        with_session: bool = True,
        credentials: Any = None,
        total_timeout_s: float | None = None,
        guard: Any = None,
        transport: Any = None,
        observer: Observer | None = None,
    ) -> Iterator[ApiClient]:
        """An API client; without `guard`, one attempt per request (sign-in, `carctl api`,
        doctor). Its session loads lazily on the first request."""
        from carctl.api.client import REQUEST_TOTAL_S, ApiClient

        settings = settings or self.settings
        endpoint = self._endpoint(settings)
        authorizer = None
        if with_session:
            authorizer = authorizer_for(
                settings,
                self.paths,
                self.env,
                endpoint,
                warn=self.warn,
                credentials=credentials or self.credentials,
            )
        client = ApiClient(
            http_client(endpoint, self.paths, self.env, transport),
            origin=endpoint.origin,
            request_log=self.request_log,
            clock=self.clock,
            observer=observer or self.observer,
            total_timeout_s=min(REQUEST_TOTAL_S, total_timeout_s or REQUEST_TOTAL_S),
            guard=guard,
            authorizer=authorizer,
            meter=self.meter(settings),
        )
        try:
            yield client
        finally:
            client.close()

    def service(self, client: ApiClient, settings: Settings | None = None) -> VehicleService:
        """A vehicle service without a guard or a queue: look-ups (sign-in's car list)."""
        from carctl.vehicle.service import VehicleService

        settings = settings or self.settings
        endpoint = self._endpoint(settings)
        return VehicleService(
            client, self.cache(settings), clock=self.clock, by_vin=endpoint.by_vin
        )

    @contextlib.contextmanager
    def car_run(
        self,
        *,
        settings: Settings | None = None,
        rng: random.Random | None = None,
        deadline_s: float = DEADLINE_S,
        reporter: Reporter | None = None,
        queueing: Queueing | None = None,
        probe_now: bool = False,
        on_seen: Seen | None = None,
        observer: Observer | None = None,
    ) -> Iterator[CarRun]:
        """Everything one run of car commands needs, closed again when it ends."""
        from carctl.delivery.fallback import Delivery
        from carctl.delivery.guard import Guard
        from carctl.vehicle.service import VehicleService

        settings = settings or self.settings
        endpoint = self._endpoint(settings)
        health = self.health(endpoint.origin)
        queue = self.queue if queueing is not None else None
        guard = Guard(
            health,
            clock=self.clock,
            rng=rng or random.Random(),
            deadline=self.clock.now() + deadline_s,
            probe_now=probe_now,
        )
        with self.client(
            settings=settings, total_timeout_s=deadline_s, guard=guard, observer=observer
        ) as client:
            delivery = None
            if queueing is not None and queue is not None:
                delivery = Delivery(
                    queue=queue,
                    health=health,
                    request_log=client.request_log,
                    scope=scope_of(settings, endpoint),
                    origin=endpoint.origin,
                    api_url=endpoint.setting,
                    clock=self.clock,
                    ttl_s=queueing.ttl_s,
                    use_queue=queueing.use_queue,
                    start_worker=queueing.start_worker,
                )
            signed = self._signed_channel(settings, endpoint, client)
            service = VehicleService(
                client,
                self.cache(settings),
                clock=self.clock,
                reporter=reporter,
                delivery=delivery,
                on_seen=on_seen or (delivery.learned if delivery is not None else None),
                by_vin=endpoint.by_vin,
                signs=endpoint.provider.signs if endpoint.provider else None,
                signed=signed.get if signed is not None else None,
                rewake=client.meter is None,
            )
            yield CarRun(service, client, health, queue)

    def queue_runner(
        self,
        *,
        rng: random.Random | None = None,
        probe_now: bool = False,
        on_outcomes: Any = None,
    ) -> QueueRunner:
        """What delivers the queue: `queue run`, `queue retry`, the worker, the demo."""
        from carctl.delivery.worker import QueueRunner

        return QueueRunner(
            self.queue,
            self.paths,
            self.env,
            clock=self.clock,
            rng=rng or random.Random(),
            open_run=self.car_run,
            probe_now=probe_now,
            on_outcomes=on_outcomes,
        )

    def close(self) -> None:
        """End the process's use of the state database (safe to call twice)."""
        if "db" in self.__dict__ and self._db is None:
            self.db.close()

    # -- parts --------------------------------------------------------------------------------

    def _endpoint(self, settings: Settings) -> Endpoint:
        if settings is self.settings:
            return self.endpoint
        return profile_endpoint(settings, insecure=self.insecure)

    def _signed_channel(
        self, settings: Settings, endpoint: Endpoint, client: ApiClient
    ) -> _LazyChannel | None:
        """carctl signs where the provider says the owner's key is needed (the Fleet API), and
        where it is welcome (Teslemetry, when the profile has a key; without one, it signs)."""
        provider = endpoint.provider
        if provider is None or provider.kind is None or provider.kind.signing == "service":
            return None
        hint = "" if settings.profile == DEFAULT_PROFILE else f" --profile {settings.profile}"
        stack = self if settings is self.settings else self.for_settings(settings)

        def make(label: str) -> SignedChannel | None:
            from carctl.api.keys import key_id
            from carctl.vehicle.signed import SignedChannel, missing_key

            stored = stack.key_vault().load()
            if stored is None:
                if provider.kind is not None and provider.kind.signing == "either":
                    return None  # the service signs for the owner who has no key of their own
                raise missing_key(label, hint)
            sessions = self.sessions(key_id(stored.key))
            return SignedChannel(client, stored.key, sessions, clock=self.clock, profile_hint=hint)

        return _LazyChannel(make)


def scope_of(settings: Settings, endpoint: Endpoint) -> str:
    return f"{settings.profile}@{endpoint.origin}"


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
