"""SqliteStore's plumbing: one aiosqlite connection, serialised by a lock, spoken to directly.

Why statements skip SQLAlchemy's execution layer: through the async adapter one write costs four
trips to aiosqlite's worker thread (open cursor, execute, close cursor, commit) and a read ~450 µs
of CPU in SQLAlchemy's per-call machinery. The connection runs in autocommit mode, so each
statement is its own atomic transaction, and every statement is SQL that SQLAlchemy compiled from
Core (see sqlite_sql.py) sent straight to the aiosqlite connection: one trip each; rows come back
as tuples that the RecordMaps convert.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeVar

import aiosqlite
from sqlalchemy import Select

from percl.store.base import StoreClosed
from percl.store.batch import Row
from percl.store.schema import RecordMap
from percl.store.sqlite_sql import compile_select

R = TypeVar("R")


class SqliteBase:
    """The driver connection and the four ways to use it; SqliteStore sets `_driver` in open()."""

    def __init__(self) -> None:
        self._driver: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()

    def _driver_conn(self) -> aiosqlite.Connection:
        """The driver connection. Raises StoreClosed before `open()` or after `close()`."""
        if self._driver is None:
            raise StoreClosed("the store is not open: call `await store.open()` first")
        return self._driver

    async def _write(self, sql: str, params: Mapping[str, Any] | Sequence[Any]) -> None:
        """Run one precompiled statement; it commits by itself (autocommit).

        Raises StoreClosed, or sqlite3 errors as they come (e.g. sqlite3.IntegrityError).
        """
        async with self._lock:
            # The cursor is not closed: a finished DML statement holds nothing, and closing it
            # would cost another trip to the worker thread.
            await self._driver_conn().execute(sql, params)

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
