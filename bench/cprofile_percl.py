"""Run `percl ...` under cProfile with a CPU-time clock for the event loop's thread.

    python bench/cprofile_percl.py OUT.pstats serve --port 8600

Why thread_time and not cProfile's default wall clock: on a shared machine a sampled or
wall-clock profile charges a function for the time its thread waited to be scheduled; the
thread's own CPU clock only advances while it runs. (aiosqlite's worker thread is not profiled:
cProfile follows the thread it was enabled on.) The stats are written when percl exits (SIGINT).
Read them with bench/profile_summary.py --pstats OUT.pstats.
"""

from __future__ import annotations

import cProfile
import sys
import time


def main() -> None:
    out, args = sys.argv[1], sys.argv[2:]
    from percl.cli.main import cli

    profiler = cProfile.Profile(time.thread_time)
    profiler.enable()
    try:
        cli.main(args=args, prog_name="percl", standalone_mode=False)
    except KeyboardInterrupt:
        pass
    finally:
        profiler.disable()
        profiler.dump_stats(out)


if __name__ == "__main__":
    main()
