"""SqlStore's generic strategy: statements run through SQLAlchemy's async engine, unchanged.

For any database with an async SQLAlchemy driver (PostgreSQL plugs asyncpg in here: a URL
``postgresql+asyncpg://...``, store/postgres.py). It holds no database-specific code: the engine
pools connections, each `write` is one transaction on a connection of its own, and SQLAlchemy
compiles the statements for the engine's dialect (and caches them). A single statement (a `write`,
a `fetch`) runs in autocommit mode: it is atomic on its own, and BEGIN and COMMIT would triple its
round trips (PostgreSQL on loopback: ~0.44 ms per write or read before, ~0.24 ms after). The
SQLite strategy (store/sqlite_executor.py) is the default for SQLite; this one also runs on
SQLite, which is how the tests keep it honest.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import func, make_url, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from percl.errors import DatabaseUnusable, StoreBusy
from percl.store.base import StoreClosed
from percl.store.sql.executor import Duplicate, Params, Row, Statement
from percl.store.sql.schema_setup import ensure_schema

#: SQLSTATE of a broken UNIQUE or PRIMARY KEY constraint (unique_violation). Every other integrity
#: error (not null, foreign key, check) is a bug, not a duplicate, and is raised as it is.
_UNIQUE_VIOLATION = "23505"
#: SQLSTATEs of "someone else holds what this write needs": serialization_failure, deadlock_detected,
#: lock_not_available (lock_timeout ran out). The transaction was rolled back: nothing written.
_BUSY_STATES = frozenset({"40001", "40P01", "55P03"})
#: The same two outcomes for a driver that reports SQLite's result-code names instead.
_UNIQUE_NAMES = frozenset({"SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY"})
_BUSY_NAMES = ("SQLITE_BUSY", "SQLITE_LOCKED")


@contextmanager
def _translated() -> Iterator[None]:
    """The driver's errors as the executor contract's (executor.py): a unique violation is
    `Duplicate`, a lock or serialization failure `StoreBusy`; anything else as it is. Read by
    code (SQLSTATE, or the result-code name where the driver has no SQLSTATE), never by text."""
    try:
        yield
    except DBAPIError as exc:
        state = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
        name = str(getattr(exc.orig, "sqlite_errorname", ""))
        if state == _UNIQUE_VIOLATION or name in _UNIQUE_NAMES:
            raise Duplicate(str(exc.orig)) from exc
        if state in _BUSY_STATES or name.startswith(_BUSY_NAMES):
            raise StoreBusy() from exc
        raise


class AlchemyExecutor:
    """`percl.store.sql.executor.Executor` over an `AsyncEngine` (see the module doc)."""

    linger_s = 0.0

    def __init__(self, url: str, **engine_options: Any) -> None:
        """`url`: an SQLAlchemy URL with an async driver; `engine_options` go to
        `create_async_engine` (a pool class, pool sizes). Nothing is opened until `open()`."""
        self.url = url
        self.dialect_name = make_url(url).get_dialect().name
        #: The URL as error messages show it: no password.
        self.where = make_url(url).render_as_string(hide_password=True)
        self._options = engine_options
        self._engine: AsyncEngine | None = None
        # The same engine and pool, each statement its own transaction (see `write`).
        self._autocommit: AsyncEngine | None = None

    async def open(self) -> None:
        if self._engine is not None:
            return
        engine = self.create_engine()
        try:
            async with engine.begin() as conn:
                await ensure_schema(conn, self.where)
        except (DBAPIError, OSError) as exc:
            await engine.dispose()
            cause = exc.orig if isinstance(exc, DBAPIError) else exc  # without SQLAlchemy's SQL
            raise DatabaseUnusable(f"PERCL_DB={self.where}: cannot use the database ({cause})") from exc
        except BaseException:
            await engine.dispose()
            raise
        self._engine = engine
        self._autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")

    def create_engine(self) -> AsyncEngine:
        """The engine `open()` uses (a subclass may add connect-time settings)."""
        return create_async_engine(self.url, **self._options)

    async def close(self) -> None:
        engine, self._engine, self._autocommit = self._engine, None, None
        if engine is not None:
            await engine.dispose()

    def check_open(self) -> None:
        self._require()

    def _require(self) -> AsyncEngine:
        if self._engine is None:
            raise StoreClosed("the store is not open: call `await store.open()` first")
        return self._engine

    def _single(self) -> AsyncEngine:
        """Where one statement runs alone: in autocommit, one statement is one transaction, so
        the driver sends it without BEGIN and COMMIT (one round trip instead of three)."""
        self._require()
        assert self._autocommit is not None
        return self._autocommit

    async def write(self, stmt: Statement, params: Params | None = None) -> int:
        with _translated():
            async with self._single().connect() as conn:
                result = await conn.execute(stmt, params)
        return int(result.rowcount)

    async def write_many(self, stmt: Statement, rows: Sequence[Params]) -> int:
        with _translated():
            async with self._require().begin() as conn:
                result = await conn.execute(stmt, list(rows))  # executemany
        return int(result.rowcount)

    async def write_locked(self, lock: int, stmt: Statement, params: Params) -> int:
        """`stmt` in a transaction that first takes PostgreSQL's transaction-level advisory lock
        `lock` (released at commit): writers of one lock run one after the other, and each
        statement's snapshot is taken after the lock, so it sees every earlier writer's commit.
        Other databases run `stmt` in a transaction of its own (SQLite has one writer anyway)."""
        with _translated():
            async with self._require().begin() as conn:
                if conn.dialect.name == "postgresql":
                    await conn.execute(select(func.pg_advisory_xact_lock(lock)))
                result = await conn.execute(stmt, params)
        return int(result.rowcount)

    async def fetch(self, stmt: Statement, params: Params | None = None) -> Sequence[Row]:
        async with self._single().connect() as conn:
            result = await conn.execute(stmt, params)
            return result.all()
