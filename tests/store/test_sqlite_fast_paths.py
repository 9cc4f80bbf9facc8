"""SqliteStore's fast paths (issue 6): reads straight to the driver, the exact cache of accounts,
applications and numbers, the write-behind log, group commit of call records, and GET /Calls
paging in SQL (the paging contract runs on both stores through the `store` fixture)."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from percl.domain.enums import CallStatus, LogLevel
from percl.domain.records import LogEntry
from percl.engine.ports import CallFilter, LogFilter, Store
from percl.errors import Conflict
from percl.store.sql.calls import Calls
from percl.store.sql.executor import Params, Row, Statement
from percl.store.sql.logs import Logs
from percl.store.sql.store import SqlStore
from percl.store.sqlite import SqliteStore, StoreClosed
from percl.store.sqlite_executor import SqliteExecutor
from tests.store.samples import AC1, ACCOUNT, APPLICATION, CALL, NUMBER, mk_call


@pytest.fixture
async def sqlite_store() -> AsyncIterator[SqliteStore]:
    s = SqliteStore.for_path(":memory:")
    await s.open()
    yield s
    await s.close()


class CountingExecutor(SqliteExecutor):
    """Counts the statements that reach the driver (writes and reads)."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.writes: list[Statement] = []
        self.reads = 0

    async def write(self, stmt: Statement, params: Params | None = None) -> int:
        self.writes.append(stmt)
        return await super().write(stmt, params)

    async def write_many(self, stmt: Statement, rows: Sequence[Params]) -> int:
        self.writes.append(stmt)
        return await super().write_many(stmt, rows)

    async def fetch(self, stmt: Statement, params: Params | None = None) -> Sequence[Row]:
        self.reads += 1
        return await super().fetch(stmt, params)


class CountingStore(SqlStore):
    """The SQL store on SQLite, counting what reaches the driver (CountingExecutor)."""

    def __init__(self, url: str) -> None:
        self.counter = CountingExecutor(url)
        super().__init__(self.counter)

    @property
    def writes(self) -> list[Statement]:
        return self.counter.writes

    @property
    def reads(self) -> int:
        return self.counter.reads


@pytest.fixture
async def counting() -> AsyncIterator[CountingStore]:
    s = CountingStore("sqlite+aiosqlite:///:memory:")
    await s.open()
    yield s
    await s.close()


# --------------------------------------------------------------------------- reads and the cache


async def test_booleans_enums_and_floats_come_back_typed(sqlite_store: SqliteStore) -> None:
    # The driver returns 0/1 and text; the RecordMap must turn them back into the record's types.
    await sqlite_store.put_number(NUMBER)
    sqlite_store.invalidate_cache()
    found = await sqlite_store.get_number(NUMBER.phone_number_id)
    assert found == NUMBER
    assert found is not None and isinstance(found.voice_enabled, bool)
    await sqlite_store.put_call(CALL)
    got = await sqlite_store.get_call(CALL.call_id)
    assert got == CALL and got is not None and type(got.status) is CallStatus


async def test_cached_reads_do_not_reach_the_database(counting: CountingStore) -> None:
    await counting.put_account(ACCOUNT)
    await counting.put_application(APPLICATION)
    await counting.put_number(NUMBER)
    before = counting.reads
    for _ in range(3):
        assert await counting.get_account(ACCOUNT.account_id) == ACCOUNT
        assert await counting.get_application(APPLICATION.application_id) == APPLICATION
        assert await counting.find_number(NUMBER.phone_number) == NUMBER
        assert await counting.get_number(NUMBER.phone_number_id) == NUMBER
    assert counting.reads == before


async def test_a_miss_reads_once_then_is_cached(counting: CountingStore) -> None:
    await counting.put_account(ACCOUNT)
    counting.invalidate_cache()
    before = counting.reads
    await counting.get_account(ACCOUNT.account_id)
    await counting.get_account(ACCOUNT.account_id)
    assert counting.reads == before + 1
    assert await counting.get_account("AC" + "9" * 40) is None  # absent ids are not cached
    assert await counting.get_account("AC" + "9" * 40) is None
    assert counting.reads == before + 3


