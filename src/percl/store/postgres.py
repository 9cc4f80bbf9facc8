"""SqlStore on PostgreSQL: the generic strategy (sql/alchemy.py) on asyncpg, selected by
``PERCL_DB=postgresql://user:password@host:port/database``.

What PostgreSQL adds to the generic strategy is one connect-time setting: a write waits for a row
another transaction holds for at most `LOCK_TIMEOUT_MS`, then fails (SQLSTATE 55P03) and the
executor raises `StoreBusy` with nothing written, as SQLite's writer does at once (REST answers
503, the engine retries its call records). Without it a write would wait for the other transaction
without bound, and the engine with it.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from percl.store.sql.alchemy import AlchemyExecutor
from percl.store.sql.store import SqlStore

#: How long a write waits for a lock another transaction holds (ms) before it is StoreBusy.
LOCK_TIMEOUT_MS = 2000


def async_url(db: str) -> str:
    """PERCL_DB's PostgreSQL URL (postgresql://, postgres:// or postgresql+asyncpg://) with
    SQLAlchemy's asyncpg driver named in its scheme."""
    _scheme, _sep, rest = db.partition("://")
    return f"postgresql+asyncpg://{rest}"


class PostgresExecutor(AlchemyExecutor):
    """The generic executor with PostgreSQL's connect-time settings (see the module doc)."""

    def __init__(self, url: str, *, lock_timeout_ms: int = LOCK_TIMEOUT_MS) -> None:
        super().__init__(url)
        self.lock_timeout_ms = lock_timeout_ms

    def create_engine(self) -> AsyncEngine:
        settings = {"lock_timeout": str(self.lock_timeout_ms), "application_name": "percl"}
        return create_async_engine(
            self.url, connect_args={"server_settings": settings}, **self._options
        )


class PostgresStore(SqlStore):
    """`percl.engine.ports.Store` on PostgreSQL. Call `open()` once, before use; `close()` at exit."""

    executor: PostgresExecutor

    def __init__(self, db: str, *, lock_timeout_ms: int = LOCK_TIMEOUT_MS) -> None:
        """`db`: ``postgresql://...`` (PERCL_DB) or an SQLAlchemy ``postgresql+asyncpg://`` URL.
        Nothing is opened until `open()`."""
        self.url = async_url(db)
        super().__init__(PostgresExecutor(self.url, lock_timeout_ms=lock_timeout_ms))
