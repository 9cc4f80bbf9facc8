"""SqliteStore: every record round-trips, every filter filters in SQL, data survives a restart."""

from __future__ import annotations

import asyncio
import dataclasses
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from percl.domain.enums import (
    AccountStatus,
    AccountType,
    AnsweredBy,
    CallDirection,
    CallEndedReason,
    CallStatus,
    LogLevel,
)
from percl.domain.records import Account, Application, Call, IncomingNumber, LogEntry
from percl.engine.ports import CallFilter, LogFilter, Store
from percl.errors import ConfigError, Conflict
from percl.store import schema
from percl.store.sqlite import SqliteStore, StoreClosed

AC1 = "AC" + "1" * 40
AC2 = "AC" + "2" * 40


def call_id(n: int) -> str:
    return f"CA{n:040x}"


# Every field away from its default, so a dropped or swapped column shows up.
ACCOUNT = Account(
    account_id=AC1,
    api_key="key-1",
    signing_secret="sec-1",
    alias="main",
    label="the label",
    type=AccountType.TRIAL,
    status=AccountStatus.SUSPENDED,
    date_created=1_767_225_600.125,
    date_updated=1_767_225_601.5,
    revision=7,
)

APPLICATION = Application(
    application_id="AP" + "a" * 40,
    account_id=AC1,
    alias="ivr",
    voice_url="http://app/voice",
    voice_fallback_url="http://app/fallback",
    call_connect_url="http://app/connect",
    status_callback_url="http://app/status",
    sms_url="http://app/sms",
    sms_fallback_url="http://app/sms-fallback",
    date_created=10.25,
    date_updated=11.75,
    revision=3,
)

NUMBER = IncomingNumber(
    phone_number_id="PN" + "b" * 40,
    account_id=AC1,
    phone_number="+15551230001",
    application_id=APPLICATION.application_id,
    alias="support line",
    region="CA",
    country="US",
    voice_enabled=False,
    sms_enabled=False,
    toll_free=True,
    date_created=20.5,
    date_updated=21.5,
    revision=2,
)

CALL = Call(
    call_id=call_id(1),
    account_id=AC1,
    from_="+15550000001",
    to="+15550000002",
    direction=CallDirection.OUTBOUND_DIAL,
    status=CallStatus.COMPLETED,
    application_id=APPLICATION.application_id,
    parent_call_id=call_id(99),
    phone_number_id=NUMBER.phone_number_id,
    answered_by=AnsweredBy.MACHINE,
    caller_name="Ada",
    call_ended_reason=CallEndedReason.FAR_END_HANGUP,
    conference_id="CF" + "c" * 40,
    queue_id="QU" + "d" * 40,
    request_id="RQ" + "e" * 40,
    start_time=100.1,
    connect_time=103.3,
    end_time=160.7,
    date_created=99.9,
    date_updated=160.8,
    revision=5,
    call_connect_url="http://app/cc",
    status_callback_url="http://app/sc",
    if_machine="redirect",
    if_machine_url="http://app/machine",
    send_digits="1{2}3",
    timeout_s=45,
    privacy_mode=True,
)


@pytest.fixture
async def store() -> AsyncIterator[SqliteStore]:
    s = SqliteStore.for_path(":memory:")
    await s.open()
    yield s
    await s.close()


def mk_call(n: int, **changes: object) -> Call:
    base = Call(call_id(n), AC1, "+15550000001", "+15550000002", CallDirection.INBOUND)
    return dataclasses.replace(base, **{"date_created": float(n), **changes})  # type: ignore[arg-type]


async def ids(store: Store, flt: CallFilter, account_id: str = AC1) -> list[str]:
    return [c.call_id for c in await store.list_calls(account_id, flt)]


# --------------------------------------------------------------------------- shape


def test_is_a_store() -> None:
    store: Store = SqliteStore("sqlite+aiosqlite:///:memory:")
    assert isinstance(store, SqliteStore)


