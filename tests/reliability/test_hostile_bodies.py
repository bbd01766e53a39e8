"""Bodies built to hurt: compression bombs, trickled answers, nesting too deep to parse.

Each is served by a real socket server on loopback to carctl as a real process,
so the whole HTTP stack (httpx, decoding, parsing) is what is tested.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import time
import tracemalloc
import zlib
from pathlib import Path

import pytest

from carctl.api.bodies import MAX_BODY_BYTES, BodyTooLarge, Decoder, UnreadableEncoding
from carctl.state import StateDB
from tests.support.raw_server import raw_server, response

TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJob3N0aWxlIn0.c2lnbmF0dXJlLW9mLWEtdGVzdA"
GIB = 1024**3


def bomb(layers: int, size: int = GIB) -> bytes:
    """`size` zero bytes under `layers` of gzip, built without holding `size` in memory."""
    chunk = bytes(1024 * 1024)
    compressor = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    parts = [compressor.compress(chunk) for _ in range(size // len(chunk))]
    data = b"".join(parts) + compressor.flush()
    for _ in range(layers - 1):
        data = gzip.compress(data, 9)
    return data


def carctl_measured(url: str, *args: str, timeout: float = 60) -> tuple[int, str, str, int]:
    """Run carctl and report (exit code, stdout, stderr, its peak RSS in KiB)."""
    probe = (
        "import resource, subprocess, sys\n"
        "r = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
        "sys.stdout.write(r.stdout); sys.stderr.write(r.stderr)\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)\n"
        "sys.exit(r.returncode)\n"
    )
    env = {
        **os.environ,
        "CARCTL_API_URL": url,
        "CARCTL_TOKEN": TOKEN,
        "CARCTL_VEHICLE": "Model 3",
    }
    done = subprocess.run(
        [sys.executable, "-c", probe, sys.executable, "-m", "carctl", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        check=False,
    )
    *err, rss = done.stderr.rstrip("\n").split("\n")
    return done.returncode, done.stdout, "\n".join(err), int(rss)


@pytest.mark.parametrize("layers", [1, 2])
def test_a_compression_bomb_is_refused_within_a_few_mib(layers: int) -> None:
    body = bomb(layers)
    assert len(body) < 1_100_000 // layers  # a 1 GiB answer, about 1 MB (or 1 KB) on the wire
    encoding = ", ".join(["gzip"] * layers)
    script = response(200, {"content-type": "application/json", "content-encoding": encoding}, body)
    with raw_server(script) as url:
        code, out, err, rss_kib = carctl_measured(url, "--json", "--no-worker", "status")
    assert script.requests, "the request never reached the server"
    assert code == 69, err
    document = json.loads(out)
    assert "larger than 4 MiB" in document["error"]["message"]
    assert "Traceback" not in err
    # before: 2 GB for the two-layer bomb; carctl itself needs about 40 MiB
    assert rss_kib < 160 * 1024, f"peak RSS {rss_kib // 1024} MiB"


def test_the_decoder_holds_little_memory_for_any_stack() -> None:
    body = bomb(3, size=256 * 1024 * 1024)
    tracemalloc.start()
    try:
        decoder = Decoder("gzip, gzip, gzip")
        total = 0
        with pytest.raises(BodyTooLarge):
            for start in range(0, len(body), 16384):
                for piece in decoder.feed(body[start : start + 16384]):
                    total += len(piece)
                    assert total <= MAX_BODY_BYTES
            for piece in decoder.finish():
                total += len(piece)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2 * 1024 * 1024, (
        f"peak {peak} bytes"
    )  # the caller keeps the 4 MiB, not the decoder


def test_the_decoder_round_trips_every_stack_it_accepts() -> None:
    text = json.dumps({"response": {"display_name": "Model 3 " * 5000}}).encode()
    for encoding, data in [
        ("gzip", gzip.compress(text)),
        ("x-gzip", gzip.compress(text)),
        ("deflate", zlib.compress(text)),
        ("deflate", zlib.compress(text)[2:-4]),  # raw deflate, as some servers send it
        ("gzip, deflate", zlib.compress(gzip.compress(text))),
        ("identity", text),
        (None, text),
    ]:
        decoder = Decoder(encoding)
        out = b""
        for start in range(0, len(data), 7):  # tiny chunks: state carried across calls
            out += b"".join(decoder.feed(data[start : start + 7]))
        out += b"".join(decoder.finish())
        assert out == text, encoding
    with pytest.raises(UnreadableEncoding):
        Decoder("br")
    with pytest.raises(UnreadableEncoding):
        list(Decoder("gzip").feed(b"not gzip at all"))


def test_a_trickled_answer_ends_at_the_run_deadline() -> None:
    """One byte every 0.3 s would take minutes; --timeout 2 bounds the whole exchange."""
    body = json.dumps({"response": [{"id": 1, "display_name": "Model 3"}]}).encode() * 50
    script = response(200, {"content-type": "application/json"}, body)
    script.trickle_s = 0.3
    with raw_server(script) as url:
        started = time.monotonic()
        code, out, err, _ = carctl_measured(
            url, "--json", "--no-worker", "status", "--timeout", "2"
        )
        elapsed = time.monotonic() - started
    assert script.requests, "the request never reached the server"
    assert code == 75, err
    assert "did not finish answering within 2 s" in json.loads(out)["error"]["message"]
    # start-up + at most three bounded attempts within the 2 s run deadline
    assert elapsed < 12, f"took {elapsed:.1f} s"


@pytest.mark.parametrize("depth", [200_000, 2_000])
def test_nesting_too_deep_is_a_protocol_error(depth: int, tmp_path: Path) -> None:
    body = b"[" * depth + b"]" * depth
    script = response(200, {"content-type": "application/json"}, body)
    with raw_server(script) as url:
        code, out, err, _ = carctl_measured(url, "--json", "--no-worker", "vehicles")
        human_code, _, human_err, _ = carctl_measured(url, "--no-worker", "vehicles")
    assert code == 69, err
    error = json.loads(out)["error"]
    assert error["code"] == "protocol"
    assert "instead of the usual JSON" in error["message"]
    assert human_code == 69
    assert "RecursionError" not in human_err and "Traceback" not in human_err
    assert "error: the vehicle API answered GET /api/1/vehicles with" in human_err


def test_a_worker_facing_a_trickled_answer_lets_go_in_time(
    monkeypatch: pytest.MonkeyPatch, carctl_home: Path
) -> None:
    """The worker's requests have a total deadline too: it gives up and keeps no lease."""
    from carctl.delivery.queue import NewCommand, Queue
    from tests.conftest import invoke

    monkeypatch.setattr("carctl.delivery.worker.RUN_DEADLINE_S", 1.0)
    body = json.dumps({"response": {"id": 1, "state": "online"}}).encode() * 50
    script = response(200, {"content-type": "application/json"}, body)
    script.trickle_s = 0.3
    with raw_server(script) as url:
        monkeypatch.setenv("CARCTL_API_URL", url)
        monkeypatch.setenv("CARCTL_TOKEN", TOKEN)
        queue = Queue(StateDB(carctl_home / "state" / "state.db"))
        (entry,) = queue.add(
            scope=f"default@{url}",
            api_url=url,
            vehicle_id="1",
            vehicle_name="Model 3",
            commands=[NewCommand("auto_conditioning_start", {}, "climate", "key-1")],
            ttl_s=600,
            now=time.time(),
        )
        started = time.monotonic()
        result = invoke("--json", "queue", "run")
        elapsed = time.monotonic() - started
    assert script.requests, "the worker never reached the server"
    assert result.code == 75, result.output
    assert elapsed < 10, f"took {elapsed:.1f} s"
    after = queue.get(entry.id)
    assert after is not None and after.status == "pending" and after.lease_owner is None
    assert "did not finish answering within 1 s" in (after.last_error or "")
