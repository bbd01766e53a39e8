"""Start-up time and peak memory of whole carctl processes, against baselines.

    python benchmarks/startup.py [--runs 15]

Each command runs as a fresh process `--runs` times; wall time and peak RSS
(from wait4's rusage) are reported as median and spread (min–max), and each
as a ratio to its baseline measured in the same run:

- `carctl --help` and `carctl --version` against `python -c pass`;
- `carctl --json climate on` against a served mock (`carctl mock serve`, the
  car awake) against `python -c "import click, httpx"` — the two imports
  carctl cannot avoid.

Targets (design): --help <= 5x bare Python; climate on <= 1.2x the
click+httpx floor; peak RSS < 40 MiB.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

PYTHON = sys.executable
# What any httpx.AsyncClient request costs beyond `import httpx`: asyncio,
# httpcore and anyio load on first use. Shown to explain the floor's gap.
ONE_REQUEST = (
    "import asyncio, click, httpx\n"
    "async def go():\n"
    "    async with httpx.AsyncClient() as c:\n"
    "        await c.get('{url}/status')\n"
    "asyncio.run(go())"
)
CARCTL = str(Path(PYTHON).parent / "carctl")


GNU_TIME = "/usr/bin/time"


def measure(argv: list[str], env: dict[str, str], runs: int) -> dict[str, float]:
    """Wall time from here; peak RSS from GNU time when present (else wait4's rusage,
    which also counts what the benchmark process held when it forked)."""
    times, rss = [], []
    use_time = Path(GNU_TIME).exists()
    for _ in range(runs):
        command = [GNU_TIME, "-f", "%M", *argv] if use_time else argv
        started = time.perf_counter()
        process = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - started
        errors = process.stderr.read().decode() if process.stderr else ""
        if process.stderr:
            process.stderr.close()
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"{' '.join(argv)} failed: {errors}")
        times.append(elapsed * 1000)
        kib = int(errors.strip().splitlines()[-1]) if use_time else usage.ru_maxrss
        rss.append(kib / 1024)
    return {
        "ms": statistics.median(times),
        "ms_min": min(times),
        "ms_max": max(times),
        "rss": statistics.median(rss),
        "rss_max": max(rss),
    }


def serve(env: dict[str, str]) -> tuple[subprocess.Popen[str], str]:
    server = subprocess.Popen(
        [CARCTL, "mock", "serve", "--port", "0", "--admin"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None
    line = server.stdout.readline()
    if "http://" not in line:
        raise SystemExit(f"the mock did not start: {line}{server.stderr.read()}")  # type: ignore[union-attr]
    return server, line.rsplit(" ", 1)[1].strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    home = tempfile.mkdtemp(prefix="carctl-bench-")
    env = {**os.environ, "CARCTL_HOME": home, "CI": "1"}
    env.pop("CARCTL_API_URL", None)
    server, url = serve(env)
    try:
        env["CARCTL_API_URL"] = url
        request = urllib.request.Request(  # noqa: S310 - the mock we just started on loopback
            f"{url}/__mock__/vehicles/1492931337131",
            data=json.dumps({"state": "online", "idle_sleep": 86400}).encode(),
            method="PATCH",
            headers={"content-type": "application/json"},
        )
        urllib.request.urlopen(request, timeout=5).close()  # noqa: S310 - loopback
        subprocess.run(
            [CARCTL, "auth", "login", "--email", "owner@example.com", "--password-stdin"],
            input=b"ventilate-0600",
            env=env,
            check=True,
            capture_output=True,
        )
        subprocess.run([CARCTL, "config", "set", "vehicle", "Model 3"], env=env, check=True)
        subprocess.run([CARCTL, "vehicles"], env=env, check=True, capture_output=True)
        rows = [
            ("python -c pass", [PYTHON, "-c", "pass"], None),
            ("carctl --help", [CARCTL, "--help"], "python -c pass"),
            ("carctl --version", [CARCTL, "--version"], "python -c pass"),
            ("python -c 'import click, httpx'", [PYTHON, "-c", "import click, httpx"], None),
            (
                "carctl --json climate on",
                [CARCTL, "--json", "climate", "on"],
                "python -c 'import click, httpx'",
            ),
            (
                "one async httpx request",
                [PYTHON, "-c", ONE_REQUEST.format(url=url)],
                "python -c 'import click, httpx'",
            ),
        ]
        results: dict[str, dict[str, float]] = {}
        for name, argv, _ in rows:
            results[name] = measure(argv, env, args.runs)
    finally:
        server.terminate()
        server.wait(timeout=10)
    print(f"{args.runs} runs each; Python {sys.version.split()[0]} on {os.cpu_count()} cores\n")
    print(f"{'command':<34} {'median ms':>9} {'min–max ms':>13} {'ratio':>7} {'peak RSS MiB':>13}")
    for name, _, base in rows:
        r = results[name]
        ratio = f"{r['ms'] / results[base]['ms']:.2f}x" if base else "1.00x"
        spread = f"{r['ms_min']:.0f}–{r['ms_max']:.0f}"
        print(f"{name:<34} {r['ms']:>9.1f} {spread:>13} {ratio:>7} {r['rss']:>13.1f}")
    help_ratio = results["carctl --help"]["ms"] / results["python -c pass"]["ms"]
    climate = results["carctl --json climate on"]
    climate_ratio = climate["ms"] / results["python -c 'import click, httpx'"]["ms"]
    print()
    print(
        f"target --help <= 5x:           {help_ratio:.2f}x  {'OK' if help_ratio <= 5 else 'MISS'}"
    )
    print(
        f"target climate on <= 1.2x:     {climate_ratio:.2f}x  "
        f"{'OK' if climate_ratio <= 1.2 else 'MISS'}"
    )
    peak = max(r["rss_max"] for name, r in results.items() if name.startswith("carctl"))
    print(f"target peak RSS < 40 MiB:      {peak:.1f} MiB  {'OK' if peak < 40 else 'MISS'}")
    if not Path(GNU_TIME).exists():
        print("(no /usr/bin/time: RSS includes the benchmark's own memory at fork)")


if __name__ == "__main__":
    main()
