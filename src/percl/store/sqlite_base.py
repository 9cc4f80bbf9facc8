"""SqliteStore's plumbing: an aiosqlite connection (and, for a file, a writer on the loop's thread),
serialised by one lock, spoken to directly.

Why statements skip SQLAlchemy's execution layer: through the async adapter one write costs four
trips to aiosqlite's worker thread (open cursor, execute, close cursor, commit) and a read ~450 µs
of CPU in SQLAlchemy's per-call machinery. The connection runs in autocommit mode, so each
statement is its own atomic transaction, and every statement is SQL that SQLAlchemy compiled from
Core (see sqlite_sql.py) sent straight to the aiosqlite connection: one trip each; rows come back
as tuples that the RecordMaps convert.

Writes to a file database skip even aiosqlite: `_write` runs on the event loop's thread through a
second, stdlib sqlite3 connection to the same file (`open_writer`). Why: the engine awaits each
call record before the webhook that reports it, and the trip to aiosqlite's worker thread (queue,
wake-up, the GIL handed over twice) plus the log lines queued on the same connection were most of
the engine-added latency's tail (docs/BENCHMARKS.md, fix 10). A write is one WAL append without
fsync (synchronous=NORMAL), ~0.1 ms (one write in `every` of checkpoint.py also syncs the log
header). The writer never waits in SQLite's busy handler (busy timeout 0): another process
holding the file's write lock (which the store does not support: sqlite.py) stood the server
still for up to 1 s per write. Now such a write fails at once with `StoreBusy` (a 503 for a REST
request; the engine retries its call records with backoff, engine/durable.py).
The writer holds the same lock as every aiosqlite read, so the two connections never meet
SQLite's busy handler, and it never checkpoints: a Checkpointer does that from its own thread,
mostly without the lock (checkpoint.py). Reads stay on aiosqlite (they may be long: lists, PQL).
An in-memory database has one connection only, so it keeps writing through aiosqlite.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeVar

import aiosqlite
from sqlalchemy import Select

from percl.errors import StoreBusy
from percl.store.base import StoreClosed
from percl.store.batch import Row
from percl.store.checkpoint import Checkpointer
from percl.store.schema import RecordMap
from percl.store.sqlite_sql import compile_select

R = TypeVar("R")

#: SQLite's primary result codes for "another connection holds the lock".
_BUSY_CODES = (5, 6)  # SQLITE_BUSY, SQLITE_LOCKED

#: Bytes the write-ahead log keeps on disk after it starts over (SQLite's default: no limit).
WAL_SIZE_LIMIT = 64 * 1024 * 1024


class SqliteBase:
    """The connections and the ways to use them; SqliteStore sets `_driver` (and, for a file, the
    writer) in open()."""

    def __init__(self) -> None:
        self._driver: aiosqlite.Connection | None = None
        self._writer: sqlite3.Connection | None = None
        self._checkpointer: Checkpointer | None = None
        self._lock = asyncio.Lock()

    async def open_writer(self, path: str) -> None:
        """Write the database file `path` from the loop's thread from now on (see the module doc).
        Call once the aiosqlite connection has created the tables and set WAL mode."""
        checkpointer = Checkpointer(path, self._lock)
        # Autocommit, and no busy wait on the loop's thread (see the module doc).
        writer = sqlite3.connect(path, isolation_level=None, timeout=0.0)
        try:
            writer.execute("PRAGMA synchronous=NORMAL")
            writer.execute("PRAGMA wal_autocheckpoint=0")
            # A log started over keeps its file size; cut it back to this many bytes then.
            writer.execute(f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT}")
            await checkpointer.open()
        except BaseException:
            writer.close()
            await checkpointer.close()
            raise
        self._writer, self._checkpointer = writer, checkpointer

    async def close_writer(self) -> None:
        """Stop writing from the loop's thread (idempotent); waits for a running checkpoint."""
        writer, checkpointer = self._writer, self._checkpointer
        self._writer = self._checkpointer = None
        if checkpointer is not None:
            await checkpointer.close()
        if writer is not None:
            writer.close()

    def _driver_conn(self) -> aiosqlite.Connection:
        """The driver connection. Raises StoreClosed before `open()` or after `close()`."""
        if self._driver is None:
            raise StoreClosed("the store is not open: call `await store.open()` first")
        return self._driver

    async def _write(self, sql: str, params: Mapping[str, Any] | Sequence[Any]) -> None:
        """Run one precompiled statement; it commits by itself (autocommit).

        Raises StoreClosed; StoreBusy at once when another process holds the database's write
        lock (nothing was written); other sqlite3 errors as they come (sqlite3.IntegrityError).
        """
        async with self._lock:
            driver = self._driver_conn()
            try:
                if self._writer is not None and self._checkpointer is not None:
                    self._writer.execute(sql, params)
                    self._checkpointer.committed()
                    return
                # The cursor is not closed: a finished DML statement holds nothing, and closing
                # it would cost another trip to the worker thread.
                await driver.execute(sql, params)
            except sqlite3.OperationalError as exc:
                if getattr(exc, "sqlite_errorcode", 0) & 0xFF in _BUSY_CODES:
                    raise StoreBusy() from exc
                raise

    async def _fetch(self, sql: str, params: Mapping[str, Any]) -> Iterable[Row]:
        """Run one SELECT on the driver connection (one trip) and return its rows as tuples."""
        async with self._lock:
            rows = await self._driver_conn().execute_fetchall(sql, params)
        # Plain tuples: the adapter sets no row factory (a sqlite3.Row would iterate the same).
        return rows  # type: ignore[return-value]

    async def _get(self, record_map: RecordMap[R], sql: str, params: Mapping[str, Any]) -> R | None:
        """The record of the first row of a precompiled `select_by` SELECT, or None."""
        for row in await self._fetch(sql, params):
            return record_map.from_values(row)
        return None

    async def _list(self, record_map: RecordMap[R], stmt: Select[Any]) -> list[R]:
        """The records of a SELECT of `record_map.columns` built per call (lists with filters)."""
        sql, params = compile_select(stmt)
        return [record_map.from_values(row) for row in await self._fetch(sql, params)]
