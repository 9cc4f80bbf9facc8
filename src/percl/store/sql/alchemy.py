"""SqlStore's generic strategy: statements run through SQLAlchemy's async engine, unchanged.

For any database with an async SQLAlchemy driver (a PostgreSQL one plugs asyncpg in here: a URL
``postgresql+asyncpg://...``). It holds no database-specific code: the engine pools connections,
each `write` is one transaction on a connection of its own, and SQLAlchemy compiles the statements
for the engine's dialect (and caches them). The SQLite strategy (store/sqlite_executor.py) is the
default for SQLite; this one also runs on SQLite, which is how the tests keep it honest.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from percl.store.base import StoreClosed
from percl.store.sql.executor import Duplicate, Params, Row, Statement
from percl.store.sql.schema_setup import ensure_schema


class AlchemyExecutor:
    """`percl.store.sql.executor.Executor` over an `AsyncEngine` (see the module doc)."""

    linger_s = 0.0

    def __init__(self, url: str, **engine_options: Any) -> None:
        """`url`: an SQLAlchemy URL with an async driver; `engine_options` go to
        `create_async_engine` (a pool class, pool sizes). Nothing is opened until `open()`."""
        self.url = url
        self.dialect_name = make_url(url).get_dialect().name
        self._options = engine_options
        self._engine: AsyncEngine | None = None

    async def open(self) -> None:
        if self._engine is not None:
            return
        engine = self.create_engine()
        try:
            async with engine.begin() as conn:
                await ensure_schema(conn, self.url)
        except BaseException:
            await engine.dispose()
            raise
        self._engine = engine

    def create_engine(self) -> AsyncEngine:
        """The engine `open()` uses (a subclass may add connect-time settings)."""
        return create_async_engine(self.url, **self._options)

    async def close(self) -> None:
        engine, self._engine = self._engine, None
        if engine is not None:
            await engine.dispose()

    def check_open(self) -> None:
        self._require()

    def _require(self) -> AsyncEngine:
        if self._engine is None:
            raise StoreClosed("the store is not open: call `await store.open()` first")
        return self._engine

    async def write(self, stmt: Statement, params: Params | None = None) -> int:
        try:
            async with self._require().begin() as conn:
                result = await conn.execute(stmt, params)
        except IntegrityError as exc:
            raise Duplicate(str(exc.orig)) from exc
        return int(result.rowcount)

    async def write_many(self, stmt: Statement, rows: Sequence[Params]) -> int:
        try:
            async with self._require().begin() as conn:
                result = await conn.execute(stmt, list(rows))  # executemany
        except IntegrityError as exc:
            raise Duplicate(str(exc.orig)) from exc
        return int(result.rowcount)

    async def fetch(self, stmt: Statement, params: Params | None = None) -> Sequence[Row]:
        async with self._require().connect() as conn:
            result = await conn.execute(stmt, params)
            return result.all()