@pytest.mark.parametrize(
    "mapping",
    [
        schema.ACCOUNT_MAP,
        schema.APPLICATION_MAP,
        schema.NUMBER_MAP,
        schema.CALL_MAP,
        schema.LOG_MAP,
    ],
)
def test_every_record_field_has_a_column(mapping: schema.RecordMap[object]) -> None:
    # A field added to a record without a column would otherwise be dropped silently.
    record_fields = {f.name for f in dataclasses.fields(mapping.record)}  # type: ignore[arg-type]
    assert {f.attr for f in mapping.fields} == record_fields


# --------------------------------------------------------------------------- round trips


async def test_account_round_trip(store: SqliteStore) -> None:
    await store.put_account(ACCOUNT)
    got = await store.get_account(AC1)
    assert got == ACCOUNT
    assert got is not None and type(got.type) is AccountType and type(got.status) is AccountStatus
    assert await store.list_accounts() == [ACCOUNT]
    assert await store.get_account(AC2) is None


async def test_application_round_trip(store: SqliteStore) -> None:
    await store.put_application(APPLICATION)
    assert await store.get_application(APPLICATION.application_id) == APPLICATION
    assert await store.get_application("AP" + "0" * 40) is None


async def test_number_round_trip(store: SqliteStore) -> None:
    await store.put_number(NUMBER)
    got = await store.get_number(NUMBER.phone_number_id)
    assert got == NUMBER
    assert got is not None and got.toll_free is True and got.voice_enabled is False


async def test_call_round_trip_keeps_enum_types(store: SqliteStore) -> None:
    await store.put_call(CALL)
    got = await store.get_call(CALL.call_id)
    assert got == CALL
    assert got is not None
    assert type(got.direction) is CallDirection
    assert type(got.status) is CallStatus
    assert type(got.answered_by) is AnsweredBy
    assert type(got.call_ended_reason) is CallEndedReason
    assert got.privacy_mode is True


async def test_call_with_every_optional_unset_round_trips(store: SqliteStore) -> None:
    bare = Call(call_id(2), AC1, "+1", "+2", CallDirection.INBOUND)
    await store.put_call(bare)
    assert await store.get_call(bare.call_id) == bare


async def test_log_round_trip_with_nested_metadata(store: SqliteStore) -> None:
    meta = {"b": 1, "a": [1, 2.5, None, {"deep": {"x": "é", "t": True}}], "empty": {}}
    entry = LogEntry(
        timestamp=1_767_225_600_123_456,
        level=LogLevel.WARNING,
        account_id=AC1,
        message="webhook timed out",
        request_id="RQ" + "e" * 40,
        call_id=call_id(1),
        metadata=meta,
    )
    await store.add_log(entry)
    (got,) = await store.list_logs(AC1, LogFilter())
    assert got == entry
    assert type(got.level) is LogLevel
    assert list(got.metadata) == ["b", "a", "empty"]  # key order is kept too


async def test_log_metadata_json_cannot_encode_is_stored_as_text(store: SqliteStore) -> None:
    await store.add_log(LogEntry(1, LogLevel.INFO, AC1, "m", metadata={"path": Path("/x")}))
    (got,) = await store.list_logs(AC1, LogFilter())
    assert got.metadata == {"path": "/x"}


# --------------------------------------------------------------------------- upsert, delete


async def test_put_replaces_every_column(store: SqliteStore) -> None:
    first = mk_call(1)
    await store.put_call(first)
    await store.put_call(CALL)
    assert await store.get_call(CALL.call_id) == CALL
    await store.put_call(first)  # and back: nothing of CALL lingers
    assert await store.get_call(first.call_id) == first
    assert len(await store.list_calls(AC1, CallFilter())) == 1


async def test_put_account_and_application_are_upserts(store: SqliteStore) -> None:
    await store.put_account(ACCOUNT)
    await store.put_account(dataclasses.replace(ACCOUNT, label=None, revision=8))
    assert await store.list_accounts() == [dataclasses.replace(ACCOUNT, label=None, revision=8)]
    await store.put_application(APPLICATION)
    await store.put_application(dataclasses.replace(APPLICATION, voice_url="http://new"))
    (app,) = await store.list_applications(AC1)
    assert app.voice_url == "http://new"


