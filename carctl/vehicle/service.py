"""Finding the car, asking its state without waking it, waking it, and sending commands.

Commands go out through the API client (whose guard retries within the
budget and breaker); what a run could not send is handed to a `Fallback`
(the delivery layer's queue), defined here so this layer never imports the
one above. Every command carries an `Idempotency-Key`, kept when the same
command is sent again — from the queue too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from carctl.api.client import ApiClient
from carctl.api.responses import signing_required
from carctl.clock import Clock
from carctl.errors import (
    CarctlError,
    NotFoundError,
    ProtocolError,
    RefusedError,
    TemporaryError,
    UnreachableError,
    UsageError,
    VehicleUnavailableError,
)
from carctl.records import record
from carctl.vehicle import fields
from carctl.vehicle.cache import VehicleCache
from carctl.vehicle.commands import (
    Command,
    Outcome,
    judged,
    outcome_unknown,
)
from carctl.vehicle.model import Vehicle
from carctl.vehicle.safety import Safety, safety_of

if TYPE_CHECKING:
    from carctl.queued import Kept
    from carctl.vehicle.signed import SignedChannel


class Fallback(Protocol):
    """What a run does around its commands beyond sending them (the delivery layer).

    Defined here, implemented above (`carctl.delivery.fallback.Delivery`): the
    vehicle layer never imports the layer that queues.
    """

    def sent(self, vehicle: Vehicle, command: Command) -> None:
        """A command was carried out directly: older queued ones in its slot are void."""

    def keep_for_later(
        self,
        error: CarctlError,
        vehicle: Vehicle | None,
        commands: list[Command],
        *,
        expires_at: float | None,
        selector: str | None = None,
    ) -> Kept | None:
        """A run could not send `commands`: keep them for later (or say why not)."""


FIRST_POLL_S = 0.5
POLL_GROWTH = 1.5
MAX_POLL_S = 5.0
REWAKE_AFTER_S = 20.0
# A car that answered as online this recently is taken as awake without asking again
# (TeslaPy's `available(max_age=60)`): a car stays awake for minutes after any activity.
AWAKE_FOR_S = 60.0


class Reporter(Protocol):
    """Progress for a person: a spinner on a terminal, nothing on a pipe."""

    def begin(self, text: str) -> None: ...

    def end(self) -> None: ...


class QuietReporter:
    def begin(self, text: str) -> None:
        return None

    def end(self) -> None:
        return None


BeforeSend = Callable[[], None]  # runs right before each request that can execute a command
Seen = Callable[[list[Vehicle], bool], None]  # cars a lookup learned; True: the whole account


def _send(
    client: ApiClient,
    vehicle: Vehicle,
    command: Command,
    before_send: BeforeSend | None,
    *,
    retry: bool = True,
) -> Outcome:
    """One command request (the client's guard may retry it); failures are `CarctlError`s."""
    data = client.request(
        "POST",
        f"/api/1/vehicles/{vehicle.id}/command/{command.name}",
        json_body=command.params or None,
        idempotency_key=command.idempotency_key,
        before_send=before_send,
        retry=retry,
    )
    result = data.get("result") if isinstance(data, dict) else None
    reason = data.get("reason") if isinstance(data, dict) else None
    return Outcome(result is True, reason if isinstance(reason, str) else "")


@record(frozen=True)
class Wake:
    vehicle: Vehicle
    woke: bool  # False when it was already online
    waited_s: float


def choose(vehicles: list[Vehicle], selector: str | None) -> Vehicle:
    """By id, VIN or display name (case-insensitive), then by a unique name prefix."""
    names = ", ".join(f"{v.label} ({v.vin or v.id})" for v in vehicles)
    if not vehicles:
        raise RefusedError("there is no car on this account")
    if selector is None:
        if len(vehicles) == 1:
            return vehicles[0]
        raise UsageError(
            f"this account has {len(vehicles)} cars: {names}",
            hint="choose one with --vehicle NAME, or set a default: "
            f"{set_default_command(vehicles[0].label)}",
        )
    wanted = selector.strip().casefold()
    exact = [
        v
        for v in vehicles
        if wanted in (v.id.casefold(), v.vin.casefold(), v.display_name.casefold())
    ]
    if len(exact) == 1:
        return exact[0]
    prefixed = exact or [v for v in vehicles if v.display_name.casefold().startswith(wanted)]
    if len(prefixed) == 1:
        return prefixed[0]
    if prefixed:
        matches = ", ".join(f"{v.label} ({v.vin or v.id})" for v in prefixed)
        raise UsageError(
            f"{selector!r} matches several cars: {matches}",
            hint="use the full name or the VIN",
        )
    raise UsageError(f"no car {selector!r} on this account; its cars: {names}")


def quoted(name: str) -> str:
    """A car's name as a word to copy into a shell command (quoted if it has spaces)."""
    return f'"{name}"' if any(c.isspace() for c in name) else name


def set_default_command(name: str) -> str:
    """The command that makes `name` the default car, ready to copy."""
    return f"carctl config set vehicle {quoted(name)}"


class VehicleService:
    def __init__(
        self,
        client: ApiClient,
        cache: VehicleCache,
        *,
        clock: Clock,
        reporter: Reporter | None = None,
        delivery: Fallback | None = None,
        on_seen: Seen | None = None,
        by_vin: bool = False,
        signs: bool | None = None,
        signed: Callable[[str], SignedChannel | None] | None = None,
        rewake: bool = True,
    ) -> None:
        # False on a paid provider: one wake per command (a wake costs twenty commands)
        self.rewake = rewake
        self.by_vin = by_vin  # the provider addresses cars by VIN: the VIN is the id
        self.signs = signs  # False: commands go out unsigned (the Fleet API directly)
        # carctl signs itself for cars that require it (the Fleet API); built on first use,
        # so the key is read only when a signing car is commanded
        self.signed = signed
        self.delivery = delivery
        self.on_seen = on_seen
        self.client = client
        self.cache = cache
        self.clock = clock
        self.reporter = reporter or QuietReporter()

    def afford(self, *, wakes: int = 0, commands: int = 0, reads: int = 0) -> None:
        """Refuse, before anything is sent, a command whose calls would pass a paid
        provider's monthly cap (`carctl.api.ledger.Meter.afford`)."""
        self.client.afford(wakes=wakes, commands=commands, reads=reads)

    def vehicles(self) -> list[Vehicle]:
        """The account's cars and their states; never wakes one."""
        data = self.client.request("GET", "/api/1/vehicles")
        if not isinstance(data, list):
            data = []
        vehicles = [self._car(item) for item in data]
        self.cache.replace(vehicles, self.clock.now())
        self._learned(vehicles, complete=True)
        return vehicles

    def _car(self, data: Any) -> Vehicle:
        return Vehicle.from_api(data, by_vin=self.by_vin)

    def _learned(self, vehicles: list[Vehicle], *, complete: bool) -> None:
        if self.on_seen is not None:
            self.on_seen(vehicles, complete)

    def _answer_for(self, asked: Vehicle, data: Any) -> Vehicle:
        """The car an answer describes, which must be the car asked about.

        A server (or anything between) that answers a question about one car
        with another would have the next command sent to the wrong car: that
        is a protocol error, before anything is sent."""
        fresh = self._car(data)
        if fresh.id != asked.id:
            raise ProtocolError(
                f"the vehicle API answered about {fresh.label} ({fresh.id}) when asked about "
                f"{asked.label} ({asked.id}); nothing was sent",
                hint="this is a fault of the service or of something between you and it; "
                "try again later, and `carctl doctor` if it persists",
            )
        return fresh

    def current(self, vehicle: Vehicle) -> Vehicle:
        """The car's state now, from `/vehicles/{id}` (which does not wake it)."""
        data = self.client.request("GET", f"/api/1/vehicles/{vehicle.id}")
        fresh = self._answer_for(vehicle, data)
        self.cache.seen(fresh, self.clock.now())
        self._learned([fresh], complete=False)
        return fresh

    def locate(self, selector: str | None, *, ask: bool = False) -> Vehicle:
        """The selected car with its state: no request when it answered as online a moment
        ago (`AWAKE_FOR_S`), one when the cache knows it, the list otherwise.

        A car taken as awake that has fallen asleep after all answers the next
        request with 408, and each caller wakes it then (`command`, `status`):
        one request lost in that rare case, one saved in the common one. `ask`
        always asks (`carctl wake`: there, the car's state is the question).
        """
        cached = self.cache.vehicles()
        if cached:
            try:
                known = choose(cached, selector)
            except (UsageError, RefusedError):
                known = None
            if known is not None:
                if not ask and self.cache.online_since(known.id, self.clock.now() - AWAKE_FOR_S):
                    return known
                try:
                    return self.current(known)
                except NotFoundError:
                    pass  # gone from the account, or renamed: ask for the list
        return choose(self.vehicles(), selector)

    def known(self, selector: str | None) -> Vehicle | None:
        """The car as the cache knows it, when the API cannot be asked (for queueing)."""
        try:
            return choose(self.cache.vehicles(), selector)
        except (UsageError, RefusedError):
            return None

    def wake(self, vehicle: Vehicle, *, timeout: float) -> Wake:
        """Wake only if needed, then poll with growing intervals until online."""
        if vehicle.state == "online":
            return Wake(vehicle, woke=False, waited_s=0.0)
        if vehicle.in_service:
            raise RefusedError(
                f"{vehicle.label} is in service and does not accept commands",
                hint="try again when the service visit is over",
            )
        started = self.clock.now()
        self.reporter.begin(f"Waking {vehicle.label}")
        try:
            current = self._wake_up(vehicle)
            last_wake, delay = started, FIRST_POLL_S
            while current.state != "online":
                elapsed = self.clock.now() - started
                if elapsed >= timeout:
                    raise UnreachableError(
                        f"{vehicle.label} did not come online within {timeout:g} s "
                        f"(last state: {current.state})",
                        hint="a car without mobile coverage stays offline; try again later "
                        "or give it longer with --wake-timeout",
                    )
                self.clock.sleep(min(delay, timeout - elapsed))
                delay = min(delay * POLL_GROWTH, MAX_POLL_S)
                current = self.current(vehicle)
                if (
                    self.rewake
                    and current.state == "asleep"
                    and self.clock.now() - last_wake >= REWAKE_AFTER_S
                ):
                    current, last_wake = self._wake_up(vehicle), self.clock.now()
        finally:
            self.reporter.end()
        return Wake(current, woke=True, waited_s=self.clock.now() - started)

    def _wake_up(self, vehicle: Vehicle) -> Vehicle:
        data = self.client.request("POST", f"/api/1/vehicles/{vehicle.id}/wake_up")
        fresh = self._answer_for(vehicle, data)
        self.cache.seen(fresh, self.clock.now())
        return fresh

    def data(self, vehicle: Vehicle, sections: list[str]) -> dict[str, Any]:
        """`vehicle_data` for these sections (the car must be online)."""
        data = self.client.request(
            "GET",
            f"/api/1/vehicles/{vehicle.id}/vehicle_data",
            params={"endpoints": ";".join(sections)},
        )
        if not isinstance(data, dict):
            data = {}
        described = "id" in data or "id_s" in data or (self.by_vin and "vin" in data)
        self.cache.seen(
            self._answer_for(vehicle, data) if described else vehicle, self.clock.now(), data
        )
        return data

    def command(
        self,
        vehicle: Vehicle,
        command: Command,
        *,
        timeout: float,
        before_send: BeforeSend | None = None,
        on_wake: Callable[[Wake], None] | None = None,
        deadline: float | None = None,
    ) -> Outcome:
        """Send; a car that fell asleep meanwhile (408) is woken and asked once more.

        `before_send` runs before each request that can execute the command
        (the first, every retry, the re-send after the wake) and may stop it;
        `on_wake` hears of that wake (the routines report it as a step).
        `deadline` (wall time) is signed into the command for a car that
        checks signatures, so it refuses the command itself once it is late.
        """
        self.check_signing(vehicle)
        signing = self.signed is not None and vehicle.needs_signing
        channel = self.signed(vehicle.label) if self.signed is not None and signing else None
        # a position near the car: its own (the signed window action carries none)
        if _needs_position(command) and not (signing and command.name == "window_control"):
            command = self._with_position(vehicle, command)

        # a command that must not happen late is sent once: never again after a failure
        # whose outcome is unknown (the car may have done it)
        once = safety_of(command.name, command.params) is Safety.NEVER_QUEUED

        def send() -> Outcome:
            if channel is None:
                return _send(self.client, vehicle, command, before_send, retry=not once)
            signed = channel.send(
                vehicle.vin or vehicle.id,
                vehicle.label,
                command.name,
                command.params,
                deadline=deadline,
                idempotency_key=command.idempotency_key,
                before_send=before_send,
                retry=not once,
            )
            return Outcome(signed.result, signed.reason)

        try:
            try:
                outcome = send()
            except VehicleUnavailableError:  # not carried out: the car was asleep
                woke = self.wake(self.current(vehicle), timeout=timeout)
                if on_wake is not None:
                    on_wake(woke)
                outcome = send()
        except TemporaryError as exc:
            if once and exc.http is not None:  # it was sent, and the answer did not come back
                outcome_unknown(exc, vehicle, command)
            raise
        return judged(outcome, vehicle, command)

    def check_signing(self, vehicle: Vehicle) -> None:
        """A car that takes only signed commands, on a road that does not sign them.

        Sent anyway, a command would be refused (403): said before anything is
        sent — before the car is woken for it — and never queued."""
        if not vehicle.needs_signing:
            return
        if self.signed is not None:
            self.signed(vehicle.label)  # the key is read now: no key, no wake
        elif self.signs is False:
            raise signing_required(vehicle.label)

    def _with_position(self, vehicle: Vehicle, command: Command) -> Command:
        data = self.data(vehicle, ["drive_state", "location_data"])
        drive = fields.section(data, "drive_state")
        lat = fields.number(drive, "latitude", "drive_state")
        lon = fields.number(drive, "longitude", "drive_state")
        if lat is None or lon is None:
            what = (
                "a schedule"
                if command.name == "add_precondition_schedule"
                else "closing the windows"
            )
            raise RefusedError(
                f"{vehicle.label} did not report its position, which {what} needs",
                hint="try again in a minute",
            )
        params = {**command.params, "lat": float(lat), "lon": float(lon)}
        return Command(command.name, params, command.idempotency_key)


def _needs_position(command: Command) -> bool:
    """Closing the windows, and a schedule (it runs where it was set), carry the car's position.

    Sent from the queue, the position is the car's at delivery, not when it was queued.
    """
    if "lat" in command.params:
        return False
    closing = command.name == "window_control" and command.params.get("command") == "close"
    return closing or command.name == "add_precondition_schedule"
