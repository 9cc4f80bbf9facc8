"""Issue 19's figures: percl as several workers on one PostgreSQL, in one run.

    .venv/bin/python bench/workers.py            # ~3,000 calls a stage (several minutes)
    .venv/bin/python bench/workers.py --quick    # a smoke run (a few minutes)
    .venv/bin/python bench/workers.py --only 1 --rows sqlite1,pg1,pg2,pg1n,pg2n  # scaling
    .venv/bin/python bench/workers.py --only 5 --rounds 2   # the bus: LISTEN/NOTIFY vs NATS

Stages (each against a fresh database; the app is bench/benchapp.py in a process of its own, the
flow is setup_rate.py's: POST /Calls, [Say, Redirect], [Say, Hangup], callStatus):

1. Completed call setups/s (closed loop, `--window` calls in progress) with SQLite and one
   worker, PostgreSQL and one worker, PostgreSQL and `percl serve --workers 2` (SO_REUSEPORT:
   the kernel spreads the generator's connections over the two), and the CPU seconds each
   process spent per call (percl's workers, PostgreSQL, the app, this generator): on a 2-core
   machine they all share the two cores, which is what caps the second worker.
2. REST latency while calls are held: `--held` calls wait in GetDigits, then GET /Calls/{id}
   (`--gets` of them, 8 at a time) is timed, with one worker and with two.
3. Failover under load: two `percl serve` processes on their own ports (PERCL_LEASE_SECONDS=
   `--lease`); worker B holds `--held` calls while worker A places calls in a closed loop; B is
   killed with SIGKILL; the time until the final callStatus webhook of every one of B's calls
   reached the app (A sends it once the call is closed in the database), and whether any of
   them is still open afterwards (read through A's REST API).
4. Four machines, by simulation: four `percl serve` processes on their own ports (as four
   machines behind a load balancer would be), calls spread over them in turn; with the CPU cost
   per call of each part, an estimate of what four real 2-core machines and one PostgreSQL
   would do.
5. The bus: two `percl serve` processes on their own ports; worker A holds `--forwards` calls
   in GetDigits, then each is ended through worker B (`POST /Calls/{id}` status=completed: B
   forwards it to A over the bus and answers with A's result), `--forward-window` at a time;
   then as many again are ended through A itself (not forwarded), so the bus's share shows.
   Per request: the latency (p50/p95/p99/max), requests/s, and the CPU seconds of PostgreSQL,
   of both percl processes and of nats-server until every call's callStatus reached the app;
   every call is read back through A (it must be completed). Once with the default bus
   (PostgreSQL LISTEN/NOTIFY) and once on NATS (`PERCL_BUS`, a nats-server on a free loopback
   port; skipped, and said so, when `nats-server` is not installed), `--rounds` times in turn.

PostgreSQL runs as bench/pgserver.py starts it (a temporary cluster, fsync off): the figures
are the CPU cost of the statements, not of a disk.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from statistics import median
from typing import Any

import aiohttp

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    TICKS,
    AppProcess,
    PerclProcess,
    Summary,
    cpu_seconds,
    machine_banner,
)
from bench.load import CALLEE, Rig, closed_loop
from bench.natsserver import NatsServer, find_nats_server
from bench.pgserver import PgServer

HEALTH = "/healthz"


def descendants(pid: int) -> list[int]:
    """`pid` and every process under it (Linux /proc)."""
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        try:  # (a process may end while it is read)
            tasks = list(Path(f"/proc/{p}/task").glob("*"))
        except OSError:
            continue
        for task in tasks:
            try:
                todo += [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                continue
    return found


def system_of(pids: Sequence[int]) -> float:
    """The kernel's share (system CPU seconds) of `pids`' CPU."""
    total = 0.0
    for p in pids:
        with suppress(OSError, ValueError, IndexError):
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[12]) / TICKS
    return total


def wakeups_of(pids: Sequence[int]) -> int:
    """Voluntary context switches of each process's main thread (its event loop): how often
    the loop went to sleep waiting for something, so how many loop turns it ran."""
    total = 0
    for p in pids:
        with suppress(OSError, ValueError):
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("voluntary_ctxt_switches:"):
                    total += int(line.split()[1])
    return total


def cpu_of(pids: Sequence[int]) -> float:
    return sum(cpu_by_pid(pids).values())


def cpu_by_pid(pids: Sequence[int]) -> dict[int, float]:
    found: dict[int, float] = {}
    for p in pids:
        with suppress(OSError, ValueError, IndexError):
            found[p] = cpu_seconds(p)
    return found


def run_time_by_pid(pids: Sequence[int]) -> dict[int, float]:
    """CPU seconds of each process to the nanosecond: the sum of its threads' run time
    (/proc/<pid>/task/*/schedstat). /proc/<pid>/stat counts in 10 ms ticks per process, too
    coarse for a few hundred requests spread over PostgreSQL's backends; but threads that
    ended are not counted here."""
    found: dict[int, float] = {}
    for p in pids:
        with suppress(OSError, ValueError, IndexError):
            total = 0
            for task in Path(f"/proc/{p}/task").iterdir():
                with suppress(OSError, ValueError, IndexError):
                    total += int((task / "schedstat").read_text().split()[0])
            found[p] = total / 1e9
    return found


class CpuMeter:
    """CPU seconds spent by a changing set of processes (PostgreSQL's backends come and go):
    the growth of those alive at both reads, plus all of those started in between."""

    def __init__(self, pids: Callable[[], Sequence[int]],
                 read: Callable[[Sequence[int]], dict[int, float]] = cpu_by_pid) -> None:
        self._pids = pids
        self._read = read
        self._start = read(pids())

    def spent(self) -> float:
        now = self._read(self._pids())
        return sum(v - self._start.get(p, 0.0) for p, v in now.items())


class Workers:
    """One or more `percl serve` processes on one database: `count` processes on their own
    ports, or one process with `--workers N` (`forked`)."""

    def __init__(self, db: str | None, *, count: int = 1, forked: int = 1,
                 env: dict[str, str] | None = None, cprofile: str | None = None) -> None:
        extra = {**({"PERCL_DB": db} if db else {}), **(env or {})}  # None: SQLite, a new file
        args = ("--workers", str(forked)) if forked > 1 else ()
        self.forked = forked
        profiles = [f"{cprofile}.{i}" if cprofile and count > 1 else cprofile
                    for i in range(count)]  # one file per process
        self.processes = [PerclProcess(extra, args=args, grace_s=60.0, cprofile=profiles[i])
                          for i in range(count)]

    async def __aenter__(self) -> Workers:
        for process in self.processes:  # one after the other: the first creates the schema
            await process.start(process.auth, wait_s=180.0)
            if self.forked > 1:
                await wait_for_workers(process, self.forked)
        return self

    async def __aexit__(self, *exc: object) -> None:
        for process in self.processes:
            process.stop(60.0)
            process._tmp.cleanup()

    @property
    def pids(self) -> list[int]:
        return [p for process in self.processes if process.proc and process.proc.poll() is None
                for p in descendants(process.pid)]


async def worker_of(base: str, auth: aiohttp.BasicAuth, then: tuple[str, str, Any] | None = None
                    ) -> str:
    """The worker id answering a new connection to `base` (and `then`: a request made on that
    same connection, so on that same worker)."""
    connector = aiohttp.TCPConnector(limit=1, force_close=False)
    async with aiohttp.ClientSession(auth=auth, connector=connector) as http:
        async with http.get(base + HEALTH) as r:
            worker = str((await r.json()).get("worker"))
        if then is not None:
            method, path, body = then
            async with http.request(method, base + path, json=body) as r:
                await r.read()
        return worker


async def wait_for_workers(process: PerclProcess, n: int, timeout_s: float = 180.0) -> None:
    seen: set[str] = set()
    deadline = time.monotonic() + timeout_s
    while len(seen) < n and time.monotonic() < deadline:
        with suppress(aiohttp.ClientError, OSError):
            seen.add(await worker_of(process.base, process.auth))
        await asyncio.sleep(0.05)
    if len(seen) < n:
        raise RuntimeError(f"only {len(seen)} of {n} workers answered")


class SpreadRig(Rig):
    """A Rig whose calls go to several percl processes in turn (machines behind a balancer),
    and whose phone program reaches every worker (a program is kept by the worker that got it)."""

    def __init__(self, workers: Workers, app_base: str) -> None:
        super().__init__(workers.processes[0], app_base)
        self.workers = workers
        self._turn = 0

    async def setup(self) -> None:
        await super().setup()
        program = ("PUT", f"/sim/v1/phones/{CALLEE}", {"answer": "human", "answerAfterMs": 0})
        for process in self.workers.processes:
            seen: set[str] = set()
            for _ in range(400):  # new connections until every forked worker has it
                seen.add(await worker_of(process.base, process.auth, program))
                if len(seen) == self.workers.forked:
                    break

    async def call(self, flow: str = "three") -> Any:
        processes = self.workers.processes
        self.percl = processes[self._turn % len(processes)]
        self._turn += 1
        return await super().call(flow)


@dataclass
class Rate:
    label: str
    calls: int
    seconds: float
    cpu: dict[str, float]  # CPU seconds per call, by part
    xacts: float = 0.0  # PostgreSQL transactions per call
    turns: float = 0.0  # percl's event-loop sleeps (voluntary context switches) per call

    @property
    def per_second(self) -> float:
        return self.calls / self.seconds

    def line(self, base: float | None = None) -> str:
        parts = "  ".join(f"{k} {v * 1000:.2f}" for k, v in self.cpu.items())
        ratio = f"  ({self.per_second / base:.2f}x)" if base else ""
        xacts = f", {self.xacts:.1f} PostgreSQL transactions" if self.xacts else ""
        return (f"  {self.label:<34} {self.per_second:7.1f} setups/s{ratio}   CPU ms per call: "
                f"{parts}\n  {'':<34} per call: {self.turns:.1f} percl loop sleeps{xacts}")


async def commits(db: str | None) -> int:
    """Transactions committed in database `db` so far (pg_stat_database; 0 for SQLite). Backends
    report them at most once a second: over a stage of tens of seconds, a close count."""
    if db is None:
        return 0
    import asyncpg  # (PostgreSQL stages only)

    conn = await asyncpg.connect(db.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        return int(await conn.fetchval(
            "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"))
    finally:
        await conn.close()


async def setup_rate(label: str, workers: Workers, app: AppProcess, calls: int, window: int,
                     pg_pids: Callable[[], Sequence[int]], db: str | None = None) -> Rate:
    async with SpreadRig(workers, app.base) as rig:
        await rig.setup()
        await rig.warm_up(100)
        percl0, pg, app0 = cpu_of(workers.pids), CpuMeter(pg_pids), cpu_seconds(app.pid)
        sys0, turns0 = system_of(workers.pids), wakeups_of(workers.pids)
        own0, wall0, xact0 = time.process_time(), time.monotonic(), await commits(db)
        await closed_loop(rig.call, calls, window, rig.finished)
        wall = time.monotonic() - wall0
        xacts = await commits(db) - xact0
        if rig.errors:
            print(f"    {len(rig.errors)} errors, first: {rig.errors[0]}")
        cpu = {"percl": cpu_of(workers.pids) - percl0,
               "(of it kernel)": system_of(workers.pids) - sys0, "postgres": pg.spent(),
               "app": cpu_seconds(app.pid) - app0, "generator": time.process_time() - own0}
        turns = wakeups_of(workers.pids) - turns0
        return Rate(label, calls, wall, {k: v / calls for k, v in cpu.items()}, xacts / calls,
                    turns / calls)


async def rest_while_held(workers: Workers, app: AppProcess, held: int, gets: int) -> Summary:
    async with SpreadRig(workers, app.base) as rig:
        await rig.setup()
        placed = [p for p in await asyncio.gather(*(rig.call("hold") for _ in range(held))) if p]
        await asyncio.sleep(2.0)  # every held leg answered and waiting in GetDigits
        ids = [p.call_id for p in placed]
        times: list[float] = []
        gate = asyncio.Semaphore(8)

        async def one(i: int) -> None:
            async with gate:
                rig.percl = workers.processes[i % len(workers.processes)]
                ms, status = await rig.timed_get(f"/Calls/{ids[i % len(ids)]}")
                if status == 200:
                    times.append(ms)

        await asyncio.gather(*(one(i) for i in range(gets)))
        return Summary.of(times)


async def failover(db: str, app: AppProcess, held: int, lease_s: float, window: int) -> list[str]:
    env = {"PERCL_LEASE_SECONDS": f"{lease_s:g}"}
    out: list[str] = []
    async with Workers(db, count=2, env=env) as workers, SpreadRig(workers, app.base) as rig:
        survivor, victim = workers.processes
        await rig.setup()
        rig.percl = victim
        doomed = [p.call_id for p in await asyncio.gather(
            *(Rig.call(rig, "hold") for _ in range(held))) if p]
        await asyncio.sleep(2.0)
        rig.percl = survivor
        await rig.reset()
        load = asyncio.create_task(closed_loop(lambda: Rig.call(rig, "three"), 10**9, window,
                                               rig.finished))
        await asyncio.sleep(3.0)
        before = await rig.finished()
        victim_pids = descendants(victim.pid)
        killed = time.monotonic()
        for p in victim_pids:
            os.kill(p, signal.SIGKILL)
        # When each call's final callStatus reached the app (bench/benchapp.py stamps arrivals
        # with the system-wide monotonic clock): a dead worker's call is closed in the
        # database before its webhook leaves. Polling REST call by call instead measured the
        # polling (a GET takes ~100 ms on the loaded survivor).
        doomed_set = set(doomed)
        closed: dict[str, float] = {}
        while len(closed) < len(doomed_set) and time.monotonic() - killed < 10 * lease_s + 30:
            for call_id, kind, arrived, _ in await rig.records():
                if kind == "callStatus" and call_id in doomed_set and call_id not in closed:
                    closed[call_id] = arrived / 1e9 - killed
            await asyncio.sleep(0.1)
        after = await rig.finished()
        span = time.monotonic() - killed
        load.cancel()
        closed_at = list(closed.values())
        gate = asyncio.Semaphore(8)

        async def still_open(call_id: str) -> bool:
            async with gate, rig.rest.get(f"{survivor.base}/apiserver/Accounts/"
                                          f"{survivor.auth.login}/Calls/{call_id}") as r:
                data = await r.json()
            return data.get("status") in ("inProgress", "ringing", "queued")

        open_ = [c for c, live in zip(doomed, await asyncio.gather(
            *(still_open(c) for c in doomed)), strict=True) if live]
        webhooks = len(closed)
        out.append(f"  lease {lease_s:g} s; {held} calls held on the killed worker, a closed loop "
                   f"of {window} calls on the other")
        if closed_at:
            out.append(f"  first closed {min(closed_at):.2f} s after the kill, last "
                       f"{max(closed_at):.2f} s ({len(closed_at)} of {held}); bound: "
                       f"{lease_s * 4 / 3:.2f} s (a lease and a heartbeat)")
        out.append(f"  still open afterwards: {len(open_)}; callStatus webhooks received for "
                   f"them: {webhooks}")
        out.append(f"  the other worker completed {(after - before) / span:.1f} setups/s meanwhile")
    return out


def estimate(one: Rate, two: Rate, four: Rate) -> list[str]:
    """Four 2-core machines, each running two workers, one PostgreSQL: each machine does what two
    workers did here when nothing else shares its cores (percl's CPU per call), PostgreSQL's CPU
    per call limits the whole."""
    percl_ms = two.cpu["percl"] * 1000
    pg_ms = four.cpu["postgres"] * 1000
    per_machine = 2 * 1000 / percl_ms  # two cores of percl workers
    pg_cap = 2 * 1000 / pg_ms if pg_ms > 0 else float("inf")  # a 2-core database machine
    return [
        f"  percl CPU per call (2 workers): {percl_ms:.2f} ms -> one 2-core machine of workers "
        f"alone: ~{per_machine:.0f} setups/s",
        f"  PostgreSQL CPU per call (4 processes): {pg_ms:.2f} ms -> a 2-core database: "
        f"~{pg_cap:.0f} setups/s",
        f"  four machines: ~{min(4 * per_machine, pg_cap):.0f} setups/s "
        f"(min of {4 * per_machine:.0f} for the workers and {pg_cap:.0f} for the database)",
    ]


async def run(args: argparse.Namespace) -> None:
    print(machine_banner("bench/workers.py: percl workers on PostgreSQL (issue 19)"))
    with PgServer() as server:
        await run_on(server, args)


async def run_on(server: PgServer, args: argparse.Namespace) -> None:
    pg_pids = lambda: descendants(server.pid or 0)  # noqa: E731 (its backends come and go)
    window = args.window
    async with AppProcess() as app:
        rates: dict[str, Rate] = {}
        if "1" in args.only:
            await stage_rates(server, app, args, rates, pg_pids)
        if "2" in args.only:
            print(f"\n2. REST GET /Calls/{{id}} while {args.held} calls are held")
            for label, forked in (("1 worker", 1), ("--workers 2", 2)):
                async with Workers(server.new_database(), forked=forked) as w:
                    print((await rest_while_held(w, app, args.held, args.gets)).line(label))
        if "3" in args.only:
            print("\n3. Failover after kill -9 under load")
            print("\n".join(await failover(server.new_database(), app, args.failover_held,
                                           args.lease, max(10, window // 2))))
        if args.cprofile:
            print(f"\nProfile: PostgreSQL, 1 worker, {args.calls} calls ({args.cprofile})")
            for db, name in ((server.new_database(), "pg"), (None, "sqlite")):
                out = f"{args.cprofile}.{name}"
                async with Workers(db, cprofile=out) as w:
                    print((await setup_rate(name, w, app, args.calls, window, pg_pids)).line())
        if "4" in args.only and {"pg1", "pg2", "pg4"} <= rates.keys():
            print("\n4. Four machines, estimated from the CPU each part spent per call")
            print("\n".join(estimate(rates["pg1"], rates["pg2"], rates["pg4"])))
        if "5" in args.only:
            await stage_bus(server, app, args, pg_pids)


async def stage_rates(server: PgServer, app: AppProcess, args: argparse.Namespace,
                      rates: dict[str, Rate], pg_pids: Callable[[], Sequence[int]]) -> None:
    calls, window = args.calls, args.window
    print(f"\n1. Completed call setups/s (closed loop, window {window}, {calls} calls)")
    if "sqlite1" in args.rows.split(","):
        async with Workers(None) as w:
            rates["sqlite1"] = await setup_rate("SQLite, 1 worker", w, app, calls, window,
                                                lambda: [])
        print(rates["sqlite1"].line())
    no_limit = {"PERCL_MAX_LIVE_CALLS": "0"}  # no live-call lease: what its lock costs
    stages: tuple[tuple[str, str, dict[str, int], dict[str, str]], ...] = (
        ("pg1", "PostgreSQL, 1 worker", {}, {}),
        ("pg2", "PostgreSQL, --workers 2", {"forked": 2}, {}),
        ("pg1n", "PostgreSQL, 1 worker, no limit", {}, no_limit),
        ("pg2n", "PostgreSQL, --workers 2, no limit", {"forked": 2}, no_limit),
        ("pg4", "PostgreSQL, 4 processes, own ports", {"count": 4}, {}))
    for key, label, kwargs, env in stages:
        if key not in args.rows.split(","):
            continue
        db = server.new_database()
        async with Workers(db, env=env, count=kwargs.get("count", 1),
                           forked=kwargs.get("forked", 1)) as w:
            rates[key] = await setup_rate(label, w, app, calls, window, pg_pids, db)
        one = "pg1n" if key == "pg2n" else "pg1"
        base = rates[one].per_second if one in rates and key not in ("pg1", "pg1n") else None
        print(rates[key].line(base))
    print(summary(rates))


def summary(rates: dict[str, Rate]) -> str:
    """One line: setups/s per row run and the 2-worker ratio (issue 19's target: >= 1.7)."""
    parts = [f"{key} {rate.per_second:.1f}" for key, rate in rates.items()]
    pairs = [(a, b) for a, b in (("pg1", "pg2"), ("pg1n", "pg2n")) if {a, b} <= rates.keys()]
    for a, b in pairs:
        parts.append(f"{b}/{a} = {rates[b].per_second / rates[a].per_second:.2f}x")
    line = "summary: setups/s " + ", ".join(parts) + (" (target 1.7x)" if pairs else "")
    for a, b in pairs:
        line += f"\n{b}/{a} " + ceiling(rates[a], rates[b])
    return line


def ceiling(one: Rate, two: Rate, cores: int = 2) -> str:
    """What this machine allows at best, from the CPU each part spent per call: one worker
    is one core at most, and every process (workers, PostgreSQL, app, generator) shares the
    `cores`; so 2 workers / 1 <= 2 p / (p + o) (p: percl's CPU per call, o: the others')."""
    def others(rate: Rate) -> float:
        return sum(v for k, v in rate.cpu.items() if k not in ("percl", "(of it kernel)"))

    p1, p2 = one.cpu["percl"], two.cpu["percl"]
    best1 = min(1 / p1, cores / (p1 + others(one)))
    best2 = min(2 / p2, cores / (p2 + others(two)))
    return (f"ceiling on {cores} idle cores from these CPU costs: 1 worker {best1:.0f} setups/s, "
            f"2 workers {best2:.0f} setups/s, ratio {best2 / best1:.2f}x")


# ------------------------------------------------------------------------------------ stage 5

BUSES = ("LISTEN/NOTIFY", "NATS")
WARM_UP = 20  # calls held and ended each way before measuring (B's first asks, A's statements)


@dataclass
class Ended:
    """One way of ending `requests` held calls: their latencies, how long the requests took
    (first sent to last answered), the CPU seconds per request of each part (until every
    call's callStatus reached the app: the ending's writes count), and how many calls read back
    as completed through their owner."""

    label: str
    requests: int
    times: Summary
    seconds: float
    cpu: dict[str, float]
    completed: int
    errors: list[str]
    load: float

    def lines(self) -> list[str]:
        parts = "  ".join(f"{k} {v * 1000:.3f}" for k, v in self.cpu.items())
        out = [self.times.line(self.label),
               f"  {'':<4}{self.times.n / self.seconds:7.1f} requests/s   CPU ms per request: "
               f"{parts}   completed {self.completed}/{self.requests}   load {self.load:.2f}"]
        if self.errors:
            out.append(f"  {'':<4}{len(self.errors)} errors, first: {self.errors[0]}")
        return out


def bus_share(forwarded: Ended, owner: Ended) -> str:
    """What forwarding over the bus added to each request (the forwarded row less the owner's)."""
    cpu = "  ".join(f"{k} {(v - owner.cpu.get(k, 0.0)) * 1000:+.3f}"
                    for k, v in forwarded.cpu.items())
    return (f"  {'':<4}the bus's share: p50 {forwarded.times.p50 - owner.times.p50:+.2f} ms, "
            f"p99 {forwarded.times.p99 - owner.times.p99:+.2f} ms; CPU ms per request: {cpu}")


async def hold_on(rig: Rig, owner: PerclProcess, count: int) -> list[str]:
    """`count` calls placed on `owner`, each answered and waiting in GetDigits."""
    await rig.reset()
    rig.percl = owner
    placed = [p.call_id for p in await asyncio.gather(
        *(Rig.call(rig, "hold") for _ in range(count))) if p]
    if rig.errors:
        print(f"    {len(rig.errors)} of {count} calls not placed, first: {rig.errors[0]}")
    await until_all(rig, "outDialApiConnect", set(placed))
    await asyncio.sleep(0.5)  # each connect webhook's GetDigits started
    return placed


async def until_all(rig: Rig, kind: str, ids: set[str], timeout_s: float = 120.0) -> set[str]:
    """The calls of `ids` whose `kind` webhook reached the app, once all did (or at timeout)."""
    deadline = time.monotonic() + timeout_s
    while True:
        seen = {c for c, k, _, _ in await rig.records() if k == kind and c in ids}
        if len(seen) == len(ids) or time.monotonic() > deadline:
            return seen
        await asyncio.sleep(0.05)


async def end_through(rig: Rig, via: PerclProcess, ids: Sequence[str], window: int
                      ) -> tuple[list[float], list[str], float]:
    """POST /Calls/{id} status=completed through `via`, `window` at a time: (ms of each 202,
    errors, seconds from the first request to the last answer)."""
    url = f"{via.base}/apiserver/Accounts/{via.auth.login}/Calls/"
    times: list[float] = []
    errors: list[str] = []
    gate = asyncio.Semaphore(window)

    async def one(call_id: str) -> None:
        async with gate:
            sent = time.perf_counter()
            try:
                async with rig.rest.post(url + call_id, json={"status": "completed"}) as r:
                    body = await r.read()
            except (aiohttp.ClientError, OSError) as exc:
                errors.append(f"{type(exc).__name__}: {exc}")
                return
            if r.status == 202:
                times.append((time.perf_counter() - sent) * 1000)
            else:
                errors.append(f"POST /Calls/{call_id} -> {r.status} {body[:200]!r}")

    start = time.monotonic()
    await asyncio.gather(*(one(c) for c in ids))
    return times, errors, time.monotonic() - start


async def completed_through(rig: Rig, owner: PerclProcess, ids: Sequence[str]) -> int:
    """How many of `ids` read back as completed through `owner` (GET /Calls/{id})."""
    gate = asyncio.Semaphore(8)
    api = f"{owner.base}/apiserver/Accounts/{owner.auth.login}/Calls/"

    async def status(call_id: str) -> str:
        async with gate, rig.rest.get(api + call_id) as r:
            return str((await r.json()).get("status"))

    return sum(s == "completed" for s in await asyncio.gather(*(status(c) for c in ids)))


async def end_held(rig: Rig, owner: PerclProcess, via: PerclProcess, count: int,
                   window: int, meters: Callable[[], dict[str, CpuMeter]], label: str) -> Ended:
    ids = await hold_on(rig, owner, count)
    load = os.getloadavg()[0]
    started = meters()
    times, errors, seconds = await end_through(rig, via, ids, window)
    await until_all(rig, "callStatus", set(ids))
    cpu = {name: meter.spent() / max(1, len(ids)) for name, meter in started.items()}
    completed = await completed_through(rig, owner, ids)
    return Ended(label, len(ids), Summary.of(times), seconds, cpu, completed, errors, load)


async def forwarding(db: str, app: AppProcess, bus: str, nats: NatsServer | None,
                     args: argparse.Namespace, pg_pids: Callable[[], Sequence[int]]
                     ) -> list[Ended]:
    """Both ways on one pair of workers: through B (forwarded to A), then through A."""
    env = {"PERCL_BUS": nats.url} if nats is not None else {}
    async with Workers(db, count=2, env=env) as workers, SpreadRig(workers, app.base) as rig:
        owner, other = workers.processes
        await rig.setup()

        def meters() -> dict[str, CpuMeter]:
            found = {"postgres": CpuMeter(pg_pids, run_time_by_pid),
                     "percl": CpuMeter(lambda: workers.pids, run_time_by_pid)}
            if nats is not None:
                found["nats-server"] = CpuMeter(lambda: [nats.pid], run_time_by_pid)
            return found

        for via in (other, owner):
            await end_held(rig, owner, via, WARM_UP, args.forward_window, meters, "warm-up")
        return [await end_held(rig, owner, via, args.forwards, args.forward_window, meters,
                               f"{bus}, {way}")
                for via, way in ((other, "forwarded (through B)"), (owner, "owner (through A)"))]


async def stage_bus(server: PgServer, app: AppProcess, args: argparse.Namespace,
                    pg_pids: Callable[[], Sequence[int]]) -> None:
    print(f"\n5. The bus: {args.forwards} held calls ended through the other worker (forwarded) "
          f"and as many through their owner, {args.forward_window} at a time")
    binary = find_nats_server()
    rows: list[Ended] = []
    for _ in range(args.rounds):
        for bus in BUSES:
            if bus == "NATS" and binary is None:
                print("  NATS: skipped, nats-server is not installed (apt-get install nats-server)")
                continue
            with NatsServer(binary) if bus == "NATS" and binary else contextlib.nullcontext(
                    ) as nats:
                forwarded, owner = await forwarding(server.new_database(), app, bus, nats, args,
                                                    pg_pids)
            print("\n".join([*forwarded.lines(), *owner.lines(), bus_share(forwarded, owner)]))
            rows += [forwarded, owner]
    if args.rounds > 1:
        print("\n".join(medians(rows)))


def medians(rows: Sequence[Ended]) -> list[str]:
    """Each way's median over the rounds (the machine is shared: one round proves little)."""
    out = ["  medians over the rounds:"]
    for label in dict.fromkeys(r.label for r in rows):
        mine = [r for r in rows if r.label == label]
        cpu = "  ".join(f"{k} {median([r.cpu.get(k, 0.0) for r in mine]) * 1000:.3f}"
                        for k in mine[0].cpu)
        out.append(f"  {label:<36} ({len(mine)}) p50 {median([r.times.p50 for r in mine]):6.2f}  "
                   f"p99 {median([r.times.p99 for r in mine]):6.2f} ms  "
                   f"{median([r.times.n / r.seconds for r in mine]):7.1f} requests/s  "
                   f"CPU ms per request: {cpu}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--window", type=int, default=100)
    parser.add_argument("--held", type=int, default=500)
    parser.add_argument("--gets", type=int, default=2000)
    parser.add_argument("--failover-held", type=int, default=200)
    parser.add_argument("--lease", type=float, default=3.0)
    parser.add_argument("--forwards", type=int, default=500,
                        help="stage 5: calls held, then ended, per bus and per way")
    parser.add_argument("--forward-window", type=int, default=8,
                        help="stage 5: requests in flight at once (K)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="stage 5: LISTEN/NOTIFY then NATS, this many times in turn")
    parser.add_argument("--quick", action="store_true", help="a smoke run")
    parser.add_argument("--only", default="12345", help="the stages to run, e.g. 3 (4 needs 1)")
    parser.add_argument("--rows", default="sqlite1,pg1,pg2,pg4",
                        help="stage 1's rows to run (comma-separated; pg1n, pg2n: without the "
                        "live-call limit; stage 4 needs pg1,pg2,pg4)")
    parser.add_argument("--cprofile", help="also profile one worker on PostgreSQL and on SQLite "
                        "(FILE.pg, FILE.sqlite: bench/profile_summary.py --pstats)")
    args = parser.parse_args()
    if args.quick:
        args.calls, args.held, args.gets, args.failover_held = 400, 100, 300, 50
        args.forwards = 100
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
