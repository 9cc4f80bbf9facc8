"""Failover (engine/workers/failover.py) on its own: what it does to the records of a dead
worker's legs, and what webhooks it says they are owed. tests/e2e/test_failover_webhooks.py has
the whole take-over on two workers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest

from percl.domain import ids
from percl.domain import payloads as p
from percl.domain.enums import CallDirection, CallStatus, ConferenceStatus
from percl.domain.records import Call, Conference, Participant, QueueMember
from percl.engine.context import EngineContext
from percl.engine.ports import ParticipantFilter
from percl.engine.workers.failover import Failover
from percl.testing.harness import Harness

STATUS_URL = "http://app.test/conference-status"
LEFT_URL = "http://app.test/left"


class Interleaving:
    """A store whose every call lets the other tasks run first, as round trips to PostgreSQL
    do: legs closed at once then read and write in turns (the memory store never yields)."""

    def __init__(self, store: Any) -> None:
        self._store = store

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._store, name)

        async def interleaved(*args: Any, **kwargs: Any) -> Any:
            await asyncio.sleep(0)
            result = await method(*args, **kwargs)
            await asyncio.sleep(0)
            return result

        return interleaved


@pytest.fixture
async def h() -> AsyncIterator[Harness]:
    async with Harness() as harness:
        yield harness


def context(h: Harness) -> EngineContext:
    return h.platform.calls.ctx


async def conference(h: Harness, status: ConferenceStatus) -> Conference:
    now = h.clock.now()
    record = Conference(conference_id=context(h).ids.new(ids.CONFERENCE),
                        account_id=h.account.account_id, status=status,
                        status_callback_url=STATUS_URL, date_created=now, date_updated=now)
    await context(h).store.put_conference(record)
    return record


def leg(h: Harness, **fields: Any) -> Call:
    now = h.clock.now()
    return Call(call_id=context(h).ids.new(ids.CALL), account_id=h.account.account_id,
                from_="+15550100001", to="+13125550100", direction=CallDirection.INBOUND,
                status=CallStatus.IN_PROGRESS, date_created=now, date_updated=now, **fields)


async def participant(h: Harness, call: Call) -> None:
    assert call.conference_id is not None
    await context(h).store.put_participant(Participant(
        conference_id=call.conference_id, call_id=call.call_id, account_id=call.account_id,
        leave_conference_url=LEFT_URL, date_created=h.clock.now()))


async def test_legs_of_one_conference_closed_at_once_empty_it_exactly_once(h: Harness) -> None:
    ctx = context(h)
    room = await conference(h, ConferenceStatus.IN_PROGRESS)
    legs = [leg(h, conference_id=room.conference_id) for _ in range(3)]
    for call in legs:
        await participant(h, call)
    failover = Failover(replace(ctx, store=Interleaving(ctx.store)))

    departures = await asyncio.gather(*(failover.release(call, h.clock.now()) for call in legs))

    payloads = [owed.payload for d in departures for owed in d.owed]
    assert payloads.count(p.LeaveConference(room.conference_id)) == 3
    assert payloads.count(p.ConferenceStatusChanged(room.conference_id,
                                                    ConferenceStatus.EMPTY)) == 1
    assert len(payloads) == 4
    stored = await ctx.store.get_conference(room.conference_id)
    assert stored is not None and stored.status is ConferenceStatus.EMPTY
    assert await ctx.store.list_participants(room.conference_id, ParticipantFilter()) == []
    assert all(d.call.conference_id is None for d in departures)


async def test_the_owed_webhooks_are_about_the_closed_leg_in_its_conference(h: Harness) -> None:
    ctx = context(h)
    room = await conference(h, ConferenceStatus.POPULATED)
    call = leg(h, conference_id=room.conference_id)
    await participant(h, call)

    departure = await Failover(ctx).release(call, h.clock.now())

    closed = replace(departure.call, status=CallStatus.COMPLETED)
    left, empty = departure.notices(closed)
    assert (left.url, left.payload) == (LEFT_URL, p.LeaveConference(room.conference_id))
    assert (empty.url, empty.payload) == (STATUS_URL, p.ConferenceStatusChanged(
        room.conference_id, ConferenceStatus.EMPTY))
    for notice in (left, empty):  # the leg as it ended, still naming the conference it left
        assert notice.call == replace(closed, conference_id=room.conference_id)


async def test_a_conference_whose_participant_record_is_gone_is_still_emptied(
        h: Harness) -> None:
    """A survivor that died after deleting the participant, before emptying the conference:
    the next one finds the leg still live, its participant gone, and empties the conference
    (without a leaveConference: its URL was in the deleted record)."""
    ctx = context(h)
    room = await conference(h, ConferenceStatus.IN_PROGRESS)
    call = leg(h, conference_id=room.conference_id)

    departure = await Failover(ctx).release(call, h.clock.now())

    assert [owed.payload for owed in departure.owed] == [
        p.ConferenceStatusChanged(room.conference_id, ConferenceStatus.EMPTY)]
    stored = await ctx.store.get_conference(room.conference_id)
    assert stored is not None and stored.status is ConferenceStatus.EMPTY


async def test_a_conference_with_participants_left_or_already_empty_does_not_move(
        h: Harness) -> None:
    ctx = context(h)
    busy = await conference(h, ConferenceStatus.IN_PROGRESS)
    leaving, staying = (leg(h, conference_id=busy.conference_id) for _ in range(2))
    await participant(h, leaving)
    await participant(h, staying)
    quiet = await conference(h, ConferenceStatus.EMPTY)

    busy_owed = (await Failover(ctx).release(leaving, h.clock.now())).owed
    quiet_owed = (await Failover(ctx).release(leg(h, conference_id=quiet.conference_id),
                                              h.clock.now())).owed

    assert [owed.payload for owed in busy_owed] == [p.LeaveConference(busy.conference_id)]
    assert quiet_owed == ()
    stored = await ctx.store.get_conference(busy.conference_id)
    assert stored is not None and stored.status is ConferenceStatus.IN_PROGRESS


async def test_a_queued_leg_is_owed_system_error_with_the_time_it_waited(h: Harness) -> None:
    ctx = context(h)
    queue_id = "QU" + "3" * 40
    call = leg(h, queue_id=queue_id)
    await ctx.store.put_member(QueueMember(
        queue_id=queue_id, call_id=call.call_id, account_id=call.account_id,
        date_enqueued=h.clock.now(), action_url="http://app.test/action"))

    departure = await Failover(ctx).release(call, h.clock.now() + 12.4)

    [owed] = departure.owed
    assert owed.url == "http://app.test/action"
    assert wire(owed.payload) == {"queueId": queue_id, "queueResult": "systemError",
                                  "queueTime": 12}
    assert await ctx.store.get_member(call.call_id) is None
    assert departure.call.queue_id is None


def wire(payload: p.Payload) -> dict[str, Any]:
    return dict(p.wire_fields(payload))
