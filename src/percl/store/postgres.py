"""SqlStore on PostgreSQL: the generic strategy (sql/alchemy.py) on asyncpg, selected by
``PERCL_DB=postgresql://user:password@host:port/database``.

What PostgreSQL adds to the generic strategy is one connect-time setting: a write waits for a row
another transaction holds for at most `LOCK_TIMEOUT_MS`, then fails (SQLSTATE 55P03) and the
executor raises `StoreBusy` with nothing written, as SQLite's writer does at once (REST answers
503, the engine retries its call records). Without it a write would wait for the other transaction
without bound, and the engine with it.

And one difference in what text can hold: PostgreSQL's text cannot hold NUL (U+0000), SQLite's
can. A NUL in any value sent (an alias from a REST body, a log line quoting an app's reply) would
fail the statement, and with a log batch every line in it; it is sent as U+FFFD instead (a lossy
but harmless stand-in: the row is kept, the character is visibly replaced).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from contextlib import suppress
from typing import Any

import asyncpg
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from percl.store.pg_prepared import PreparedCache, changed, translated, without_nul
from percl.store.sql.alchemy import AlchemyExecutor
from percl.store.sql.executor import Params, Row, Statement
from percl.store.sql.limits import SqlLimits
from percl.store.sql.statements import Statements
from percl.store.sql.store import SqlStore

#: How long a write waits for a lock another transaction holds (ms) before it is StoreBusy.
LOCK_TIMEOUT_MS = 2000
#: How long queued log lines wait for more before a write (as on an SQLite file): each write is
#: a transaction PostgreSQL commits, whatever its size.
LOG_LINGER_S = 0.01
#: Connections of the prepared-statement pool (pg_prepared.py), beside SQLAlchemy's own pool.
POOL_SIZE = 10


def async_url(db: str) -> str:
    """PERCL_DB's PostgreSQL URL (postgresql://, postgres:// or postgresql+asyncpg://) with
    SQLAlchemy's asyncpg driver named in its scheme."""
    _scheme, _sep, rest = db.partition("://")
    return f"postgresql+asyncpg://{rest}"


def _without_nul(
    _conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, executemany: bool
) -> tuple[str, Any]:
    """The statement's parameters with every NUL in a string as U+FFFD (see the module doc)."""
    rows = parameters if executemany else [parameters]
    if not any(_has_nul(row) for row in rows):
        return statement, parameters
    cleaned = [_clean(row) for row in rows]
    return statement, cleaned if executemany else cleaned[0]


def _values(row: Sequence[Any] | Mapping[str, Any]) -> Any:
    return row.values() if isinstance(row, Mapping) else row


def _has_nul(row: Sequence[Any] | Mapping[str, Any]) -> bool:
    return any(isinstance(v, str) and "\x00" in v for v in _values(row))


def _clean(row: Sequence[Any] | Mapping[str, Any]) -> Any:
    def fix(v: Any) -> Any:
        return v.replace("\x00", "\ufffd") if isinstance(v, str) else v

    if isinstance(row, Mapping):
        return {k: fix(v) for k, v in row.items()}
    return tuple(fix(v) for v in row)


async def _keep(_conn: asyncpg.Connection) -> None:
    """A pooled connection's reset: nothing to send (pg_prepared.py's module doc)."""


