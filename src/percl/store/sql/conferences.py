"""The conferences and participants tables (no cache: neither is read on every request)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, select

from percl.domain.records import Conference, Participant
from percl.engine.ports import ConferenceFilter, ParticipantFilter
from percl.store.schema import CONFERENCE_MAP, PARTICIPANT_MAP, conferences, participants
from percl.store.sql.executor import Executor
from percl.store.sql.statements import Statements, between, delete_by_key, select_by

_GET = select_by(CONFERENCE_MAP, "conference_id")
_GET_PARTICIPANT = select_by(PARTICIPANT_MAP, "conference_id", "call_id")
_DELETE_PARTICIPANT = delete_by_key(participants)


class Conferences:
    def __init__(self, db: Executor, statements: Statements) -> None:
        self._db = db
        self._put = statements.upsert(conferences)
        self._put_participant = statements.upsert(participants)

    async def put(self, conference: Conference) -> None:
        await self._db.write(self._put, CONFERENCE_MAP.to_row(conference))

    async def get(self, conference_id: str) -> Conference | None:
        rows = await self._db.fetch(_GET, {"conference_id": conference_id})
        return CONFERENCE_MAP.from_values(rows[0]) if rows else None

    async def list(self, account_id: str, flt: ConferenceFilter) -> Sequence[Conference]:
        """Matching conferences, newest first."""
        c = conferences.c
        conds: list[ColumnElement[bool]] = [c.account_id == account_id]
        if flt.status is not None:
            conds.append(c.status == flt.status.value)
        if flt.alias is not None:
            conds.append(c.alias == flt.alias)
        conds += between(c.date_created, flt.created_from, flt.created_to)
        conds += between(c.date_updated, flt.updated_from, flt.updated_to)
        stmt = select(*CONFERENCE_MAP.columns).where(*conds)
        stmt = stmt.order_by(c.date_created.desc(), c.conference_id.desc())
        return [CONFERENCE_MAP.from_values(row) for row in await self._db.fetch(stmt)]

    async def put_participant(self, participant: Participant) -> None:
        await self._db.write(self._put_participant, PARTICIPANT_MAP.to_row(participant))

    async def get_participant(self, conference_id: str, call_id: str) -> Participant | None:
        params = {"conference_id": conference_id, "call_id": call_id}
        rows = await self._db.fetch(_GET_PARTICIPANT, params)
        return PARTICIPANT_MAP.from_values(rows[0]) if rows else None

    async def list_participants(
        self, conference_id: str, flt: ParticipantFilter
    ) -> Sequence[Participant]:
        """Matching participants, in the order they joined."""
        c = participants.c
        stmt = select(*PARTICIPANT_MAP.columns).where(c.conference_id == conference_id)
        for column, wanted in ((c.talk, flt.talk), (c.listen, flt.listen),
                               (c.dtmf_pass_through, flt.dtmf_pass_through)):
            if wanted is not None:
                stmt = stmt.where(column == wanted)
        stmt = stmt.order_by(c.date_created, c.call_id)
        return [PARTICIPANT_MAP.from_values(row) for row in await self._db.fetch(stmt)]

    async def delete_participant(self, conference_id: str, call_id: str) -> None:
        await self._db.write(_DELETE_PARTICIPANT, {"conference_id": conference_id, "call_id": call_id})
