"""The SQL store's statements are portable: every statement SqlStore issues compiles for
PostgreSQL, and none of them is SQLite-only SQL (issue 11, item 5).

How: the store is built for the PostgreSQL dialect (its upserts are PostgreSQL's) and run on
SQLite through SQLite's own executor, whose `write`/`fetch` every statement passes; a checking
executor compiles each one with `sqlalchemy.dialects.postgresql` (no server needed) and rejects
SQL text, SQLite-dialect constructs and SQLite-only functions or keywords. A workload calls every
method of the Store protocol, with every filter set, so every statement the store can build runs
(the test checks that the workload missed no method). That the same statements also run on SQLite
is the rest of the store tests.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Delete, Insert, Select, Update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql import visitors
from sqlalchemy.sql.elements import ColumnClause, TextClause

from percl.api.pql import parse_pql
from percl.domain.enums import (
    CallStatus,
    ConferenceStatus,
    ExportStatus,
    LogLevel,
    MessageDirection,
)
from percl.domain.records import LogEntry, Recording
from percl.engine.ports import (
    CallFilter,
    ConferenceFilter,
    LogFilter,
    MessageFilter,
    ParticipantFilter,
    RecordingQuery,
    Store,
)
from percl.errors import Conflict
from percl.store.sql.executor import Params, Row, Statement
from percl.store.sql.statements import Statements
from percl.store.sql.store import SqlStore
from percl.store.sqlite_executor import SqliteExecutor
from tests.store.samples import (
    AC1,
    ACCOUNT,
    APPLICATION,
    CONFERENCE,
    MEMBER,
    MESSAGE,
    NUMBER,
    PARTICIPANT,
    QUEUE,
    mk_call,
)
from tests.store.test_contract_resources import BLOB, EXPORT

POSTGRESQL = postgresql.dialect()
#: SQLite-only spellings (case-insensitive, in the SQL compiled for PostgreSQL).
SQLITE_ONLY = re.compile(
    r"INSERT OR |REPLACE INTO|PRAGMA|JSON_EXTRACT|JSON_EACH|\bGLOB\b|\bROWID\b|\bIFNULL\(|"
    r"STRFTIME\(|DATETIME\(|\bRANDOM\(\)|AUTOINCREMENT|TOTAL_CHANGES|LAST_INSERT_ROWID",
    re.IGNORECASE,
)


def problems(stmt: object, params: Params | None) -> list[str]:
    """Why `stmt` is not portable SQL for PostgreSQL (empty: it is)."""
    if not isinstance(stmt, Select | Insert | Update | Delete):
        return [f"not a Core statement: {type(stmt).__name__}"]
    found: list[str] = []
    if isinstance(stmt, sqlite.Insert):
        found.append("built with sqlalchemy.dialects.sqlite.insert")
    for element in visitors.iterate(stmt):
        if isinstance(element, TextClause):
            found.append(f"SQL text inside the statement: {element.text!r}")
        elif isinstance(element, ColumnClause) and element.is_literal and element.name != "*":
            found.append(f"a literal column (SQL text): {element.name!r}")  # count(*) is fine
    try:
        kwargs: dict[str, Any] = {"render_postcompile": True} if params is None else {}
        sql = str(stmt.compile(dialect=POSTGRESQL, compile_kwargs=kwargs))
    except Exception as exc:
        return [*found, f"does not compile for PostgreSQL: {exc}"]
    found += [f"SQLite-only SQL {m.group(0)!r} in: {sql}" for m in SQLITE_ONLY.finditer(sql)]
    return found


class PortabilityCheck(SqliteExecutor):
    """SQLite's executor that builds the store for PostgreSQL and checks every statement."""

    dialect_name = "postgresql"

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.seen: list[Statement] = []
        self.problems: list[str] = []

    def _check(self, stmt: Statement, params: Params | None) -> None:
        self.seen.append(stmt)
        self.problems += problems(stmt, params)

    async def write(self, stmt: Statement, params: Params | None = None) -> int:
        self._check(stmt, params)
        return await super().write(stmt, params)

    async def write_many(self, stmt: Statement, rows: Sequence[Params]) -> int:
        self._check(stmt, rows[0])
        return await super().write_many(stmt, rows)

    async def fetch(self, stmt: Statement, params: Params | None = None) -> Sequence[Row]:
        self._check(stmt, params)
        return await super().fetch(stmt, params)


