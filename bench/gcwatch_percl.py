"""Run `percl ...` and record every garbage-collector pause, by generation.

    python bench/gcwatch_percl.py OUT.json serve --port 8600

Why: the tail of the engine-added latency can be the event loop standing still while CPython's
cyclic collector walks the heap (a generation-2 pass over a large heap takes tens of ms). The
pauses are timed with `gc.callbacks` and written to OUT.json when percl exits (SIGINT):
{"summary": {generation: {n, total_ms, p99_ms, max_ms}}, "pauses": [[generation, start ns
(CLOCK_MONOTONIC, the clock the benchmarks' other timestamps use), wall ms, CPU ms], ...]}, so a
benchmark can tell which slow transitions overlapped a pause.
"""

from __future__ import annotations

import gc
import json
import sys
import time
from pathlib import Path
from typing import Any


class PauseLog:
    """gc.callbacks hook: the duration of each collection, per generation."""

    def __init__(self) -> None:
        self.pauses: dict[int, list[float]] = {0: [], 1: [], 2: []}
        self.events: list[tuple[int, int, float, float]] = []
        self._started = 0
        self._cpu_started = 0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.monotonic_ns()
            self._cpu_started = time.thread_time_ns()
            return
        wall = (time.monotonic_ns() - self._started) / 1e6
        cpu = (time.thread_time_ns() - self._cpu_started) / 1e6
        generation = int(info["generation"])
        self.pauses[generation].append(wall)
        self.events.append((generation, self._started, round(wall, 3), round(cpu, 3)))

    def summary(self) -> dict[str, dict[str, float]]:
        out: dict[str, dict[str, float]] = {}
        for generation, values in self.pauses.items():
            s = sorted(values)
            out[str(generation)] = {
                "n": len(s), "total_ms": round(sum(s), 1),
                "p99_ms": round(s[min(len(s) - 1, len(s) * 99 // 100)], 2) if s else 0.0,
                "max_ms": round(s[-1], 2) if s else 0.0,
            }
        return out


def main() -> None:
    out, args = Path(sys.argv[1]), sys.argv[2:]
    log = PauseLog()
    gc.callbacks.append(log)
    from percl.cli.main import cli

    try:
        cli.main(args=args, prog_name="percl", standalone_mode=False)
    except KeyboardInterrupt:
        pass
    finally:
        out.write_text(json.dumps({"summary": log.summary(), "pauses": log.events}))


if __name__ == "__main__":
    main()
