"""The Store contract, run against SqliteStore and MemoryStore (see conftest.py): every record
round-trips, every filter filters, listings sort with the same tie-breaks, errors are the same."""

from __future__ import annotations

import asyncio
import dataclasses
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
from percl.domain.records import Call, LogEntry
from percl.engine.ports import CallFilter, LogFilter, Store
from percl.errors import Conflict
from percl.store.memory import MemoryStore
from percl.store.sqlite import SqliteStore, StoreClosed
from tests.store.conftest import KINDS, new_store
from tests.store.samples import (
    AC1,
    AC2,
    ACCOUNT,
    APPLICATION,
    CALL,
    NUMBER,
    call_id,
    mk_call,
)


async def ids(store: Store, flt: CallFilter, account_id: str = AC1) -> list[str]:
    return [c.call_id for c in await store.list_calls(account_id, flt)]


# --------------------------------------------------------------------------- shape


def test_both_are_stores() -> None:
    stores: list[Store] = [SqliteStore("sqlite+aiosqlite:///:memory:"), MemoryStore()]
    assert [type(s).__name__ for s in stores] == ["SqliteStore", "MemoryStore"]


# --------------------------------------------------------------------------- round trips


async def test_account_round_trip(store: Store) -> None:
    await store.put_account(ACCOUNT)
    got = await store.get_account(AC1)
    assert got == ACCOUNT
    assert got is not None and type(got.type) is AccountType and type(got.status) is AccountStatus
    assert await store.list_accounts() == [ACCOUNT]
    assert await store.get_account(AC2) is None


async def test_application_round_trip(store: Store) -> None:
    await store.put_application(APPLICATION)
    assert await store.get_application(APPLICATION.application_id) == APPLICATION
    assert await store.get_application("AP" + "0" * 40) is None


async def test_number_round_trip(store: Store) -> None:
    await store.put_number(NUMBER)
    got = await store.get_number(NUMBER.phone_number_id)
    assert got == NUMBER
    assert got is not None and got.toll_free is True and got.voice_enabled is False


async def test_call_round_trip_keeps_enum_types(store: Store) -> None:
    await store.put_call(CALL)
    got = await store.get_call(CALL.call_id)
    assert got == CALL
    assert got is not None
    assert type(got.direction) is CallDirection
    assert type(got.status) is CallStatus
    assert type(got.answered_by) is AnsweredBy
    assert type(got.call_ended_reason) is CallEndedReason
    assert got.privacy_mode is True


async def test_call_with_every_optional_unset_round_trips(store: Store) -> None:
    bare = Call(call_id(2), AC1, "+1", "+2", CallDirection.INBOUND)
    await store.put_call(bare)
    assert await store.get_call(bare.call_id) == bare


async def test_log_round_trip_with_nested_metadata(store: Store) -> None:
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


async def test_log_metadata_json_cannot_encode_is_stored_as_text(store: Store) -> None:
    await store.add_log(LogEntry(1, LogLevel.INFO, AC1, "m", metadata={"path": Path("/x")}))
    (got,) = await store.list_logs(AC1, LogFilter())
    assert got.metadata == {"path": "/x"}


# --------------------------------------------------------------------------- upsert, delete


async def test_put_replaces_every_column(store: Store) -> None:
    first = mk_call(1)
    await store.put_call(first)
    await store.put_call(CALL)
    assert await store.get_call(CALL.call_id) == CALL
    await store.put_call(first)  # and back: nothing of CALL lingers
    assert await store.get_call(first.call_id) == first
    assert len(await store.list_calls(AC1, CallFilter())) == 1


async def test_put_account_and_application_are_upserts(store: Store) -> None:
    await store.put_account(ACCOUNT)
    await store.put_account(dataclasses.replace(ACCOUNT, label=None, revision=8))
    assert await store.list_accounts() == [dataclasses.replace(ACCOUNT, label=None, revision=8)]
    await store.put_application(APPLICATION)
    await store.put_application(dataclasses.replace(APPLICATION, voice_url="http://new"))
    (app,) = await store.list_applications(AC1)
    assert app.voice_url == "http://new"


