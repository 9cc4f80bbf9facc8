"""Instructions per call setup: the setup-rate load, counted by valgrind instead of timed.

CPU seconds per call swing by +-15% with whatever else the machine runs (docs/BENCHMARKS.md); the
instructions percl executes for the same calls do not. This runs the setup-rate flow (POST /Calls,
[Say, Redirect], [Say, Hangup], three webhooks a call) with percl under `valgrind --tool=callgrind`,
counting only while the measured calls run (after the warm-up), and prints instructions per call.
Give another tree's `percl` to compare two versions in one sitting:

    .venv/bin/python bench/instructions.py                         # this tree, 400 calls
    .venv/bin/python bench/instructions.py --percl /tmp/old/.venv/bin/percl --calls 400

valgrind slows percl ~50x, so keep --calls small; the figure is per call and stable to ~1% run to
run. It needs valgrind (Debian package `valgrind`).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import AppProcess, PerclProcess, machine_banner
from bench.load import Rig, closed_loop

START_WAIT_S = 300.0  # percl's imports under valgrind take a minute or two


def callgrind_control(*args: str) -> str:
    done = subprocess.run(["callgrind_control", *args], capture_output=True, text=True, check=True)
    return done.stdout


def measured_instructions(out_dir: Path) -> int:
    """The `totals:` of the dump taken right after the measured calls (the process's first dump,
    `callgrind.out.<pid>.1`; the one written at exit counts the shutdown)."""
    for dump in out_dir.glob("callgrind.out.*.1"):
        for line in reversed(dump.read_text(errors="replace").splitlines()):
            if line.startswith("totals:"):
                return int(line.split()[1])
    raise RuntimeError(f"no callgrind dump with totals in {out_dir}")


async def run(calls: int, window: int, percl_bin: Path | None) -> None:
    with tempfile.TemporaryDirectory(prefix="percl-callgrind-") as tmp:
        out_dir = Path(tmp)
        prefix = ["valgrind", "--tool=callgrind", "--instr-atstart=no", "--separate-threads=no",
                  f"--callgrind-out-file={out_dir}/callgrind.out.%p"]
        percl = PerclProcess(prefix=prefix, percl_bin=percl_bin, grace_s=120.0)
        async with AppProcess() as app:
            await percl.start(percl.auth, wait_s=START_WAIT_S)
            try:
                async with Rig(percl, app.base) as rig:
                    await rig.setup()
                    await rig.warm_up()
                    pid = str(percl.pid)
                    callgrind_control("--instr=on", pid)
                    callgrind_control("--zero", pid)
                    await closed_loop(rig.call, calls, window, rig.finished)
                    callgrind_control("--dump=measured", pid)
                    callgrind_control("--instr=off", pid)
                    completed = sum(1 for p in rig.placed if p.status == 202)
            finally:
                percl.stop(percl.grace_s)
        # The final dump at exit counts nothing more: instrumentation was off by then.
        instructions = measured_instructions(out_dir)
    print(f"percl: {percl_bin or 'this tree'}")
    print(f"  calls completed        {completed} of {calls} ({window} in progress at a time)")
    print(f"  instructions           {instructions:,}")
    if completed:
        print(f"  instructions per call  {instructions / completed / 1e6:.2f} M")


def main() -> None:
    parser = argparse.ArgumentParser(description="percl instructions per call setup (callgrind)")
    parser.add_argument("--calls", type=int, default=400)
    parser.add_argument("--window", type=int, default=16, help="calls in progress at a time")
    parser.add_argument("--percl", type=Path, help="the percl executable to measure (default: .venv's)")
    args = parser.parse_args()
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        sys.exit("bench/instructions.py needs valgrind: apt-get install valgrind")
    print(machine_banner("instructions per call setup (callgrind)"))
    asyncio.run(run(args.calls, args.window, args.percl))


if __name__ == "__main__":
    main()
