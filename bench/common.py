"""What every benchmark shares: the machine banner, percentiles, and the processes under test.

`PerclProcess` starts percl the way a user would (`percl serve`, a SQLite file in a temporary
folder, settings from the environment) and `AppProcess` starts the benchmark app (benchapp.py)
under uvicorn in a process of its own. Both are async context managers that wait until the server
answers and stop it (SIGINT, then SIGKILL after a grace period) on the way out.

Nothing here measures on its own: the scripts decide what to time and say what each number means.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
ACCOUNT_ID = "AC" + "be" * 20
API_KEY = "bench-api-key-0123456789"
SIGNING_SECRET = "sigsec_" + "5e" * 20


# ---------------------------------------------------------------------------------------- banner

def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def _mem_total_gib() -> float:
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024 / 1024
    return 0.0


def git_commit() -> str:
    """The short commit of the working tree (with `+dirty` when it has changes), or `unknown`."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, check=True,
                              capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               check=True, capture_output=True, text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


def machine_banner(title: str) -> str:
    """A few lines naming the benchmark, the machine it runs on and how busy that machine was."""
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    cores = os.cpu_count() or 0
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return "\n".join([
        f"== {title}",
        f"machine: {_cpu_model()}, {cores} cores, {_mem_total_gib():.1f} GiB RAM",
        f"python {platform.python_version()} ({platform.python_implementation()}), "
        f"{platform.system()} {platform.release()}",
        f"percl commit {git_commit()}, {now}, load average before the run "
        f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}",
    ])


# ----------------------------------------------------------------------------------- statistics