async def test_delete_application_and_number(store: Store) -> None:
    await store.put_application(APPLICATION)
    await store.put_number(NUMBER)
    await store.delete_application(APPLICATION.application_id)
    await store.delete_number(NUMBER.phone_number_id)
    assert await store.get_application(APPLICATION.application_id) is None
    assert await store.get_number(NUMBER.phone_number_id) is None
    assert await store.find_number(NUMBER.phone_number) is None
    await store.delete_number(NUMBER.phone_number_id)  # absent: does nothing


async def test_delete_leaves_other_rows(store: Store) -> None:
    other = dataclasses.replace(APPLICATION, application_id="AP" + "f" * 40)
    await store.put_application(APPLICATION)
    await store.put_application(other)
    await store.delete_application(APPLICATION.application_id)
    assert await store.list_applications(AC1) == [other]


# --------------------------------------------------------------------------- numbers, apps


async def test_find_number_by_e164_across_accounts(store: Store) -> None:
    theirs = dataclasses.replace(
        NUMBER, phone_number_id="PN" + "9" * 40, account_id=AC2, phone_number="+15559990000"
    )
    await store.put_number(NUMBER)
    await store.put_number(theirs)
    assert await store.find_number("+15559990000") == theirs
    assert await store.find_number(NUMBER.phone_number) == NUMBER
    assert await store.find_number("+15550000000") is None
    assert await store.list_numbers(AC2) == [theirs]


async def test_same_phone_number_twice_is_a_conflict(store: Store) -> None:
    await store.put_number(NUMBER)
    dup = dataclasses.replace(NUMBER, phone_number_id="PN" + "0" * 40, account_id=AC2)
    with pytest.raises(Conflict, match=r"\+15551230001"):
        await store.put_number(dup)
    assert await store.get_number(dup.phone_number_id) is None
    await store.put_call(mk_call(1))  # the store is still usable after the failed write
    assert await store.get_call(call_id(1)) is not None


async def test_list_applications_scoped_by_account_and_alias(store: Store) -> None:
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


async def test_list_numbers_oldest_first(store: Store) -> None:
    newer = dataclasses.replace(
        NUMBER, phone_number_id="PN" + "0" * 40, phone_number="+15551230002", date_created=99.0
    )
    await store.put_number(newer)
    await store.put_number(NUMBER)
    assert await store.list_numbers(AC1) == [NUMBER, newer]


async def test_a_number_whose_phone_number_changes_frees_the_old_one(store: Store) -> None:
    await store.put_number(NUMBER)
    await store.put_number(dataclasses.replace(NUMBER, phone_number="+15551230009"))
    assert await store.find_number(NUMBER.phone_number) is None
    taker = dataclasses.replace(NUMBER, phone_number_id="PN" + "0" * 40)
    await store.put_number(taker)  # the old number is free for another record now
    assert await store.find_number(NUMBER.phone_number) == taker
    with pytest.raises(Conflict):
        await store.put_number(dataclasses.replace(taker, phone_number="+15551230009"))


async def test_a_number_that_changes_account_is_listed_under_the_new_one(store: Store) -> None:
    await store.put_number(NUMBER)
    await store.put_number(dataclasses.replace(NUMBER, account_id=AC2))
    assert await store.list_numbers(AC1) == []
    assert [n.account_id for n in await store.list_numbers(AC2)] == [AC2]


# --------------------------------------------------------------------------- call filters


async def test_list_calls_newest_first_then_call_id_desc(store: Store) -> None:
    await store.put_call(mk_call(1))
    await store.put_call(mk_call(3))
    await store.put_call(mk_call(2))
    await store.put_call(mk_call(4, date_created=3.0))  # ties with call 3 on date_created
    assert await ids(store, CallFilter()) == [call_id(4), call_id(3), call_id(2), call_id(1)]


