"""SqliteStore's blobs and exports (no cache: neither is read on every request)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from sqlalchemy import bindparam, delete, select

from percl.domain.enums import ExportStatus
from percl.domain.records import Blob, Export
from percl.store.base import alias_taken
from percl.store.schema import BLOB_MAP, EXPORT_MAP, blobs, exports
from percl.store.sqlite_base import SqliteBase
from percl.store.sqlite_sql import compile_select, compiled, delete_by_key, select_by, upsert

_PUT_BLOB = upsert(blobs)
_GET_BLOB = select_by(BLOB_MAP, "blob_id")
_DELETE_BLOB = delete_by_key(blobs)
_DELETE_EXPIRED = compiled(delete(blobs).where(blobs.c.expires_at <= bindparam("now")))
_PUT_EXPORT = upsert(exports)
_GET_EXPORT = select_by(EXPORT_MAP, "export_id")


class SqliteResources(SqliteBase):
    """The Store methods for blobs and exports over SqliteBase's connection."""

    # ------------------------------------------------------------------ blobs

    async def put_blob(self, blob: Blob) -> None:
        """Insert or replace by blob_id. Raises Conflict when the account's alias is taken."""
        try:
            await self._write(_PUT_BLOB, BLOB_MAP.to_row(blob))
        except sqlite3.IntegrityError as exc:
            raise alias_taken(blob) from exc

    async def get_blob(self, blob_id: str) -> Blob | None:
        return await self._get(BLOB_MAP, _GET_BLOB, {"blob_id": blob_id})

    async def list_blobs(self, account_id: str, alias: str | None = None) -> Sequence[Blob]:
        """The account's blobs (only the one with exactly `alias`, if given), oldest first."""
        c = blobs.c
        stmt = select(*BLOB_MAP.columns).where(c.account_id == account_id)
        if alias is not None:
            stmt = stmt.where(c.alias == alias)
        return await self._list(BLOB_MAP, stmt.order_by(c.date_created, c.blob_id))

    async def delete_blob(self, blob_id: str) -> None:
        await self._write(_DELETE_BLOB, {"blob_id": blob_id})

    async def delete_expired_blobs(self, now: float) -> int:
        """Delete every blob whose expires_at <= `now`; returns how many there were."""
        sql, params = compile_select(select(blobs.c.blob_id).where(blobs.c.expires_at <= now))
        expired = list(await self._fetch(sql, params))
        if expired:  # most calls find none: a read, not a write
            await self._write(_DELETE_EXPIRED, {"now": now})
        return len(expired)

    # ------------------------------------------------------------------ exports

    async def put_export(self, export: Export) -> None:
        await self._write(_PUT_EXPORT, EXPORT_MAP.to_row(export))

    async def get_export(self, export_id: str) -> Export | None:
        return await self._get(EXPORT_MAP, _GET_EXPORT, {"export_id": export_id})

    async def list_exports(
        self, account_id: str, status: ExportStatus | None = None
    ) -> Sequence[Export]:
        """The account's exports (only those in `status`, if given), newest first."""
        c = exports.c
        stmt = select(*EXPORT_MAP.columns).where(c.account_id == account_id)
        if status is not None:
            stmt = stmt.where(c.status == status.value)
        return await self._list(EXPORT_MAP, stmt.order_by(c.date_created.desc(), c.export_id.desc()))
