"""The calls table: a call record is written on every state change, so writes are group-committed
(batch.py: records stored concurrently share one transaction) and awaited until committed; call
records are never cached."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, func, select, tuple_

from percl.domain.enums import CallStatus
from percl.domain.records import Call
from percl.engine.ports import CallFilter
from percl.store.schema import CALL_MAP, calls
from percl.store.sql.batch import GroupCommit, Row
from percl.store.sql.executor import Executor
from percl.store.sql.statements import Statements, select_by

_LIVE_STATUSES = tuple(s.value for s in CallStatus if s.is_live)
_BATCH = 32  # records per transaction: bounds one write's time on the loop's thread
_GET = select_by(CALL_MAP, "call_id")


class Calls:
    def __init__(self, db: Executor, statements: Statements) -> None:
        self._db = db
        self._put = statements.upsert(calls)
        self._group = GroupCommit(self._write, max_batch=_BATCH)

    async def put(self, call: Call) -> None:
        """Insert or replace the call; returns once the row is committed (group commit: calls
        stored concurrently share one statement). Raises StoreClosed when the store is not open."""
        self._db.check_open()
        await self._group.submit(CALL_MAP.to_row(call))

    async def idle(self) -> None:
        """Return once every submitted call record is written (before the store closes)."""
        await self._group.idle()

    async def _write(self, rows: Sequence[Row]) -> None:
        """The GroupCommit's write: the upsert once per row, in order, in one transaction (a
        later row of the same call wins)."""
        await self._db.write_many(self._put, rows)

    async def get(self, call_id: str) -> Call | None:
        rows = await self._db.fetch(_GET, {"call_id": call_id})
        return CALL_MAP.from_values(rows[0]) if rows else None

    async def list(
        self,
        account_id: str,
        flt: CallFilter,
        *,
        offset: int = 0,
        limit: int | None = None,
        before: tuple[float, str] | None = None,
    ) -> Sequence[Call]:
        """Matching calls, newest first (date_created descending, then call_id descending),
        after the keyset position `before` when given; only `limit` of them from position
        `offset` when given (the page GET /Calls shows)."""
        stmt = select(*CALL_MAP.columns).where(*_conditions(account_id, flt))
        if before is not None:
            stmt = stmt.where(tuple_(calls.c.date_created, calls.c.call_id) < tuple_(*before))
        stmt = stmt.order_by(calls.c.date_created.desc(), calls.c.call_id.desc())
        if limit is not None:
            stmt = stmt.limit(limit).offset(offset)
        elif offset:
            stmt = stmt.offset(offset)
        return [CALL_MAP.from_values(row) for row in await self._db.fetch(stmt)]

    async def count(self, account_id: str, flt: CallFilter) -> int:
        """How many calls `list(account_id, flt)` would return (SELECT count(*))."""
        stmt = select(func.count()).select_from(calls).where(*_conditions(account_id, flt))
        rows = await self._db.fetch(stmt)
        return int(rows[0][0])

    async def live(self) -> Sequence[Call]:
        """Every call of any account whose status is queued, ringing or inProgress."""
        stmt = select(*CALL_MAP.columns).where(calls.c.status.in_(_LIVE_STATUSES))
        stmt = stmt.order_by(calls.c.date_created, calls.c.call_id)
        return [CALL_MAP.from_values(row) for row in await self._db.fetch(stmt)]


def _conditions(account_id: str, flt: CallFilter) -> list[ColumnElement[bool]]:
    """One WHERE condition per CallFilter field that is set."""
    c = calls.c
    conds: list[ColumnElement[bool]] = [c.account_id == account_id]
    if flt.active:
        conds.append(c.status.in_(_LIVE_STATUSES))
    if flt.to is not None:
        conds.append(c.to_number == flt.to)
    if flt.from_ is not None:
        conds.append(c.from_number == flt.from_)
    if flt.status is not None:
        conds.append(c.status == flt.status.value)
    if flt.start_time_from is not None:
        conds.append(c.start_time >= flt.start_time_from)
    if flt.end_time_to is not None:
        conds.append(c.end_time <= flt.end_time_to)
    if flt.parent_call_id is not None:
        conds.append(c.parent_call_id == flt.parent_call_id)
    if flt.application_ids:
        conds.append(c.application_id.in_(flt.application_ids))
    if flt.created_to is not None:
        conds.append(c.date_created <= flt.created_to)
    if flt.used_audio_stream:
        conds.append(c.audio_stream_ms > 0)
    if flt.web_rtc:
        conds.append(c.web_rtc.is_(True))
    return conds