async def test_list_calls_scoped_by_account(store: Store) -> None:
    await store.put_call(mk_call(1))
    await store.put_call(mk_call(2, account_id=AC2))
    assert await ids(store, CallFilter()) == [call_id(1)]
    assert await ids(store, CallFilter(), AC2) == [call_id(2)]


async def test_filter_active(store: Store) -> None:
    for n, status in enumerate(CallStatus, start=1):
        await store.put_call(mk_call(n, status=status))
    got = await store.list_calls(AC1, CallFilter(active=True))
    assert {c.status for c in got} == {
        CallStatus.QUEUED,
        CallStatus.RINGING,
        CallStatus.IN_PROGRESS,
    }


async def test_filter_to_and_from(store: Store) -> None:
    await store.put_call(mk_call(1, to="+1111", from_="+2222"))
    await store.put_call(mk_call(2, to="+2222", from_="+1111"))
    assert await ids(store, CallFilter(to="+1111")) == [call_id(1)]
    assert await ids(store, CallFilter(from_="+1111")) == [call_id(2)]
    assert await ids(store, CallFilter(to="+1111", from_="+1111")) == []


async def test_filter_status(store: Store) -> None:
    await store.put_call(mk_call(1, status=CallStatus.BUSY))
    await store.put_call(mk_call(2, status=CallStatus.NO_ANSWER))
    assert await ids(store, CallFilter(status=CallStatus.NO_ANSWER)) == [call_id(2)]


async def test_filter_start_time_from_is_inclusive(store: Store) -> None:
    await store.put_call(mk_call(1, start_time=10.0))
    await store.put_call(mk_call(2, start_time=20.0))
    await store.put_call(mk_call(3))  # never started: excluded by any start filter
    assert await ids(store, CallFilter(start_time_from=20.0)) == [call_id(2)]
    assert await ids(store, CallFilter(start_time_from=10.0)) == [call_id(2), call_id(1)]


async def test_filter_end_time_to_is_inclusive(store: Store) -> None:
    await store.put_call(mk_call(1, end_time=10.0))
    await store.put_call(mk_call(2, end_time=20.0))
    await store.put_call(mk_call(3))  # still live: excluded by any end filter
    assert await ids(store, CallFilter(end_time_to=10.0)) == [call_id(1)]
    assert await ids(store, CallFilter(end_time_to=20.0)) == [call_id(2), call_id(1)]


async def test_filter_parent_call_id(store: Store) -> None:
    await store.put_call(mk_call(1))
    await store.put_call(mk_call(2, parent_call_id=call_id(1)))
    assert await ids(store, CallFilter(parent_call_id=call_id(1))) == [call_id(2)]


async def test_filter_application_ids(store: Store) -> None:
    await store.put_call(mk_call(1, application_id="AP1"))
    await store.put_call(mk_call(2, application_id="AP2"))
    await store.put_call(mk_call(3))
    assert await ids(store, CallFilter(application_ids=("AP2",))) == [call_id(2)]
    assert await ids(store, CallFilter(application_ids=("AP1", "AP2"))) == [call_id(2), call_id(1)]


async def test_filter_web_rtc_keeps_the_browser_phones_calls(store: Store) -> None:
    await store.put_call(mk_call(1, web_rtc=True))
    await store.put_call(mk_call(2))
    assert await ids(store, CallFilter(web_rtc=True)) == [call_id(1)]
    assert await ids(store, CallFilter()) == [call_id(2), call_id(1)]
    assert await store.count_calls(AC1, CallFilter(web_rtc=True)) == 1
    stored = await store.get_call(call_id(1))
    assert stored is not None and stored.web_rtc


async def test_filters_combine(store: Store) -> None:
    await store.put_call(mk_call(1, status=CallStatus.RINGING, to="+1"))
    await store.put_call(mk_call(2, status=CallStatus.RINGING, to="+2"))
    await store.put_call(mk_call(3, status=CallStatus.COMPLETED, to="+1"))
    assert await ids(store, CallFilter(active=True, to="+1")) == [call_id(1)]


