"""SqlStore's SQLite strategy: SQLite's tuning, and everything else that only SQLite needs.

Connections. One aiosqlite connection, opened through SQLAlchemy (which creates the schema on it),
serialised by one asyncio.Lock: SQLite allows one writer at a time, and the engine writes a call
record on every state change, so checking connections out of a pool or letting several contend
for the write lock costs more than it buys. WAL + synchronous=NORMAL makes each commit cheap while
keeping the file consistent after a crash.

Why statements skip SQLAlchemy's execution layer: through the async adapter one write costs four
trips to aiosqlite's worker thread (open cursor, execute, close cursor, commit) and a read ~450 µs
of CPU in SQLAlchemy's per-call machinery. The connection runs in autocommit mode, so each
statement is its own atomic transaction; every statement is Core, compiled here for SQLite (once,
for a reusable statement) and sent straight to the driver: one trip each; rows come back as
tuples.

Writes to a file database skip even aiosqlite: they run on the event loop's thread through a
second, stdlib sqlite3 connection to the same file. Why: the engine awaits each call record before
the webhook that reports it, and the trip to aiosqlite's worker thread (queue, wake-up, the GIL
handed over twice) plus the log lines queued on the same connection were most of the engine-added
latency's tail (docs/BENCHMARKS.md, fix 10). A write is one WAL append without fsync, ~0.1 ms. The
writer never waits in SQLite's busy handler (busy timeout 0): another process holding the file's
write lock (which the store does not support: sql/store.py) stood the server still for up to 1 s
per write. Now such a write fails at once with `StoreBusy` (a 503 for a REST request; the engine
retries its call records with backoff, engine/durable.py). The writer holds the same lock as every
aiosqlite read, so the two connections never meet SQLite's busy handler, and it never
checkpoints: a Checkpointer does that from its own thread, mostly without the lock
(checkpoint.py). Reads stay on aiosqlite (they may be long: lists, PQL). An in-memory database has
one connection only, so it keeps writing through aiosqlite.

The file itself is made private and checked before SQLite opens it (sqlite_file.py).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Sequence
from operator import itemgetter
from pathlib import Path
from types import TracebackType
from typing import Any

import aiosqlite
from sqlalchemy import event, make_url
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool

from percl.errors import StoreBusy
from percl.store.base import StoreClosed
from percl.store.checkpoint import Checkpointer
from percl.store.sql.executor import Duplicate, Params, Row, Statement
from percl.store.sql.schema_setup import ensure_schema
from percl.store.sqlite_file import prepare, unusable

_SQLITE = sqlite.dialect(paramstyle="named")
#: Reusable statements are compiled with `?` parameters: binding by position is cheaper.
_SQLITE_POSITIONAL = sqlite.dialect(paramstyle="qmark")
#: SQLite's primary result codes for "another connection holds the lock".
_BUSY_CODES = (5, 6)  # SQLITE_BUSY, SQLITE_LOCKED
#: Extended result codes of a broken UNIQUE or PRIMARY KEY constraint.
_DUPLICATE_CODES = (2067, 1555)  # SQLITE_CONSTRAINT_UNIQUE, SQLITE_CONSTRAINT_PRIMARYKEY
#: Bytes the write-ahead log keeps on disk after it starts over (SQLite's default: no limit).
WAL_SIZE_LIMIT = 64 * 1024 * 1024
#: How long queued log lines wait for more before a write (file databases; each write is a commit
#: on the loop's thread, ~0.05-0.1 ms whatever its size). At 180 calls/s it took percl's CPU per
#: call from ~4.2-4.6 to ~4.0 ms and its engine-added p99 from 2.6-5.2 to 1.6-1.9 ms.
LOG_LINGER_S = 0.01
#: Reusable statements whose SQL text is kept (they are built once each: a few dozen).
_COMPILED_MAX = 512


def _on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Pragmas are per connection, so they are set on every new DBAPI connection.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # answers "memory" for :memory:, which is fine
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=OFF")
    cursor.close()


def is_memory(url: str) -> bool:
    bare = url.rstrip("/").endswith(":")  # "sqlite+aiosqlite://" is an in-memory database too
    return bare or ":memory:" in url or "mode=memory" in url


#: Picks a reusable statement's parameters, in `?` order, out of a mapping.
_Getter = Callable[[Params], Sequence[Any]]


def _getter(names: tuple[str, ...]) -> _Getter:
    if len(names) == 1:
        name = names[0]
        return lambda params: (params[name],)
    picked: _Getter = itemgetter(*names) if names else (lambda _params: ())
    return picked


class _Translated:
    """sqlite3's errors as the executor contract's (executor.py): a broken unique constraint is
    `Duplicate`, a database locked by another connection `StoreBusy`. Used as `with _TRANSLATED:`
    around every write (a class: a generator-based context manager costs five calls a write)."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc is None:
            return
        code = getattr(exc, "sqlite_errorcode", 0)
        if isinstance(exc, sqlite3.IntegrityError) and code in _DUPLICATE_CODES:
            raise Duplicate(str(exc)) from exc
        if isinstance(exc, sqlite3.OperationalError) and code & 0xFF in _BUSY_CODES:
            raise StoreBusy() from exc


