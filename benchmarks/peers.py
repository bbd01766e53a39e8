"""carctl against its peers: the same work, the same served mock, side by side.

    python benchmarks/peers.py [--runs 21]

For `climate on`, `status` and `vent` on an awake Model Y (signed in), three
programs do the same work against one `carctl mock serve` on loopback:
carctl; a TeslaPy script (`peers/teslapy_peer.py`, requests + oauthlib); a
tesla-fleet-api script (`peers/fleet_peer.py`, aiohttp; the `bench` extra).
A fourth, `peers/floor.py`, is the fastest program the mandated libraries
allow (click + a synchronous httpx.Client, two exchanges): how far carctl is
from what is possible. Runs alternate (carctl, TeslaPy, fleet, floor, carctl,
…) so that a busy moment of the machine hits all of them; the ratio is the
median of the per-round ratios. Peak RSS comes from GNU time.

Also: `carctl --help` against `python -c pass`, and the dynamic completion of
a car name as bash runs it (`_CARCTL_COMPLETE=bash_complete`).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
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


def main() -> None:
    peers_installed()
    compiled_as_installed()
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=21)
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
            "PEER_TOKEN": token,
        }
        programs = {
            "carctl": lambda work: [CARCTL, *WORK[work]],
            "TeslaPy": lambda work: [PYTHON, str(HERE / "peers" / "teslapy_peer.py"), work],
            "tesla-fleet-api": lambda work: [PYTHON, str(HERE / "peers" / "fleet_peer.py"), work],
            "floor": lambda work: [PYTHON, str(HERE / "peers" / "floor.py"), work],
        }
        results: dict[str, dict[str, Runs]] = {work: {} for work in WORK}
        for work in WORK:
            admin(bench.url, "POST", "/__mock__/clock", {"advance": 61})  # rate limits
            for name, argv in programs.items():
                run_once(argv(work), env, Runs())  # warm the page cache, prove it works
                results[work][name] = Runs()
            for _ in range(args.runs):
                admin(bench.url, "POST", "/__mock__/clock", {"advance": 61})  # rate limits
                for name, argv in programs.items():
                    run_once(argv(work), env, results[work][name])
        bare = measure([PYTHON, "-c", "pass"], env, args.runs)
        helped = measure([CARCTL, "--help"], env, args.runs)
        completion_env = {
            **env,
            "_CARCTL_COMPLETE": "bash_complete",
            "COMP_WORDS": "carctl --vehicle Mo",
            "COMP_CWORD": "2",
        }
        completed = measure([CARCTL], completion_env, args.runs)

    report(args.runs, results, bare, helped, completed)


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
        return f"{self.name:<36} {value:>7}   {limit:<10} {'holds' if self.holds else 'MISSED'}"


def report(
    rounds: int, results: dict[str, dict[str, Runs]], bare: Runs, helped: Runs, completed: Runs
) -> None:
    print(f"{rounds} alternating rounds; Python {sys.version.split()[0]} on {os.cpu_count()} cores")
    print("against `carctl mock serve` on loopback, Model Y awake, signed in\n")
    columns = ("median ms", "min–max", "/TeslaPy", "RSS MiB")
    print(f"{'work':<11} {'program':<16} " + " ".join(f"{c:>9}" for c in columns))
    targets: list[Target] = []
    notes: list[str] = []
    for work, by_program in results.items():
        teslapy, carctl = by_program["TeslaPy"], by_program["carctl"]
        for name, runs in by_program.items():
            print(
                f"{work:<11} {name:<16} {runs.median_ms:>9.1f} {runs.spread:>9} "
                f"{ratio_of_rounds(runs, teslapy):>8.2f}x {runs.median_rss:>9.1f}"
            )
        print()
        targets.append(Target(f"{work}: time / TeslaPy", ratio_of_rounds(carctl, teslapy), 1, "x"))
        rss = carctl.median_rss / teslapy.median_rss
        targets.append(Target(f"{work}: peak RSS / TeslaPy", rss, 1, "x"))
        floor = ratio_of_rounds(carctl, by_program["floor"])
        notes.append(f"{work}: carctl / floor {floor:.2f}x")
    print(f"{'carctl --help':<28} {helped.median_ms:>9.1f} {helped.spread:>9}")
    print(f"{'python -c pass':<28} {bare.median_ms:>9.1f} {bare.spread:>9}")
    print(f"{'completing a car name':<28} {completed.median_ms:>9.1f} {completed.spread:>9}\n")
    targets.append(Target("--help / python -c pass", helped.median_ms / bare.median_ms, 4, "x"))
    targets.append(Target("completing a car name", completed.median_ms, 50, " ms"))
    print(f"{'target':<36} {'value':>7}   {'limit':<10} verdict")
    for target in targets:
        print(target.line())
    print("\nthe floor (click + a synchronous httpx.Client, two exchanges, nothing else):")
    print("  " + "; ".join(notes))


if __name__ == "__main__":
    main()