async def test_delete_application_and_number(store: SqliteStore) -> None:
    await store.put_application(APPLICATION)
    await store.put_number(NUMBER)
    await store.delete_application(APPLICATION.application_id)
    await store.delete_number(NUMBER.phone_number_id)
    assert await store.get_application(APPLICATION.application_id) is None
    assert await store.get_number(NUMBER.phone_number_id) is None
    assert await store.find_number(NUMBER.phone_number) is None
    await store.delete_number(NUMBER.phone_number_id)  # absent: does nothing


async def test_delete_leaves_other_rows(store: SqliteStore) -> None:
    other = dataclasses.replace(APPLICATION, application_id="AP" + "f" * 40)
    await store.put_application(APPLICATION)
    await store.put_application(other)
    await store.delete_application(APPLICATION.application_id)
    assert await store.list_applications(AC1) == [other]


# --------------------------------------------------------------------------- numbers, apps


async def test_find_number_by_e164_across_accounts(store: SqliteStore) -> None:
    theirs = dataclasses.replace(
        NUMBER, phone_number_id="PN" + "9" * 40, account_id=AC2, phone_number="+15559990000"
    )
    await store.put_number(NUMBER)
    await store.put_number(theirs)
    assert await store.find_number("+15559990000") == theirs
    assert await store.find_number(NUMBER.phone_number) == NUMBER
    assert await store.find_number("+15550000000") is None
    assert await store.list_numbers(AC2) == [theirs]


async def test_same_phone_number_twice_is_a_conflict(store: SqliteStore) -> None:
    await store.put_number(NUMBER)
    dup = dataclasses.replace(NUMBER, phone_number_id="PN" + "0" * 40, account_id=AC2)
    with pytest.raises(Conflict, match=r"\+15551230001"):
        await store.put_number(dup)
    assert await store.get_number(dup.phone_number_id) is None
    await store.put_call(mk_call(1))  # the store is still usable after the failed write
    assert await store.get_call(call_id(1)) is not None


async def test_list_applications_scoped_by_account_and_alias(store: SqliteStore) -> None:
    second = dataclasses.replace(
        APPLICATION, application_id="AP" + "1" * 40, alias="other", date_created=50.0
    )
    foreign = dataclasses.replace(APPLICATION, application_id="AP" + "2" * 40, account_id=AC2)
    for app in (second, APPLICATION, foreign):
        await store.put_application(app)
    assert await store.list_applications(AC1) == [APPLICATION, second]  # oldest first
    assert await store.list_applications(AC1, alias="other") == [second]
    assert await store.list_applications(AC1, alias="nope") == []
    assert await store.list_applications(AC2) == [foreign]


async def test_list_numbers_oldest_first(store: SqliteStore) -> None:
    newer = dataclasses.replace(
        NUMBER, phone_number_id="PN" + "0" * 40, phone_number="+15551230002", date_created=99.0
    )
    await store.put_number(newer)
    await store.put_number(NUMBER)
    assert await store.list_numbers(AC1) == [NUMBER, newer]


# --------------------------------------------------------------------------- call filters


async def test_list_calls_newest_first_then_call_id_desc(store: SqliteStore) -> None:
    await store.put_call(mk_call(1))
    await store.put_call(mk_call(3))
    await store.put_call(mk_call(2))
    await store.put_call(mk_call(4, date_created=3.0))  # ties with call 3 on date_created
    assert await ids(store, CallFilter()) == [call_id(4), call_id(3), call_id(2), call_id(1)]


async def test_list_calls_scoped_by_account(store: SqliteStore) -> None:
    await store.put_call(mk_call(1))
    await store.put_call(mk_call(2, account_id=AC2))
    assert await ids(store, CallFilter()) == [call_id(1)]
    assert await ids(store, CallFilter(), AC2) == [call_id(2)]


