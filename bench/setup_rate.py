"""Benchmark 1, call setup rate, with benchmark 2 (the loopback ceiling) measured in the same run.

percl runs as a user runs it (`percl serve`, a SQLite file, PERCL_MEDIA_TIME_SCALE=0,
PERCL_API_RATE=0) and the app runs under uvicorn in a process of its own (benchapp.py). The
generator (this process) keeps `--window` calls in progress: POST /Calls to a virtual phone that
answers at once; the app answers the connect webhook with [Say, Redirect], the redirect with
[Say, Hangup]; the call ends with a callStatus webhook: three webhooks per call.

It prints completed calls per second, webhooks per second, that rate as a fraction of the ceiling
measured against the same app a moment earlier, the latency percentiles of every webhook and of
the REST call, and percl's own view of the webhook round trip (elapsedMs in the call logs).

    .venv/bin/python bench/setup_rate.py                    # 5,000 calls
    .venv/bin/python bench/setup_rate.py --calls 20000      # longer
    .venv/bin/python bench/setup_rate.py --quick            # < 30 s smoke run
    .venv/bin/python bench/setup_rate.py --profile out.svg  # also py-spy record percl meanwhile
    .venv/bin/python bench/setup_rate.py --cprofile out.pstats  # percl under cProfile (CPU clock)
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.analysis import figures
from bench.ceiling import ceiling, report
from bench.common import (
    AppProcess,
    PerclProcess,
    Summary,
    cpu_seconds,
    machine_banner,
    start_py_spy,
    stop_py_spy,
)
from bench.load import Rig, closed_loop

LOG_SAMPLE = 100  # calls whose logs are read back for percl's own webhook timings


async def percl_view(rig: Rig, call_ids: list[str]) -> dict[str, list[float]]:
    """elapsedMs of each webhook as percl logged it (POST sent -> answer read), by requestType."""
    out: dict[str, list[float]] = {}
    for call_id in call_ids:
        for entry in await rig.call_logs(call_id):
            meta = entry.get("metadata") or {}
            if "elapsedMs" in meta and meta.get("requestType"):
                out.setdefault(str(meta["requestType"]), []).append(float(meta["elapsedMs"]))
    return out


async def run(calls: int, window: int, ceiling_s: float, profile: str | None, gil: bool,
              cprofile: str | None) -> None:
    async with AppProcess() as app, PerclProcess(cprofile=cprofile) as percl, \
            Rig(percl, app.base) as rig:
        await rig.setup()
        await rig.warm_up()
        levels = await ceiling(app.base, ceiling_s, app.pid)
        print("\n".join(report(levels)))
        best = max(lv.rps for lv in levels)

        profiler = start_py_spy(percl.pid, profile, gil) if profile else None
        cpu0, app_cpu0, own0, wall0 = (cpu_seconds(percl.pid), cpu_seconds(app.pid),
                                       time.process_time(), time.monotonic())
        await closed_loop(rig.call, calls, window, rig.finished)
        wall = time.monotonic() - wall0
        busy = ((cpu_seconds(percl.pid) - cpu0) / wall, (cpu_seconds(app.pid) - app_cpu0) / wall,
                (time.process_time() - own0) / wall)
        if profiler is not None:
            stop_py_spy(profiler)
        sent = {p.call_id: (p.sent_ns, p.done_ns) for p in rig.placed}
        f = figures(await rig.records(), sent)
        sample = random.Random(1).sample(sorted(sent), min(LOG_SAMPLE, len(sent)))
        logged = await percl_view(rig, sample)

    print(f"call setup: {calls} REST calls, {window} in progress at a time, three webhooks each")
    print(f"  completed calls        {f.calls_completed}/{f.calls_placed} in {f.window_s:.2f} s "
          f"= {f.calls_per_s:.0f} calls/s (steady state {f.steady_calls_per_s:.0f}/s)   (target >= 300)")
    print(f"  webhooks received      {f.webhooks} = {f.webhooks_per_s:.0f} webhooks/s "
          f"= {f.webhooks_per_s / best:.0%} of the ceiling {best:.0f}/s   (target >= 50%)")
    first = f" (first: {rig.errors[0]})" if rig.errors else ""
    print(f"  REST errors            {len(rig.errors)}{first}")
    print(f"  CPU (cores busy)       percl {busy[0]:.2f}, app {busy[1]:.2f}, generator {busy[2]:.2f}")
    if f.calls_completed:
        per_call = busy[0] * wall / f.calls_completed * 1000
        print(f"  percl CPU per call     {per_call:.2f} ms (all its threads) -> at most "
              f"{1000 / per_call:.0f} calls/s per fully available core")
    print("latency (ms; CLOCK_MONOTONIC shared by the generator and the app):")
    print("\n".join(f.lines()))
    print(f"percl's own view (elapsedMs in the call logs of {len(sample)} calls: POST sent -> answer read):")
    for kind, values in sorted(logged.items()):
        print(Summary.of(values).line(f"webhook {kind} round trip"))
    print(f"percl stopped in {percl.stop_seconds:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description="call setup rate (benchmark 1) and ceiling (2)")
    parser.add_argument("--quick", action="store_true", help="short run (< 30 s), for a smoke test")
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--window", type=int, default=64, help="calls in progress at a time")
    parser.add_argument("--profile", metavar="FILE",
                        help="py-spy record percl during the run (.svg flame graph, .txt raw)")
    parser.add_argument("--profile-gil", action="store_true",
                        help="with --profile: only samples holding the GIL (py-spy --gil)")
    parser.add_argument("--cprofile", metavar="FILE",
                        help="run percl under cProfile (loop thread CPU time), stats to FILE")
    args = parser.parse_args()
    calls = min(args.calls, 300) if args.quick else args.calls
    print(machine_banner("benchmark 1: call setup rate" + (" (quick)" if args.quick else "")))
    import uvloop

    uvloop.run(run(calls, args.window, 1.5 if args.quick else 4.0, args.profile, args.profile_gil,
                   args.cprofile))


if __name__ == "__main__":
    main()
