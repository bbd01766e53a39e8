"""The queue's second round of edges: a send in flight, the last word across profiles,
a clock that was fast once, holders in another PID namespace."""

from __future__ import annotations

from pathlib import Path

from carctl.delivery.queue import Queue
from carctl.processes import Holder
from carctl.state import StateDB
from carctl.vehicle.model import Vehicle
from tests.delivery.conftest import Monotonic, cmd
from tests.delivery.test_queue import LIVE, OTHER, SCOPE, T0, add

DAY = 86400.0


def climate_on(queue: Queue, *, scope: str, api_url: str, car: str, key: str = "k") -> int:
    """One queued `climate on` for `car`, as a profile (`scope`) on a service queues it."""
    (entry,) = queue.add(
        scope=scope,
        api_url=api_url,
        vehicle_id=car,
        vehicle_name="V1",
        commands=[cmd("auto_conditioning_start", "climate", key)],
        ttl_s=1800,
        now=T0,
    )
    return entry.id


def test_a_send_in_flight_is_never_expired_by_another_pass(queue: Queue, mono: Monotonic) -> None:
    (entry,) = add(queue, cmd("auto_conditioning_start", "climate", "k"))  # expires T0 + 1800
    assert queue.claim(owner=LIVE, now=T0)
    assert queue.begin_send(entry, owner=LIVE, now=T0 + 1799) is not None  # on the wire
    mono.value += 1801
    # another `queue run` (and a listing) look while the answer is still on its way
    assert queue.claim(owner=OTHER, now=T0 + 1801, due_only=False) == []
    queue.expire_now(T0 + 1801)
    stored = queue.get(entry)
    assert stored is not None and stored.status == "pending"
    queue.delivered(entry, now=T0 + 1802)  # the send's own outcome is what counts
    stored = queue.get(entry)
    assert stored is not None and stored.status == "delivered"


def test_the_sender_itself_does_not_send_again_once_expired(queue: Queue, mono: Monotonic) -> None:
    (entry,) = add(queue, cmd("auto_conditioning_start", "climate", "k"))
    assert queue.claim(owner=LIVE, now=T0)
    assert queue.begin_send(entry, owner=LIVE, now=T0) is not None
    mono.value += 1801
    assert queue.begin_send(entry, owner=LIVE, now=T0 + 1801) is None  # a retry, too late
    stored = queue.get(entry)
    assert stored is not None and stored.status == "expired"


def test_an_interrupted_send_that_expires_says_it_may_have_arrived(tmp_path: Path) -> None:
    alive = {111}
    queue = Queue(
        StateDB(tmp_path / "state.db"),
        is_alive=lambda pid, identity: pid in alive,
        monotonic=lambda: 1000.0,
        boot=lambda: "boot-1",
    )
    (entry,) = add(queue, cmd("auto_conditioning_start", "climate", "k"))
    assert queue.claim(owner=LIVE, now=T0)
    assert queue.begin_send(entry, owner=LIVE, now=T0) is not None
    alive.clear()  # the sender was killed mid-send
    assert queue.claim(owner=OTHER, now=T0 + 1801) == []
    stored = queue.get(entry)
    assert stored is not None and stored.status == "expired"
    assert "may have reached the car" in (stored.last_error or "")


def test_a_direct_command_in_another_profile_supersedes_the_queued_one(queue: Queue) -> None:
    entry = climate_on(queue, scope="cron@builtin", api_url="builtin", car="v1")
    car = Vehicle("v1", "VIN1", "V1", "online")
    assert queue.supersede(scope=SCOPE, vehicle=car, slot="climate", now=T0, by="x") == 1
    stored = queue.get(entry)
    assert stored is not None and stored.status == "superseded"


def test_the_vin_is_the_car_across_providers(queue: Queue) -> None:
    """A car queued through the Fleet API (by VIN) is the car a proxy profile commands."""
    fleet = "cron@https://fleet-api.prd.na.vn.cloud.tesla.com"
    entry = climate_on(queue, scope=fleet, api_url="fleet", car="VIN1")
    car = Vehicle("VIN1", "VIN1", "V1", "online")
    assert queue.supersede(
        scope="default@https://localhost:4443", vehicle=car, slot="climate", now=T0, by="x"
    )
    stored = queue.get(entry)
    assert stored is not None and stored.status == "superseded"
    # a car that happens to share a numeric id on another service is another car
    elsewhere = "http://127.0.0.1:9"
    other = climate_on(queue, scope=f"cron@{elsewhere}", api_url=elsewhere, car="v1", key="k2")
    queue.supersede(
        scope=SCOPE, vehicle=Vehicle("v1", "", "V1", "online"), slot="climate", now=T0, by="x"
    )
    stored = queue.get(other)
    assert stored is not None and stored.status == "pending"


def test_a_newer_queued_command_in_another_profile_supersedes(queue: Queue) -> None:
    first = climate_on(queue, scope="cron@builtin", api_url="builtin", car="v1")
    add(queue, cmd("auto_conditioning_stop", "climate", "k2"))
    stored = queue.get(first)
    assert stored is not None and stored.status == "superseded"


def test_one_run_with_a_clock_30_days_fast_does_not_poison_expiry(
    queue: Queue, mono: Monotonic
) -> None:
    assert queue.now(T0) == T0
    mono.value += 10
    queue.now(T0 + 10 + 30 * DAY)  # one run on a machine whose clock was a month fast
    mono.value += 10
    assert queue.now(T0 + 20) == T0 + 20  # the clock is right again: so is the queue's
    entries = queue.add(
        scope=SCOPE,
        api_url="builtin",
        vehicle_id="v1",
        vehicle_name="V1",
        commands=[cmd("auto_conditioning_start", "climate", "k")],
        expires_at=T0 + 3600,  # `--expires-at` an hour ahead
        now=T0 + 20,
    )
    mono.value += 10
    claimed = queue.claim(owner=LIVE, now=T0 + 30)
    assert [e.id for e in claimed] == [entries[0].id]


def test_a_clock_stepped_back_is_still_not_believed(queue: Queue, mono: Monotonic) -> None:
    assert queue.now(T0) == T0
    mono.value += 30
    assert queue.now(T0 + 30) == T0 + 30
    mono.value += 5
    assert queue.now(T0 - 3600) == T0 + 35  # confirmed time goes on with the monotonic clock


def test_a_holder_in_another_pid_namespace_keeps_its_lease_until_it_lapses(
    tmp_path: Path,
) -> None:
    from carctl.processes import alive, this_process

    me = this_process()
    assert me.identity is not None
    boot, ns, ticks = me.identity.split(":")
    stranger = Holder(me.pid, f"{boot}:{int(ns) + 1}:{ticks}")  # same pid, another namespace
    assert alive(stranger.pid, stranger.identity) is None  # cannot be judged from here
    clock = Monotonic()
    queue = Queue(StateDB(tmp_path / "state.db"), monotonic=clock, boot=lambda: boot)
    (entry,) = add(queue, cmd("auto_conditioning_start", "climate", "k"))
    assert queue.claim(owner=stranger, now=T0)
    assert queue.begin_send(entry, owner=stranger, now=T0) is not None
    clock.value += 60
    assert queue.claim(owner=LIVE, now=T0 + 60) == []  # the container's worker is sending
    clock.value += 200
    assert queue.claim(owner=LIVE, now=T0 + 260)  # silent past its lease: taken over
