"""carctl against its peers: the same work, the same served mock, side by side.

    python benchmarks/peers.py [--runs 21] [--rtt 80] [--network-runs 9]

For `climate on`, `status` and `vent` on an awake Model Y (signed in), three
programs do the same work against one `carctl mock serve`: carctl; a TeslaPy
script (`peers/teslapy_peer.py`, requests + oauthlib); a tesla-fleet-api
script (`peers/fleet_peer.py`, aiohttp; the `bench` extra). A fourth,
`peers/floor.py`, is the fair floor: the fastest program the mandated
libraries allow (click + a synchronous httpx.Client, no CA bundle for
http://, as carctl) making exactly carctl's exchanges — how far carctl is from
what is possible, in ms and as a ratio. Runs alternate (carctl, TeslaPy,
fleet, floor, carctl, …) so that a busy moment of the machine hits all of
them; a ratio is the median of the per-round ratios. Peak RSS comes from GNU
time.

Twice: on loopback, where the cost of starting and of each program's own work
decides; and in the network mode, where the mock answers every request after
`--rtt` ms (a home connection to a cloud region), so that the number of
requests each program makes for the work decides the ranking.

Also: `carctl --help` against `python -c pass`, and the dynamic completion of
a car name as bash runs it (`_CARCTL_COMPLETE=bash_complete`).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from harness import (
    CARCTL,
    OWNER,
    PASSWORD,
    PYTHON,
    Bench,
    Runs,
    admin,
    measure,
    run_once,
    served_and_signed_in,
)

HERE = Path(__file__).resolve().parent
VIN = "7SAYGDEE0NF000242"  # the mock's Model Y
CAR_ID = "1492931337242"  # and its id, which carctl knows from its cache
WORK = {  # the carctl command for each piece of work the peers also do
    "climate-on": ["climate", "on"],
    "status": ["status"],
    "vent": ["vent"],
}


def teslapy_session(bench: Bench) -> tuple[str, str]:
    """Sign TeslaPy in once (PKCE, as its own code does); its cache file and token."""
    os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"  # plain HTTP to the loopback mock
    import httpx
    import teslapy

    cache = str(Path(bench.home) / "teslapy-cache.json")

    def authenticate(url: str) -> str:
        query = {k: v[0] for k, v in parse_qs(urlparse(url).query).items()}
        answer = httpx.post(
            bench.url + "/oauth2/v3/authorize",
            data={**query, "identity": OWNER, "credential": PASSWORD},
        )
        return answer.headers["location"]

    with teslapy.Tesla(
        OWNER, cache_file=cache, authenticator=authenticate, sso_base_url=bench.url + "/"
    ) as tesla:
        tesla.fetch_token()
        return cache, tesla.token["access_token"]


def ratio_of_rounds(mine: Runs, theirs: Runs) -> float:
    return statistics.median(a / b for a, b in zip(mine.ms, theirs.ms, strict=True))


def peers_installed() -> None:
    """Both peers must be there: a table with a column missing would say nothing."""
    import importlib.util

    for module, extra in (("teslapy", "test"), ("tesla_fleet_api", "bench")):
        if importlib.util.find_spec(module) is None:
            raise SystemExit(
                f"benchmarks/peers.py: {module} is not installed; it comes with the "
                f"`{extra}` extra: pip install -e '.[test,bench]'"
            )


def compiled_as_installed() -> None:
    """carctl's bytecode, as `pip install` writes it for a wheel.

    An editable install compiles on first use, unless PYTHONDONTWRITEBYTECODE
    is set (as on some CI machines): then every run would compile carctl
    again, and the table would measure the compiler.
    """
    import compileall

    import carctl

    compileall.compile_dir(Path(carctl.__file__).parent, quiet=1)


Program = Callable[[str], list[str]]
Table = dict[str, dict[str, Runs]]


def exchanges(url: str, argv: list[str], env: dict[str, str]) -> Counter[str]:
    """The requests one run of `argv` made, as the mock counted them."""

    def counts() -> Counter[str]:
        rows = admin(url, "GET", "/__mock__/stats")["requests"]  # type: ignore[index]
        return Counter({f"{r['method']} {r['path']}": r["count"] for r in rows})

    before = counts()
    run_once(argv, env, Runs())
    return counts() - before


def rounds(url: str, env: dict[str, str], programs: dict[str, Program], count: int) -> Table:
    results: Table = {work: {} for work in WORK}
    for work in WORK:
        admin(url, "POST", "/__mock__/clock", {"advance": 61})  # rate limits
        for name, argv in programs.items():
            run_once(argv(work), env, Runs())  # warm the page cache, prove it works
            results[work][name] = Runs()
        for _ in range(count):
            admin(url, "POST", "/__mock__/clock", {"advance": 61})  # rate limits
            for name, argv in programs.items():
                run_once(argv(work), env, results[work][name])
    return results


def main() -> None:
    peers_installed()
    compiled_as_installed()
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=21, help="rounds on loopback")
    parser.add_argument("--rtt", type=float, default=80.0, help="network mode: ms a request")
    parser.add_argument("--network-runs", type=int, default=9, help="rounds in network mode")
    args = parser.parse_args()
    with served_and_signed_in("Model Y") as bench:
        cache, token = teslapy_session(bench)
        env = {
            **bench.env,
            "OAUTHLIB_INSECURE_TRANSPORT": "1",
            "PEER_URL": bench.url,
            "PEER_EMAIL": OWNER,
            "PEER_CACHE": cache,
            "PEER_VEHICLE": "Model Y",
            "PEER_VIN": VIN,
            "PEER_ID": CAR_ID,
            "PEER_TOKEN": token,
        }
        programs: dict[str, Program] = {
            "carctl": lambda work: [CARCTL, *WORK[work]],
            "TeslaPy": lambda work: [PYTHON, str(HERE / "peers" / "teslapy_peer.py"), work],
            "tesla-fleet-api": lambda work: [PYTHON, str(HERE / "peers" / "fleet_peer.py"), work],
            "floor": lambda work: [PYTHON, str(HERE / "peers" / "floor.py"), work],
        }
        requests = {}
        for work in WORK:
            admin(bench.url, "POST", "/__mock__/clock", {"advance": 61})
            requests[work] = {
                name: exchanges(bench.url, argv(work), env) for name, argv in programs.items()
            }
            if requests[work]["floor"] != requests[work]["carctl"]:
                raise SystemExit(
                    f"{work}: the floor's exchanges {dict(requests[work]['floor'])} are not "
                    f"carctl's {dict(requests[work]['carctl'])}: fix peers/floor.py"
                )
        loopback = rounds(bench.url, env, programs, args.runs)
        rule = f"latency={args.rtt:g}ms path=/*"
        admin(bench.url, "POST", "/__mock__/faults", {"rules": [rule]})
        try:
            network = rounds(bench.url, env, programs, args.network_runs)
        finally:
            admin(bench.url, "DELETE", "/__mock__/faults")
        bare = measure([PYTHON, "-c", "pass"], env, args.runs)
        run_once([CARCTL, "--help"], env, Runs())  # click writes the screen once, then it is kept
        helped = measure([CARCTL, "--help"], env, args.runs)
        completion_env = {
            **env,
            "_CARCTL_COMPLETE": "bash_complete",
            "COMP_WORDS": "carctl --vehicle Mo",
            "COMP_CWORD": "2",
        }
        completed = measure([CARCTL], completion_env, args.runs)

    report(args, requests, loopback, network, bare, helped, completed)


@dataclass(frozen=True)
class Target:
    name: str
    value: float
    limit: float
    unit: str  # "x" (a ratio) or " ms"

    @property
    def holds(self) -> bool:
        return self.value <= self.limit

    def line(self) -> str:
        value, limit = f"{self.value:.2f}{self.unit}", f"<= {self.limit:.2f}{self.unit}"
        if self.unit == " ms":
            value, limit = f"{self.value:.0f} ms", f"<= {self.limit:.0f} ms"
        return f"{self.name:<40} {value:>7}   {limit:<10} {'holds' if self.holds else 'MISSED'}"


def table(title: str, results: Table, requests: dict[str, dict[str, Counter[str]]]) -> None:
    print(title)
    columns = ("median ms", "min–max", "/TeslaPy", "RSS MiB", "requests")
    print(f"{'work':<11} {'program':<16} " + " ".join(f"{c:>9}" for c in columns))
    for work, by_program in results.items():
        teslapy = by_program["TeslaPy"]
        for name, runs in by_program.items():
            print(
                f"{work:<11} {name:<16} {runs.median_ms:>9.1f} {runs.spread:>9} "
                f"{ratio_of_rounds(runs, teslapy):>8.2f}x {runs.median_rss:>9.1f}"
                f" {sum(requests[work][name].values()):>9}"
            )
        print()


def report(
    args: argparse.Namespace,
    requests: dict[str, dict[str, Counter[str]]],
    loopback: Table,
    network: Table,
    bare: Runs,
    helped: Runs,
    completed: Runs,
) -> None:
    print(f"Python {sys.version.split()[0]} on {os.cpu_count()} cores; Model Y awake, signed in\n")
    table(f"on loopback ({args.runs} alternating rounds)", loopback, requests)
    table(
        f"network mode: every answer after {args.rtt:g} ms ({args.network_runs} rounds)",
        network,
        requests,
    )
    print(f"{'carctl --help':<28} {helped.median_ms:>9.1f} {helped.spread:>9}")
    print(f"{'python -c pass':<28} {bare.median_ms:>9.1f} {bare.spread:>9}")
    print(f"{'completing a car name':<28} {completed.median_ms:>9.1f} {completed.spread:>9}\n")
    targets: list[Target] = []
    distances = []
    for work, by_program in loopback.items():
        carctl, floor = by_program["carctl"], by_program["floor"]
        targets.append(
            Target(f"{work}: time / fair floor", ratio_of_rounds(carctl, floor), 1.15, "x")
        )
        distances.append(f"{work} +{carctl.median_ms - floor.median_ms:.0f} ms")
    for work, by_program in loopback.items():
        carctl, teslapy = by_program["carctl"], by_program["TeslaPy"]
        targets.append(Target(f"{work}: time / TeslaPy", ratio_of_rounds(carctl, teslapy), 1, "x"))
        rss = carctl.median_rss / teslapy.median_rss
        targets.append(Target(f"{work}: peak RSS / TeslaPy", rss, 1, "x"))
    for work, by_program in network.items():
        carctl = by_program["carctl"]
        # at most 1.00x against the fastest: ahead of every peer (the floor is no peer: it
        # checks nothing, keeps nothing)
        slowest_ratio = max(
            ratio_of_rounds(carctl, by_program[peer]) for peer in ("TeslaPy", "tesla-fleet-api")
        )
        targets.append(Target(f"{work}, network: time / fastest peer", slowest_ratio, 1, "x"))
    targets.append(Target("--help / python -c pass", helped.median_ms / bare.median_ms, 4, "x"))
    targets.append(Target("completing a car name", completed.median_ms, 50, " ms"))
    print(f"{'target':<40} {'value':>7}   {'limit':<10} verdict")
    for target in targets:
        print(target.line())
    print("\ncarctl's distance from the fair floor on loopback: " + "; ".join(distances))


if __name__ == "__main__":
    main()
