"""Recovery at internet scale: a million owners through the 2021-11-20 outage.

    python benchmarks/fleet_sim.py [--owners 1000000] [--agents 20000] [--capacity 2000]

A discrete-event simulation on a virtual clock. Owners' morning commands
arrive between 05:30 and 10:00 (most around 06:30); the vehicle service
answers 500 from 06:00 to 11:00 with two false recoveries (07:30-07:35,
09:00-09:03), and otherwise serves `--capacity` requests per second — beyond
that it answers 503 (overload), which is how a retry storm keeps a service
down. Each request is one attempt at one command.

Compared on the same arrivals:

- no retry: one attempt;
- naive: 3 immediate tries, and the owner presses again every minute for an hour;
- urllib3 `Retry(total=2)` without backoff: 3 immediate tries;
- AWS SDK "standard": 3 attempts, full jitter (1 s base, 20 s cap), 500-token
  retry quota (cost 5, refund 1);
- carctl: its own code — the guard's policy (3 attempts, full jitter 0.5 s/4 s,
  20 s deadline), the retry budget and breaker rules (`carctl.delivery.breaker`),
  the queue's backoff (`queue_delay`), expiry after 30 minutes, and the worker
  waiting out the breaker's cool-down before its single probe;
- carctl with on-car schedules: a share (`--scheduled`, of the morning
  routines) was armed on the car the evening before (`carctl schedule set`);
  the car warms itself at the ready time and sends no request that morning.
  Everyone else runs carctl as above.

Beside p50/p99 the table prints the physical floor of delivery after the
recovery: commands pending at 11:00 (issued before it, not yet delivered, not
expired) x requests per delivery (1) / capacity — no client can deliver the
last of them sooner.

Cost (the Fleet API bills every answer below 500; developer.tesla.com, "Billing
and limits"): a morning routine that reaches the car is billed as carctl's
ledger counts it against the mock — one wake (US$0.02), ten data requests
(the state, the polls while a car wakes in ~20 s, the read-back: US$0.02) and
three commands (US$0.003), US$0.043 in all; the 500s and 503s of the outage
are free. An owner whose morning is armed on the car pays one read in the
evening (the car is parked and awake then): US$0.002. `US$/owner/mo` is this
morning plus 29 ordinary ones; a late delivery (after its expiry) is paid for
nothing.

Aggregation: `--agents` simulated clients each stand for owners/agents owners
who act in lockstep (same arrival, same jitter draws). That is pessimistic for
the jittered strategies (50 owners move as one), so carctl's real spread is
better than shown. Counts are scaled back to owners.
"""

from __future__ import annotations

import argparse
import heapq
import math
import random
import statistics
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from carctl.delivery import breaker as rules
from carctl.delivery.breaker import Health
from carctl.delivery.policy import backoff, queue_delay
from carctl.errors import HttpDetails, ServiceError

START = 0.0  # 05:00 local time
OUTAGE = (3600.0, 21600.0)  # 06:00-11:00
FALSE_RECOVERIES = ((9000.0, 9300.0), (14400.0, 14580.0))  # 07:30-07:35, 09:00-09:03
END = 30000.0  # 13:20
EXPIRY_S = 1800.0
RECOVERY = OUTAGE[1]
ROUTINE_USD = 0.02 + 10 * 0.002 + 3 * 0.001  # a wake, ten data requests, three commands
EVENING_CHECK_USD = 0.002  # one read of the car's schedules, parked and awake
DAYS = 30


def service_down(t: float) -> bool:
    if not OUTAGE[0] <= t < OUTAGE[1]:
        return False
    return not any(a <= t < b for a, b in FALSE_RECOVERIES)