class Calling:
    """Records which Store methods the workload calls."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.called: set[str] = set()

    def __getattr__(self, name: str) -> Any:
        self.called.add(name)
        return getattr(self.store, name)


def protocol_methods() -> set[str]:
    return {n for n, v in vars(Store).items() if inspect.isfunction(v) and not n.startswith("_")}


async def workload(s: Any) -> None:
    """Every Store method, every filter field set at least once."""
    await s.put_account(ACCOUNT)
    await s.get_account(ACCOUNT.account_id)
    await s.list_accounts()
    await s.put_application(APPLICATION)
    s.store.invalidate_cache()
    await s.get_application(APPLICATION.application_id)
    await s.list_applications(AC1)
    await s.list_applications(AC1, "ivr")
    await s.put_number(NUMBER)
    s.store.invalidate_cache()
    await s.get_number(NUMBER.phone_number_id)
    s.store.invalidate_cache()
    await s.find_number(NUMBER.phone_number)
    with pytest.raises(Conflict):
        await s.put_number(dataclasses.replace(NUMBER, phone_number_id="PN" + "c" * 40))
    await s.list_numbers(AC1)
    await s.delete_number(NUMBER.phone_number_id)
    await s.delete_application(APPLICATION.application_id)

    calls = [mk_call(n) for n in range(1, 40)]
    await asyncio.gather(*(s.put_call(c) for c in calls))  # group commit: batched upserts
    await asyncio.gather(*(s.put_call(dataclasses.replace(calls[0], revision=r)) for r in range(5)))
    await s.get_call(calls[0].call_id)
    every = CallFilter(active=True, to="+1555", from_="+1666", status=CallStatus.QUEUED,
                       start_time_from=1.0, end_time_to=2.0, parent_call_id=calls[1].call_id,
                       application_ids=("AP1", "AP2"), created_to=3.0)
    for flt in (CallFilter(), every):
        await s.list_calls(AC1, flt)
        await s.list_calls(AC1, flt, offset=2)
        await s.list_calls(AC1, flt, offset=1, limit=3, before=(5.0, calls[3].call_id))
        await s.count_calls(AC1, flt)
    await s.live_calls()

    await s.put_conference(CONFERENCE)
    await s.get_conference(CONFERENCE.conference_id)
    await s.list_conferences(AC1, ConferenceFilter())
    await s.list_conferences(AC1, ConferenceFilter(
        status=ConferenceStatus.EMPTY, alias="a", created_from=1.0, created_to=2.0,
        updated_from=1.0, updated_to=2.0))
    await s.put_participant(PARTICIPANT)
    await s.get_participant(PARTICIPANT.conference_id, PARTICIPANT.call_id)
    await s.list_participants(PARTICIPANT.conference_id, ParticipantFilter())
    await s.list_participants(PARTICIPANT.conference_id,
                              ParticipantFilter(talk=True, listen=False, dtmf_pass_through=True))
    await s.delete_participant(PARTICIPANT.conference_id, PARTICIPANT.call_id)

    await s.put_queue(QUEUE)
    await s.get_queue(QUEUE.queue_id)
    await s.list_queues(AC1)
    await s.list_queues(AC1, "q")
    await s.put_member(MEMBER)
    await s.get_member(MEMBER.call_id)
    await s.list_members(MEMBER.queue_id)
    await s.delete_member(MEMBER.call_id)

    await s.put_message(MESSAGE)
    await s.get_message(MESSAGE.message_id)
    every_message = MessageFilter(to="+1", from_="+2", begin=1.0, end=2.0,
                                  direction=MessageDirection.INBOUND)
    for mflt in (MessageFilter(), every_message):
        await s.list_messages(AC1, mflt)
        await s.list_messages(AC1, mflt, before=(5.0, MESSAGE.message_id), limit=2)
        await s.count_messages(AC1, mflt, cap=10)
    await s.unsent_messages()

    for n in range(150):  # two batches of the write-behind log
        await s.add_log(LogEntry(n, LogLevel.INFO, AC1, f"line {n}", request_id="RQ1",
                                 call_id=calls[n % 3].call_id, metadata={"n": n}))
    pql = parse_pql('level >= "warning" AND (callId != "CA1" OR message = "x") AND timestamp < 99')
    for lflt in (LogFilter(), LogFilter(call_id=calls[0].call_id, level=LogLevel.INFO, query=pql)):
        await s.list_logs(AC1, lflt)
        first = await s.page_logs(AC1, lflt, limit=5)
        await s.page_logs(AC1, lflt, before=first[-1][0] if first else (10, 10), limit=5)
        await s.count_logs(AC1, lflt, cap=100)
    await s.prune_logs(older_than=10, keep=100)
    await s.last_activity()

    await s.put_blob(BLOB)
    with pytest.raises(Conflict):
        await s.put_blob(dataclasses.replace(BLOB, blob_id="BL" + "9" * 40))
    await s.get_blob(BLOB.blob_id)
    await s.put_blob(dataclasses.replace(BLOB, revision=2), expect_revision=BLOB.revision)
    await s.put_blob(BLOB, expect_revision=BLOB.revision)
    await s.list_blobs(AC1)
    await s.list_blobs(AC1, BLOB.alias)
    await s.delete_expired_blobs(BLOB.expires_at or 0.0)  # finds it: the DELETE runs too
    await s.put_blob(BLOB)
    await s.delete_blob(BLOB.blob_id)
    await s.put_export(EXPORT)
    await s.get_export(EXPORT.export_id)
    await s.list_exports(AC1)
    await s.list_exports(AC1, ExportStatus.COMPLETED)
    recording = Recording("RE" + "1" * 40, AC1, call_id="CA" + "1" * 40, duration_sec=2,
                          date_created=100.0, date_updated=100.0, duration_ms=1500, size=44)
    await s.put_recording(recording)
    await s.get_recording(recording.recording_id)
    await s.list_recordings(RecordingQuery(account_id=AC1, call_id=recording.call_id,
                                           conference_id="CF1", created_from=1.0, created_to=200.0))
    await s.list_recordings(RecordingQuery())
    await s.delete_recording(recording.recording_id)


async def test_every_statement_compiles_for_postgresql_and_none_is_sqlite_only(tmp_path: Path) -> None:
    check = PortabilityCheck(f"sqlite+aiosqlite:///{tmp_path / 'percl.db'}")
    store = SqlStore(check)
    calling = Calling(store)
    await calling.open()
    try:
        await workload(calling)
    finally:
        await calling.close()
    assert protocol_methods() <= calling.called, "the workload must call every Store method"
    assert len(check.seen) > 100
    assert check.problems == []


def test_the_check_catches_sqlite_only_sql() -> None:
    # The check above must be able to fail: each of these is SQLite-only or SQL text.
    from sqlalchemy import func, insert, literal_column, select, text

    from percl.store.schema import accounts, logs

    stmt = sqlite.insert(accounts)
    sqlite_upsert = stmt.on_conflict_do_update(index_elements=["account_id"],
                                               set_={"alias": stmt.excluded.alias})
    bad: list[Any] = [
        sqlite_upsert,
        insert(accounts).prefix_with("OR REPLACE"),
        select(func.json_extract(logs.c.metadata, "$.n")),
        select(logs.c.log_id).where(text("rowid > 5")),
        select(literal_column("rowid")).select_from(logs),
        text("PRAGMA wal_checkpoint(PASSIVE)"),
    ]
    for one in bad:
        assert problems(one, None), one
    assert problems(Statements("postgresql").upsert(accounts), {}) == []


def test_the_upsert_is_picked_by_dialect_name_and_unknown_dialects_are_refused() -> None:
    from percl.store.schema import calls

    assert isinstance(Statements("postgresql").upsert(calls), postgresql.Insert)
    assert isinstance(Statements("sqlite").upsert(calls), sqlite.Insert)
    with pytest.raises(ValueError, match="no upsert for the 'mysql' dialect"):
        Statements("mysql")


SQL_PACKAGE = Path(__file__).resolve().parents[2] / "src" / "percl" / "store" / "sql"


@pytest.mark.parametrize("module", sorted(p.name for p in SQL_PACKAGE.glob("*.py")))
def test_nothing_sqlite_only_outside_the_sqlite_strategy(module: str) -> None:
    """store/sql/ is the portable part: no SQLite driver, pragma or dialect import there (the
    upsert dispatch in statements.py is the one place that names dialects)."""
    source = (SQL_PACKAGE / module).read_text()
    assert not re.search(r"^\s*(import|from) (sqlite3|aiosqlite)\b", source, re.MULTILINE)
    assert "PRAGMA" not in source
    assert ("text(" not in source and "exec_driver_sql" not in source) or module == "schema_setup.py"
    if module != "statements.py":
        assert "sqlalchemy.dialects" not in source


def test_the_schema_and_its_migrations_are_postgresql_ddl_too() -> None:
    """What ensure_schema runs besides the statements: create_all's DDL and the migrations."""
    from sqlalchemy.schema import CreateIndex, CreateTable

    from percl.store import schema
    from percl.store.migrations import baseline

    for table in schema.metadata.sorted_tables:
        ddl = [str(CreateTable(table).compile(dialect=POSTGRESQL))]
        ddl += [str(CreateIndex(index).compile(dialect=POSTGRESQL)) for index in table.indexes]
        for sql in ddl:
            assert not SQLITE_ONLY.search(sql), sql
    for statements in baseline.STATEMENTS.values():
        for sql in statements:
            assert not SQLITE_ONLY.search(sql), sql
