"""What a dead worker's leg leaves besides its call record: its place in a queue or a conference,
and the webhooks FreeClimb sends when a caller leaves them.

The rooms and queues a dead worker ran died with it; their records stay in the database. When
another worker closes such a leg (engine/calls.py, `_reclaim`), it first takes the leg out of
them here, then stores the closed call, then sends what the leg is owed:

* a queue: the member record is deleted, and the Enqueue's actionUrl hears
  removeFromQueueNotification with the queueResult the live queue reports for a leg the platform
  ended (`systemError`, queue/state.py's table) and the seconds it waited until its worker died;
* a conference: the participant record is deleted, its leaveConferenceUrl hears leaveConference,
  and a conference left without participants moves as the live room moves it (state.py's
  `on_leave`: `empty`, stored) and its statusCallbackUrl hears conferenceStatus `empty` (no
  recording fields: a recording the room was making died with it).

The webhooks are built and sent as the room's Outbox sends its notices (one Outbox per leg, in
that order, the leg's final callStatus after them), about the leg's closed record; their PerCL is
ignored (the leg is gone). Records first, webhooks after: a survivor that dies in between leaves
no record live, only webhooks unsent. A participant record already gone (a survivor that died
mid-way) still gets its conference emptied, without a leaveConference (its URL was in the record).

Two legs of one conference closed at once here take turns (a lock per conference), so exactly one
of them finds it empty; legs of one conference closed by two survivors within the same few
milliseconds may both find it so, never neither (docs/DECISIONS.md).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace

from percl.domain import payloads as p
from percl.domain.enums import CallEndedReason, LogLevel
from percl.domain.records import Account, Call, revised
from percl.engine.conference.outbox import Notice, Outbox
from percl.engine.conference.state import apply_conference, on_leave
from percl.engine.context import EngineContext
from percl.engine.ports import ParticipantFilter
from percl.engine.queue.members import QueueExit
from percl.engine.queue.state import RESULTS, MemberState, apply, exit_event, whole_seconds

#: How a closed leg ends: what its queue reports (a leg the platform ended: systemError).
_REASON = CallEndedReason.INTERNAL_ERROR


@dataclass(frozen=True, slots=True)
class Owed:
    """A webhook a dead worker's leg is owed for leaving its queue or conference. Sent about
    the leg's closed record; `conference_id`: the conference the record's fields still name
    (the room's notices are about the leg as it was in the conference)."""

    url: str
    payload: p.Payload
    conference_id: str | None = None


@dataclass(frozen=True, slots=True)
class Departure:
    """A leg taken out of its queue and conference: `call` without its queueId and
    conferenceId (not yet stored), and the webhooks it is owed, in order."""

    call: Call
    owed: tuple[Owed, ...] = ()

    def notices(self, closed: Call) -> list[Notice]:
        """The owed webhooks as Outbox notices about `closed`, the leg's final record."""
        return [Notice(o.url, replace(closed, conference_id=o.conference_id)
                       if o.conference_id else closed, o.payload) for o in self.owed]


class Failover:
    """Takes a dead worker's legs out of their queues and conferences (one per CallService)."""

    def __init__(self, ctx: EngineContext) -> None:
        self.ctx = ctx
        self._rooms: dict[str, tuple[asyncio.Lock, int]] = {}  # conference id -> lock, users

    async def release(self, call: Call, ended: float) -> Departure:
        """Delete the queue member and conference participant records of `call` (a leg whose
        worker died, gone at `ended`) and say what webhooks it is owed (see the module doc)."""
        owed: list[Owed] = []
        if call.queue_id is not None:
            owed += await self._leave_queue(call, call.queue_id, ended)
        if call.conference_id is not None:
            owed += await self._leave_conference(call, call.conference_id)
        if call.queue_id is None and call.conference_id is None:
            return Departure(call)
        return Departure(replace(call, queue_id=None, conference_id=None), tuple(owed))

    async def _leave_queue(self, call: Call, queue_id: str, ended: float) -> list[Owed]:
        store = self.ctx.store
        member = await store.get_member(call.call_id)
        if member is None or member.queue_id != queue_id:
            return []
        await store.delete_member(call.call_id)
        await self.ctx.logs.log(LogLevel.ERROR, call.account_id,
                                f"Call was waiting in queue {queue_id} on a percl worker that "
                                "stopped; removed", call_id=call.call_id,
                                metadata={"queueId": queue_id})
        if not member.action_url:
            return []
        result = RESULTS[apply(MemberState.WAITING, exit_event(_REASON))]
        left = QueueExit(queue_id, result, whole_seconds(ended - member.date_enqueued))
        return [Owed(member.action_url, left.removed())]

    async def _leave_conference(self, call: Call, conference_id: str) -> list[Owed]:
        store = self.ctx.store
        owed: list[Owed] = []
        async with self._room(conference_id):
            participant = await store.get_participant(conference_id, call.call_id)
            if participant is not None:
                await store.delete_participant(conference_id, call.call_id)
                await self.ctx.logs.log(
                    LogLevel.ERROR, call.account_id, f"Call was in conference {conference_id} "
                    "on a percl worker that stopped; removed", call_id=call.call_id,
                    metadata={"conferenceId": conference_id})
                if participant.leave_conference_url:
                    owed.append(Owed(participant.leave_conference_url,
                                     p.LeaveConference(conference_id), conference_id))
            owed += await self._after_leaving(conference_id)
        return owed

    async def _after_leaving(self, conference_id: str) -> list[Owed]:
        """Move the conference as a live room does when a participant left (hold its lock)."""
        store = self.ctx.store
        conference = await store.get_conference(conference_id)
        if conference is None:
            return []
        remaining = await store.list_participants(conference_id, ParticipantFilter())
        owed: list[Owed] = []
        for event in on_leave(conference.status, len(remaining)):
            conference = revised(conference, self.ctx.clock.now(),
                                 status=apply_conference(conference.status, event))
            await store.put_conference(conference)
            if conference.status_callback_url:
                owed.append(Owed(conference.status_callback_url, p.ConferenceStatusChanged(
                    conference_id, conference.status), conference_id))
        return owed

    @asynccontextmanager
    async def _room(self, conference_id: str) -> AsyncIterator[None]:
        """Hold the conference's lock; forgotten when its last user is done."""
        lock, users = self._rooms.get(conference_id, (asyncio.Lock(), 0))
        self._rooms[conference_id] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._rooms[conference_id]
            if users == 1:
                del self._rooms[conference_id]
            else:
                self._rooms[conference_id] = (lock, users - 1)


async def send_owed(ctx: EngineContext, account: Account, notices: Sequence[Notice]) -> None:
    """Send `notices` in order as a room's Outbox does (an app's failure is its webhook log line;
    a bug building a body is logged and the next goes on)."""
    if not notices:
        return
    outbox = Outbox(account, ctx.webhooks, ctx.logs)
    for notice in notices:
        outbox.put(notice)
    outbox.close()
    await outbox.run()