def clock_text(t: float) -> str:
    minutes = int(t // 60) + 5 * 60
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@dataclass
class Service:
    capacity: float  # requests per second
    weight: float
    load: Counter[int] = field(default_factory=Counter)  # requests per second, owners
    accepted: Counter[int] = field(default_factory=Counter)

    def request(self, t: float) -> bool:
        second = int(t)
        self.load[second] += self.weight
        if service_down(t):
            return False
        if self.accepted[second] + self.weight > self.capacity:
            return False  # overloaded: 503
        self.accepted[second] += self.weight
        return True


@dataclass
class Outcome:
    arrival: float
    delivered_at: float | None = None

    @property
    def expired_delivery(self) -> bool:
        return self.delivered_at is not None and self.delivered_at > self.arrival + EXPIRY_S


Events = list[tuple[float, int, int, Callable[[float], None]]]


class Simulation:
    def __init__(
        self,
        arrivals: list[float],
        capacity: float,
        weight: float,
        seed: int,
        morning: list[bool] | None = None,
    ) -> None:
        self.arrivals = arrivals
        self.morning = morning or [False] * len(arrivals)
        self.armed = 0  # agents whose morning is a schedule on the car
        self.service = Service(capacity, weight)
        self.events: Events = []
        self.seq = 0
        self.outcomes = [Outcome(a) for a in arrivals]
        self.rng = random.Random(seed)

    def at(self, t: float, agent: int, action: Callable[[float], None]) -> None:
        if t <= END:
            self.seq += 1
            heapq.heappush(self.events, (t, self.seq, agent, action))

    def run(self, start: Callable[[int, float], None]) -> None:
        for agent, arrival in enumerate(self.arrivals):
            self.at(arrival, agent, lambda t, agent=agent: start(agent, t))
        while self.events:
            t, _, _, action = heapq.heappop(self.events)
            action(t)

    def send(self, agent: int, t: float) -> bool:
        ok = self.service.request(t)
        outcome = self.outcomes[agent]
        if ok and outcome.delivered_at is None:
            outcome.delivered_at = t
        return ok


# -- strategies ------------------------------------------------------------------------


def no_retry(sim: Simulation) -> None:
    sim.run(lambda agent, t: sim.send(agent, t) and None)


def immediate(sim: Simulation, tries: int, press_again_every: float | None) -> None:
    def attempt(agent: int, t: float, first: float) -> None:
        for _ in range(tries):
            if sim.send(agent, t):
                return
        if press_again_every and t + press_again_every <= first + 3600:
            sim.at(t + press_again_every, agent, lambda t2: attempt(agent, t2, first))

    sim.run(lambda agent, t: attempt(agent, t, t))


def aws_standard(sim: Simulation) -> None:
    quota = [500.0] * len(sim.arrivals)

    def attempt(agent: int, t: float, number: int) -> None:
        if sim.send(agent, t):
            quota[agent] = min(500.0, quota[agent] + 1)
            return
        if number >= 3 or quota[agent] < 5:
            return
        quota[agent] -= 5
        delay = sim.rng.uniform(0, min(20.0, 2 ** (number - 1)))
        sim.at(t + delay, agent, lambda t2: attempt(agent, t2, number + 1))

    sim.run(lambda agent, t: attempt(agent, t, 1))


def carctl(sim: Simulation, skip: set[int] | None = None) -> None:
    """`skip`: agents whose morning is a schedule on the car (no request at all)."""
    skip = skip or set()
    states = [Health("fleet", tokens_at=a) for a in sim.arrivals]
    attempts = [0] * len(sim.arrivals)
    failure = ServiceError("500", http=HttpDetails(500, "POST", "/command"))
    rng = sim.rng

    def direct(agent: int, t: float, retry: int) -> None:
        health = states[agent]
        admission = rules.admit(health, now=t)
        if not admission.send:
            enqueue(agent, t)
            return
        if sim.send(agent, t):
            rules.record_success(health, now=t)
            return
        rules.record_failure(health, error=failure, now=t, rng=rng, probe=admission.probe)
        if admission.probe or retry + 1 >= 3 or not rules.can_retry(health, now=t):
            enqueue(agent, t)
            return
        delay = backoff(retry, rng)
        if t + delay > sim.arrivals[agent] + 20:
            enqueue(agent, t)
            return
        sim.at(t + delay, agent, lambda t2: direct(agent, t2, retry + 1))

    def enqueue(agent: int, t: float) -> None:
        sim.at(t + 0.3, agent, lambda t2: worker(agent, t2))  # the detached worker starts

    def worker(agent: int, t: float) -> None:
        if t > sim.arrivals[agent] + EXPIRY_S:
            return  # expired: never sent
        health = states[agent]
        admission = rules.admit(health, now=t)
        if not admission.send:
            wake = admission.until if admission.until is not None else t + 30
            sim.at(max(wake, t + 0.2), agent, lambda t2: worker(agent, t2))
            return
        if sim.send(agent, t):
            rules.record_success(health, now=t)
            return
        rules.record_failure(health, error=failure, now=t, rng=rng, probe=admission.probe)
        attempts[agent] += 1
        due = t + queue_delay(attempts[agent], rng)
        if health.state == "open" and health.open_until is not None:
            due = max(due, health.open_until)
        sim.at(due, agent, lambda t2: worker(agent, t2))

    def start(agent: int, t: float) -> None:
        if agent in skip:
            sim.outcomes[agent].delivered_at = t  # the car warms itself, on time
        else:
            direct(agent, t, 0)

    sim.run(start)


def carctl_scheduled(sim: Simulation, share: float) -> None:
    """carctl where `share` of the morning routines were armed on the car the evening before."""
    pick = random.Random(sim.rng.random())
    armed = {i for i, morning in enumerate(sim.morning) if morning and pick.random() < share}
    sim.armed = len(armed)
    carctl(sim, armed)


def carctl_fast_probe(sim: Simulation) -> None:
    """carctl with the breaker's cool-down capped at 60 s instead of 5 min."""
    saved = rules.COOLDOWN_MAX_S
    rules.COOLDOWN_MAX_S = 60.0
    try:
        carctl(sim)
    finally:
        rules.COOLDOWN_MAX_S = saved


STRATEGIES: dict[str, Callable[[Simulation], None]] = {
    "no retry": no_retry,
    "naive (3 tries + press again/min)": lambda sim: immediate(sim, 3, 60.0),
    "urllib3 Retry(total=2)": lambda sim: immediate(sim, 3, None),
    "AWS standard": aws_standard,
    "carctl": carctl,
    "carctl, cool-down capped at 60 s": carctl_fast_probe,
}


def arrivals_for(agents: int, seed: int) -> tuple[list[float], list[bool]]:
    """Three in four commands are the morning routine (06:30 +- 40 min); the rest come
    at any time between 05:30 and 12:30. Returns the times and which are morning routines."""
    rng = random.Random(seed)
    times: list[float] = []
    mornings: list[bool] = []
    while len(times) < agents:
        morning = rng.random() < 0.75
        t = rng.gauss(5400.0, 2400.0) if morning else rng.uniform(1800.0, 27000.0)
        if 1800.0 <= t <= 27000.0:
            times.append(t)
            mornings.append(morning)
    return times, mornings


def pending_at_recovery(sim: Simulation) -> int:
    """Commands issued before 11:00, not delivered by then and not yet expired."""
    return sum(
        1
        for o in sim.outcomes
        if o.arrival < RECOVERY
        and o.arrival + EXPIRY_S > RECOVERY
        and (o.delivered_at is None or o.delivered_at >= RECOVERY)
    )


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(p / 100 * len(ordered)) - 1)]


