"""The Store contract for conferences, participants, queues, queue members and messages, run
against SqliteStore and MemoryStore (see conftest.py)."""

from __future__ import annotations

import dataclasses

from percl.domain.enums import ConferenceStatus, MessageDirection, MessageStatus
from percl.domain.records import Message
from percl.engine.ports import ConferenceFilter, MessageFilter, ParticipantFilter, Store
from tests.store.samples import (
    AC1,
    AC2,
    CF1,
    CF2,
    CONFERENCE,
    MEMBER,
    MESSAGE,
    PARTICIPANT,
    QU1,
    QUEUE,
    call_id,
)


async def test_records_round_trip_every_field(store: Store) -> None:
    await store.put_conference(CONFERENCE)
    await store.put_participant(PARTICIPANT)
    await store.put_queue(QUEUE)
    await store.put_member(MEMBER)
    await store.put_message(MESSAGE)
    assert await store.get_conference(CF1) == CONFERENCE
    assert await store.get_participant(CF1, call_id(1)) == PARTICIPANT
    assert await store.get_queue(QU1) == QUEUE
    assert await store.get_member(call_id(9)) == MEMBER
    assert await store.get_message(MESSAGE.message_id) == MESSAGE
    assert await store.get_conference(CF2) is None
    assert await store.get_participant(CF2, call_id(1)) is None


async def test_conference_filters_and_newest_first(store: Store) -> None:
    await store.put_conference(CONFERENCE)
    await store.put_conference(dataclasses.replace(
        CONFERENCE, conference_id=CF2, alias="other", status=ConferenceStatus.EMPTY,
        date_created=200.0, date_updated=200.0))
    await store.put_conference(dataclasses.replace(CONFERENCE, conference_id="CF" + "9" * 40,
                                                   account_id=AC2))
    everything = await store.list_conferences(AC1, ConferenceFilter())
    assert [c.conference_id for c in everything] == [CF2, CF1]
    empty = await store.list_conferences(AC1, ConferenceFilter(status=ConferenceStatus.EMPTY))
    assert [c.conference_id for c in empty] == [CF2]
    assert [c.conference_id for c in await store.list_conferences(
        AC1, ConferenceFilter(alias="room 7"))] == [CF1]
    day = await store.list_conferences(AC1, ConferenceFilter(created_from=100.0, created_to=150.0))
    assert [c.conference_id for c in day] == [CF1]
    upd = await store.list_conferences(AC1, ConferenceFilter(updated_from=150.0))
    assert [c.conference_id for c in upd] == [CF2]


async def test_participants_in_join_order_with_filters_and_delete(store: Store) -> None:
    second = dataclasses.replace(PARTICIPANT, call_id=call_id(2), talk=True, date_created=104.0)
    await store.put_participant(second)
    await store.put_participant(PARTICIPANT)
    everyone = await store.list_participants(CF1, ParticipantFilter())
    assert [p.call_id for p in everyone] == [call_id(1), call_id(2)]
    talkers = await store.list_participants(CF1, ParticipantFilter(talk=True))
    assert [p.call_id for p in talkers] == [call_id(2)]
    assert await store.list_participants(CF1, ParticipantFilter(listen=True)) == []
    await store.delete_participant(CF1, call_id(1))
    assert [p.call_id for p in await store.list_participants(CF1, ParticipantFilter())] == [call_id(2)]
    await store.delete_participant(CF1, call_id(1))  # absent: no error


async def test_members_head_first_and_delete(store: Store) -> None:
    same_instant = dataclasses.replace(MEMBER, call_id=call_id(10), seq=5)
    earlier = dataclasses.replace(MEMBER, call_id=call_id(11), date_enqueued=40.0, seq=9)
    other_queue = dataclasses.replace(MEMBER, call_id=call_id(12), queue_id="QU" + "2" * 40)
    for m in (same_instant, MEMBER, earlier, other_queue):
        await store.put_member(m)
    assert [m.call_id for m in await store.list_members(QU1)] == [call_id(11), call_id(9), call_id(10)]
    await store.delete_member(call_id(9))
    assert [m.call_id for m in await store.list_members(QU1)] == [call_id(11), call_id(10)]
    assert await store.get_member(call_id(9)) is None


async def test_queues_by_alias(store: Store) -> None:
    await store.put_queue(QUEUE)
    await store.put_queue(dataclasses.replace(QUEUE, queue_id="QU" + "2" * 40, alias="sales",
                                              date_created=9.0))
    assert [q.alias for q in await store.list_queues(AC1)] == ["support", "sales"]
    assert [q.alias for q in await store.list_queues(AC1, alias="sales")] == ["sales"]
    assert await store.list_queues(AC2) == []


