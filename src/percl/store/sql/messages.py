"""The messages table (no cache: not read on every request)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, func, literal, select, tuple_

from percl.domain.enums import MessageStatus
from percl.domain.records import Message
from percl.engine.ports import MessageFilter
from percl.store.schema import MESSAGE_MAP, messages
from percl.store.sql.executor import Executor
from percl.store.sql.statements import Statements, select_by

_UNSENT = (MessageStatus.QUEUED.value, MessageStatus.SENDING.value)
_GET = select_by(MESSAGE_MAP, "message_id")


class Messages:
    def __init__(self, db: Executor, statements: Statements) -> None:
        self._db = db
        self._put = statements.upsert(messages)

    async def put(self, message: Message) -> None:
        await self._db.write(self._put, MESSAGE_MAP.to_row(message))

    async def get(self, message_id: str) -> Message | None:
        rows = await self._db.fetch(_GET, {"message_id": message_id})
        return MESSAGE_MAP.from_values(rows[0]) if rows else None

    async def list(
        self,
        account_id: str,
        flt: MessageFilter,
        *,
        before: tuple[float, str] | None = None,
        limit: int | None = None,
    ) -> Sequence[Message]:
        """Matching messages, newest first, after the keyset position `before`, at most `limit`
        (an index walk of `ix_messages_account_created` that stops there)."""
        c = messages.c
        stmt = select(*MESSAGE_MAP.columns).where(*_conditions(account_id, flt))
        if before is not None:
            stmt = stmt.where(tuple_(c.date_created, c.message_id) < tuple_(*before))
        stmt = stmt.order_by(c.date_created.desc(), c.message_id.desc())
        if limit is not None:
            stmt = stmt.limit(max(limit, 0))
        return [MESSAGE_MAP.from_values(row) for row in await self._db.fetch(stmt)]

    async def count(self, account_id: str, flt: MessageFilter, *, cap: int) -> int:
        """How many messages match, reading no more than `cap` of them."""
        capped = select(literal(1)).where(*_conditions(account_id, flt)).limit(max(cap, 0))
        rows = await self._db.fetch(select(func.count()).select_from(capped.subquery()))
        return int(rows[0][0])

    async def unsent(self) -> Sequence[Message]:
        """Every message of any account still `queued` or `sending`, oldest first."""
        c = messages.c
        stmt = select(*MESSAGE_MAP.columns).where(c.status.in_(_UNSENT)).order_by(
            c.date_created, c.message_id)
        return [MESSAGE_MAP.from_values(row) for row in await self._db.fetch(stmt)]


def _conditions(account_id: str, flt: MessageFilter) -> list[ColumnElement[bool]]:
    """One WHERE condition per MessageFilter field that is set."""
    c = messages.c
    conds: list[ColumnElement[bool]] = [c.account_id == account_id]
    if flt.to is not None:
        conds.append(c.to_number == flt.to)
    if flt.from_ is not None:
        conds.append(c.from_number == flt.from_)
    if flt.direction is not None:
        conds.append(c.direction == flt.direction.value)
    if flt.begin is not None:
        conds.append(c.date_created >= flt.begin)
    if flt.end is not None:
        conds.append(c.date_created <= flt.end)
    return conds