def spark(load: Counter[int], capacity: float, width: int = 50) -> str:
    marks = " ▁▂▃▄▅▆▇█"
    bucket = END / width
    line = ""
    for i in range(width):
        lo, hi = int(i * bucket), int((i + 1) * bucket)
        peak = max((load[s] for s in range(lo, hi)), default=0)
        level = min(len(marks) - 1, round(peak / capacity * 2))  # full block = 4x capacity
        line += marks[level]
    return line


def peaks(load: Counter[int], buckets: int = 300) -> list[float]:
    """The busiest second of each of `buckets` equal spans: what a chart of the day draws."""
    width = END / buckets
    return [
        float(max((load[s] for s in range(int(i * width), int((i + 1) * width))), default=0))
        for i in range(buckets)
    ]


def cost(sim: Simulation, weight: float, owners: int) -> tuple[float, float]:
    """US$ for this morning (all owners), and per owner for a month of 29 ordinary mornings
    and this one. A request the service accepted delivered one routine (every strategy
    stops once delivered); failures are not billed; an armed morning costs the evening read."""
    routines = sum(sim.service.accepted.values())  # owners, already weighted
    armed = sim.armed * weight
    today = routines * ROUTINE_USD + armed * EVENING_CHECK_USD
    ordinary = (owners - armed) * ROUTINE_USD + armed * EVENING_CHECK_USD
    return today, (today + (DAYS - 1) * ordinary) / owners


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--owners", type=int, default=1_000_000)
    parser.add_argument("--agents", type=int, default=20_000)
    parser.add_argument("--capacity", type=float, default=2000.0, help="requests per second")
    parser.add_argument("--seed", type=int, default=2021)
    parser.add_argument(
        "--scheduled",
        type=float,
        default=1.0,
        help="share of the morning routines armed on the car the evening before (0-1)",
    )
    parser.add_argument(
        "--only", metavar="TEXT", help="run only the strategies whose name contains TEXT"
    )
    parser.add_argument(
        "--svg", metavar="FILE", help="also draw each strategy's load as a chart (SVG)"
    )
    args = parser.parse_args()
    if not 0.0 <= args.scheduled <= 1.0:
        parser.error(f"--scheduled must be between 0 and 1, got {args.scheduled}")
    weight = args.owners / args.agents
    arrivals, mornings = arrivals_for(args.agents, args.seed)
    strategies = dict(STRATEGIES)
    scheduled_name = f"carctl + on-car schedules ({args.scheduled:.0%})"
    strategies[scheduled_name] = lambda sim: carctl_scheduled(sim, args.scheduled)
    if args.only:
        strategies = {k: v for k, v in strategies.items() if args.only.lower() in k.lower()}
        if not strategies:
            parser.error(f"no strategy's name contains {args.only!r}")
    print(
        f"{args.owners:,} owners as {args.agents:,} agents of {weight:g}; capacity "
        f"{args.capacity:,.0f} req/s; outage {clock_text(OUTAGE[0])}-{clock_text(OUTAGE[1])} with "
        f"false recoveries at {', '.join(clock_text(a) for a, _ in FALSE_RECOVERIES)}\n"
    )
    header = (
        f"{'strategy':<34} {'requests':>12} {'peak/cap out':>12} {'peak/cap after':>14} "
        f"{'delivered':>10} {'p50 after':>9} {'p99 after':>9} {'floor':>7} {'late':>8} "
        f"{'US$ today':>10} {'US$/owner/mo':>12} {'secs':>5}"
    )
    print(header)
    charts = []
    curves: list[tuple[str, list[float]]] = []
    armed = 0.0
    for name, strategy in strategies.items():
        started = time.perf_counter()
        sim = Simulation(arrivals, args.capacity, weight, args.seed, mornings)
        strategy(sim)
        elapsed = time.perf_counter() - started
        load = sim.service.load
        during = max((v for s, v in load.items() if OUTAGE[0] <= s < OUTAGE[1]), default=0)
        after = max((v for s, v in load.items() if s >= OUTAGE[1]), default=0)
        delivered = [o for o in sim.outcomes if o.delivered_at is not None]
        waiting = [
            o.delivered_at - RECOVERY
            for o in delivered
            if o.delivered_at is not None and o.delivered_at >= RECOVERY and o.arrival < RECOVERY
        ]
        late = sum(1 for o in delivered if o.expired_delivery)
        p50 = f"{statistics.median(waiting):.0f} s" if waiting else "–"
        p99 = f"{percentile(waiting, 99):.0f} s" if waiting else "–"
        floor = f"{pending_at_recovery(sim) * weight / args.capacity:.0f} s"
        armed = max(armed, sim.armed)
        today, per_owner = cost(sim, weight, args.owners)
        print(
            f"{name:<34} {sum(load.values()):>12,.0f} {during / args.capacity:>11.1f}x "
            f"{after / args.capacity:>13.1f}x {len(delivered) * weight:>10,.0f} {p50:>9} "
            f"{p99:>9} {floor:>7} {late * weight:>8,.0f} {today:>10,.0f} {per_owner:>12.2f} "
            f"{elapsed:>5.0f}"
        )
        charts.append((name, spark(load, args.capacity)))
        curves.append((name, peaks(load)))
    if args.svg:
        from charts import load_svg

        title = (
            f"{args.owners:,} owners, an outage {clock_text(OUTAGE[0])}-{clock_text(OUTAGE[1])}: "
            "requests per second, client by client (4x capacity fills a row)"
        )
        svg = load_svg(
            curves,
            capacity=args.capacity,
            start_label=clock_text(START),
            end_label=clock_text(END),
            outage=(OUTAGE[0] / END, OUTAGE[1] / END),
            title=title,
        )
        Path(args.svg).write_text(svg, encoding="utf-8")
    print("\nrequests per second over 05:00-13:20 (full block = 4x capacity):")
    for name, chart in charts:
        print(f"  {name:<34} {chart}")
    print(
        "\ndelivered: commands that reached the car; p50/p99 after: delay after the final "
        "recovery (11:00) for commands issued before it; floor: commands pending at 11:00 x 1 "
        "request / capacity, the least time any client needs to deliver them all; late: "
        "delivered after their 30-minute expiry."
    )
    print(
        f"cost: a routine that reaches the car US${ROUTINE_USD:.3f} (a wake, ten data "
        f"requests, three commands), an armed morning US${EVENING_CHECK_USD:.3f}; 5xx answers "
        f"are not billed. US$/owner/mo: this morning and {DAYS - 1} ordinary ones, against "
        "Tesla's US$10 monthly discount per account."
    )
    print(
        f"on-car schedules: {armed * weight:,.0f} owners' mornings armed the evening before "
        f"({args.scheduled:.0%} of the morning routines). Checking each evening that the "
        "schedule is still armed costs a wake and one read per owner, spread over the evening "
        "and not counted above; none of it falls in the morning."
    )


if __name__ == "__main__":
    main()
