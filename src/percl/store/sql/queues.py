"""The queues and queue members tables (no cache: neither is read on every request)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select

from percl.domain.records import Queue, QueueMember
from percl.store.schema import QUEUE_MAP, QUEUE_MEMBER_MAP, queue_members, queues
from percl.store.sql.executor import Executor
from percl.store.sql.statements import Statements, delete_by_key, select_by

_GET = select_by(QUEUE_MAP, "queue_id")
_GET_MEMBER = select_by(QUEUE_MEMBER_MAP, "call_id")
_DELETE_MEMBER = delete_by_key(queue_members)
_LAST_INSERTED = select(func.max(queue_members.c.inserted))


class Queues:
    def __init__(self, db: Executor, statements: Statements) -> None:
        self._db = db
        self._put = statements.upsert(queues)
        # `inserted` orders members tied on (date_enqueued, seq) by first insertion: numbered
        # here (the store is its database's only writer: sql/store.py), kept by the upsert's update.
        self._put_member = statements.upsert(queue_members, keep=("inserted",))
        self._last_inserted: int | None = None

    async def put(self, queue: Queue) -> None:
        await self._db.write(self._put, QUEUE_MAP.to_row(queue))

    async def get(self, queue_id: str) -> Queue | None:
        rows = await self._db.fetch(_GET, {"queue_id": queue_id})
        return QUEUE_MAP.from_values(rows[0]) if rows else None

    async def list(self, account_id: str, alias: str | None = None) -> Sequence[Queue]:
        """The account's queues (only those with exactly `alias`, if given), oldest first."""
        c = queues.c
        stmt = select(*QUEUE_MAP.columns).where(c.account_id == account_id)
        if alias is not None:
            stmt = stmt.where(c.alias == alias)
        stmt = stmt.order_by(c.date_created, c.queue_id)
        return [QUEUE_MAP.from_values(row) for row in await self._db.fetch(stmt)]

    async def put_member(self, member: QueueMember) -> None:
        row = QUEUE_MEMBER_MAP.to_row(member)
        row["inserted"] = await self._next_inserted()
        await self._db.write(self._put_member, row)

    async def _next_inserted(self) -> int:
        """One more than any member's `inserted` so far (an update keeps its row's)."""
        if self._last_inserted is None:
            rows = await self._db.fetch(_LAST_INSERTED)
            if self._last_inserted is None:  # another put may have read it meanwhile
                self._last_inserted = int(rows[0][0] or 0)
        self._last_inserted += 1
        return self._last_inserted

    async def get_member(self, call_id: str) -> QueueMember | None:
        rows = await self._db.fetch(_GET_MEMBER, {"call_id": call_id})
        return QUEUE_MEMBER_MAP.from_values(rows[0]) if rows else None

    async def list_members(self, queue_id: str) -> Sequence[QueueMember]:
        """The queue's members, head first (date_enqueued, then seq, then first insertion)."""
        c = queue_members.c
        stmt = select(*QUEUE_MEMBER_MAP.columns).where(c.queue_id == queue_id)
        stmt = stmt.order_by(c.date_enqueued, c.seq, c.inserted)
        return [QUEUE_MEMBER_MAP.from_values(row) for row in await self._db.fetch(stmt)]

    async def delete_member(self, call_id: str) -> None:
        await self._db.write(_DELETE_MEMBER, {"call_id": call_id})
