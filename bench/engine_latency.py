"""Benchmark 3, engine-added latency: from the app's answer to the next webhook, at 50% and 90% load.

Same set-up as benchmark 1 (percl serve, media time scale 0, the app under uvicorn, three webhooks
per call). First the most completed calls per second percl sustains is measured with a closed
loop (or given with --max-cps); then calls are placed in an open loop, evenly spaced, at 50% and
90% of that rate, and for every call the app measures, on CLOCK_MONOTONIC:

    engine-added latency = webhook k+1 arrives at the app - the app answered webhook k

Media time scale 0 makes Say instant, so that interval is all percl (reading the answer, running
the PerCL, store writes and logs, building, signing and sending the next webhook) plus loopback
and uvicorn parsing the request in the app. Printed: p50/p95/p99 per load level, per transition.

    .venv/bin/python bench/engine_latency.py                  # 15 s per level
    .venv/bin/python bench/engine_latency.py --max-cps 120    # skip the search
    .venv/bin/python bench/engine_latency.py --quick          # < 30 s smoke run
    .venv/bin/python bench/engine_latency.py --gc-watch /tmp/gc.json  # and percl's GC pauses
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.analysis import Figures, figures, percl_view
from bench.common import (
    TICKS,
    AppProcess,
    PerclProcess,
    Summary,
    context_switches,
    cpu_seconds,
    machine_banner,
    steal_ticks,
)
from bench.load import Rig, closed_loop, open_loop

LEVELS = (0.5, 0.9)
DRAIN_S = 60.0  # how long to wait for the last calls of a level to end


async def find_max(rig: Rig, calls: int, window: int) -> float:
    """Completed calls per second that percl sustains, with `window` calls always in progress.

    Measured over the second half of a long run (the 50th to the 95th percentile of end times):
    the first seconds of a burst run faster than percl can keep up (log lines written behind,
    garbage collection not yet due), and 90% of such a burst rate was more than percl sustained."""
    await rig.reset()
    await closed_loop(rig.call, calls, window, rig.finished)
    sent = {p.call_id: (p.sent_ns, p.done_ns) for p in rig.placed}
    return figures(await rig.records(), sent).rate_between(0.5, 0.95)


async def at_level(rig: Rig, rate: float, seconds: float) -> tuple[list[str], Figures]:
    """Open loop at `rate` calls/s for `seconds`; the lines to print about it, and its figures."""
    await rig.reset()
    switches = context_switches(rig.percl.pid)
    stolen = steal_ticks()
    cpu, wall = cpu_seconds(rig.percl.pid), time.monotonic()
    await open_loop(rig.call, rate, seconds)
    busy = (cpu_seconds(rig.percl.pid) - cpu) / (time.monotonic() - wall)
    stolen = steal_ticks() - stolen
    expected = len(rig.placed)
    drained = await rig.wait_until(lambda _w, ended: ended >= expected, DRAIN_S)
    per_call = (cpu_seconds(rig.percl.pid) - cpu) / max(1, expected) * 1000  # placing + drain
    sent = {p.call_id: (p.sent_ns, p.done_ns) for p in rig.placed}
    f = figures(await rig.records(), sent)
    lines = [f"  offered {rate:.0f} calls/s for {seconds:.0f} s: {f.calls_completed}/{f.calls_placed} "
             f"completed ({f.calls_per_s:.0f}/s), {f.webhooks_per_s:.0f} webhooks/s, "
             f"REST errors {len(rig.errors)}" + ("" if drained else ", NOT DRAINED")]
    for kind, values in sorted(f.engine.items()):
        lines.append(Summary.of(values).line(f"engine-added: app answered -> {kind} arrives"))
    target = "  (target p99 <= 5 ms at 50%)"
    lines.append(Summary.of(f.engine_all()).line("engine-added, all transitions" + target))
    if rig.percl.db_path is not None:
        await asyncio.sleep(0.5)  # percl writes its log lines behind (a few ms)
        own = percl_view(rig.percl.db_path, sent)
        lines.append(Summary.of(own).line("  percl's view: answer read -> next webhook sent"))
    lines.append(Summary.of(f.rest).line("REST POST /Calls -> 202 (client)"))
    lines.append(Summary.of(f.setup).line("POST /Calls sent -> 1st webhook at app (setup)"))
    lines.append(f"  percl busy {busy:.2f} cores while placing ({per_call:.2f} ms CPU per call): the load "
                 "this level really was, on a machine whose speed drifts")
    voluntary, forced = (b - a for a, b in zip(switches, context_switches(rig.percl.pid), strict=True))
    lines.append(f"  percl's context switches during the level: {voluntary} voluntary, {forced} forced "
                 "(forced: the kernel gave its core to another process)")
    per_second = " ".join(map(str, slow_per_second(f, seconds)))
    lines.append(f"  transitions over 5 ms, second by second: {per_second}")
    lines.append(f"  CPU time stolen by the hypervisor during the level: {stolen * 1000 // TICKS} ms "
                 "(all CPUs; a virtual machine's CPUs stand still meanwhile)")
    return lines, f


def slow_per_second(f: Figures, seconds: float, over_ms: float = 5.0) -> list[int]:
    """Engine-added intervals over `over_ms`, counted by the second of the level they began in."""
    start = min((a for a, _ in f.spans), default=0)
    counts = [0] * (int(seconds) + 2)
    for a, b in f.spans:
        if b - a > over_ms * 1e6:
            counts[min(len(counts) - 1, int((a - start) / 1e9))] += 1
    return counts


def slow_transitions(f: Figures, pauses: list[list[float]], over_ms: float = 5.0) -> str:
    """How many engine-added intervals over `over_ms` overlapped one of percl's GC pauses
    (gcwatch events: [generation, start ns, wall ms, CPU ms]), and the pauses inside the level."""
    if not f.spans:
        return "  no transitions measured"
    first, last = min(a for a, _ in f.spans), max(b for _, b in f.spans)
    inside = [(int(g), int(t), t + w * 1e6, w) for g, t, w, _ in pauses if first <= t <= last]
    slow = [(a, b) for a, b in f.spans if b - a > over_ms * 1e6]
    hit = sum(1 for a, b in slow if any(t < b and end > a for _, t, end, _ in inside))
    by_gen = {g: [w for gg, _, _, w in inside if gg == g] for g in (0, 1, 2)}
    passes = ", ".join(f"gen{g} {len(ws)} (max {max(ws):.1f} ms)" if ws else f"gen{g} 0"
                       for g, ws in by_gen.items())
    return (f"  {len(slow)} transitions over {over_ms:g} ms, {hit} of them during a GC pause; "
            f"GC passes in the level: {passes}")


async def run(max_cps: float | None, search_calls: int, window: int, seconds: float,
              gc_watch: str | None, levels: tuple[float, ...], env: dict[str, str]) -> None:
    async with AppProcess() as app, PerclProcess(env, gcwatch=gc_watch) as percl, \
            Rig(percl, app.base) as rig:
        await rig.setup()
        await rig.warm_up()
        if max_cps is None:
            t0 = time.monotonic()
            max_cps = await find_max(rig, search_calls, window)
            print(f"maximum load: {max_cps:.0f} completed calls/s ({search_calls} calls, {window} in "
                  f"progress at a time, {time.monotonic() - t0:.1f} s)")
        else:
            print(f"maximum load: {max_cps:.0f} completed calls/s (given with --max-cps)")
        results = []
        for level in levels:
            print(f"at {level:.0%} of the maximum:")
            lines, f = await at_level(rig, max_cps * level, seconds)
            print("\n".join(lines))
            results.append((level, f))
    if gc_watch:
        data = json.loads(Path(gc_watch).read_text())
        print(f"garbage-collector pauses in percl (whole run), by generation: {gc_summary(data)}")
        for level, f in results:
            print(f"at {level:.0%}:{slow_transitions(f, data['pauses'])}")


def gc_summary(data: dict[str, Any]) -> str:
    return "; ".join(f"gen{g}: {v['n']} pauses, p99 {v['p99_ms']} ms, max {v['max_ms']} ms, "
                     f"total {v['total_ms']} ms" for g, v in sorted(data["summary"].items()))


def main() -> None:
    parser = argparse.ArgumentParser(description="engine-added latency (benchmark 3)")
    parser.add_argument("--quick", action="store_true", help="short run (< 30 s), for a smoke test")
    parser.add_argument("--max-cps", type=float, help="skip the search: the maximum calls/s to use")
    parser.add_argument("--seconds", type=float, default=15.0, help="duration of each load level")
    parser.add_argument("--search-calls", type=int, default=6000)
    parser.add_argument("--window", type=int, default=64)
    parser.add_argument("--gc-watch", metavar="FILE",
                        help="time percl's garbage-collector pauses (bench/gcwatch_percl.py)")
    parser.add_argument("--levels", type=float, nargs="+", default=list(LEVELS),
                        help="fractions of the maximum to run at (default 0.5 0.9)")
    parser.add_argument("--percl-env", action="append", default=[], metavar="NAME=VALUE",
                        help="a PERCL_* setting for the percl process, e.g. PERCL_DB=memory://")
    args = parser.parse_args()
    if bad := [item for item in args.percl_env if "=" not in item]:
        parser.error(f"--percl-env takes NAME=VALUE, not {bad[0]!r}")
    env = dict(item.split("=", 1) for item in args.percl_env)
    seconds = min(args.seconds, 4.0) if args.quick else args.seconds
    search = min(args.search_calls, 300) if args.quick else args.search_calls
    print(machine_banner("benchmark 3: engine-added latency" + (" (quick)" if args.quick else "")))
    import uvloop

    uvloop.run(run(args.max_cps, search, args.window, seconds, args.gc_watch, tuple(args.levels), env))


if __name__ == "__main__":
    main()