class PostgresExecutor(AlchemyExecutor):
    """The generic executor with PostgreSQL's connect-time settings, and its reusable statements
    run as asyncpg prepared statements on a pool of its own (store/pg_prepared.py)."""

    linger_s = LOG_LINGER_S

    def __init__(self, url: str, *, lock_timeout_ms: int = LOCK_TIMEOUT_MS) -> None:
        # SQLAlchemy's pool now runs only statements built per call (lists, scans): its
        # default 5 + 10 overflow is cut to 5 + 5, so that a worker holds at most 20
        # connections with the prepared-statement pool (four workers: 80 of PostgreSQL's 100).
        super().__init__(url, pool_size=5, max_overflow=5)
        self.lock_timeout_ms = lock_timeout_ms
        self._pool: asyncpg.Pool | None = None
        self._prepared: PreparedCache | None = None

    def _settings(self) -> dict[str, str]:
        return {"lock_timeout": str(self.lock_timeout_ms), "application_name": "percl"}

    def create_engine(self) -> AsyncEngine:
        engine = create_async_engine(
            self.url, connect_args={"server_settings": self._settings()}, **self._options
        )
        event.listen(engine.sync_engine, "before_cursor_execute", _without_nul, retval=True)
        return engine

    async def open(self) -> None:
        if self._pool is not None:
            return
        await super().open()
        engine = self._require()
        _args, connect = engine.dialect.create_connect_args(engine.url)
        try:
            self._pool = await asyncpg.create_pool(
                **connect, server_settings=self._settings(), reset=_keep,
                min_size=1, max_size=POOL_SIZE)
        except BaseException:
            await super().close()
            raise
        self._prepared = PreparedCache(engine.dialect)

    async def close(self) -> None:
        pool, self._pool, self._prepared = self._pool, None, None
        if pool is not None:
            await pool.close()
        await super().close()

    def _fast(self, stmt: Statement, params: Params | None) -> tuple[asyncpg.Pool, str,
                                                                     Sequence[Any]] | None:
        """The pool, SQL and values to run `stmt` with, or None: SQLAlchemy runs it."""
        if params is None or self._prepared is None or self._pool is None:
            return None
        prepared = self._prepared.get(stmt)
        if prepared is None:
            return None
        return self._pool, prepared.sql, without_nul(prepared.values(params))

    async def write(self, stmt: Statement, params: Params | None = None) -> int:
        fast = self._fast(stmt, params)
        if fast is None:
            return await super().write(stmt, params)
        pool, sql, values = fast
        try:
            async with pool.acquire() as conn:
                return changed(await conn.execute(sql, *values))
        except asyncpg.PostgresError as exc:
            raise (translated(exc) or exc) from exc

    async def write_many(self, stmt: Statement, rows: Sequence[Params]) -> int:
        """One round trip: asyncpg sends every row's Bind/Execute and one Sync, which makes the
        batch one implicit transaction (all or nothing). PostgreSQL reports no count for such a
        batch: the number returned is the number of rows sent."""
        if not rows or self._prepared is None or self._pool is None:
            return await super().write_many(stmt, rows)
        prepared = self._prepared.get(stmt)
        if prepared is None:
            return await super().write_many(stmt, rows)
        seq = [without_nul(prepared.values(row)) for row in rows]
        try:
            async with self._pool.acquire() as conn:
                await conn.executemany(prepared.sql, seq)
        except asyncpg.PostgresError as exc:
            raise (translated(exc) or exc) from exc
        return len(seq)

    async def write_locked(self, lock: int, stmt: Statement, params: Params) -> int:
        """The advisory lock and the statement in one message when every value is a plain
        literal (`_inline`): PostgreSQL runs a message of several statements as one implicit
        transaction, each statement with its own snapshot (the statement's after the lock), so
        the lock is held only while the server runs them, not across round trips and the
        holder's event loop (new legs of one account queue on it: docs/BENCHMARKS.md). Else
        BEGIN and the lock in one message (the lock is a number), the statement, COMMIT: three
        round trips, the snapshot taken after the lock as before (alchemy.py's
        `write_locked`)."""
        fast = self._fast(stmt, params)
        if fast is None:
            return await super().write_locked(lock, stmt, params)
        pool, sql, values = fast
        inline = _inline(sql, values)
        try:
            async with pool.acquire() as conn:
                if inline is not None:
                    return changed(await conn.execute(
                        f"SELECT pg_advisory_xact_lock({int(lock)}); {inline}"))
                try:
                    await conn.execute(f"BEGIN; SELECT pg_advisory_xact_lock({int(lock)})")
                    count = changed(await conn.execute(sql, *values))
                    await conn.execute("COMMIT")
                except Exception:
                    # (A cancelled statement is rolled back by the pool's release instead: the
                    # connection takes no other command until the cancellation is done.)
                    if not conn.is_closed() and conn.is_in_transaction():
                        with suppress(Exception):  # a broken connection: the pool drops it
                            await conn.execute("ROLLBACK")
                    raise
                return count
        except asyncpg.PostgresError as exc:
            raise (translated(exc) or exc) from exc

    async def fetch(self, stmt: Statement, params: Params | None = None) -> Sequence[Row]:
        fast = self._fast(stmt, params)
        if fast is None:
            return await super().fetch(stmt, params)
        pool, sql, values = fast
        try:
            async with pool.acquire() as conn:
                rows: Sequence[Row] = await conn.fetch(sql, *values)
                return rows
        except asyncpg.PostgresError as exc:
            raise (translated(exc) or exc) from exc


class PostgresStore(SqlStore):
    """`percl.engine.ports.Store` on PostgreSQL. Call `open()` once, before use; `close()` at exit."""

    executor: PostgresExecutor

    def __init__(self, db: str, *, lock_timeout_ms: int = LOCK_TIMEOUT_MS) -> None:
        """`db`: ``postgresql://...`` (PERCL_DB) or an SQLAlchemy ``postgresql+asyncpg://`` URL.
        Nothing is opened until `open()`."""
        self.url = async_url(db)
        super().__init__(PostgresExecutor(self.url, lock_timeout_ms=lock_timeout_ms))
        #: Limits several workers share (engine/ports/limits.py); used by the Cluster only.
        self.limits = SqlLimits(self.executor, Statements(self.executor.dialect_name))


#: What `_inline` writes into SQL as a quoted literal: ids, keys, worker names (never a quote,
#: a backslash or anything else a literal could be broken out of with).
_PLAIN = re.compile(r"[A-Za-z0-9_./:+@-]*")
_PLACEHOLDER = re.compile(r"\$(\d+)")


def _inline(sql: str, values: Sequence[Any]) -> str | None:
    """`sql` with its $n placeholders replaced by `values` as SQL literals, or None when a value
    is not plain (a string outside _PLAIN, a non-finite float, another type): then it is sent
    with its parameters instead."""
    literals: list[str] = []
    for value in values:
        if value is None:
            literals.append("NULL")
        elif isinstance(value, bool):
            literals.append("TRUE" if value else "FALSE")
        elif isinstance(value, int):
            literals.append(str(value))
        elif isinstance(value, float) and math.isfinite(value):
            literals.append(repr(value))
        elif isinstance(value, str) and _PLAIN.fullmatch(value):
            literals.append(f"'{value}'")
        else:
            return None
    try:
        return _PLACEHOLDER.sub(lambda m: literals[int(m.group(1)) - 1], sql)
    except IndexError:
        return None
