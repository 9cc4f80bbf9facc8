"""SqlStore: the Store on SQLAlchemy Core, composed of one table gateway per concept and an
execution strategy (executor.py) that runs their statements.

Why composition: the statements are portable (SQLAlchemy Core; the one dialect-dependent
construct, the upsert, is picked in statements.py), so they run unchanged on SQLite and
PostgreSQL; what differs between databases is how statements are run, and that is the executor's:
SQLite's tuning (store/sqlite_executor.py) or SQLAlchemy's async engine (alchemy.py).

Cache (accounts, applications, numbers by id and by phone number): auth reads the account on every
REST request and each call start reads its application and number. **Assumption: this process is
the only writer of its database** while the store is open (`percl serve` owns it), so every change
goes through put_*/delete_* here, which update or drop the cached copy; the cache is exact. A
second process writing the same database would not be seen until `close()` + `open()`, unless it
says so: with several workers on one database (issue 19), each write to a cached table calls the
`on_cached_change` callback once it is committed, and app.py sends that over the bus to the other
workers, which call `invalidate_cache()` (their copies are gone a bus message after the commit).

Account log (write-behind, logs.py): `add_log` queues the line and returns; `list_logs` and
`close()` flush first. A crash may lose the last few ms of log lines, never a call record:
`put_call` is awaited until its row is committed (group commit, calls.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy import func, select

from percl.domain.enums import ExportStatus
from percl.domain.records import (
    Account,
    Application,
    Blob,
    Call,
    Conference,
    Export,
    IncomingNumber,
    LogEntry,
    Message,
    Participant,
    Queue,
    QueueMember,
    Recording,
)
from percl.engine.ports import (
    CallFilter,
    ConferenceFilter,
    LogFilter,
    LogPosition,
    MessageFilter,
    ParticipantFilter,
    RecordingQuery,
)
from percl.store.schema import calls, logs
from percl.store.sql.accounts import Accounts
from percl.store.sql.applications import Applications
from percl.store.sql.blobs import Blobs
from percl.store.sql.cache import RecordCache
from percl.store.sql.calls import Calls
from percl.store.sql.conferences import Conferences
from percl.store.sql.executor import Executor
from percl.store.sql.exports import Exports
from percl.store.sql.leases import SqlLeases
from percl.store.sql.logs import Logs
from percl.store.sql.messages import Messages
from percl.store.sql.numbers import Numbers
from percl.store.sql.queues import Queues
from percl.store.sql.recordings import Recordings
from percl.store.sql.statements import Statements

#: The newest call change (seconds) and log line (µs). Two full scans (no index leads with those
#: columns): it runs once, at start-up, before the calls are recovered.
_LAST_ACTIVITY = select(
    select(func.max(calls.c.date_updated)).scalar_subquery(),
    select(func.max(logs.c.timestamp)).scalar_subquery(),
)


class SqlStore:
    """`percl.engine.ports.Store` over `executor`. Call `open()` once, before use; `close()` at
    exit; the store may be opened again."""

    def __init__(self, executor: Executor) -> None:
        self.executor = executor
        statements = Statements(executor.dialect_name)
        self._cache = RecordCache()
        self._accounts = Accounts(executor, statements, self._cache)
        self._applications = Applications(executor, statements, self._cache)
        self._numbers = Numbers(executor, statements, self._cache)
        self._calls = Calls(executor, statements)
        self._logs = Logs(executor)
        self._conferences = Conferences(executor, statements)
        self._queues = Queues(executor, statements)
        self._messages = Messages(executor, statements)
        self._blobs = Blobs(executor, statements)
        self._exports = Exports(executor, statements)
        self._recordings = Recordings(executor, statements)
        #: Which worker owns what (engine/ports/leases.py); used only with several workers.
        self.leases = SqlLeases(executor, statements)
        self._cached_changed: Callable[[], None] | None = None
        self._open = False

    # ------------------------------------------------------------------ lifecycle

    async def open(self) -> None:
        """Connect and create or migrate the schema (the executor's `open`). Idempotent."""
        if self._open:
            return
        await self.executor.open()
        self._cache.clear()
        self._logs.start()
        self._open = True

    async def close(self) -> None:
        """Write what is queued (call records, log lines), then disconnect. Idempotent."""
        if self._open:
            await self._calls.idle()
            await self._logs.stop()
        await self.executor.close()
        self._cache.clear()
        self._open = False

    def on_cached_change(self, callback: Callable[[], None] | None) -> None:
        """Call `callback` after each committed write to a cached table (accounts, applications,
        numbers); None: stop. See the module doc."""
        self._cached_changed = callback

    def _changed(self) -> None:
        if self._cached_changed is not None:
            self._cached_changed()

    def invalidate_cache(self) -> None:
        """Forget every cached account, application and number. Only needed after the database
        was changed other than through this store (a test that deletes rows directly)."""
        self._cache.clear()

    # ------------------------------------------------------------------ accounts, numbers

    async def put_account(self, account: Account) -> None:
        await self._accounts.put(account)
        self._changed()

    async def get_account(self, account_id: str) -> Account | None:
        return await self._accounts.get(account_id)

    async def list_accounts(self) -> Sequence[Account]:
        return await self._accounts.list()

    async def put_application(self, app: Application) -> None:
        await self._applications.put(app)
        self._changed()

    async def get_application(self, application_id: str) -> Application | None:
        return await self._applications.get(application_id)

    async def list_applications(
        self, account_id: str, alias: str | None = None
    ) -> Sequence[Application]:
        return await self._applications.list(account_id, alias)

    async def delete_application(self, application_id: str) -> None:
        await self._applications.delete(application_id)
        self._changed()

    async def put_number(self, number: IncomingNumber) -> None:
        await self._numbers.put(number)
        self._changed()

    async def get_number(self, phone_number_id: str) -> IncomingNumber | None:
        return await self._numbers.get(phone_number_id)

    async def find_number(self, phone_number: str) -> IncomingNumber | None:
        return await self._numbers.find(phone_number)

    async def list_numbers(self, account_id: str) -> Sequence[IncomingNumber]:
        return await self._numbers.list(account_id)

    async def delete_number(self, phone_number_id: str) -> None:
        await self._numbers.delete(phone_number_id)
        self._changed()

    # ------------------------------------------------------------------ calls

    async def put_call(self, call: Call) -> None:
        await self._calls.put(call)

    async def get_call(self, call_id: str) -> Call | None:
        return await self._calls.get(call_id)

    async def list_calls(
        self,
        account_id: str,
        flt: CallFilter,
        *,
        offset: int = 0,
        limit: int | None = None,
        before: tuple[float, str] | None = None,
    ) -> Sequence[Call]:
        return await self._calls.list(account_id, flt, offset=offset, limit=limit, before=before)

    async def count_calls(self, account_id: str, flt: CallFilter) -> int:
        return await self._calls.count(account_id, flt)

    async def live_calls(self) -> Sequence[Call]:
        return await self._calls.live()

    async def last_activity(self) -> float | None:
        """The newest call change or log line (seconds)."""
        await self._logs.flush()
        rows = await self.executor.fetch(_LAST_ACTIVITY)
        call_s, log_us = rows[0] if rows else (None, None)
        found = [float(call_s)] if call_s is not None else []
        if log_us is not None:
            found.append(int(log_us) / 1_000_000)
        return max(found, default=None)

    # ------------------------------------------------------------------ conferences, queues

    async def put_conference(self, conference: Conference) -> None:
        await self._conferences.put(conference)

    async def get_conference(self, conference_id: str) -> Conference | None:
        return await self._conferences.get(conference_id)

    async def list_conferences(self, account_id: str, flt: ConferenceFilter) -> Sequence[Conference]:
        return await self._conferences.list(account_id, flt)

    async def put_participant(self, participant: Participant) -> None:
        await self._conferences.put_participant(participant)

    async def get_participant(self, conference_id: str, call_id: str) -> Participant | None:
        return await self._conferences.get_participant(conference_id, call_id)

    async def list_participants(
        self, conference_id: str, flt: ParticipantFilter
    ) -> Sequence[Participant]:
        return await self._conferences.list_participants(conference_id, flt)

    async def delete_participant(self, conference_id: str, call_id: str) -> None:
        await self._conferences.delete_participant(conference_id, call_id)

    async def put_queue(self, queue: Queue) -> None:
        await self._queues.put(queue)

    async def get_queue(self, queue_id: str) -> Queue | None:
        return await self._queues.get(queue_id)

    async def list_queues(self, account_id: str, alias: str | None = None) -> Sequence[Queue]:
        return await self._queues.list(account_id, alias)

    async def put_member(self, member: QueueMember) -> None:
        await self._queues.put_member(member)

    async def get_member(self, call_id: str) -> QueueMember | None:
        return await self._queues.get_member(call_id)

    async def list_members(self, queue_id: str) -> Sequence[QueueMember]:
        return await self._queues.list_members(queue_id)

    async def delete_member(self, call_id: str) -> None:
        await self._queues.delete_member(call_id)

    # ------------------------------------------------------------------ messages

    async def put_message(self, message: Message) -> None:
        await self._messages.put(message)

    async def get_message(self, message_id: str) -> Message | None:
        return await self._messages.get(message_id)

    async def list_messages(
        self,
        account_id: str,
        flt: MessageFilter,
        *,
        before: tuple[float, str] | None = None,
        limit: int | None = None,
    ) -> Sequence[Message]:
        return await self._messages.list(account_id, flt, before=before, limit=limit)

    async def count_messages(self, account_id: str, flt: MessageFilter, *, cap: int) -> int:
        return await self._messages.count(account_id, flt, cap=cap)

    async def unsent_messages(self) -> Sequence[Message]:
        return await self._messages.unsent()

    # ------------------------------------------------------------------ logs

    async def add_log(self, entry: LogEntry) -> None:
        await self._logs.add(entry)

    async def flush_logs(self) -> None:
        """Return once every line added so far is written (list_logs and close() call this)."""
        await self._logs.flush()

    async def list_logs(self, account_id: str, flt: LogFilter) -> Sequence[LogEntry]:
        return await self._logs.list(account_id, flt)

    async def page_logs(
        self, account_id: str, flt: LogFilter, *, before: LogPosition | None = None, limit: int
    ) -> Sequence[tuple[LogPosition, LogEntry]]:
        return await self._logs.page(account_id, flt, before=before, limit=limit)

    async def count_logs(self, account_id: str, flt: LogFilter, *, cap: int) -> int:
        return await self._logs.count(account_id, flt, cap=cap)

    async def prune_logs(self, *, older_than: int, keep: int) -> int:
        return await self._logs.prune(older_than=older_than, keep=keep)

    # ------------------------------------------------------------------ blobs, exports

    async def put_blob(self, blob: Blob, *, expect_revision: int | None = None) -> bool:
        return await self._blobs.put(blob, expect_revision=expect_revision)

    async def get_blob(self, blob_id: str) -> Blob | None:
        return await self._blobs.get(blob_id)

    async def list_blobs(self, account_id: str, alias: str | None = None) -> Sequence[Blob]:
        return await self._blobs.list(account_id, alias)

    async def delete_blob(self, blob_id: str) -> None:
        await self._blobs.delete(blob_id)

    async def delete_expired_blobs(self, now: float) -> int:
        return await self._blobs.delete_expired(now)

    async def put_export(self, export: Export) -> None:
        await self._exports.put(export)

    async def get_export(self, export_id: str) -> Export | None:
        return await self._exports.get(export_id)

    async def list_exports(
        self, account_id: str, status: ExportStatus | None = None
    ) -> Sequence[Export]:
        return await self._exports.list(account_id, status)

    # ------------------------------------------------------------------ recordings

    async def put_recording(self, recording: Recording) -> None:
        await self._recordings.put(recording)

    async def get_recording(self, recording_id: str) -> Recording | None:
        return await self._recordings.get(recording_id)

    async def list_recordings(self, flt: RecordingQuery) -> Sequence[Recording]:
        return await self._recordings.list(flt)

    async def delete_recording(self, recording_id: str) -> None:
        await self._recordings.delete(recording_id)
