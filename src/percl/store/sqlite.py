"""The default Store: SqlStore (sql/store.py) with SQLite's execution strategy
(sqlite_executor.py: the writer on the loop's thread, group commit's linger, checkpoints, busy
handling, the private and checked database file)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import aiosqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from percl.store.base import StoreClosed
from percl.store.sql.store import SqlStore
from percl.store.sqlite_executor import SqliteExecutor

__all__ = ["SqliteStore", "StoreClosed"]


class SqliteStore(SqlStore):
    """`percl.engine.ports.Store` over SQLite. Call `open()` once, before use; `close()` at exit."""

    executor: SqliteExecutor

    def __init__(self, url: str) -> None:
        """`url` is an SQLAlchemy URL, e.g. ``sqlite+aiosqlite:///var/percl.db`` or
        ``sqlite+aiosqlite:///:memory:``. Nothing is opened until `open()`."""
        super().__init__(SqliteExecutor(url))
        self.url = url

    @classmethod
    def for_path(cls, path: str | Path) -> SqliteStore:
        """A store on the file `path` (created by `open()` with its missing parent directories
        when it does not exist), or ":memory:"."""
        if str(path) == ":memory:":
            return cls("sqlite+aiosqlite:///:memory:")
        file = Path(path).expanduser().resolve()
        return cls(f"sqlite+aiosqlite:///{file}")

    @property
    def created(self) -> bool:
        """True when the last `open()` found no database file and made a new one."""
        return self.executor.created

    # White-box access for tests (nothing public tells which connection does what).

    @property
    def _writer(self) -> sqlite3.Connection | None:
        """The loop-thread writer of a file database (None in memory or when closed)."""
        return self.executor.writer

    def _driver_conn(self) -> aiosqlite.Connection:
        """The aiosqlite connection. Raises StoreClosed when the store is not open."""
        return self.executor.driver()

    def _require(self) -> AsyncConnection:
        """The SQLAlchemy connection (after writing behind the store's back, call
        `invalidate_cache()`). Raises StoreClosed when the store is not open."""
        if self.executor.conn is None:
            raise StoreClosed("the store is not open: call `await store.open()` first")
        return self.executor.conn
