"""What a dead worker's leg leaves besides its call record: its place in a queue or a conference.

The rooms and queues a dead worker ran died with it; their records stay in the database. When
another worker closes such a leg (engine/calls.py, `_reclaim`), it also deletes the leg's queue
member and conference participant records, so no list shows a caller who is gone, and marks a
conference left without participants `empty` (what a single percl's start-up recovery does for
every conference a crash left populated). No webhooks: those would come from the rooms and
queues, which are gone; the leg's own final callStatus is sent by the caller.
"""

from __future__ import annotations

from dataclasses import replace

from percl.domain.enums import ConferenceStatus, LogLevel
from percl.domain.records import Call, revised
from percl.engine.context import EngineContext
from percl.engine.ports import ParticipantFilter

#: Conference statuses that say someone is in it.
_OCCUPIED = (ConferenceStatus.POPULATED, ConferenceStatus.IN_PROGRESS)


async def release_memberships(ctx: EngineContext, call: Call) -> Call:
    """Delete the queue member and conference participant records of `call` (a leg whose
    worker died) and return the call without its queueId and conferenceId (not yet stored, its
    date_updated unchanged: the caller stores the closed record once)."""
    if call.queue_id is not None:
        await _leave_queue(ctx, call, call.queue_id)
    if call.conference_id is not None:
        await _leave_conference(ctx, call, call.conference_id)
    if call.queue_id is None and call.conference_id is None:
        return call
    return replace(call, queue_id=None, conference_id=None)


async def _leave_queue(ctx: EngineContext, call: Call, queue_id: str) -> None:
    member = await ctx.store.get_member(call.call_id)
    if member is None or member.queue_id != queue_id:
        return
    await ctx.store.delete_member(call.call_id)
    await ctx.logs.log(LogLevel.ERROR, call.account_id,
                       f"Call was waiting in queue {queue_id} on a percl worker that stopped; "
                       "removed", call_id=call.call_id, metadata={"queueId": queue_id})


async def _leave_conference(ctx: EngineContext, call: Call, conference_id: str) -> None:
    store = ctx.store
    if await store.get_participant(conference_id, call.call_id) is None:
        return
    await store.delete_participant(conference_id, call.call_id)
    await ctx.logs.log(LogLevel.ERROR, call.account_id,
                       f"Call was in conference {conference_id} on a percl worker that stopped; "
                       "removed", call_id=call.call_id, metadata={"conferenceId": conference_id})
    conference = await store.get_conference(conference_id)
    if (conference is not None and conference.status in _OCCUPIED
            and not await store.list_participants(conference_id, ParticipantFilter())):
        await store.put_conference(revised(conference, ctx.clock.now(),
                                           status=ConferenceStatus.EMPTY))
