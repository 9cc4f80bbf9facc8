"""The account log: written behind (batch.py: `add` queues the line and returns; a task writes
queued lines in one transaction, after letting more lines queue for the executor's linger);
every read flushes first. A crash may lose the last few ms of log lines, never a call record."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from percl.domain.records import LogEntry
from percl.engine.ports import LogFilter, LogPosition
from percl.errors import StoreBusy
from percl.store.schema import LOG_MAP, logs
from percl.store.sql.batch import BatchWriter, Row
from percl.store.sql.executor import Executor
from percl.store.sql.log_query import (
    PRUNE_PARAMS,
    count_select,
    log_conditions,
    page_select,
    prune_statement,
)
from percl.store.sql.statements import insert_row

_BATCH = 100  # lines per transaction: bounds one write's time on the loop's thread
#: log_id is the database's (the insertion order): every other column.
_INSERT = insert_row(logs, [f.column for f in LOG_MAP.fields])
_PRUNE = prune_statement()


class Logs:
    def __init__(self, db: Executor) -> None:
        self._db = db
        self._writer = BatchWriter(self._write, max_batch=_BATCH, linger_s=db.linger_s)

    def start(self) -> None:
        self._writer.start()

    async def stop(self) -> None:
        """Write the queued lines (retrying a busy database for a while), then stop the task."""
        await self._writer.stop()

    async def flush(self) -> None:
        """Return once every line added so far is written. Raises StoreBusy meanwhile."""
        await self._writer.flush()

    async def _write(self, rows: Sequence[Row]) -> None:
        """The BatchWriter's write: the INSERT once per line, all in one transaction."""
        await self._db.write_many(_INSERT, rows)

    async def add(self, entry: LogEntry) -> None:
        """Queue the line for the log writer and return at once. While the store is closing (the
        log writer has stopped) the line is written at once instead, so nothing logged before
        close() returns is lost. Raises StoreClosed when the store is not open."""
        self._db.check_open()
        row = LOG_MAP.to_row(entry)
        if self._writer.running:
            self._writer.add(row)
        else:
            await self._write([row])

    async def list(self, account_id: str, flt: LogFilter) -> Sequence[LogEntry]:
        """Matching entries, newest first: timestamp descending, then insertion order descending."""
        await self.flush()
        c = logs.c
        stmt = select(*LOG_MAP.columns).where(*log_conditions(account_id, flt))
        stmt = stmt.order_by(c.timestamp.desc(), c.log_id.desc())
        return [LOG_MAP.from_values(row) for row in await self._db.fetch(stmt)]

    async def page(
        self, account_id: str, flt: LogFilter, *, before: LogPosition | None = None, limit: int
    ) -> Sequence[tuple[LogPosition, LogEntry]]:
        """At most `limit` matching entries after `before`, newest first, with their positions
        (timestamp, log_id): one index walk that stops after `limit` rows (log_query.py)."""
        await self.flush()
        rows = await self._db.fetch(page_select(account_id, flt, before, limit))
        return [((row[1], row[0]), LOG_MAP.from_values(row[1:])) for row in rows]

    async def count(self, account_id: str, flt: LogFilter, *, cap: int) -> int:
        """How many entries `list` would return, reading at most `cap` of them."""
        await self.flush()
        rows = await self._db.fetch(count_select(account_id, flt, cap))
        return int(rows[0][0])

    async def prune(self, *, older_than: int, keep: int) -> int:
        """Delete lines older than `older_than` and beyond the newest `keep`, among the oldest
        PRUNE_BATCH lines (one bounded DELETE). Returns how many went: 0 when another process
        holds the database locked (retention is best effort; the next prune catches up)."""
        await self.flush()
        try:
            return await self._db.write(
                _PRUNE, {**PRUNE_PARAMS, "older_than": older_than, "keep": keep})
        except StoreBusy:
            return 0
