"""The default Store: SQLite through SQLAlchemy 2 Core on an async engine (aiosqlite).

Why one connection: SQLite allows one writer at a time, and the engine writes a call record on
every state change (a 1,000-call run is ~10k writes). Checking a connection out of a pool for each
write, or letting several connections contend for the write lock, costs more than it buys. So the
store opens one connection in `open()`, keeps it until `close()`, and serialises operations on it
with an asyncio.Lock. WAL + synchronous=NORMAL makes each commit cheap while keeping the database
file consistent after a crash. (Writes to a file go through a second, stdlib connection on the
loop's thread under the same lock, and checkpoints run on a third: sqlite_base.py.)

Statements skip SQLAlchemy's execution layer (why: sqlite_base.py): SQL compiled once from Core
goes straight to the aiosqlite connection, one trip each. No table is reflected after `open()`.

Cache (accounts, applications, numbers by id and by phone number): auth reads the account on every
REST request and each call start reads its application and number. **Assumption: this process is
the only writer of its SQLite file** while the store is open (`percl serve` owns it), so every
change goes through put_*/delete_* here, which update or drop the cached copy; the cache is exact.
A second process writing the same file would not be seen until `close()` + `open()`.

Account log (write-behind): `add_log` queues the line and returns; a `BatchWriter` task writes
queued lines in multi-row INSERTs, after letting more lines queue for 10 ms (file databases);
`list_logs` and `close()` flush first. A crash may lose the last ~10 ms of log lines, never a call
record: `put_call` is awaited until its row is committed.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiosqlite
from sqlalchemy import ColumnElement, event, func, make_url, select, tuple_
from sqlalchemy.dialects.sqlite import insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool

from percl.domain.enums import CallStatus
from percl.domain.records import Account, Application, Call, IncomingNumber, LogEntry
from percl.engine.ports import CallFilter, LogFilter, LogPosition
from percl.errors import Conflict, DatabaseUnusable
from percl.store import schema
from percl.store.base import StoreClosed
from percl.store.batch import BatchWriter, GroupCommit, Row
from percl.store.cache import RecordCache
from percl.store.schema import (
    ACCOUNT_MAP,
    APPLICATION_MAP,
    CALL_MAP,
    LOG_MAP,
    NUMBER_MAP,
    accounts,
    applications,
    calls,
    logs,
    numbers,
)
from percl.store.sqlite_file import prepare, unusable
from percl.store.sqlite_logs import count_select, log_conditions, page_select, prune_statement
from percl.store.sqlite_resources import SqliteResources
from percl.store.sqlite_rooms import SqliteRooms
from percl.store.sqlite_sql import (
    SQLITE,
    compile_select,
    delete_by_key,
    multi_insert,
    select_by,
    upsert,
)

__all__ = ["SqliteStore", "StoreClosed"]

_LIVE_STATUSES = tuple(s.value for s in CallStatus if s.is_live)


_PUT_ACCOUNT = upsert(accounts)
_PUT_APPLICATION = upsert(applications)
_PUT_NUMBER = upsert(numbers)
_CALL_COLUMNS = tuple(f.column for f in CALL_MAP.fields)
_CALL_BATCH = 32  # 28 parameters a row: 896, under SQLite's oldest limit of 999 per statement
_LOG_COLUMNS = tuple(f.column for f in LOG_MAP.fields)
#: How long queued log lines wait for more before a write (file databases; each write is a commit
#: on the loop's thread, ~0.05-0.1 ms whatever its size). At 180 calls/s it took percl's CPU per
#: call from ~4.2-4.6 to ~4.0 ms and its engine-added p99 from 2.6-5.2 to 1.6-1.9 ms.
_LOG_LINGER_S = 0.01
_LOG_BATCH = 100  # 7 parameters a row: 700, under SQLite's oldest limit of 999 per statement
_DELETE_APPLICATION = delete_by_key(applications)
_DELETE_NUMBER = delete_by_key(numbers)
_GET_ACCOUNT = select_by(ACCOUNT_MAP, "account_id")
_GET_APPLICATION = select_by(APPLICATION_MAP, "application_id")
_GET_NUMBER = select_by(NUMBER_MAP, "phone_number_id")
_FIND_NUMBER = select_by(NUMBER_MAP, "phone_number")
_GET_CALL = select_by(CALL_MAP, "call_id")
_LAST_ACTIVITY = "SELECT (SELECT max(date_updated) FROM calls), (SELECT max(timestamp) FROM logs)"


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


class SqliteStore(SqliteRooms, SqliteResources):
    """`percl.engine.ports.Store` over SQLite. Call `open()` once, before use; `close()` at exit.

    Conferences, queues and messages are in SqliteRooms (sqlite_rooms.py), the connection
    plumbing in SqliteBase (sqlite_base.py)."""

    def __init__(self, url: str) -> None:
        """`url` is an SQLAlchemy URL, e.g. ``sqlite+aiosqlite:///var/percl.db`` or
        ``sqlite+aiosqlite:///:memory:``. Nothing is opened until `open()`."""
        super().__init__()
        self.url = url
        self._engine: AsyncEngine | None = None
        self._conn: AsyncConnection | None = None
        # The database file written on the loop's thread (sqlite_base.py); None: in memory.
        self._file = None if _is_memory(url) else make_url(url).database or None
        self._logs = BatchWriter(self._write_logs, max_batch=_LOG_BATCH,
                                 linger_s=_LOG_LINGER_S if self._file else 0.0)
        self._calls = GroupCommit(self._write_calls, max_batch=_CALL_BATCH)
        self._cache = RecordCache()
        #: True when the last `open()` found no database file and made a new one (sqlite_file.py).
        self.created = False

    @classmethod
    def for_path(cls, path: str | Path) -> SqliteStore:
        """A store on the file `path` (created by `open()` with its missing parent directories
        when it does not exist), or ":memory:"."""
        if str(path) == ":memory:":
            return cls("sqlite+aiosqlite:///:memory:")
        file = Path(path).expanduser().resolve()
        return cls(f"sqlite+aiosqlite:///{file}")

    # ------------------------------------------------------------------ lifecycle

    async def open(self) -> None:
        """Connect, set the pragmas and create missing tables. Idempotent. A missing database
        file is created private (0600, its missing directories 0700) and sets `created`; an
        existing one is checked first (sqlite_file.py).

        Raises `percl.errors.DatabaseUnusable` (one line naming PERCL_DB) when the file cannot be
        used: not a database, damaged, empty, unreadable, or written by a newer schema version.
        """
        if self._conn is not None:
            return
        if self._file is None:
            await self._connect()
            return
        self.created = await asyncio.to_thread(prepare, Path(self._file))
        try:
            await self._connect()
        except (sqlite3.DatabaseError, DBAPIError) as exc:
            cause = exc.orig if isinstance(exc, DBAPIError) else exc  # without SQLAlchemy's SQL
            raise unusable(self._file, f"cannot open the database ({cause})") from exc

    async def _connect(self) -> None:
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
            if self._file is not None:
                await self.open_writer(self._file)
        except BaseException:
            await self.close_writer()
            await conn.close()
            await engine.dispose()
            raise
        assert isinstance(driver, aiosqlite.Connection)
        self._engine, self._conn, self._driver = engine, conn, driver
        self._cache.clear()
        self._logs.start()

    async def close(self) -> None:
        """Write the queued log lines, then close the connection and the engine. Idempotent; the
        store may be opened again."""
        if self._conn is not None:
            await self._calls.idle()
            await self._logs.stop()
        # Outside the lock: a running checkpoint's second pass takes it (checkpoint.py).
        await self.close_writer()
        async with self._lock:
            self._cache.clear()
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
            raise DatabaseUnusable(
                f"PERCL_DB={self._file or self.url}: database schema version {found} is newer "
                f"than this percl supports ({schema.SCHEMA_VERSION}); upgrade percl or use "
                "another database file"
            )
        elif found < schema.SCHEMA_VERSION:
            # New tables came with create_all; anything else is in schema.MIGRATIONS.
            for version in range(found, schema.SCHEMA_VERSION):
                for statement in schema.MIGRATIONS.get(version, ()):
                    await conn.exec_driver_sql(statement)
            await conn.execute(schema.schema_version.update().values(version=schema.SCHEMA_VERSION))

    # ------------------------------------------------------------------ plumbing

    def _require(self) -> AsyncConnection:
        """The SQLAlchemy connection (tests reach in through it; after writing behind the store's
        back they must call `invalidate_cache()`). Raises StoreClosed when not open."""
        if self._conn is None:
            raise StoreClosed("the store is not open: call `await store.open()` first")
        return self._conn

    def invalidate_cache(self) -> None:
        """Forget every cached account, application and number. Only needed after the database
        was changed other than through this store (a test that deletes rows directly)."""
        self._cache.clear()

    async def _write_calls(self, rows: Sequence[Row]) -> None:
        """The GroupCommit's write: one multi-row upsert (later rows of a call win)."""
        flat = [value for row in rows for value in row]
        await self._write(multi_insert(calls.name, _CALL_COLUMNS, len(rows), "call_id"), flat)

    async def _write_logs(self, rows: Sequence[Row]) -> None:
        """The BatchWriter's write: one multi-row INSERT, so the batch is one transaction."""
        flat = [value for row in rows for value in row]
        await self._write(multi_insert(logs.name, _LOG_COLUMNS, len(rows)), flat)

    # ------------------------------------------------------------------ accounts

    async def put_account(self, account: Account) -> None:
        cache = self._cache.accounts
        self._cache.changing()
        cache.pop(account.account_id, None)
        await self._write(_PUT_ACCOUNT, ACCOUNT_MAP.to_row(account))
        cache[account.account_id] = account

    async def get_account(self, account_id: str) -> Account | None:
        """The account (from the cache when it has been read or written since `open()`)."""
        found = self._cache.accounts.get(account_id)
        if found is None:
            generation = self._cache.generation
            found = await self._get(ACCOUNT_MAP, _GET_ACCOUNT, {"account_id": account_id})
            if found is not None and generation == self._cache.generation:
                self._cache.accounts[account_id] = found
        return found

    async def list_accounts(self) -> Sequence[Account]:
        """Every account, oldest first."""
        stmt = select(*ACCOUNT_MAP.columns).order_by(accounts.c.date_created, accounts.c.account_id)
        return await self._list(ACCOUNT_MAP, stmt)

    # ------------------------------------------------------------------ applications

    async def put_application(self, app: Application) -> None:
        cache = self._cache.applications
        self._cache.changing()
        cache.pop(app.application_id, None)
        await self._write(_PUT_APPLICATION, APPLICATION_MAP.to_row(app))
        cache[app.application_id] = app

    async def get_application(self, application_id: str) -> Application | None:
        """The application (cached like accounts)."""
        found = self._cache.applications.get(application_id)
        if found is None:
            generation = self._cache.generation
            params = {"application_id": application_id}
            found = await self._get(APPLICATION_MAP, _GET_APPLICATION, params)
            if found is not None and generation == self._cache.generation:
                self._cache.applications[application_id] = found
        return found

    async def list_applications(
        self, account_id: str, alias: str | None = None
    ) -> Sequence[Application]:
        """The account's applications (only those with exactly `alias`, if given), oldest first."""
        c = applications.c
        stmt = select(*APPLICATION_MAP.columns).where(c.account_id == account_id)
        if alias is not None:
            stmt = stmt.where(c.alias == alias)
        stmt = stmt.order_by(c.date_created, c.application_id)
        return await self._list(APPLICATION_MAP, stmt)

    async def delete_application(self, application_id: str) -> None:
        """Delete the application; deleting an absent one does nothing."""
        self._cache.changing()
        self._cache.applications.pop(application_id, None)
        await self._write(_DELETE_APPLICATION, {"application_id": application_id})

    # ------------------------------------------------------------------ numbers

    async def put_number(self, number: IncomingNumber) -> None:
        """Insert or replace by phone_number_id.

        Raises `percl.errors.Conflict` when another record already holds `number.phone_number`.
        """
        self._cache.drop_number(number.phone_number_id)
        try:
            await self._write(_PUT_NUMBER, NUMBER_MAP.to_row(number))
        except sqlite3.IntegrityError as exc:
            raise Conflict(
                f"phone number {number.phone_number} is already owned",
                details={"phoneNumber": number.phone_number},
            ) from exc
        self._cache.drop_number(number.phone_number_id)  # a read may have come in meanwhile
        self._cache.keep_number(number)

    async def get_number(self, phone_number_id: str) -> IncomingNumber | None:
        """The number by id (cached like accounts)."""
        found = self._cache.numbers.get(phone_number_id)
        if found is None:
            generation = self._cache.generation
            found = await self._get(NUMBER_MAP, _GET_NUMBER, {"phone_number_id": phone_number_id})
            if found is not None and generation == self._cache.generation:
                self._cache.keep_number(found)
        return found

    async def find_number(self, phone_number: str) -> IncomingNumber | None:
        """The number whose phone_number is exactly `phone_number` (cached like accounts)."""
        found = self._cache.by_phone.get(phone_number)
        if found is None:
            generation = self._cache.generation
            found = await self._get(NUMBER_MAP, _FIND_NUMBER, {"phone_number": phone_number})
            if found is not None and generation == self._cache.generation:
                self._cache.keep_number(found)
        return found

    async def list_numbers(self, account_id: str) -> Sequence[IncomingNumber]:
        """The account's numbers, oldest first."""
        c = numbers.c
        stmt = (
            select(*NUMBER_MAP.columns)
            .where(c.account_id == account_id)
            .order_by(c.date_created, c.phone_number_id)
        )
        return await self._list(NUMBER_MAP, stmt)

    async def delete_number(self, phone_number_id: str) -> None:
        """Delete the number; deleting an absent one does nothing."""
        self._cache.drop_number(phone_number_id)
        await self._write(_DELETE_NUMBER, {"phone_number_id": phone_number_id})

    # ------------------------------------------------------------------ calls

    async def put_call(self, call: Call) -> None:
        """Insert or replace the call; returns once the row is committed (group commit: calls
        stored concurrently share one statement). Raises StoreClosed when the store is not open."""
        self._driver_conn()
        row = CALL_MAP.to_row(call)
        await self._calls.submit(tuple(row[c] for c in _CALL_COLUMNS))

    async def get_call(self, call_id: str) -> Call | None:
        return await self._get(CALL_MAP, _GET_CALL, {"call_id": call_id})

    async def list_calls(
        self,
        account_id: str,
        flt: CallFilter,
        *,
        offset: int = 0,
        limit: int | None = None,
        before: tuple[float, str] | None = None,
    ) -> Sequence[Call]:
        """Matching calls, newest first (date_created descending, then call_id descending),
        after the keyset position `before` when given; only `limit` of them from position
        `offset` when given (the page GET /Calls shows)."""
        stmt = select(*CALL_MAP.columns).where(*_call_conditions(account_id, flt))
        if before is not None:
            stmt = stmt.where(tuple_(calls.c.date_created, calls.c.call_id) < tuple_(*before))
        stmt = stmt.order_by(calls.c.date_created.desc(), calls.c.call_id.desc())
        if limit is not None:
            stmt = stmt.limit(limit).offset(offset)
        elif offset:
            stmt = stmt.offset(offset)
        return await self._list(CALL_MAP, stmt)

    async def count_calls(self, account_id: str, flt: CallFilter) -> int:
        """How many calls `list_calls(account_id, flt)` would return (SELECT count(*))."""
        stmt = select(func.count()).select_from(calls).where(*_call_conditions(account_id, flt))
        sql, params = compile_select(stmt)
        rows = list(await self._fetch(sql, params))
        return int(rows[0][0])

    async def live_calls(self) -> Sequence[Call]:
        """Every call of any account whose status is queued, ringing or inProgress."""
        stmt = select(*CALL_MAP.columns).where(calls.c.status.in_(_LIVE_STATUSES))
        stmt = stmt.order_by(calls.c.date_created, calls.c.call_id)
        return await self._list(CALL_MAP, stmt)

    async def last_activity(self) -> float | None:
        """The newest call change or log line (seconds). Two full scans (no index leads with
        those columns): it runs once, at start-up, before the calls are recovered."""
        await self._logs.flush()
        rows = list(await self._fetch(_LAST_ACTIVITY, {}))
        call_s, log_us = rows[0] if rows else (None, None)
        found = [float(call_s)] if call_s is not None else []
        if log_us is not None:
            found.append(int(log_us) / 1_000_000)
        return max(found, default=None)

    # ------------------------------------------------------------------ logs

    async def add_log(self, entry: LogEntry) -> None:
        """Queue the line for the log writer and return at once (write-behind: see the module
        docstring). While the store is closing (the log writer has stopped) the line is written
        at once instead, so nothing logged before close() returns is lost. Raises StoreClosed
        when the store is not open."""
        self._driver_conn()
        row = LOG_MAP.to_row(entry)
        values = tuple(row[c] for c in _LOG_COLUMNS)
        if self._logs.running:
            self._logs.add(values)
        else:
            await self._write_logs([values])

    async def flush_logs(self) -> None:
        """Return once every line added so far is written (list_logs and close() call this)."""
        await self._logs.flush()

    async def list_logs(self, account_id: str, flt: LogFilter) -> Sequence[LogEntry]:
        """Matching entries, newest first: timestamp descending, then insertion order descending.
        Flushes the queued lines first, so every line added before the call is seen."""
        await self._logs.flush()
        c = logs.c
        stmt = select(*LOG_MAP.columns).where(*log_conditions(account_id, flt))
        stmt = stmt.order_by(c.timestamp.desc(), c.log_id.desc())
        return await self._list(LOG_MAP, stmt)

    async def page_logs(
        self, account_id: str, flt: LogFilter, *, before: LogPosition | None = None, limit: int
    ) -> Sequence[tuple[LogPosition, LogEntry]]:
        """At most `limit` matching entries after `before`, newest first, with their positions
        (timestamp, log_id): one index walk that stops after `limit` rows (sqlite_logs.py)."""
        await self._logs.flush()
        sql, params = compile_select(page_select(account_id, flt, before, limit))
        return [((row[1], row[0]), LOG_MAP.from_values(row[1:]))
                for row in await self._fetch(sql, params)]

    async def count_logs(self, account_id: str, flt: LogFilter, *, cap: int) -> int:
        """How many entries list_logs would return, reading at most `cap` of them."""
        await self._logs.flush()
        sql, params = compile_select(count_select(account_id, flt, cap))
        rows = list(await self._fetch(sql, params))
        return int(rows[0][0])

    async def prune_logs(self, *, older_than: int, keep: int) -> int:
        """Delete lines older than `older_than` and beyond the newest `keep`, among the oldest
        PRUNE_BATCH lines (one bounded DELETE). Returns how many went: 0 when another process
        holds the database locked (retention is best effort; the next prune catches up)."""
        await self._logs.flush()
        done = prune_statement(older_than, keep).compile(
            dialect=SQLITE, compile_kwargs={"render_postcompile": True})
        try:
            return await self._write_counted(done.string, dict(done.params))
        except sqlite3.OperationalError as exc:
            if getattr(exc, "sqlite_errorcode", 0) & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
                return 0
            raise

    async def _write_counted(self, sql: str, params: dict[str, Any]) -> int:
        """`_write`, returning how many rows the statement changed."""
        async with self._lock:
            driver = self._driver_conn()
            if self._writer is not None and self._checkpointer is not None:
                count = self._writer.execute(sql, params).rowcount
                self._checkpointer.committed()
                return count
            cursor = await driver.execute(sql, params)
            return cursor.rowcount


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
    if flt.created_to is not None:
        conds.append(c.date_created <= flt.created_to)
    return conds


