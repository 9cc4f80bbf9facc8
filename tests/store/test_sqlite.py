"""What only SqliteStore does: a column per record field, a file that survives a restart, WAL, the
schema version and its migrations. The behaviour it shares with MemoryStore is in test_contract*.py."""

from __future__ import annotations

import dataclasses
import sqlite3
from pathlib import Path

import pytest

from percl.domain.enums import LogLevel
from percl.domain.records import LogEntry
from percl.engine.ports import CallFilter, LogFilter
from percl.errors import ConfigError
from percl.store import schema
from percl.store.sqlite import SqliteStore
from tests.store.samples import AC1, ACCOUNT, APPLICATION, CALL, NUMBER, QU1, QUEUE


@pytest.mark.parametrize(
    "mapping",
    [
        schema.ACCOUNT_MAP,
        schema.APPLICATION_MAP,
        schema.NUMBER_MAP,
        schema.CALL_MAP,
        schema.LOG_MAP,
        schema.CONFERENCE_MAP,
        schema.PARTICIPANT_MAP,
        schema.QUEUE_MAP,
        schema.QUEUE_MEMBER_MAP,
        schema.MESSAGE_MAP,
    ],
)
def test_every_record_field_has_a_column(mapping: schema.RecordMap[object]) -> None:
    # A field added to a record without a column would otherwise be dropped silently.
    record_fields = {f.name for f in dataclasses.fields(mapping.record)}  # type: ignore[arg-type]
    assert {f.attr for f in mapping.fields} == record_fields


# --------------------------------------------------------------------------- files


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
        "ix_logs_call_timestamp",
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


async def test_version_2_file_gets_the_call_log_index_and_keeps_its_lines(tmp_path: Path) -> None:
    path = tmp_path / "v2.db"
    with sqlite3.connect(path) as raw:  # what a version-2 percl left: logs indexed by call_id only
        raw.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        raw.execute("INSERT INTO schema_version VALUES (2)")
        raw.execute(
            "CREATE TABLE logs (log_id INTEGER PRIMARY KEY, timestamp BIGINT NOT NULL, level VARCHAR"
            " NOT NULL, account_id VARCHAR NOT NULL, message TEXT NOT NULL, request_id VARCHAR,"
            " call_id VARCHAR, metadata TEXT NOT NULL)"
        )
        raw.execute("CREATE INDEX ix_logs_call ON logs (call_id)")
        raw.execute("INSERT INTO logs VALUES (1, 5, 'info', ?, 'kept', NULL, 'CA1', '{}')", (AC1,))
    store = SqliteStore.for_path(path)
    await store.open()
    try:
        (kept,) = await store.list_logs(AC1, LogFilter(call_id="CA1"))
        assert kept.message == "kept"
    finally:
        await store.close()
    with sqlite3.connect(path) as raw:
        assert raw.execute("SELECT version FROM schema_version").fetchall() == [(schema.SCHEMA_VERSION,)]
        indexes = {r[0] for r in raw.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    assert "ix_logs_call_timestamp" in indexes and "ix_logs_call" not in indexes


async def test_a_prune_while_another_process_holds_the_lock_deletes_nothing(tmp_path: Path) -> None:
    # Retention is best effort: a locked database must not fail the log line that triggered it.
    path = tmp_path / "locked.db"
    store = SqliteStore.for_path(path)
    await store.open()
    try:
        await store.add_log(LogEntry(1, LogLevel.INFO, AC1, "old"))
        await store.flush_logs()
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        try:
            assert await store.prune_logs(older_than=10, keep=0) == 0
        finally:
            other.execute("ROLLBACK")
            other.close()
        assert await store.prune_logs(older_than=10, keep=0) == 1
    finally:
        await store.close()


@pytest.mark.parametrize("version", [8, 9])
async def test_an_older_file_gets_the_calls_web_rtc_column_and_keeps_its_calls(
        tmp_path: Path, version: int) -> None:
    path = tmp_path / f"v{version}.db"
    store = SqliteStore.for_path(path)
    await store.open()
    try:
        await store.put_call(CALL)
    finally:
        await store.close()
    with sqlite3.connect(path) as raw:  # what that version left: calls without its newer columns
        raw.execute("ALTER TABLE calls DROP COLUMN web_rtc")
        if version < 9:
            raw.execute("ALTER TABLE calls DROP COLUMN audio_stream_ms")
        raw.execute("UPDATE schema_version SET version = ?", (version,))
    browser = dataclasses.replace(CALL, call_id="CA" + "b" * 40, web_rtc=True)
    store = SqliteStore.for_path(path)
    await store.open()
    try:
        assert await store.get_call(CALL.call_id) == CALL  # web_rtc False: the column's default
        await store.put_call(browser)
        assert await store.get_call(browser.call_id) == browser
        only = await store.list_calls(AC1, CallFilter(web_rtc=True), limit=10)
        assert [c.call_id for c in only] == [browser.call_id]
        assert await store.count_calls(AC1, CallFilter()) == 2
    finally:
        await store.close()
    with sqlite3.connect(path) as raw:
        assert raw.execute("SELECT version FROM schema_version").fetchall() == [(schema.SCHEMA_VERSION,)]
