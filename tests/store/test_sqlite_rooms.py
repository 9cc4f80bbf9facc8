"""Conferences, participants, queues, queue members and messages in the SQLite store."""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from percl.domain.enums import ConferenceStatus, MessageDirection, MessageStatus, PlayBeep
from percl.domain.records import Conference, Message, Participant, Queue, QueueMember
from percl.engine.ports import ConferenceFilter, MessageFilter, ParticipantFilter
from percl.store import schema
from percl.store.sqlite import SqliteStore

AC1 = "AC" + "1" * 40
AC2 = "AC" + "2" * 40
CF1 = "CF" + "1" * 40
CF2 = "CF" + "2" * 40
QU1 = "QU" + "1" * 40


def call_id(n: int) -> str:
    return f"CA{n:040x}"


# Every field away from its default, so a dropped or swapped column shows up.
CONFERENCE = Conference(
    conference_id=CF1, account_id=AC1, alias="room 7", play_beep=PlayBeep.ENTRY_ONLY, record=True,
    status=ConferenceStatus.IN_PROGRESS, wait_url="http://app/wait.wav", action_url="http://app/created",
    status_callback_url="http://app/status", request_id="RQ" + "3" * 40, date_created=100.5,
    date_updated=101.25, revision=4,
)
PARTICIPANT = Participant(
    conference_id=CF1, call_id=call_id(1), account_id=AC1, talk=False, listen=False,
    dtmf_pass_through=False, start_conf_on_enter=False, allow_call_control=True,
    call_control_sequence="*9", call_control_url="http://app/cc", leave_conference_url="http://app/left",
    notification_url="http://app/added", date_created=102.0, date_updated=103.0, revision=2,
)
QUEUE = Queue(
    queue_id=QU1, account_id=AC1, alias="support", max_size=7, removed_count=3, removed_total_s=45.5,
    dequeued_count=2, dequeued_total_s=30.25, date_created=5.0, date_updated=6.0, revision=3,
)
MEMBER = QueueMember(
    queue_id=QU1, call_id=call_id(9), account_id=AC1, date_enqueued=50.0, seq=4,
    wait_url="http://app/wait", action_url="http://app/action", notification_url="http://app/note",
)
MESSAGE = Message(
    message_id="SM" + "5" * 40, account_id=AC1, from_="+15551230001", to="+15557770001", text="hi there",
    direction=MessageDirection.OUTBOUND, status=MessageStatus.SENT, notification_url="http://app/sms",
    application_id="AP" + "a" * 40, phone_number_id="PN" + "b" * 40, call_id=call_id(3), segment_count=2,
    media_urls=("http://app/a.png", "http://app/b.png"), request_id="RQ" + "6" * 40,
    date_created=70.0, date_updated=71.0, revision=2,
)


@pytest.fixture
async def store() -> AsyncIterator[SqliteStore]:
    s = SqliteStore.for_path(":memory:")
    await s.open()
    yield s
    await s.close()


async def test_records_round_trip_every_field(store: SqliteStore) -> None:
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


async def test_conference_filters_and_newest_first(store: SqliteStore) -> None:
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


async def test_participants_in_join_order_with_filters_and_delete(store: SqliteStore) -> None:
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


async def test_members_head_first_and_delete(store: SqliteStore) -> None:
    same_instant = dataclasses.replace(MEMBER, call_id=call_id(10), seq=5)
    earlier = dataclasses.replace(MEMBER, call_id=call_id(11), date_enqueued=40.0, seq=9)
    other_queue = dataclasses.replace(MEMBER, call_id=call_id(12), queue_id="QU" + "2" * 40)
    for m in (same_instant, MEMBER, earlier, other_queue):
        await store.put_member(m)
    assert [m.call_id for m in await store.list_members(QU1)] == [call_id(11), call_id(9), call_id(10)]
    await store.delete_member(call_id(9))
    assert [m.call_id for m in await store.list_members(QU1)] == [call_id(11), call_id(10)]
    assert await store.get_member(call_id(9)) is None


async def test_queues_by_alias(store: SqliteStore) -> None:
    await store.put_queue(QUEUE)
    await store.put_queue(dataclasses.replace(QUEUE, queue_id="QU" + "2" * 40, alias="sales",
                                              date_created=9.0))
    assert [q.alias for q in await store.list_queues(AC1)] == ["support", "sales"]
    assert [q.alias for q in await store.list_queues(AC1, alias="sales")] == ["sales"]
    assert await store.list_queues(AC2) == []


async def test_message_filters(store: SqliteStore) -> None:
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


async def test_version_1_file_is_migrated_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as raw:  # what a version-1 percl left: no room tables
        raw.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        raw.execute("INSERT INTO schema_version VALUES (1)")
        raw.execute("CREATE TABLE keepme (x INTEGER)")
        raw.execute("INSERT INTO keepme VALUES (42)")
    store = SqliteStore.for_path(path)
    await store.open()
    try:
        await store.put_queue(QUEUE)
        assert await store.get_queue(QU1) == QUEUE
    finally:
        await store.close()
    with sqlite3.connect(path) as raw:
        assert raw.execute("SELECT version FROM schema_version").fetchall() == [(schema.SCHEMA_VERSION,)]
        assert raw.execute("SELECT x FROM keepme").fetchall() == [(42,)]
