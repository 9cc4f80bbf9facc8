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

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from percl.store.sql.alchemy import AlchemyExecutor
from percl.store.sql.limits import SqlLimits
from percl.store.sql.statements import Statements
from percl.store.sql.store import SqlStore

#: How long a write waits for a lock another transaction holds (ms) before it is StoreBusy.
LOCK_TIMEOUT_MS = 2000


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


class PostgresExecutor(AlchemyExecutor):
    """The generic executor with PostgreSQL's connect-time settings (see the module doc)."""

    def __init__(self, url: str, *, lock_timeout_ms: int = LOCK_TIMEOUT_MS) -> None:
        super().__init__(url)
        self.lock_timeout_ms = lock_timeout_ms

    def create_engine(self) -> AsyncEngine:
        settings = {"lock_timeout": str(self.lock_timeout_ms), "application_name": "percl"}
        engine = create_async_engine(
            self.url, connect_args={"server_settings": settings}, **self._options
        )
        event.listen(engine.sync_engine, "before_cursor_execute", _without_nul, retval=True)
        return engine


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
