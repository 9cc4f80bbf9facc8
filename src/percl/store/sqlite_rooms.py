"""SqliteStore's conferences, participants, queues, queue members and messages (no cache: none of
them is read on every request)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, select

from percl.domain.enums import MessageStatus
from percl.domain.records import Conference, Message, Participant, Queue, QueueMember
from percl.engine.ports import ConferenceFilter, MessageFilter, ParticipantFilter
from percl.store.schema import (
    CONFERENCE_MAP,
    MESSAGE_MAP,
    PARTICIPANT_MAP,
    QUEUE_MAP,
    QUEUE_MEMBER_MAP,
    conferences,
    messages,
    participants,
    queue_members,
    queues,
)
from percl.store.sqlite_base import SqliteBase
from percl.store.sqlite_sql import between, delete_by_key, select_by, upsert

_PUT_CONFERENCE = upsert(conferences)
_PUT_PARTICIPANT = upsert(participants)
_PUT_QUEUE = upsert(queues)
_PUT_MEMBER = upsert(queue_members)
_PUT_MESSAGE = upsert(messages)
_UNSENT = (MessageStatus.QUEUED.value, MessageStatus.SENDING.value)
_DELETE_PARTICIPANT = delete_by_key(participants)
_DELETE_MEMBER = delete_by_key(queue_members)
_GET_CONFERENCE = select_by(CONFERENCE_MAP, "conference_id")
_GET_PARTICIPANT = select_by(PARTICIPANT_MAP, "conference_id", "call_id")
_GET_QUEUE = select_by(QUEUE_MAP, "queue_id")
_GET_MEMBER = select_by(QUEUE_MEMBER_MAP, "call_id")
_GET_MESSAGE = select_by(MESSAGE_MAP, "message_id")


class SqliteRooms(SqliteBase):
    """The Store methods for conferences, queues and messages over SqliteBase's connection."""

    # ------------------------------------------------------------------ conferences

    async def put_conference(self, conference: Conference) -> None:
        await self._write(_PUT_CONFERENCE, CONFERENCE_MAP.to_row(conference))

    async def get_conference(self, conference_id: str) -> Conference | None:
        return await self._get(CONFERENCE_MAP, _GET_CONFERENCE, {"conference_id": conference_id})

    async def list_conferences(self, account_id: str, flt: ConferenceFilter) -> Sequence[Conference]:
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
        return await self._list(CONFERENCE_MAP, stmt)

    async def put_participant(self, participant: Participant) -> None:
        await self._write(_PUT_PARTICIPANT, PARTICIPANT_MAP.to_row(participant))

    async def get_participant(self, conference_id: str, call_id: str) -> Participant | None:
        params = {"conference_id": conference_id, "call_id": call_id}
        return await self._get(PARTICIPANT_MAP, _GET_PARTICIPANT, params)

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
        return await self._list(PARTICIPANT_MAP, stmt)

    async def delete_participant(self, conference_id: str, call_id: str) -> None:
        await self._write(_DELETE_PARTICIPANT, {"conference_id": conference_id, "call_id": call_id})

    # ------------------------------------------------------------------ queues

    async def put_queue(self, queue: Queue) -> None:
        await self._write(_PUT_QUEUE, QUEUE_MAP.to_row(queue))

    async def get_queue(self, queue_id: str) -> Queue | None:
        return await self._get(QUEUE_MAP, _GET_QUEUE, {"queue_id": queue_id})

    async def list_queues(self, account_id: str, alias: str | None = None) -> Sequence[Queue]:
        """The account's queues (only those with exactly `alias`, if given), oldest first."""
        c = queues.c
        stmt = select(*QUEUE_MAP.columns).where(c.account_id == account_id)
        if alias is not None:
            stmt = stmt.where(c.alias == alias)
        stmt = stmt.order_by(c.date_created, c.queue_id)
        return await self._list(QUEUE_MAP, stmt)

    async def put_member(self, member: QueueMember) -> None:
        await self._write(_PUT_MEMBER, QUEUE_MEMBER_MAP.to_row(member))

    async def get_member(self, call_id: str) -> QueueMember | None:
        return await self._get(QUEUE_MEMBER_MAP, _GET_MEMBER, {"call_id": call_id})

    async def list_members(self, queue_id: str) -> Sequence[QueueMember]:
        """The queue's members, head first (date_enqueued, then seq)."""
        c = queue_members.c
        stmt = select(*QUEUE_MEMBER_MAP.columns).where(c.queue_id == queue_id)
        stmt = stmt.order_by(c.date_enqueued, c.seq)
        return await self._list(QUEUE_MEMBER_MAP, stmt)

    async def delete_member(self, call_id: str) -> None:
        await self._write(_DELETE_MEMBER, {"call_id": call_id})

    # ------------------------------------------------------------------ messages

    async def put_message(self, message: Message) -> None:
        await self._write(_PUT_MESSAGE, MESSAGE_MAP.to_row(message))

    async def get_message(self, message_id: str) -> Message | None:
        return await self._get(MESSAGE_MAP, _GET_MESSAGE, {"message_id": message_id})

    async def list_messages(
        self, account_id: str, flt: MessageFilter, *, offset: int = 0, limit: int | None = None
    ) -> Sequence[Message]:
        """Matching messages, newest first; with `limit`, at most that many from `offset`."""
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
        stmt = select(*MESSAGE_MAP.columns).where(*conds).order_by(c.date_created.desc(), c.message_id.desc())
        if limit is not None:
            stmt = stmt.limit(limit).offset(offset)
        elif offset:
            stmt = stmt.offset(offset)
        return await self._list(MESSAGE_MAP, stmt)

    async def unsent_messages(self) -> Sequence[Message]:
        """Every message of any account still `queued` or `sending`, oldest first."""
        c = messages.c
        stmt = select(*MESSAGE_MAP.columns).where(c.status.in_(_UNSENT)).order_by(
            c.date_created, c.message_id)
        return await self._list(MESSAGE_MAP, stmt)
