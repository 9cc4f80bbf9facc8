"""The default Store: SQLite through SQLAlchemy 2 Core on an async engine (aiosqlite).

Why one connection: SQLite allows one writer at a time, and the engine writes a call record on
every state change (a 1,000-call run is ~10k writes). Checking a connection out of a pool for each
write, or letting several connections contend for the write lock, costs more than it buys. So the
store opens one connection in `open()`, keeps it until `close()`, and serialises operations on it
with an asyncio.Lock. WAL + synchronous=NORMAL makes each commit cheap while keeping the database
file consistent after a crash.

Why writes skip SQLAlchemy's execution layer: through the async adapter one write costs four trips
to aiosqlite's worker thread (open cursor, execute, close cursor, commit), and those trips, not
SQLite, were 3/4 of the time of a write. The connection runs in autocommit mode, so each statement
is its own atomic transaction, and writes send SQL that SQLAlchemy compiled once from the Core
statements below straight to the aiosqlite connection: one trip per write. Reads, which are rarer,
stay on SQLAlchemy so its column types convert the results. No table is reflected after `open()`.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiosqlite
from sqlalchemy import (
    ColumnElement,
    Delete,
    RowMapping,
    Select,
    Table,
    bindparam,
    delete,
    event,
    select,
)
from sqlalchemy.dialects import sqlite
from sqlalchemy.dialects.sqlite import Insert, insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool

from percl.domain.enums import CallStatus
from percl.domain.records import (
    Account,
    Application,
    Call,
    Conference,
    IncomingNumber,
    LogEntry,
    Message,
    Participant,
    Queue,
    QueueMember,
)
from percl.engine.ports import (
    CallFilter,
    ConferenceFilter,
    LogFilter,
    MessageFilter,
    ParticipantFilter,
)
from percl.errors import ConfigError, Conflict, PerclError
from percl.store import schema
from percl.store.schema import (
    ACCOUNT_MAP,
    APPLICATION_MAP,
    CALL_MAP,
    CONFERENCE_MAP,
    LOG_MAP,
    MESSAGE_MAP,
    NUMBER_MAP,
    PARTICIPANT_MAP,
    QUEUE_MAP,
    QUEUE_MEMBER_MAP,
    accounts,
    applications,
    calls,
    conferences,
    logs,
    messages,
    numbers,
    participants,
    queue_members,
    queues,
)

_LIVE_STATUSES = tuple(s.value for s in CallStatus if s.is_live)


class StoreClosed(PerclError):
    """A store method was called before `open()` or after `close()` (a wiring bug in app.py)."""


_SQLITE = sqlite.dialect(paramstyle="named")


def _compiled(stmt: Insert | Delete, columns: Sequence[str] = ()) -> str:
    """The SQL text of `stmt` with `:name` parameters, for the driver connection."""
    return str(stmt.compile(dialect=_SQLITE, column_keys=list(columns)))


def _upsert(table: Table) -> str:
    """INSERT ... ON CONFLICT(primary key) DO UPDATE SET every other column."""
    stmt = insert(table)
    pk = [c.name for c in table.primary_key.columns]
    updates = {c.name: stmt.excluded[c.name] for c in table.columns if not c.primary_key}
    return _compiled(stmt.on_conflict_do_update(index_elements=pk, set_=updates), table.c.keys())


def _delete(table: Table) -> str:
    """DELETE by primary key, the key columns passed as parameters named after them."""
    return _compiled(delete(table).where(*(c == bindparam(c.name) for c in table.primary_key.columns)))


_PUT_ACCOUNT = _upsert(accounts)
_PUT_APPLICATION = _upsert(applications)
_PUT_NUMBER = _upsert(numbers)
_PUT_CALL = _upsert(calls)
_ADD_LOG = _compiled(insert(logs), [f.column for f in LOG_MAP.fields])
_PUT_CONFERENCE = _upsert(conferences)
_PUT_PARTICIPANT = _upsert(participants)
_PUT_QUEUE = _upsert(queues)
_PUT_MEMBER = _upsert(queue_members)
_PUT_MESSAGE = _upsert(messages)
_DELETE_APPLICATION = _delete(applications)
_DELETE_NUMBER = _delete(numbers)
_DELETE_PARTICIPANT = _delete(participants)
_DELETE_MEMBER = _delete(queue_members)


def _on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Pragmas are per connection, so they are set on every new DBAPI connection.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # answers "memory" for :memory:, which is fine
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=OFF")
    cursor.close()


def _is_memory(url: str) -> bool:
    bare = url.rstrip("/").endswith(":")  # "sqlite+aiosqlite://" is an in-memory database too
    return bare or ":memory:" in url or "mode=memory" in url


class SqliteStore:
    """`percl.engine.ports.Store` over SQLite. Call `open()` once, before use; `close()` at exit."""

    def __init__(self, url: str) -> None:
        """`url` is an SQLAlchemy URL, e.g. ``sqlite+aiosqlite:///var/percl.db`` or
        ``sqlite+aiosqlite:///:memory:``. Nothing is opened until `open()`."""
        self.url = url
        self._engine: AsyncEngine | None = None
        self._conn: AsyncConnection | None = None
        self._driver: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()

    @classmethod
    def for_path(cls, path: str | Path) -> SqliteStore:
        """A store on the file `path` (its parent directories are created), or ":memory:"."""
        if str(path) == ":memory:":
            return cls("sqlite+aiosqlite:///:memory:")
        file = Path(path).expanduser().resolve()
        file.parent.mkdir(parents=True, exist_ok=True)
        return cls(f"sqlite+aiosqlite:///{file}")

    # ------------------------------------------------------------------ lifecycle

    async def open(self) -> None:
        """Connect, set the pragmas and create missing tables. Idempotent.

        Raises `percl.errors.ConfigError` when the file was written by a newer schema version.
        """
        if self._conn is not None:
            return
        # A single shared connection for :memory:, or every connection would see its own database.
        pool: dict[str, Any] = {"poolclass": StaticPool} if _is_memory(self.url) else {}
        engine = create_async_engine(self.url, **pool)
        event.listen(engine.sync_engine, "connect", _on_connect)
        conn = await engine.connect()
        try:
            await conn.run_sync(schema.metadata.create_all)
            await self._check_version(conn)
            await conn.commit()
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            driver = (await conn.get_raw_connection()).driver_connection
        except BaseException:
            await conn.close()
            await engine.dispose()
            raise
        assert isinstance(driver, aiosqlite.Connection)
        self._engine, self._conn, self._driver = engine, conn, driver

    async def close(self) -> None:
        """Close the connection and the engine. Idempotent; the store may be opened again."""
        async with self._lock:
            conn, engine = self._conn, self._engine
            self._conn = self._engine = self._driver = None
            if conn is not None:
                await conn.close()
            if engine is not None:
                await engine.dispose()

    async def _check_version(self, conn: AsyncConnection) -> None:
        found = (await conn.execute(select(schema.schema_version.c.version))).scalar()
        if found is None:
            await conn.execute(insert(schema.schema_version).values(version=schema.SCHEMA_VERSION))
        elif found > schema.SCHEMA_VERSION:
            raise ConfigError(
                f"{self.url}: database schema version {found} is newer than this percl "
                f"supports ({schema.SCHEMA_VERSION}); upgrade percl or use another database file"
            )
        elif found < schema.SCHEMA_VERSION:
            # Every migration so far only added tables, which create_all has just done.
            await conn.execute(schema.schema_version.update().values(version=schema.SCHEMA_VERSION))

    # ------------------------------------------------------------------ plumbing

    def _require(self) -> AsyncConnection:
        if self._conn is None:
            raise StoreClosed("the store is not open: call `await store.open()` first")
        return self._conn

    async def _write(self, sql: str, params: dict[str, Any]) -> None:
        """Run one precompiled statement; it commits by itself (autocommit).

        Raises sqlite3 errors as they come (e.g. sqlite3.IntegrityError).
        """
        async with self._lock:
            self._require()
            assert self._driver is not None
            # The cursor is not closed: a finished DML statement holds nothing, and closing it
            # would cost another trip to the worker thread.
            await self._driver.execute(sql, params)

    async def _rows(self, stmt: Select[Any]) -> Sequence[RowMapping]:
        """Run one SELECT through SQLAlchemy and return its row mappings."""
        async with self._lock:
            result = await self._require().execute(stmt)
            rows: Sequence[RowMapping] = result.mappings().all()
            return rows

    async def _one(self, table: Table, where: ColumnElement[bool]) -> RowMapping | None:
        rows = await self._rows(select(table).where(where))
        return rows[0] if rows else None

    # ------------------------------------------------------------------ accounts

    async def put_account(self, account: Account) -> None:
        await self._write(_PUT_ACCOUNT, ACCOUNT_MAP.to_row(account))

    async def get_account(self, account_id: str) -> Account | None:
        row = await self._one(accounts, accounts.c.account_id == account_id)
        return None if row is None else ACCOUNT_MAP.from_row(row)

    async def list_accounts(self) -> Sequence[Account]:
        """Every account, oldest first."""
        stmt = select(accounts).order_by(accounts.c.date_created, accounts.c.account_id)
        return [ACCOUNT_MAP.from_row(r) for r in await self._rows(stmt)]

    # ------------------------------------------------------------------ applications

    async def put_application(self, app: Application) -> None:
        await self._write(_PUT_APPLICATION, APPLICATION_MAP.to_row(app))

    async def get_application(self, application_id: str) -> Application | None:
        row = await self._one(applications, applications.c.application_id == application_id)
        return None if row is None else APPLICATION_MAP.from_row(row)

    async def list_applications(
        self, account_id: str, alias: str | None = None
    ) -> Sequence[Application]:
        """The account's applications (only those with exactly `alias`, if given), oldest first."""
        c = applications.c
        stmt = select(applications).where(c.account_id == account_id)
        if alias is not None:
            stmt = stmt.where(c.alias == alias)
        stmt = stmt.order_by(c.date_created, c.application_id)
        return [APPLICATION_MAP.from_row(r) for r in await self._rows(stmt)]

    async def delete_application(self, application_id: str) -> None:
        """Delete the application; deleting an absent one does nothing."""
        await self._write(_DELETE_APPLICATION, {"application_id": application_id})

    # ------------------------------------------------------------------ numbers

    async def put_number(self, number: IncomingNumber) -> None:
        """Insert or replace by phone_number_id.

        Raises `percl.errors.Conflict` when another record already holds `number.phone_number`.
        """
        try:
            await self._write(_PUT_NUMBER, NUMBER_MAP.to_row(number))
        except sqlite3.IntegrityError as exc:
            raise Conflict(
                f"phone number {number.phone_number} is already owned",
                details={"phoneNumber": number.phone_number},
            ) from exc

    async def get_number(self, phone_number_id: str) -> IncomingNumber | None:
        row = await self._one(numbers, numbers.c.phone_number_id == phone_number_id)
        return None if row is None else NUMBER_MAP.from_row(row)

    async def find_number(self, phone_number: str) -> IncomingNumber | None:
        row = await self._one(numbers, numbers.c.phone_number == phone_number)
        return None if row is None else NUMBER_MAP.from_row(row)

    async def list_numbers(self, account_id: str) -> Sequence[IncomingNumber]:
        """The account's numbers, oldest first."""
        c = numbers.c
        stmt = (
            select(numbers)
            .where(c.account_id == account_id)
            .order_by(c.date_created, c.phone_number_id)
        )
        return [NUMBER_MAP.from_row(r) for r in await self._rows(stmt)]

    async def delete_number(self, phone_number_id: str) -> None:
        """Delete the number; deleting an absent one does nothing."""
        await self._write(_DELETE_NUMBER, {"phone_number_id": phone_number_id})

    # ------------------------------------------------------------------ calls

    async def put_call(self, call: Call) -> None:
        await self._write(_PUT_CALL, CALL_MAP.to_row(call))

    async def get_call(self, call_id: str) -> Call | None:
        row = await self._one(calls, calls.c.call_id == call_id)
        return None if row is None else CALL_MAP.from_row(row)

    async def list_calls(self, account_id: str, flt: CallFilter) -> Sequence[Call]:
        """Matching calls, newest first (date_created descending, then call_id descending)."""
        stmt = select(calls).where(*_call_conditions(account_id, flt))
        stmt = stmt.order_by(calls.c.date_created.desc(), calls.c.call_id.desc())
        return [CALL_MAP.from_row(r) for r in await self._rows(stmt)]

    async def live_calls(self) -> Sequence[Call]:
        """Every call of any account whose status is queued, ringing or inProgress."""
        stmt = select(calls).where(calls.c.status.in_(_LIVE_STATUSES))
        stmt = stmt.order_by(calls.c.date_created, calls.c.call_id)
        return [CALL_MAP.from_row(r) for r in await self._rows(stmt)]

    # ------------------------------------------------------------------ conferences

    async def put_conference(self, conference: Conference) -> None:
        await self._write(_PUT_CONFERENCE, CONFERENCE_MAP.to_row(conference))

    async def get_conference(self, conference_id: str) -> Conference | None:
        row = await self._one(conferences, conferences.c.conference_id == conference_id)
        return None if row is None else CONFERENCE_MAP.from_row(row)

    async def list_conferences(self, account_id: str, flt: ConferenceFilter) -> Sequence[Conference]:
        """Matching conferences, newest first."""
        c = conferences.c
        conds: list[ColumnElement[bool]] = [c.account_id == account_id]
        if flt.status is not None:
            conds.append(c.status == flt.status.value)
        if flt.alias is not None:
            conds.append(c.alias == flt.alias)
        conds += _between(c.date_created, flt.created_from, flt.created_to)
        conds += _between(c.date_updated, flt.updated_from, flt.updated_to)
        stmt = select(conferences).where(*conds)
        stmt = stmt.order_by(c.date_created.desc(), c.conference_id.desc())
        return [CONFERENCE_MAP.from_row(r) for r in await self._rows(stmt)]

    async def put_participant(self, participant: Participant) -> None:
        await self._write(_PUT_PARTICIPANT, PARTICIPANT_MAP.to_row(participant))

    async def get_participant(self, conference_id: str, call_id: str) -> Participant | None:
        c = participants.c
        row = await self._one(participants, (c.conference_id == conference_id) & (c.call_id == call_id))
        return None if row is None else PARTICIPANT_MAP.from_row(row)

    async def list_participants(
        self, conference_id: str, flt: ParticipantFilter
    ) -> Sequence[Participant]:
        """Matching participants, in the order they joined."""
        c = participants.c
        stmt = select(participants).where(c.conference_id == conference_id)
        for column, wanted in ((c.talk, flt.talk), (c.listen, flt.listen),
                               (c.dtmf_pass_through, flt.dtmf_pass_through)):
            if wanted is not None:
                stmt = stmt.where(column == wanted)
        stmt = stmt.order_by(c.date_created, c.call_id)
        return [PARTICIPANT_MAP.from_row(r) for r in await self._rows(stmt)]

    async def delete_participant(self, conference_id: str, call_id: str) -> None:
        await self._write(_DELETE_PARTICIPANT, {"conference_id": conference_id, "call_id": call_id})

    # ------------------------------------------------------------------ queues

    async def put_queue(self, queue: Queue) -> None:
        await self._write(_PUT_QUEUE, QUEUE_MAP.to_row(queue))

    async def get_queue(self, queue_id: str) -> Queue | None:
        row = await self._one(queues, queues.c.queue_id == queue_id)
        return None if row is None else QUEUE_MAP.from_row(row)

    async def list_queues(self, account_id: str, alias: str | None = None) -> Sequence[Queue]:
        """The account's queues (only those with exactly `alias`, if given), oldest first."""
        c = queues.c
        stmt = select(queues).where(c.account_id == account_id)
        if alias is not None:
            stmt = stmt.where(c.alias == alias)
        stmt = stmt.order_by(c.date_created, c.queue_id)
        return [QUEUE_MAP.from_row(r) for r in await self._rows(stmt)]

    async def put_member(self, member: QueueMember) -> None:
        await self._write(_PUT_MEMBER, QUEUE_MEMBER_MAP.to_row(member))

    async def get_member(self, call_id: str) -> QueueMember | None:
        row = await self._one(queue_members, queue_members.c.call_id == call_id)
        return None if row is None else QUEUE_MEMBER_MAP.from_row(row)

    async def list_members(self, queue_id: str) -> Sequence[QueueMember]:
        """The queue's members, head first (date_enqueued, then seq)."""
        c = queue_members.c
        stmt = select(queue_members).where(c.queue_id == queue_id).order_by(c.date_enqueued, c.seq)
        return [QUEUE_MEMBER_MAP.from_row(r) for r in await self._rows(stmt)]

    async def delete_member(self, call_id: str) -> None:
        await self._write(_DELETE_MEMBER, {"call_id": call_id})

    # ------------------------------------------------------------------ messages

    async def put_message(self, message: Message) -> None:
        await self._write(_PUT_MESSAGE, MESSAGE_MAP.to_row(message))

    async def get_message(self, message_id: str) -> Message | None:
        row = await self._one(messages, messages.c.message_id == message_id)
        return None if row is None else MESSAGE_MAP.from_row(row)

    async def list_messages(self, account_id: str, flt: MessageFilter) -> Sequence[Message]:
        """Matching messages, newest first."""
        c = messages.c
        conds: list[ColumnElement[bool]] = [c.account_id == account_id]
        if flt.to is not None:
            conds.append(c.to_number == flt.to)
        if flt.from_ is not None:
            conds.append(c.from_number == flt.from_)
        if flt.direction is not None:
            conds.append(c.direction == flt.direction.value)
        if flt.begin is not None:
            conds.append(c.date_created >= flt.begin)
        if flt.end is not None:
            conds.append(c.date_created <= flt.end)
        stmt = select(messages).where(*conds).order_by(c.date_created.desc(), c.message_id.desc())
        return [MESSAGE_MAP.from_row(r) for r in await self._rows(stmt)]

    # ------------------------------------------------------------------ logs

    async def add_log(self, entry: LogEntry) -> None:
        await self._write(_ADD_LOG, LOG_MAP.to_row(entry))

    async def list_logs(self, account_id: str, flt: LogFilter) -> Sequence[LogEntry]:
        """Matching entries, newest first: timestamp descending, then insertion order descending."""
        c = logs.c
        stmt = select(logs).where(c.account_id == account_id)
        if flt.call_id is not None:
            stmt = stmt.where(c.call_id == flt.call_id)
        if flt.level is not None:
            stmt = stmt.where(c.level == flt.level.value)
        stmt = stmt.order_by(c.timestamp.desc(), c.log_id.desc())
        return [LOG_MAP.from_row(r) for r in await self._rows(stmt)]


