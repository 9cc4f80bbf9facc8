"""Micro-benchmark behind the profile: what one store write costs, and what batching would save.

percl writes ~12 rows per three-webhook call (4 call upserts, 8 log lines; see BENCHMARKS.md), each
one an `await` that hops to aiosqlite's worker thread and back. This measures, on a SQLite file
with percl's own schema and pragmas (WAL, synchronous=NORMAL), the cost of one webhook-sized log
line written:

  a. through SqliteStore.add_log, one at a time;
  b. through SqliteStore.add_log, 64 writers at once (as under load);
  c. with sqlite3 directly on the calling thread, one autocommit INSERT each (no thread hop);
  d. with sqlite3 directly, 64 rows per transaction (what a write-behind log queue would do);

and, for the reads every REST request and call start makes (account for auth, application):

  e. SqliteStore.get_account, one at a time (a SELECT through SQLAlchemy and aiosqlite);
  f. SqliteStore.put_call, 64 writers at once (each awaited until committed);
  g. SqliteStore.get_call, one at a time (a primary-key read that no cache serves).

a and b end with `flush_logs()`, so the write-behind writes are inside the timed work.

Wall time and CPU time (all threads of this process) per operation are printed for each.

    .venv/bin/python bench/store_writes.py [--writes 5000]
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert
from sqlalchemy.dialects import sqlite

from bench.common import machine_banner
from percl.domain.enums import CallDirection, LogLevel
from percl.domain.records import Account, Call, LogEntry
from percl.store.schema import LOG_MAP, logs
from percl.store.sqlite import SqliteStore

BATCH = 64


def entry(i: int) -> LogEntry:
    """A log line shaped like the dispatcher's (message, request/response bodies, headers)."""
    body = {"accountId": "AC" + "0" * 40, "callId": f"CA{i:040x}", "callStatus": "inProgress",
            "direction": "outboundAPI", "from": "+12015550100", "to": "+15550200000",
            "requestType": "outDialApiConnect", "parentCallId": None, "queueId": None}
    return LogEntry(
        timestamp=1_700_000_000_000_000 + i, level=LogLevel.INFO, account_id="AC" + "0" * 40,
        message="Webhook POST http://127.0.0.1:9000/connect/three (outDialApiConnect) -> 200 in 2 ms",
        request_id="RQ" + "1" * 40, call_id=f"CA{i:040x}",
        metadata={"requestType": "outDialApiConnect", "url": "http://127.0.0.1:9000/connect/three",
                  "requestBody": body, "requestHeaders": {"FreeClimb-Signature": "t=1,v1=" + "a" * 64},
                  "responseStatus": 200, "responseBody": '[{"Say":{"text":"Hello"}}]',
                  "elapsedMs": 2.0, "error": None, "cause": None, "fallback": False})


def _line(label: str, n: int, wall: float, cpu: float) -> str:
    return (f"  {label:<58} {wall / n * 1e6:7.1f} us wall  {cpu / n * 1e6:7.1f} us CPU each"
            f"  ({n / wall:8.0f}/s)")


async def _timed(label: str, n: int, work: Callable[[], Awaitable[None]]) -> str:
    wall0, cpu0 = time.perf_counter(), time.process_time()
    await work()
    return _line(label, n, time.perf_counter() - wall0, time.process_time() - cpu0)


async def through_store(folder: Path, n: int) -> list[str]:
    store = SqliteStore.for_path(folder / "store.db")
    await store.open()
    try:
        entries = [entry(i) for i in range(2 * n)]

        async def one_by_one() -> None:
            for e in entries[:n]:
                await store.add_log(e)
            await store.flush_logs()  # write-behind: the timed work includes the writes

        async def concurrent() -> None:
            async def writer(k: int) -> None:
                for e in entries[n + k::BATCH]:
                    await store.add_log(e)
            await asyncio.gather(*(writer(k) for k in range(BATCH)))
            await store.flush_logs()

        calls = [Call(f"CA{i:040x}", "AC" + "0" * 40, "+15550000001", "+15550000002",
                      CallDirection.OUTBOUND_API) for i in range(n)]

        async def put_calls() -> None:
            async def putter(k: int) -> None:
                for c in calls[k::BATCH]:
                    await store.put_call(c)
            await asyncio.gather(*(putter(k) for k in range(BATCH)))

        account = Account(account_id="AC" + "0" * 40, api_key="k" * 24, signing_secret="s" * 24,
                          alias="bench", date_created=0.0, date_updated=0.0)
        await store.put_account(account)

        async def reads() -> None:
            for _ in range(n):
                await store.get_account(account.account_id)

        async def call_reads() -> None:
            for c in calls:
                await store.get_call(c.call_id)

        return [await _timed("a. SqliteStore.add_log, one at a time", n, one_by_one),
                await _timed(f"b. SqliteStore.add_log, {BATCH} writers at once", n, concurrent),
                await _timed("e. SqliteStore.get_account, one at a time (a read)", n, reads),
                await _timed(f"f. SqliteStore.put_call, {BATCH} writers at once", n, put_calls),
                await _timed("g. SqliteStore.get_call, one at a time (never cached)", n, call_reads)]
    finally:
        await store.close()


def direct(folder: Path, n: int) -> list[str]:
    """The same rows with sqlite3 on this thread: autocommit each, then 64 per transaction.
    The file must already hold percl's schema (see `run`)."""
    con = sqlite3.connect(folder / "direct.db", isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    columns = [f.column for f in LOG_MAP.fields]
    sql = str(insert(logs).compile(dialect=sqlite.dialect(paramstyle="named"), column_keys=columns))
    rows = [LOG_MAP.to_row(entry(i)) for i in range(2 * n)]
    out = []
    wall0, cpu0 = time.perf_counter(), time.process_time()
    for row in rows[:n]:
        con.execute(sql, row)
    out.append(_line("c. sqlite3 on the loop thread, autocommit each", n,
                     time.perf_counter() - wall0, time.process_time() - cpu0))
    wall0, cpu0 = time.perf_counter(), time.process_time()
    for start in range(n, 2 * n, BATCH):
        con.execute("BEGIN")
        con.executemany(sql, rows[start:start + BATCH])
        con.execute("COMMIT")
    out.append(_line(f"d. sqlite3 on the loop thread, {BATCH} rows per transaction", n,
                     time.perf_counter() - wall0, time.process_time() - cpu0))
    con.close()
    return out


async def run(n: int) -> None:
    with tempfile.TemporaryDirectory(prefix="percl-store-bench-") as tmp:
        lines = await through_store(Path(tmp), n)
        schema_only = SqliteStore.for_path(Path(tmp) / "direct.db")  # percl's tables and indexes
        await schema_only.open()
        await schema_only.close()
        lines += direct(Path(tmp), n)
        lines.sort(key=lambda line: line.split(".")[0])
    print(f"one webhook log line ({len(LOG_MAP.to_row(entry(0))['metadata'])} bytes of metadata), "
          f"{n} writes each:")
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description="store write cost (supports benchmark 1's profile)")
    parser.add_argument("--writes", type=int, default=5000)
    parser.add_argument("--quick", action="store_true", help="1,000 writes")
    args = parser.parse_args()
    print(machine_banner("store writes micro-benchmark"))
    import uvloop

    uvloop.run(run(1000 if args.quick else args.writes))


if __name__ == "__main__":
    main()