async def test_message_filters(store: Store) -> None:
    inbound = dataclasses.replace(MESSAGE, message_id="SM" + "7" * 40, from_="+15557770001",
                                  to="+15551230001", direction=MessageDirection.INBOUND,
                                  date_created=80.0, media_urls=())
    await store.put_message(MESSAGE)
    await store.put_message(inbound)
    assert [m.message_id for m in await store.list_messages(AC1, MessageFilter())] == [
        inbound.message_id, MESSAGE.message_id]
    assert await store.list_messages(AC1, MessageFilter(to="+15557770001")) == [MESSAGE]
    assert await store.list_messages(AC1, MessageFilter(from_="+15557770001")) == [inbound]
    assert await store.list_messages(AC1, MessageFilter(direction=MessageDirection.INBOUND)) == [inbound]
    assert await store.list_messages(AC1, MessageFilter(begin=75.0)) == [inbound]
    assert await store.list_messages(AC1, MessageFilter(end=75.0)) == [MESSAGE]


async def test_unsent_messages_of_every_account_oldest_first(store: Store) -> None:
    def msg(n: int, account: str, status: MessageStatus, created: float) -> Message:
        return dataclasses.replace(MESSAGE, message_id=f"SM{n:040d}", account_id=account,
                                   status=status, date_created=created)

    later = msg(1, AC1, MessageStatus.SENDING, 90.0)
    earlier = msg(2, AC2, MessageStatus.QUEUED, 10.0)
    for m in (later, earlier, msg(3, AC1, MessageStatus.SENT, 5.0), msg(4, AC2, MessageStatus.FAILED, 6.0),
              msg(5, AC1, MessageStatus.RECEIVED, 7.0)):
        await store.put_message(m)
    assert await store.unsent_messages() == [earlier, later]


async def test_time_bounds_conferences_half_open_messages_inclusive(store: Store) -> None:
    await store.put_conference(CONFERENCE)  # created 100.5, updated 101.25
    await store.put_message(MESSAGE)  # created 70.0

    async def conferences(flt: ConferenceFilter) -> list[str]:
        return [c.conference_id for c in await store.list_conferences(AC1, flt)]

    assert await conferences(ConferenceFilter(created_from=100.5)) == [CF1]
    assert await conferences(ConferenceFilter(created_to=100.5)) == []
    assert await conferences(ConferenceFilter(updated_from=101.25, updated_to=101.5)) == [CF1]
    assert await store.list_messages(AC1, MessageFilter(begin=70.0, end=70.0)) == [MESSAGE]
    assert await store.list_messages(AC1, MessageFilter(begin=70.5)) == []


async def test_a_member_moved_to_another_queue_keeps_its_place_among_ties(store: Store) -> None:
    # Ties on (date_enqueued, seq) go by first insertion (SQLite's rowid), which a move keeps.
    QU2 = "QU" + "2" * 40
    moved = dataclasses.replace(MEMBER, queue_id=QU2, call_id=call_id(1))
    stayed = dataclasses.replace(MEMBER, call_id=call_id(2))
    await store.put_member(moved)
    await store.put_member(stayed)
    await store.put_member(dataclasses.replace(moved, queue_id=QU1))
    assert [m.call_id for m in await store.list_members(QU1)] == [call_id(1), call_id(2)]
    assert await store.list_members(QU2) == []
    await store.delete_member(call_id(1))  # a deleted and re-added member goes to the back
    await store.put_member(dataclasses.replace(moved, queue_id=QU1))
    assert [m.call_id for m in await store.list_members(QU1)] == [call_id(2), call_id(1)]


async def test_records_that_change_account_are_listed_under_the_new_one(store: Store) -> None:
    await store.put_conference(CONFERENCE)
    await store.put_message(MESSAGE)
    await store.put_conference(dataclasses.replace(CONFERENCE, account_id=AC2))
    await store.put_message(dataclasses.replace(MESSAGE, account_id=AC2))
    assert await store.list_conferences(AC1, ConferenceFilter()) == []
    assert [c.account_id for c in await store.list_conferences(AC2, ConferenceFilter())] == [AC2]
    assert await store.list_messages(AC1, MessageFilter()) == []
    assert [m.account_id for m in await store.list_messages(AC2, MessageFilter())] == [AC2]


async def test_a_participant_of_two_conferences_is_two_records(store: Store) -> None:
    other_room = dataclasses.replace(PARTICIPANT, conference_id=CF2, talk=True)
    await store.put_participant(PARTICIPANT)
    await store.put_participant(other_room)
    assert await store.get_participant(CF1, call_id(1)) == PARTICIPANT
    assert await store.get_participant(CF2, call_id(1)) == other_room
    await store.delete_participant(CF2, call_id(1))
    assert await store.list_participants(CF1, ParticipantFilter()) == [PARTICIPANT]