async def test_cache_follows_updates_and_deletes(sqlite_store: SqliteStore) -> None:
    await sqlite_store.put_account(ACCOUNT)
    await sqlite_store.put_application(APPLICATION)
    await sqlite_store.put_number(NUMBER)
    renamed = dataclasses.replace(ACCOUNT, alias="renamed", revision=8)
    await sqlite_store.put_account(renamed)
    assert await sqlite_store.get_account(ACCOUNT.account_id) == renamed
    moved = dataclasses.replace(NUMBER, phone_number="+15559990000")
    await sqlite_store.put_number(moved)
    assert await sqlite_store.find_number(NUMBER.phone_number) is None  # old number not cached
    assert await sqlite_store.find_number("+15559990000") == moved
    await sqlite_store.delete_number(NUMBER.phone_number_id)
    assert await sqlite_store.find_number("+15559990000") is None
    assert await sqlite_store.get_number(NUMBER.phone_number_id) is None
    await sqlite_store.delete_application(APPLICATION.application_id)
    assert await sqlite_store.get_application(APPLICATION.application_id) is None


async def test_a_failed_number_write_leaves_no_cached_copy(sqlite_store: SqliteStore) -> None:
    await sqlite_store.put_number(NUMBER)
    other = dataclasses.replace(NUMBER, phone_number_id="PN" + "c" * 40)
    with pytest.raises(Conflict):
        await sqlite_store.put_number(other)
    assert await sqlite_store.get_number(other.phone_number_id) is None
    assert await sqlite_store.find_number(NUMBER.phone_number) == NUMBER


async def test_a_read_in_flight_across_a_write_does_not_cache_the_old_record(
    sqlite_store: SqliteStore,
) -> None:
    await sqlite_store.put_account(ACCOUNT)
    sqlite_store.invalidate_cache()
    renamed = dataclasses.replace(ACCOUNT, alias="renamed")
    # The read's SELECT runs first (it holds the lock), the write lands before the read resumes.
    read = asyncio.ensure_future(sqlite_store.get_account(ACCOUNT.account_id))
    await asyncio.sleep(0)
    await sqlite_store.put_account(renamed)
    assert await read == ACCOUNT
    assert await sqlite_store.get_account(ACCOUNT.account_id) == renamed


# --------------------------------------------------------------------------- write-behind log


def line(n: int, call_id: str | None = None) -> LogEntry:
    return LogEntry(n, LogLevel.INFO, AC1, f"line {n}", call_id=call_id, metadata={"n": n})


async def test_add_log_returns_before_the_line_is_written(counting: CountingStore) -> None:
    for n in range(5):
        await counting.add_log(line(n))
    assert counting.writes == []  # queued: nothing reached the driver yet
    found = await counting.list_logs(AC1, LogFilter())
    assert [e.timestamp for e in found] == [4, 3, 2, 1, 0]


async def test_queued_lines_are_written_in_one_statement(counting: CountingStore) -> None:
    for n in range(150):
        await counting.add_log(line(n))
    await counting.flush_logs()
    assert len(counting.writes) == 2  # batches of 100: two transactions, not 150 writes
    assert len(await counting.list_logs(AC1, LogFilter())) == 150


async def test_the_writer_task_writes_without_a_flush(counting: CountingStore) -> None:
    await counting.add_log(line(1))
    for _ in range(20):  # let the background task run; no clock involved
        await asyncio.sleep(0)
    assert len(counting.writes) == 1


async def test_close_writes_queued_lines(tmp_path: Path) -> None:
    path = tmp_path / "percl.db"
    first = SqliteStore.for_path(path)
    await first.open()
    for n in range(3):
        await first.add_log(line(n))
    await first.close()
    second = SqliteStore.for_path(path)
    await second.open()
    try:
        assert len(await second.list_logs(AC1, LogFilter())) == 3
    finally:
        await second.close()


