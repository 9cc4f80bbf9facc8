"""Benchmark 2, the ceiling: how many POSTs per second this machine's HTTP stack allows on loopback.

The client is what percl sends webhooks with (one aiohttp ClientSession, TCPConnector(limit=1000),
uvloop); the server is what the app runs on in the other benchmarks (benchapp.py under uvicorn with
uvloop and httptools, in its own process). Each request is one POST of a webhook-sized signed JSON
body to /noop, answered with `[]`, and nothing else happens: no engine, no store. The best rate over
a few concurrency levels is the ceiling that percl's webhook rate is compared with.

    .venv/bin/python bench/ceiling.py            # 5 s per concurrency level
    .venv/bin/python bench/ceiling.py --quick    # 1.5 s per level
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import AppProcess, Summary, cpu_seconds, machine_banner

LEVELS = (8, 32, 128)

# A representative webhook (an outDialApiConnect body is ~470 bytes) and percl's headers.
BODY = json.dumps({
    "accountId": "AC" + "0" * 40, "callId": "CA" + "1" * 40, "callStatus": "inProgress",
    "conferenceId": None, "dialCallStatus": "inProgress", "direction": "outboundAPI",
    "from": "+12015550100", "parentCallId": None, "queueId": None,
    "requestType": "outDialApiConnect", "to": "+15550200000",
}, sort_keys=True).encode()
HEADERS = {"Content-Type": "application/json", "User-Agent": "percl/0.1",
           "FreeClimb-Signature": "t=1700000000,v1=" + "ab" * 32, "Request-Id": "RQ" + "2" * 40}


@dataclass(frozen=True, slots=True)
class Level:
    """The result at one concurrency: requests per second and request latency (client side)."""

    concurrency: int
    rps: float
    latency: Summary
    server_cpu: float  # server process CPU seconds per wall second (1.0 = one core busy)
    client_us: float  # client CPU microseconds per request
    server_us: float  # server CPU microseconds per request


async def measure(base: str, concurrency: int, seconds: float, server_pid: int | None = None) -> Level:
    """POST to `base`/noop from `concurrency` workers for `seconds`. Raises on any non-200."""
    url = f"{base}/noop"
    latencies: list[float] = []
    stop_at = 0.0

    async def worker(http: aiohttp.ClientSession) -> None:
        while time.monotonic() < stop_at:
            t0 = time.perf_counter()
            async with http.post(url, data=BODY, headers=HEADERS, allow_redirects=False) as r:
                await r.read()
                if r.status != 200:
                    raise RuntimeError(f"POST {url} -> {r.status}")
            latencies.append((time.perf_counter() - t0) * 1000)

    connector = aiohttp.TCPConnector(limit=1000)
    async with aiohttp.ClientSession(connector=connector,
                                     timeout=aiohttp.ClientTimeout(total=None)) as http:
        stop_at = time.monotonic() + 0.3  # warm-up: open the connections
        await asyncio.gather(*(worker(http) for _ in range(concurrency)))
        latencies.clear()
        cpu0 = cpu_seconds(server_pid) if server_pid else 0.0
        own0 = time.process_time()
        started = time.monotonic()
        stop_at = started + seconds
        await asyncio.gather(*(worker(http) for _ in range(concurrency)))
        wall = time.monotonic() - started
        own = time.process_time() - own0
        server = cpu_seconds(server_pid) - cpu0 if server_pid else float("nan")
    n = max(1, len(latencies))
    return Level(concurrency, len(latencies) / wall, Summary.of(latencies), server / wall,
                 own / n * 1e6, server / n * 1e6)


async def ceiling(base: str, seconds: float, server_pid: int | None = None,
                  levels: tuple[int, ...] = LEVELS) -> list[Level]:
    """Measure every concurrency level in turn against an app already running at `base`."""
    return [await measure(base, c, seconds, server_pid) for c in levels]


def report(levels: list[Level]) -> list[str]:
    best = max(levels, key=lambda lv: lv.rps)
    lines = ["ceiling: aiohttp client -> uvicorn (uvloop, httptools), one POST per request, loopback"]
    for lv in levels:
        lines.append(f"  concurrency {lv.concurrency:>4}: {lv.rps:8.0f} requests/s, server CPU "
                     f"{lv.server_cpu:4.2f} cores; CPU per request client {lv.client_us:.0f} us, "
                     f"server {lv.server_us:.0f} us; latency p50 {lv.latency.p50:.2f} "
                     f"p99 {lv.latency.p99:.2f} ms")
    lines.append(f"  CEILING {best.rps:.0f} requests/s (concurrency {best.concurrency}); with a core "
                 f"each for client and server: {1e6 / max(best.client_us, best.server_us):.0f}/s")
    return lines


async def _main(quick: bool) -> None:
    print(machine_banner("benchmark 2: loopback HTTP ceiling" + (" (quick)" if quick else "")))
    async with AppProcess() as app:
        levels = await ceiling(app.base, 1.5 if quick else 5.0, app.pid)
    print("\n".join(report(levels)))


def main() -> None:
    parser = argparse.ArgumentParser(description="loopback HTTP ceiling (benchmark 2)")
    parser.add_argument("--quick", action="store_true", help="short run (< 30 s), for a smoke test")
    args = parser.parse_args()
    import uvloop

    uvloop.run(_main(args.quick))


if __name__ == "__main__":
    main()
