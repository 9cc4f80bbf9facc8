"""The `store` fixture: every test that takes it runs once per Store implementation.

SqliteStore (production) and MemoryStore (tests and the test kit) must be indistinguishable to
their callers, so the behaviour tests are written once against the Store protocol. "sql-generic"
is the same SqlStore on SQLAlchemy's async engine (the strategy a PostgreSQL store plugs into),
on a SQLite file: the gateways' statements run through SQLAlchemy unchanged. "postgresql" is
PostgresStore on a real server (tests/postgres.py: started once per session, a fresh database per
store), skipped with the reason where no PostgreSQL can be had.
"""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from percl.engine.ports import Store
from percl.store.memory import MemoryStore
from percl.store.postgres import PostgresStore
from percl.store.sql.alchemy import AlchemyExecutor
from percl.store.sql.store import SqlStore
from percl.store.sqlite import SqliteStore
from tests import postgres

KINDS = ("sqlite", "sqlite-file", "memory", "sql-generic", "postgresql")


class QuickSqliteFile(AlchemyExecutor):
    """The generic executor on a SQLite file without a sync per commit (test speed only: with
    SQLite's default rollback journal, creating the schema cost ~0.6 s per test)."""

    def create_engine(self) -> AsyncEngine:
        engine = super().create_engine()
        event.listen(engine.sync_engine, "connect", _no_sync)
        return engine


def _no_sync(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.execute("PRAGMA journal_mode=WAL")
    dbapi_connection.execute("PRAGMA synchronous=OFF")


def new_store(kind: str, folder: Path | None = None) -> Store:
    """A fresh, unopened store of `kind`: "sqlite" is an in-memory SQLite database (writes go
    through aiosqlite), "sqlite-file" a database file in `folder` (writes on the loop's thread,
    checkpoints on their own: sqlite_executor.py); a temporary folder when none is given."""
    if kind == "sqlite":
        return SqliteStore.for_path(":memory:")
    if kind == "sqlite-file":
        return SqliteStore.for_path((folder or Path(tempfile.mkdtemp(prefix="percl-store-"))) / "percl.db")
    if kind == "memory":
        return MemoryStore()
    if kind == "sql-generic":
        file = (folder or Path(tempfile.mkdtemp(prefix="percl-store-"))) / "generic.db"
        return SqlStore(QuickSqliteFile(f"sqlite+aiosqlite:///{file}"))
    if kind == "postgresql":
        return PostgresStore(postgres.server().new_database())
    raise ValueError(f"unknown store kind {kind!r}")


@pytest.fixture(params=KINDS)
async def store(request: pytest.FixtureRequest) -> AsyncIterator[Store]:
    on_disk = request.param in ("sqlite-file", "sql-generic")
    folder = request.getfixturevalue("tmp_path") if on_disk else None
    s = new_store(request.param, folder)
    await s.open()
    yield s
    await s.close()


@pytest.fixture(scope="session", autouse=True)
def _postgres_stopped() -> Iterator[None]:
    """Stops the session's PostgreSQL server (if a test started one) by its PID at the end."""
    yield
    postgres.stop()