def _between(column: Any, lo: float | None, hi: float | None) -> list[ColumnElement[bool]]:
    """`lo <= column < hi`, each bound only when given."""
    conds: list[ColumnElement[bool]] = []
    if lo is not None:
        conds.append(column >= lo)
    if hi is not None:
        conds.append(column < hi)
    return conds


def _call_conditions(account_id: str, flt: CallFilter) -> list[ColumnElement[bool]]:
    """One WHERE condition per CallFilter field that is set."""
    c = calls.c
    conds: list[ColumnElement[bool]] = [c.account_id == account_id]
    if flt.active:
        conds.append(c.status.in_(_LIVE_STATUSES))
    if flt.to is not None:
        conds.append(c.to_number == flt.to)
    if flt.from_ is not None:
        conds.append(c.from_number == flt.from_)
    if flt.status is not None:
        conds.append(c.status == flt.status.value)
    if flt.start_time_from is not None:
        conds.append(c.start_time >= flt.start_time_from)
    if flt.end_time_to is not None:
        conds.append(c.end_time <= flt.end_time_to)
    if flt.parent_call_id is not None:
        conds.append(c.parent_call_id == flt.parent_call_id)
    if flt.application_ids:
        conds.append(c.application_id.in_(flt.application_ids))
    return conds