async def test_filter_active(store: SqliteStore) -> None:
    for n, status in enumerate(CallStatus, start=1):
        await store.put_call(mk_call(n, status=status))
    got = await store.list_calls(AC1, CallFilter(active=True))
    assert {c.status for c in got} == {
        CallStatus.QUEUED,
        CallStatus.RINGING,
        CallStatus.IN_PROGRESS,
    }


async def test_filter_to_and_from(store: SqliteStore) -> None:
    await store.put_call(mk_call(1, to="+1111", from_="+2222"))
    await store.put_call(mk_call(2, to="+2222", from_="+1111"))
    assert await ids(store, CallFilter(to="+1111")) == [call_id(1)]
    assert await ids(store, CallFilter(from_="+1111")) == [call_id(2)]
    assert await ids(store, CallFilter(to="+1111", from_="+1111")) == []


async def test_filter_status(store: SqliteStore) -> None:
    await store.put_call(mk_call(1, status=CallStatus.BUSY))
    await store.put_call(mk_call(2, status=CallStatus.NO_ANSWER))
    assert await ids(store, CallFilter(status=CallStatus.NO_ANSWER)) == [call_id(2)]


async def test_filter_start_time_from_is_inclusive(store: SqliteStore) -> None:
    await store.put_call(mk_call(1, start_time=10.0))
    await store.put_call(mk_call(2, start_time=20.0))
    await store.put_call(mk_call(3))  # never started: excluded by any start filter
    assert await ids(store, CallFilter(start_time_from=20.0)) == [call_id(2)]
    assert await ids(store, CallFilter(start_time_from=10.0)) == [call_id(2), call_id(1)]


async def test_filter_end_time_to_is_inclusive(store: SqliteStore) -> None:
    await store.put_call(mk_call(1, end_time=10.0))
    await store.put_call(mk_call(2, end_time=20.0))
    await store.put_call(mk_call(3))  # still live: excluded by any end filter
    assert await ids(store, CallFilter(end_time_to=10.0)) == [call_id(1)]
    assert await ids(store, CallFilter(end_time_to=20.0)) == [call_id(2), call_id(1)]


async def test_filter_parent_call_id(store: SqliteStore) -> None:
    await store.put_call(mk_call(1))
    await store.put_call(mk_call(2, parent_call_id=call_id(1)))
    assert await ids(store, CallFilter(parent_call_id=call_id(1))) == [call_id(2)]


async def test_filter_application_ids(store: SqliteStore) -> None:
    await store.put_call(mk_call(1, application_id="AP1"))
    await store.put_call(mk_call(2, application_id="AP2"))
    await store.put_call(mk_call(3))
    assert await ids(store, CallFilter(application_ids=("AP2",))) == [call_id(2)]
    assert await ids(store, CallFilter(application_ids=("AP1", "AP2"))) == [call_id(2), call_id(1)]


async def test_filters_combine(store: SqliteStore) -> None:
    await store.put_call(mk_call(1, status=CallStatus.RINGING, to="+1"))
    await store.put_call(mk_call(2, status=CallStatus.RINGING, to="+2"))
    await store.put_call(mk_call(3, status=CallStatus.COMPLETED, to="+1"))
    assert await ids(store, CallFilter(active=True, to="+1")) == [call_id(1)]


async def test_live_calls_spans_accounts(store: SqliteStore) -> None:
    await store.put_call(mk_call(1, status=CallStatus.IN_PROGRESS))
    await store.put_call(mk_call(2, status=CallStatus.QUEUED, account_id=AC2))
    await store.put_call(mk_call(3, status=CallStatus.RINGING))
    await store.put_call(mk_call(4, status=CallStatus.CANCELED))
    await store.put_call(mk_call(5, status=CallStatus.FAILED))
    live = await store.live_calls()
    assert sorted(c.call_id for c in live) == [call_id(1), call_id(2), call_id(3)]
    await store.put_call(mk_call(1, status=CallStatus.COMPLETED))
    assert sorted(c.call_id for c in await store.live_calls()) == [call_id(2), call_id(3)]


# --------------------------------------------------------------------------- logs


