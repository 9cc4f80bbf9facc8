"""The blobs table (no cache: not read on every request)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import bindparam, delete, select, update

from percl.domain.records import Blob
from percl.store.base import alias_taken
from percl.store.schema import BLOB_MAP, blobs
from percl.store.sql.executor import Duplicate, Executor
from percl.store.sql.statements import Statements, delete_by_key, select_by

_GET = select_by(BLOB_MAP, "blob_id")
_DELETE = delete_by_key(blobs)
_DELETE_EXPIRED = delete(blobs).where(blobs.c.expires_at <= bindparam("now"))
#: Compare-and-set: replace the row only while it still holds the revision the caller read.
#: (Parameters are prefixed: an UPDATE reserves the bare column names for its SET clause.)
_UPDATE_IF = (
    update(blobs)
    .where(blobs.c.blob_id == bindparam("key_blob_id"),
           blobs.c.revision == bindparam("expect_revision"))
    .values({c.name: bindparam(f"new_{c.name}") for c in blobs.columns if not c.primary_key})
)


class Blobs:
    def __init__(self, db: Executor, statements: Statements) -> None:
        self._db = db
        self._put = statements.upsert(blobs)

    async def put(self, blob: Blob, *, expect_revision: int | None = None) -> bool:
        """Insert or replace by blob_id; with `expect_revision`, only replace a stored blob of
        that revision. Returns whether it wrote. Raises Conflict when the alias is taken."""
        row = BLOB_MAP.to_row(blob)
        try:
            if expect_revision is None:
                await self._db.write(self._put, row)
                return True
            params = {f"new_{name}": value for name, value in row.items() if name != "blob_id"}
            params.update(key_blob_id=blob.blob_id, expect_revision=expect_revision)
            return await self._db.write(_UPDATE_IF, params) == 1
        except Duplicate as exc:
            raise alias_taken(blob) from exc

    async def get(self, blob_id: str) -> Blob | None:
        rows = await self._db.fetch(_GET, {"blob_id": blob_id})
        return BLOB_MAP.from_values(rows[0]) if rows else None

    async def list(self, account_id: str, alias: str | None = None) -> Sequence[Blob]:
        """The account's blobs (only the one with exactly `alias`, if given), oldest first."""
        c = blobs.c
        stmt = select(*BLOB_MAP.columns).where(c.account_id == account_id)
        if alias is not None:
            stmt = stmt.where(c.alias == alias)
        stmt = stmt.order_by(c.date_created, c.blob_id)
        return [BLOB_MAP.from_values(row) for row in await self._db.fetch(stmt)]

    async def delete(self, blob_id: str) -> None:
        await self._db.write(_DELETE, {"blob_id": blob_id})

    async def delete_expired(self, now: float) -> int:
        """Delete every blob whose expires_at <= `now`; returns how many there were."""
        expired = await self._db.fetch(select(blobs.c.blob_id).where(blobs.c.expires_at <= now))
        if expired:  # most calls find none: a read, not a write
            await self._db.write(_DELETE_EXPIRED, {"now": now})
        return len(expired)