async def test_add_log_on_a_closed_store_raises() -> None:
    store = SqliteStore.for_path(":memory:")
    with pytest.raises(StoreClosed):
        await store.add_log(line(1))


async def test_a_failing_batch_is_dropped_and_later_lines_still_land(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    original = Logs._write
    calls = 0

    async def flaky(self: Logs, rows: Sequence[Any]) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise OSError("disk full")
        await original(self, rows)

    monkeypatch.setattr(Logs, "_write", flaky)  # before the store binds it
    sqlite_store = SqliteStore.for_path(":memory:")
    await sqlite_store.open()
    try:
        await sqlite_store.add_log(line(1))
        await sqlite_store.flush_logs()
        await sqlite_store.add_log(line(2))
        assert [e.timestamp for e in await sqlite_store.list_logs(AC1, LogFilter())] == [2]
    finally:
        await sqlite_store.close()
    assert "lost 1 queued store rows" in caplog.text


# --------------------------------------------------------------------------- group commit


async def test_concurrent_put_calls_share_statements(counting: CountingStore) -> None:
    calls = [mk_call(n) for n in range(1, 41)]
    await asyncio.gather(*(counting.put_call(c) for c in calls))
    # The first is written at once; the 39 that queued behind it go as batches of at most 32.
    assert len(counting.writes) == 3
    for c in calls:
        assert await counting.get_call(c.call_id) == c


async def test_later_puts_of_one_call_win_within_a_batch(counting: CountingStore) -> None:
    first = mk_call(1)
    states = [dataclasses.replace(first, status=s, revision=i) for i, s in enumerate(
        [CallStatus.QUEUED, CallStatus.RINGING, CallStatus.IN_PROGRESS, CallStatus.COMPLETED])]
    await asyncio.gather(*(counting.put_call(c) for c in states))
    assert await counting.get_call(first.call_id) == states[-1]


async def test_each_put_call_returns_only_once_its_row_is_committed(counting: CountingStore) -> None:
    seen: list[bool] = []

    async def put_then_read(n: int) -> None:
        await counting.put_call(mk_call(n))
        seen.append(await counting.get_call(mk_call(n).call_id) is not None)

    await asyncio.gather(*(put_then_read(n) for n in range(1, 10)))
    assert seen == [True] * 9


async def test_a_failed_batch_raises_in_every_submitter(monkeypatch: pytest.MonkeyPatch) -> None:
    async def broken(self: Calls, rows: Sequence[Any]) -> None:
        await asyncio.sleep(0)  # let the others queue behind the first write
        raise OSError("disk full")

    monkeypatch.setattr(Calls, "_write", broken)  # before the store binds it
    store = SqliteStore.for_path(":memory:")
    await store.open()
    try:
        results = await asyncio.gather(*(store.put_call(mk_call(n)) for n in range(1, 4)),
                                       return_exceptions=True)
    finally:
        await store.close()
    assert [type(r) for r in results] == [OSError, OSError, OSError]


# --------------------------------------------------------------------------- paging (both stores)


async def test_list_calls_pages_and_counts(store: Store) -> None:
    for n in range(1, 8):
        await store.put_call(mk_call(n, status=CallStatus.COMPLETED if n % 2 else CallStatus.QUEUED))
    everything = CallFilter()
    newest_first = [c.call_id for c in await store.list_calls(AC1, everything)]
    assert len(newest_first) == 7
    page = await store.list_calls(AC1, everything, offset=2, limit=3)
    assert [c.call_id for c in page] == newest_first[2:5]
    assert await store.list_calls(AC1, everything, offset=6, limit=3) == [
        c for c in await store.list_calls(AC1, everything) if c.call_id == newest_first[6]
    ]
    assert list(await store.list_calls(AC1, everything, offset=9, limit=3)) == []
    assert list(await store.list_calls(AC1, everything, offset=0, limit=0)) == []
    assert await store.count_calls(AC1, everything) == 7
    assert await store.count_calls(AC1, CallFilter(active=True)) == 3
    assert await store.count_calls("AC" + "0" * 40, everything) == 0
