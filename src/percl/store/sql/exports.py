"""The exports table (no cache: not read on every request)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from percl.domain.enums import ExportStatus
from percl.domain.records import Export
from percl.store.schema import EXPORT_MAP, exports
from percl.store.sql.executor import Executor
from percl.store.sql.statements import Statements, select_by

_GET = select_by(EXPORT_MAP, "export_id")


class Exports:
    def __init__(self, db: Executor, statements: Statements) -> None:
        self._db = db
        self._put = statements.upsert(exports)

    async def put(self, export: Export) -> None:
        await self._db.write(self._put, EXPORT_MAP.to_row(export))

    async def get(self, export_id: str) -> Export | None:
        rows = await self._db.fetch(_GET, {"export_id": export_id})
        return EXPORT_MAP.from_values(rows[0]) if rows else None

    async def list(self, account_id: str, status: ExportStatus | None = None) -> Sequence[Export]:
        """The account's exports (only those in `status`, if given), newest first."""
        c = exports.c
        stmt = select(*EXPORT_MAP.columns).where(c.account_id == account_id)
        if status is not None:
            stmt = stmt.where(c.status == status.value)
        stmt = stmt.order_by(c.date_created.desc(), c.export_id.desc())
        return [EXPORT_MAP.from_values(row) for row in await self._db.fetch(stmt)]