async def test_live_calls_spans_accounts(store: Store) -> None:
    await store.put_call(mk_call(1, status=CallStatus.IN_PROGRESS))
    await store.put_call(mk_call(2, status=CallStatus.QUEUED, account_id=AC2))
    await store.put_call(mk_call(3, status=CallStatus.RINGING))
    await store.put_call(mk_call(4, status=CallStatus.CANCELED))
    await store.put_call(mk_call(5, status=CallStatus.FAILED))
    live = await store.live_calls()
    assert sorted(c.call_id for c in live) == [call_id(1), call_id(2), call_id(3)]
    await store.put_call(mk_call(1, status=CallStatus.COMPLETED))
    assert sorted(c.call_id for c in await store.live_calls()) == [call_id(2), call_id(3)]


async def test_a_call_that_changes_account_is_listed_under_the_new_one(store: Store) -> None:
    await store.put_call(mk_call(1))
    await store.put_call(mk_call(1, account_id=AC2))
    assert await ids(store, CallFilter()) == []
    assert await ids(store, CallFilter(), AC2) == [call_id(1)]


async def test_list_calls_pages_and_counts(store: Store) -> None:
    for n in range(1, 6):
        await store.put_call(mk_call(n, status=CallStatus.RINGING if n % 2 else CallStatus.COMPLETED))
    newest_first = [call_id(n) for n in (5, 4, 3, 2, 1)]
    assert [c.call_id for c in await store.list_calls(AC1, CallFilter(), limit=2)] == newest_first[:2]
    page = await store.list_calls(AC1, CallFilter(), offset=2, limit=2)
    assert [c.call_id for c in page] == newest_first[2:4]
    assert [c.call_id for c in await store.list_calls(AC1, CallFilter(), offset=4)] == newest_first[4:]
    assert await store.list_calls(AC1, CallFilter(), offset=9, limit=2) == []
    assert await store.list_calls(AC1, CallFilter(), limit=0) == []
    assert await store.count_calls(AC1, CallFilter()) == 5
    assert await store.count_calls(AC1, CallFilter(active=True)) == 3
    assert await store.count_calls(AC2, CallFilter()) == 0


async def test_live_calls_oldest_first(store: Store) -> None:
    for n, created in ((1, 5.0), (2, 3.0), (3, 5.0)):
        await store.put_call(mk_call(n, status=CallStatus.RINGING, date_created=created))
    assert [c.call_id for c in await store.live_calls()] == [call_id(2), call_id(1), call_id(3)]


# --------------------------------------------------------------------------- logs


async def test_logs_newest_first_ties_by_insertion(store: Store) -> None:
    for ts, msg in [(5, "a"), (9, "b"), (5, "c"), (7, "d")]:
        await store.add_log(LogEntry(ts, LogLevel.INFO, AC1, msg))
    assert [e.message for e in await store.list_logs(AC1, LogFilter())] == ["b", "d", "c", "a"]


async def test_log_filters(store: Store) -> None:
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


@pytest.mark.parametrize("kind", KINDS)
async def test_use_before_open_and_after_close_is_refused(kind: str, tmp_path: Path) -> None:
    store = new_store(kind, tmp_path)
    with pytest.raises(StoreClosed):
        await store.get_call(call_id(1))
    await store.open()
    await store.open()  # idempotent
    await store.put_call(mk_call(1))
    await store.close()
    await store.close()  # idempotent
    with pytest.raises(StoreClosed):
        await store.put_call(mk_call(1))
    with pytest.raises(StoreClosed):
        await store.list_logs(AC1, LogFilter())


async def test_concurrent_writers_and_readers(store: Store) -> None:
    writes = [store.put_call(mk_call(n, status=CallStatus.RINGING)) for n in range(1, 201)]
    reads = [store.live_calls() for _ in range(20)]
    results = await asyncio.gather(*writes, *reads)
    assert all(len(r) <= 200 for r in results[200:] if r is not None)
    assert len(await store.live_calls()) == 200
