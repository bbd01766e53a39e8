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
TARGETS = {  # (row, limit): carctl / TeslaPy for time and memory; absolutes otherwise
    "climate-on": 1.0,
    "status": 1.0,
    "vent": 1.0,
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


def verdict(value: float, limit: float) -> str:
    return "OK" if value <= limit else "MISS"


def main() -> None:
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

    print(f"{args.runs} alternating rounds; Python {sys.version.split()[0]} on {os.cpu_count()} cores")
    print(f"against `carctl mock serve` on loopback, Model Y awake, signed in\n")
    header = f"{'work':<11} {'program':<16} {'median ms':>9} {'min–max':>9} {'ratio':>6} {'RSS MiB':>8}"
    print(header)
    checks: list[tuple[str, str, str]] = []
    for work, by_program in results.items():
        teslapy = by_program["TeslaPy"]
        for name, runs in by_program.items():
            ratio = ratio_of_rounds(runs, teslapy)
            print(
                f"{work:<11} {name:<16} {runs.median_ms:>9.1f} {runs.spread:>9} "
                f"{ratio:>5.2f}x {runs.median_rss:>8.1f}"
            )
        carctl = by_program["carctl"]
        time_ratio = ratio_of_rounds(carctl, teslapy)
        rss_ratio = carctl.median_rss / teslapy.median_rss
        floor_ratio = ratio_of_rounds(carctl, by_program["floor"])
        checks.append((f"carctl {work} time / TeslaPy", f"{time_ratio:.2f}x", verdict(time_ratio, 1.0)))
        checks.append((f"carctl {work} peak RSS / TeslaPy", f"{rss_ratio:.2f}x", verdict(rss_ratio, 1.0)))
        checks.append((f"  (carctl {work} time / floor)", f"{floor_ratio:.2f}x", ""))
        print()
    help_ratio = helped.median_ms / bare.median_ms
    print(f"{'carctl --help':<28} {helped.median_ms:>9.1f} {helped.spread:>9}   {help_ratio:.2f}x python -c pass")
    print(f"{'completing a car name':<28} {completed.median_ms:>9.1f} {completed.spread:>9}")
    checks.append(("carctl --help / python -c pass", f"{help_ratio:.2f}x", verdict(help_ratio, 4.0)))
    checks.append(("completing a car name", f"{completed.median_ms:.0f} ms", verdict(completed.median_ms, 50)))
    print("\ntarget                                 value  (target)")
    limits = {"time": "<= 1.00x", "RSS": "<= 1.00x", "--help": "<= 4.00x", "completing": "<= 50 ms"}
    for name, value, ok in checks:
        limit = next((v for k, v in limits.items() if k in name), "")
        print(f"{name:<38} {value:>6}  {'(' + limit + ') ' + ok if ok else ''}")


if __name__ == "__main__":
    main()