async def test_logs_newest_first_ties_by_insertion(store: SqliteStore) -> None:
    for ts, msg in [(5, "a"), (9, "b"), (5, "c"), (7, "d")]:
        await store.add_log(LogEntry(ts, LogLevel.INFO, AC1, msg))
    assert [e.message for e in await store.list_logs(AC1, LogFilter())] == ["b", "d", "c", "a"]


async def test_log_filters(store: SqliteStore) -> None:
    await store.add_log(LogEntry(1, LogLevel.INFO, AC1, "one", call_id=call_id(1)))
    await store.add_log(LogEntry(2, LogLevel.ERROR, AC1, "two", call_id=call_id(1)))
    await store.add_log(LogEntry(3, LogLevel.ERROR, AC1, "three", call_id=call_id(2)))
    await store.add_log(LogEntry(4, LogLevel.ERROR, AC2, "foreign", call_id=call_id(1)))

    async def messages(flt: LogFilter) -> list[str]:
        return [e.message for e in await store.list_logs(AC1, flt)]

    assert await messages(LogFilter(call_id=call_id(1))) == ["two", "one"]
    assert await messages(LogFilter(level=LogLevel.ERROR)) == ["three", "two"]
    assert await messages(LogFilter(call_id=call_id(1), level=LogLevel.INFO)) == ["one"]
    assert await messages(LogFilter(level=LogLevel.WARNING)) == []


# --------------------------------------------------------------------------- lifecycle


async def test_data_survives_close_and_reopen(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "dir" / "percl.db"  # parent dirs are created
    first = SqliteStore.for_path(path)
    await first.open()
    await first.put_account(ACCOUNT)
    await first.put_application(APPLICATION)
    await first.put_number(NUMBER)
    await first.put_call(CALL)
    await first.add_log(LogEntry(1, LogLevel.INFO, AC1, "kept", metadata={"k": [1]}))
    await first.close()

    second = SqliteStore.for_path(path)
    await second.open()
    try:
        assert await second.get_account(AC1) == ACCOUNT
        assert await second.get_application(APPLICATION.application_id) == APPLICATION
        assert await second.find_number(NUMBER.phone_number) == NUMBER
        assert await second.get_call(CALL.call_id) == CALL
        (log,) = await second.list_logs(AC1, LogFilter())
        assert log.metadata == {"k": [1]}
    finally:
        await second.close()


async def test_file_database_uses_wal_and_records_schema_version(tmp_path: Path) -> None:
    path = tmp_path / "percl.db"
    store = SqliteStore.for_path(path)
    await store.open()
    await store.open()  # idempotent: no second version row
    await store.close()
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert raw.execute("SELECT version FROM schema_version").fetchall() == [(schema.SCHEMA_VERSION,)]
        indexes = {r[0] for r in raw.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    assert {
        "ix_calls_account_created",
        "ix_calls_status",
        "ux_numbers_phone_number",
        "ix_logs_account_timestamp",
        "ix_logs_call",
        "ix_applications_account",
    } <= indexes


async def test_newer_schema_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    with sqlite3.connect(path) as raw:
        raw.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        raw.execute("INSERT INTO schema_version VALUES (99)")
    store = SqliteStore.for_path(path)
    with pytest.raises(ConfigError, match="schema version 99"):
        await store.open()


async def test_use_before_open_and_after_close_is_refused(tmp_path: Path) -> None:
    store = SqliteStore.for_path(tmp_path / "x.db")
    with pytest.raises(StoreClosed):
        await store.get_call(call_id(1))
    await store.open()
    await store.close()
    await store.close()  # idempotent
    with pytest.raises(StoreClosed):
        await store.put_call(mk_call(1))


async def test_concurrent_writers_and_readers_share_the_connection(store: SqliteStore) -> None:
    writes = [store.put_call(mk_call(n, status=CallStatus.RINGING)) for n in range(1, 201)]
    reads = [store.live_calls() for _ in range(20)]
    results = await asyncio.gather(*writes, *reads)
    assert all(len(r) <= 200 for r in results[200:] if r is not None)
    assert len(await store.live_calls()) == 200