_TRANSLATED = _Translated()


class SqliteExecutor:
    """`percl.store.sql.executor.Executor` for SQLite (see the module doc)."""

    dialect_name = "sqlite"

    def __init__(self, url: str) -> None:
        """`url`: an SQLAlchemy URL, ``sqlite+aiosqlite:///var/percl.db`` or
        ``sqlite+aiosqlite:///:memory:``. Nothing is opened until `open()`."""
        self.url = url
        # The database file written on the loop's thread; None: in memory.
        self.file = None if is_memory(url) else make_url(url).database or None
        self.linger_s = LOG_LINGER_S if self.file else 0.0
        #: True when the last `open()` found no database file and made a new one (sqlite_file.py).
        self.created = False
        self.lock = asyncio.Lock()
        self.writer: sqlite3.Connection | None = None
        self.checkpointer: Checkpointer | None = None
        self.conn: AsyncConnection | None = None  # SQLAlchemy's, on the driver connection
        self._engine: AsyncEngine | None = None
        self._driver: aiosqlite.Connection | None = None
        # id(statement) -> (the statement, its SQL, its parameters in `?` order from a mapping)
        self._compiled: dict[int, tuple[Statement, str, _Getter]] = {}

    # ------------------------------------------------------------------ lifecycle

    async def open(self) -> None:
        """Connect, set the pragmas and create missing tables. Idempotent. A missing database
        file is created private (0600, its missing directories 0700) and sets `created`; an
        existing one is checked first (sqlite_file.py).

        Raises `percl.errors.DatabaseUnusable` (one line naming PERCL_DB) when the file cannot be
        used: not a database, damaged, empty, unreadable, or written by a newer schema version.
        """
        if self.conn is not None:
            return
        if self.file is None:
            await self._connect()
            return
        self.created = await asyncio.to_thread(prepare, Path(self.file))
        try:
            await self._connect()
        except (sqlite3.DatabaseError, DBAPIError) as exc:
            cause = exc.orig if isinstance(exc, DBAPIError) else exc  # without SQLAlchemy's SQL
            raise unusable(self.file, f"cannot open the database ({cause})") from exc

    async def _connect(self) -> None:
        # A single shared connection for :memory:, or every connection would see its own database.
        pool: dict[str, Any] = {"poolclass": StaticPool} if self.file is None else {}
        engine = create_async_engine(self.url, **pool)
        event.listen(engine.sync_engine, "connect", _on_connect)
        conn = await engine.connect()
        try:
            await ensure_schema(conn, self.file or self.url)
            await conn.commit()
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            driver = (await conn.get_raw_connection()).driver_connection
            if self.file is not None:
                await self._open_writer(self.file)
        except BaseException:
            await self._close_writer()
            await conn.close()
            await engine.dispose()
            raise
        assert isinstance(driver, aiosqlite.Connection)
        self._engine, self.conn, self._driver = engine, conn, driver

    async def _open_writer(self, path: str) -> None:
        checkpointer = Checkpointer(path, self.lock)
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
        self.writer, self.checkpointer = writer, checkpointer

    async def _close_writer(self) -> None:
        writer, checkpointer = self.writer, self.checkpointer
        self.writer = self.checkpointer = None
        if checkpointer is not None:
            await checkpointer.close()
        if writer is not None:
            writer.close()

    async def close(self) -> None:
        """Stop the writer (waiting for a running checkpoint), then close the connection and the
        engine. Idempotent."""
        # Outside the lock: a running checkpoint's second pass takes it (checkpoint.py).
        await self._close_writer()
        async with self.lock:
            conn, engine = self.conn, self._engine
            self.conn = self._engine = self._driver = None
            if conn is not None:
                await conn.close()
            if engine is not None:
                await engine.dispose()

    def check_open(self) -> None:
        if self._driver is None:  # as driver() does, without the call (every store write)
            self.driver()

    def driver(self) -> aiosqlite.Connection:
        """The aiosqlite connection. Raises StoreClosed before `open()` or after `close()`."""
        if self._driver is None:
            raise StoreClosed("the store is not open: call `await store.open()` first")
        return self._driver

    # ------------------------------------------------------------------ statements

    def _sql(self, stmt: Statement, params: Params | None) -> tuple[str, Params | Sequence[Any]]:
        """The SQL text of `stmt` and its parameters (see executor.py on reusable statements)."""
        if params is None:
            done = stmt.compile(dialect=_SQLITE, compile_kwargs={"render_postcompile": True})
            return done.string, dict(done.params)
        sql, values = self._reusable(stmt)
        return sql, values(params)

    def _reusable(self, stmt: Statement) -> tuple[str, _Getter]:
        """A reusable statement's SQL with `?` parameters (binding by position is cheaper than
        by name), compiled once, and what picks its parameters out of a mapping."""
        kept = self._compiled.get(id(stmt))
        if kept is None or kept[0] is not stmt:
            if len(self._compiled) >= _COMPILED_MAX:
                self._compiled.clear()
            done = stmt.compile(dialect=_SQLITE_POSITIONAL)
            kept = (stmt, done.string, _getter(tuple(done.positiontup or ())))
            self._compiled[id(stmt)] = kept
        return kept[1], kept[2]

    async def write(self, stmt: Statement, params: Params | None = None) -> int:
        return await self._write_one(*self._sql(stmt, params))

    async def _write_one(self, sql: str, values: Params | Sequence[Any]) -> int:
        async with self.lock:
            driver = self.driver()
            with _TRANSLATED:
                if self.writer is not None and self.checkpointer is not None:
                    count = self.writer.execute(sql, values).rowcount
                    self.checkpointer.committed()
                    return count
                # The cursor is not closed: a finished DML statement holds nothing, and closing
                # it would cost another trip to the worker thread.
                return (await driver.execute(sql, values)).rowcount

    async def write_many(self, stmt: Statement, rows: Sequence[Params]) -> int:
        """One transaction (BEGIN IMMEDIATE: the write lock at once, or StoreBusy with nothing
        written); a single row is a plain `write`."""
        sql, values = self._reusable(stmt)
        if len(rows) == 1:
            return await self._write_one(sql, values(rows[0]))
        seq = [values(row) for row in rows]
        async with self.lock:
            driver = self.driver()
            with _TRANSLATED:
                if self.writer is not None and self.checkpointer is not None:
                    return self._write_many_here(self.writer, sql, seq)
                await driver.execute("BEGIN IMMEDIATE")
                try:
                    count = (await driver.executemany(sql, seq)).rowcount
                    await driver.execute("COMMIT")
                except BaseException:
                    await driver.rollback()
                    raise
                return count

    def _write_many_here(self, writer: sqlite3.Connection, sql: str, seq: list[Any]) -> int:
        writer.execute("BEGIN IMMEDIATE")
        try:
            count = writer.executemany(sql, seq).rowcount
            writer.execute("COMMIT")
        except BaseException:
            if writer.in_transaction:
                writer.execute("ROLLBACK")
            raise
        if self.checkpointer is not None:
            self.checkpointer.committed()
        return count

    async def fetch(self, stmt: Statement, params: Params | None = None) -> Sequence[Row]:
        sql, values = self._sql(stmt, params)
        async with self.lock:
            rows = await self.driver().execute_fetchall(sql, values)
        # Plain tuples: the adapter sets no row factory.
        return rows  # type: ignore[return-value]
