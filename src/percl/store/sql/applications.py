"""The applications table (cached: each call start reads its application)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from percl.domain.records import Application
from percl.store.schema import APPLICATION_MAP, applications
from percl.store.sql.cache import RecordCache
from percl.store.sql.executor import Executor
from percl.store.sql.statements import Statements, delete_by_key, select_by

_GET = select_by(APPLICATION_MAP, "application_id")
_DELETE = delete_by_key(applications)


class Applications:
    def __init__(self, db: Executor, statements: Statements, cache: RecordCache) -> None:
        self._db = db
        self._cache = cache
        self._put = statements.upsert(applications)

    async def put(self, app: Application) -> None:
        cache = self._cache.applications
        self._cache.changing()
        cache.pop(app.application_id, None)
        await self._db.write(self._put, APPLICATION_MAP.to_row(app))
        cache[app.application_id] = app

    async def get(self, application_id: str) -> Application | None:
        """The application (cached like accounts)."""
        found = self._cache.applications.get(application_id)
        if found is None:
            generation = self._cache.generation
            rows = await self._db.fetch(_GET, {"application_id": application_id})
            found = APPLICATION_MAP.from_values(rows[0]) if rows else None
            if found is not None and generation == self._cache.generation:
                self._cache.applications[application_id] = found
        return found

    async def list(self, account_id: str, alias: str | None = None) -> Sequence[Application]:
        """The account's applications (only those with exactly `alias`, if given), oldest first."""
        c = applications.c
        stmt = select(*APPLICATION_MAP.columns).where(c.account_id == account_id)
        if alias is not None:
            stmt = stmt.where(c.alias == alias)
        stmt = stmt.order_by(c.date_created, c.application_id)
        return [APPLICATION_MAP.from_values(row) for row in await self._db.fetch(stmt)]

    async def delete(self, application_id: str) -> None:
        """Delete the application; deleting an absent one does nothing."""
        self._cache.changing()
        self._cache.applications.pop(application_id, None)
        await self._db.write(_DELETE, {"application_id": application_id})
