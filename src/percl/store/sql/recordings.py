"""The recordings table (metadata; the audio is a RecordingFiles port's). No cache."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from percl.domain.records import Recording
from percl.engine.ports import RecordingQuery
from percl.store.schema import RECORDING_MAP, recordings
from percl.store.sql.executor import Executor
from percl.store.sql.statements import Statements, delete_by_key, select_by

_GET = select_by(RECORDING_MAP, "recording_id")
_DELETE = delete_by_key(recordings)


class Recordings:
    def __init__(self, db: Executor, statements: Statements) -> None:
        self._db = db
        self._put = statements.upsert(recordings)

    async def put(self, recording: Recording) -> None:
        await self._db.write(self._put, RECORDING_MAP.to_row(recording))

    async def get(self, recording_id: str) -> Recording | None:
        rows = await self._db.fetch(_GET, {"recording_id": recording_id})
        return RECORDING_MAP.from_values(rows[0]) if rows else None

    async def list(self, flt: RecordingQuery) -> Sequence[Recording]:
        """The recordings `flt` keeps, newest first."""
        c = recordings.c
        stmt = select(*RECORDING_MAP.columns)
        if flt.account_id is not None:
            stmt = stmt.where(c.account_id == flt.account_id)
        if flt.call_id is not None:
            stmt = stmt.where(c.call_id == flt.call_id)
        if flt.conference_id is not None:
            stmt = stmt.where(c.conference_id == flt.conference_id)
        if flt.created_from is not None:
            stmt = stmt.where(c.date_created >= flt.created_from)
        if flt.created_to is not None:
            stmt = stmt.where(c.date_created <= flt.created_to)
        stmt = stmt.order_by(c.date_created.desc(), c.recording_id.desc())
        return [RECORDING_MAP.from_values(row) for row in await self._db.fetch(stmt)]

    async def delete(self, recording_id: str) -> None:
        await self._db.write(_DELETE, {"recording_id": recording_id})