def percentile(sorted_values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile of already sorted values (p in 0..100). Raises ValueError if empty."""
    if not sorted_values:
        raise ValueError("percentile of no values")
    rank = max(1, -(-len(sorted_values) * p // 100))  # ceil(n * p / 100), at least 1
    return sorted_values[int(rank) - 1]


@dataclass(frozen=True, slots=True)
class Summary:
    """p50/p95/p99/max of one series of latencies, in milliseconds."""

    n: int
    p50: float
    p95: float
    p99: float
    max: float

    @classmethod
    def of(cls, values_ms: Sequence[float]) -> Summary:
        s = sorted(values_ms)
        if not s:
            return cls(0, float("nan"), float("nan"), float("nan"), float("nan"))
        return cls(len(s), percentile(s, 50), percentile(s, 95), percentile(s, 99), s[-1])

    def line(self, label: str) -> str:
        return (f"  {label:<58} n={self.n:<6} p50 {self.p50:7.2f}  p95 {self.p95:7.2f}  "
                f"p99 {self.p99:7.2f}  max {self.max:8.2f} ms")


# ------------------------------------------------------------------------------------ processes

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_bytes(pid: int) -> int:
    """Resident memory of process `pid` (VmRSS from /proc). Raises OSError if it is gone."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise OSError(f"no VmRSS for pid {pid}")


#: Clock ticks per second of /proc's CPU times.
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time used so far by process `pid` (from /proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def steal_ticks() -> int:
    """Clock ticks the hypervisor took from this machine's CPUs so far (/proc/stat `steal`)."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()
    return int(fields[8]) if len(fields) > 8 else 0


def context_switches(pid: int) -> tuple[int, int]:
    """(voluntary, nonvoluntary) context switches of process `pid` so far, all its threads."""
    counts = {"voluntary_ctxt_switches": 0, "nonvoluntary_ctxt_switches": 0}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            status = (task / "status").read_text()
        except (FileNotFoundError, ProcessLookupError):  # a thread that ended meanwhile
            continue
        for line in status.splitlines():
            name, _, value = line.partition(":")
            if name in counts:
                counts[name] += int(value)
    return counts["voluntary_ctxt_switches"], counts["nonvoluntary_ctxt_switches"]


@dataclass
class _Server:
    """A child process serving HTTP on 127.0.0.1:port, started by `start` and probed at `probe`."""

    argv: list[str]
    port: int
    probe: str
    env: dict[str, str] = field(default_factory=dict)
    log_path: Path | None = None
    proc: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    async def start(self, auth: aiohttp.BasicAuth | None = None, wait_s: float = 30.0) -> None:
        """Start the process and wait until `probe` answers 200. Raises RuntimeError otherwise."""
        log = open(self.log_path, "wb") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        self.proc = subprocess.Popen(self.argv, cwd=ROOT, env={**os.environ, **self.env},
                                     stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + wait_s
        async with aiohttp.ClientSession(auth=auth) as http:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"{self.argv[0]} exited with {self.proc.returncode}; "
                                       f"see {self.log_path}")
                with contextlib.suppress(aiohttp.ClientError, OSError):
                    async with http.get(self.base + self.probe) as r:
                        if r.status == 200:
                            return
                await asyncio.sleep(0.1)
        raise RuntimeError(f"{self.argv} did not answer {self.probe} within {wait_s} s")

    def stop(self, grace_s: float = 20.0) -> float:
        """SIGINT, then SIGKILL after `grace_s`; returns how long the process took to exit."""
        if self.proc is None or self.proc.poll() is not None:
            return 0.0
        started = time.monotonic()
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(grace_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        return time.monotonic() - started


def start_py_spy(pid: int, out: str, gil: bool) -> subprocess.Popen[bytes]:
    """py-spy sampling percl until `stop_py_spy`; `.txt` gives collapsed stacks (for
    bench/profile_summary.py), anything else a flame graph. `gil`: only samples that hold the GIL
    (Python code running), which leaves out threads waiting for locks, the GIL or I/O."""
    py_spy = VENV_BIN / "py-spy"
    if not py_spy.exists():
        raise SystemExit("--profile needs py-spy: .venv/bin/pip install -e '.[bench]'")
    argv = [str(py_spy), "record", "--pid", str(pid), "--output", out, "--rate", "250",
            "--nonblocking", "--threads"]
    if out.endswith(".txt"):
        argv += ["--format", "raw"]
    if gil:
        argv.append("--gil")
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)


def stop_py_spy(profiler: subprocess.Popen[bytes]) -> None:
    profiler.send_signal(signal.SIGINT)  # py-spy writes its output when interrupted
    profiler.wait(60)


class AppProcess(_Server):
    """benchapp.py under uvicorn in its own process."""

    def __init__(self) -> None:
        port = free_port()
        super().__init__([sys.executable, str(ROOT / "bench" / "benchapp.py"), "--port", str(port)],
                         port, "/count")

    async def __aenter__(self) -> AppProcess:
        await self.start()
        return self

    async def __aexit__(self, et: type[BaseException] | None, e: BaseException | None,
                        tb: TracebackType | None) -> None:
        self.stop(5.0)


class PerclProcess(_Server):
    """`percl serve` with a fresh SQLite file, media time scale 0 and no REST rate limit.

    `extra_env` adds or overrides PERCL_* variables. The stop grace period is generous because
    a graceful shutdown ends every live call (and sends its webhooks). `cprofile`: run percl under
    cProfile on its loop thread's CPU clock and write the stats to that file when it stops;
    `gcwatch`: time every garbage-collector pause and write a summary (JSON) there.
    """

    def __init__(self, extra_env: Mapping[str, str] | None = None, grace_s: float = 30.0,
                 cprofile: str | None = None, gcwatch: str | None = None,
                 prefix: Sequence[str] = (), percl_bin: Path | None = None,
                 args: Sequence[str] = ()) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="percl-bench-")
        folder = Path(self._tmp.name)
        port = free_port()
        env = {
            "PERCL_DB": str(folder / "percl.db"),
            "PERCL_MEDIA_TIME_SCALE": "0",
            "PERCL_API_RATE": "0",  # the REST limiter (100/s by default) would be the benchmark
            "PERCL_ACCOUNT_ID": ACCOUNT_ID,
            "PERCL_API_KEY": API_KEY,
            "PERCL_SIGNING_SECRET": SIGNING_SECRET,
            **(extra_env or {}),
        }
        # --quiet: errors only. A console line per webhook costs ~25% of percl's CPU per call
        # (docs/BENCHMARKS.md); the figures measure the platform, as before the lines existed.
        argv = [str(percl_bin or VENV_BIN / "percl"), "serve", "--port", str(port), "--quiet",
                *args]  # e.g. --workers 2 (bench/workers.py)
        if cprofile:  # the same command under cProfile (bench/cprofile_percl.py)
            argv = [sys.executable, str(ROOT / "bench" / "cprofile_percl.py"), cprofile, *argv[1:]]
        elif gcwatch:  # the same command, timing every GC pause (bench/gcwatch_percl.py)
            argv = [sys.executable, str(ROOT / "bench" / "gcwatch_percl.py"), gcwatch, *argv[1:]]
        if percl_bin is not None and b"--quiet" not in subprocess.run(
                [str(percl_bin), "serve", "--help"], capture_output=True).stdout:
            argv.remove("--quiet")  # an older tree (before console lines existed)
        argv = [*prefix, *argv]  # e.g. valgrind (bench/instructions.py)
        super().__init__(argv, port, f"/apiserver/Accounts/{ACCOUNT_ID}", env, folder / "percl.log")
        db = env["PERCL_DB"]  # a file path, or None for memory:// and SQLite's in-memory databases
        in_memory = "://" in db or db == ":memory:" or "mode=memory" in db
        self.db_path = None if in_memory else (ROOT / db).resolve()
        self.grace_s = grace_s
        self.stop_seconds = 0.0

    @property
    def auth(self) -> aiohttp.BasicAuth:
        return aiohttp.BasicAuth(ACCOUNT_ID, API_KEY)

    async def __aenter__(self) -> PerclProcess:
        await self.start(self.auth)
        return self

    async def __aexit__(self, et: type[BaseException] | None, e: BaseException | None,
                        tb: TracebackType | None) -> None:
        self.stop_seconds = self.stop(self.grace_s)
        self._tmp.cleanup()


def best_seconds(work: Callable[[], object], loops: int, repeats: int) -> float:
    """The fastest of `repeats` runs of `loops` calls, CPU seconds per call."""
    best = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        for _ in range(loops):
            work()
        best = min(best, (time.process_time() - start) / loops)
    return best
