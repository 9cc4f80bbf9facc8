"""Benchmark 4, concurrency: hold N live calls and check that percl stays responsive.

Each held call is a REST call to a virtual phone that answers at once and stays on the line; the
app answers its connect webhook with GetDigits (one-hour timeouts), so the leg waits in GetDigits
with a timer running. With all N held, the benchmark reports:

- percl's resident memory (VmRSS) before and after, and the difference per held call;
- REST latency percentiles while they are held: GET /Calls/{id} of random held calls and POST /Calls
  of new calls (which must still complete: three webhooks, as in benchmark 1); then, apart, the
  first page of GET /Calls (the account's newest calls), which today costs O(all calls);
- that the held calls are still inProgress, and how long percl takes to shut down with them live.

    .venv/bin/python bench/concurrency.py                 # N = 2,000
    .venv/bin/python bench/concurrency.py --calls 10000   # the target case (about 2 minutes)
    .venv/bin/python bench/concurrency.py --quick         # N = 300, < 30 s
    .venv/bin/python bench/concurrency.py --profile p.txt  # py-spy while held (profile_summary.py)
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.analysis import figures
from bench.common import (
    AppProcess,
    PerclProcess,
    Summary,
    machine_banner,
    rss_bytes,
    start_py_spy,
    stop_py_spy,
)
from bench.load import Rig, closed_loop, open_loop

MIB = 1024 * 1024
GET_RATE = 50.0  # GET /Calls/{id} per second while held
NEW_CALL_RATE = 10.0  # new (three-webhook) calls per second while held
LIST_TIMES = 3  # GET /Calls (first page), one after the other, after the probe
SETTLE_S = 2.0


async def hold(rig: Rig, n: int, window: int) -> float:
    """Place `n` held calls, `window` ahead of the app's count of connect webhooks; seconds taken.
    Raises RuntimeError when some did not reach GetDigits."""
    await rig.reset()
    started = time.monotonic()

    async def reached() -> int:
        return (await rig.counts())[0] + len(rig.errors)

    await closed_loop(lambda: rig.call("hold"), n, window, reached)
    if rig.errors or len(rig.placed) != n:
        raise RuntimeError(f"{len(rig.errors)} held calls failed; first: {rig.errors[:1]}")
    return time.monotonic() - started


async def probe(rig: Rig, held: list[str], seconds: float) -> list[str]:
    """GET /Calls/{id} and new calls for `seconds` while the calls are held; lines to print."""
    gets: list[float] = []
    bad: list[int] = []
    rng = random.Random(4)

    async def get_one() -> None:
        ms, status = await rig.timed_get(f"/Calls/{rng.choice(held)}")
        gets.append(ms)
        if status != 200:
            bad.append(status)

    await rig.reset()
    await asyncio.gather(open_loop(get_one, GET_RATE, seconds),
                         open_loop(rig.call, NEW_CALL_RATE, seconds))
    expected = len(rig.placed)
    drained = await rig.wait_until(lambda _w, ended: ended >= expected, 60.0)
    sent = {p.call_id: (p.sent_ns, p.done_ns) for p in rig.placed}
    f = figures(await rig.records(), sent)
    return [
        f"while held ({seconds:.0f} s): {f.calls_completed}/{f.calls_placed} new calls completed"
        + ("" if drained else " (NOT all within 60 s)")
        + f", REST errors {len(rig.errors)}, non-200 GETs {len(bad)}",
        Summary.of(gets).line(f"GET /Calls/{{id}} of a held call ({GET_RATE:.0f}/s)"),
        Summary.of(f.rest).line(f"POST /Calls, new call ({NEW_CALL_RATE:.0f}/s)  (target p99 < 100 ms)"),
        Summary.of(f.setup).line("new call: POST sent -> 1st webhook at app"),
        Summary.of(f.engine_all()).line("new call: engine-added, all transitions"),
    ]


async def probe_list(rig: Rig, times: int) -> str:
    """GET /Calls (the first page of the account's calls) `times` in a row, alone."""
    took = [(await rig.timed_get("/Calls"))[0] for _ in range(times)]
    return Summary.of(took).line("GET /Calls, first page, one at a time")


def placing_rates(rig: Rig, part: int) -> str:
    """Calls/s at which held calls were placed early (the second `part`: the first one includes
    the window's initial burst) and at the end (the last `part`), from the POST sent times."""
    sent = sorted(p.sent_ns for p in rig.placed)
    if len(sent) < 3 * part or part < 2:
        return ""

    def rate(chunk: list[int]) -> float:
        return (len(chunk) - 1) / ((chunk[-1] - chunk[0]) / 1e9) if chunk[-1] > chunk[0] else 0.0

    return (f"; calls {part}-{2 * part}: {rate(sent[part:2 * part]):.0f}/s, "
            f"last {part}: {rate(sent[-part:]):.0f}/s")


async def still_live(rig: Rig, held: list[str], sample: int = 50) -> int:
    """How many of a sample of held calls the REST API reports as inProgress."""
    live = 0
    for call_id in random.Random(5).sample(held, min(sample, len(held))):
        async with rig.rest.get(f"{rig.api}/Calls/{call_id}") as r:
            live += (await r.json())["status"] == "inProgress"
    return live


async def run(n: int, window: int, seconds: float, profile: str | None) -> None:
    env = {"PERCL_MAX_LIVE_CALLS": str(n + 10_000)}
    async with AppProcess() as app, PerclProcess(env, grace_s=300.0) as percl, \
            Rig(percl, app.base) as rig:
        await rig.setup()
        await rig.warm_up()
        await asyncio.sleep(SETTLE_S)
        base = rss_bytes(percl.pid)
        took = await hold(rig, n, window)
        held = [p.call_id for p in rig.placed]
        await asyncio.sleep(SETTLE_S)
        loaded = rss_bytes(percl.pid)
        print(f"held {n} calls in GetDigits (placed in {took:.1f} s, {n / took:.0f} calls/s"
              f"{placing_rates(rig, n // 10)})")
        print(f"  percl RSS before {base / MIB:.1f} MiB, with {n} held {loaded / MIB:.1f} MiB: "
              f"{(loaded - base) / n / 1024:.1f} KiB per call; projected for 10,000 calls "
              f"{(base + (loaded - base) / n * 10_000) / MIB:.0f} MiB  (target <= 1024 MiB)")
        profiler = start_py_spy(percl.pid, profile, False) if profile else None
        print("\n".join(await probe(rig, held, seconds)))
        if profiler is not None:
            stop_py_spy(profiler)
        print(await probe_list(rig, LIST_TIMES))
        live = await still_live(rig, held)
        print(f"  held calls still inProgress: {live}/{min(50, n)} sampled; "
              f"percl RSS now {rss_bytes(percl.pid) / MIB:.1f} MiB")
    print(f"percl shut down (ending {n} live calls) in {percl.stop_seconds:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description="concurrency: N held calls (benchmark 4)")
    parser.add_argument("--quick", action="store_true", help="short run (< 30 s), for a smoke test")
    parser.add_argument("--calls", type=int, default=2000, help="calls to hold (N)")
    parser.add_argument("--window", type=int, default=64, help="held calls being set up at a time")
    parser.add_argument("--seconds", type=float, default=15.0, help="REST probing while held")
    parser.add_argument("--profile", metavar="FILE",
                        help="py-spy record percl while the calls are held (.txt: raw stacks)")
    args = parser.parse_args()
    n = min(args.calls, 300) if args.quick else args.calls
    seconds = min(args.seconds, 4.0) if args.quick else args.seconds
    print(machine_banner(f"benchmark 4: concurrency, {n} held calls" + (" (quick)" if args.quick else "")))
    import uvloop

    uvloop.run(run(n, args.window, seconds, args.profile))


if __name__ == "__main__":
    main()
