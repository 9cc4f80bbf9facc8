"""The store port: async persistence of domain records, and the filters of its list queries."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from percl.domain.enums import CallStatus, ConferenceStatus, ExportStatus, LogLevel, MessageDirection
from percl.domain.logquery import LogQuery
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


@dataclass(frozen=True, slots=True)
class CallFilter:
    """Filters of GET /Calls. Every field at its default means "not filtered"."""

    active: bool = False  # only queued, ringing, inProgress
    to: str | None = None
    from_: str | None = None
    status: CallStatus | None = None
    start_time_from: float | None = None  # startTime >= this (API filter `startTime`)
    end_time_to: float | None = None  # endTime <= this (API filter `endTime`)
    parent_call_id: str | None = None
    application_ids: tuple[str, ...] = ()
    created_to: float | None = None  # date_created <= this (an export's snapshot bound)
    used_audio_stream: bool = False  # only calls with audioStreamDuration > 0
    web_rtc: bool = False  # only calls placed from or answered by a browser phone


@dataclass(frozen=True, slots=True)
class LogFilter:
    """Filters of the account log: one call, one level, and a parsed PQL query (all must hold)."""

    call_id: str | None = None
    level: LogLevel | None = None
    query: LogQuery | None = None


#: Where a log line sits in newest-first order: (timestamp, the store's insertion sequence).
LogPosition = tuple[int, int]


@dataclass(frozen=True, slots=True)
class ConferenceFilter:
    """Filters of GET /Conferences; times are [from, to) bounds in clock seconds."""

    status: ConferenceStatus | None = None
    alias: str | None = None
    created_from: float | None = None
    created_to: float | None = None
    updated_from: float | None = None
    updated_to: float | None = None


@dataclass(frozen=True, slots=True)
class ParticipantFilter:
    talk: bool | None = None
    listen: bool | None = None
    dtmf_pass_through: bool | None = None


@dataclass(frozen=True, slots=True)
class MessageFilter:
    """Filters of GET /Messages; `begin`/`end` bound date_created (inclusive), in clock seconds."""

    to: str | None = None
    from_: str | None = None
    begin: float | None = None
    end: float | None = None
    direction: MessageDirection | None = None


@dataclass(frozen=True, slots=True)
class RecordingQuery:
    """Which recordings a list keeps: one account's (None: every account's, for start-up
    recovery and retention), one call's, one conference's, created within [from, to]."""

    account_id: str | None = None
    call_id: str | None = None
    conference_id: str | None = None
    created_from: float | None = None  # date_created >= this
    created_to: float | None = None  # date_created <= this


class Store(Protocol):
    """Async persistence of domain records. Each method is one atomic operation.

    `put_*` inserts or replaces by primary key (callers bump revision/date_updated themselves);
    `get_*` returns None when absent. Account scoping is the caller's job.
    """

    async def open(self) -> None:
        """Create tables if needed. Called once at start-up."""
        ...

    async def close(self) -> None: ...

    async def put_account(self, account: Account) -> None: ...
    async def get_account(self, account_id: str) -> Account | None: ...
    async def list_accounts(self) -> Sequence[Account]: ...

    async def put_application(self, app: Application) -> None: ...
    async def get_application(self, application_id: str) -> Application | None: ...
    async def list_applications(
        self, account_id: str, alias: str | None = None
    ) -> Sequence[Application]: ...
    async def delete_application(self, application_id: str) -> None: ...

    async def put_number(self, number: IncomingNumber) -> None: ...
    async def get_number(self, phone_number_id: str) -> IncomingNumber | None: ...
    async def find_number(self, phone_number: str) -> IncomingNumber | None:
        """The owned-number record for an E.164 number, whichever account owns it."""
        ...

    async def list_numbers(self, account_id: str) -> Sequence[IncomingNumber]: ...
    async def delete_number(self, phone_number_id: str) -> None: ...

    async def put_call(self, call: Call) -> None: ...
    async def get_call(self, call_id: str) -> Call | None: ...
    async def list_calls(
        self,
        account_id: str,
        flt: CallFilter,
        *,
        offset: int = 0,
        limit: int | None = None,
        before: tuple[float, str] | None = None,
    ) -> Sequence[Call]:
        """Matching calls, newest first (date_created descending, then call_id descending);
        with `before` (a keyset position: date_created, call_id) only those after it in that
        order; with `limit`, at most that many from position `offset` (one page of GET /Calls)."""
        ...

    async def count_calls(self, account_id: str, flt: CallFilter) -> int:
        """How many calls `list_calls(account_id, flt)` returns without a limit."""
        ...

    async def live_calls(self) -> Sequence[Call]:
        """Every call of any account whose status is queued, ringing or inProgress."""
        ...

    async def last_activity(self) -> float | None:
        """The latest moment the database saw percl at work: the newest call change or log line
        (clock seconds), None when it holds neither. Crash recovery ends a leg left live there."""
        ...

    async def put_conference(self, conference: Conference) -> None: ...
    async def get_conference(self, conference_id: str) -> Conference | None: ...
    async def list_conferences(self, account_id: str, flt: ConferenceFilter) -> Sequence[Conference]:
        """Matching conferences, newest first."""
        ...

    async def put_participant(self, participant: Participant) -> None: ...
    async def get_participant(self, conference_id: str, call_id: str) -> Participant | None: ...
    async def list_participants(
        self, conference_id: str, flt: ParticipantFilter
    ) -> Sequence[Participant]:
        """Matching participants, in the order they joined."""
        ...

    async def delete_participant(self, conference_id: str, call_id: str) -> None: ...

    async def put_queue(self, queue: Queue) -> None: ...
    async def get_queue(self, queue_id: str) -> Queue | None: ...
    async def list_queues(self, account_id: str, alias: str | None = None) -> Sequence[Queue]:
        """The account's queues (only those with exactly `alias`, if given), oldest first."""
        ...

    async def put_member(self, member: QueueMember) -> None: ...
    async def get_member(self, call_id: str) -> QueueMember | None: ...
    async def list_members(self, queue_id: str) -> Sequence[QueueMember]:
        """The queue's members, head first (date_enqueued, then seq)."""
        ...

    async def delete_member(self, call_id: str) -> None: ...

    async def put_message(self, message: Message) -> None: ...
    async def get_message(self, message_id: str) -> Message | None: ...
    async def list_messages(
        self,
        account_id: str,
        flt: MessageFilter,
        *,
        before: tuple[float, str] | None = None,
        limit: int | None = None,
    ) -> Sequence[Message]:
        """Matching messages, newest first (date_created, then message_id, both descending);
        with `before` (a keyset position) only those after it in that order; at most `limit`."""
        ...

    async def count_messages(self, account_id: str, flt: MessageFilter, *, cap: int) -> int:
        """How many messages list_messages returns without a limit, counting no further than `cap`."""
        ...

    async def unsent_messages(self) -> Sequence[Message]:
        """Every message of any account still `queued` or `sending` (being carried), oldest first."""
        ...

    async def add_log(self, entry: LogEntry) -> None: ...
    async def list_logs(self, account_id: str, flt: LogFilter) -> Sequence[LogEntry]:
        """Matching entries, newest first (timestamp descending, then insertion order descending)."""
        ...

    async def page_logs(
        self, account_id: str, flt: LogFilter, *, before: LogPosition | None = None, limit: int
    ) -> Sequence[tuple[LogPosition, LogEntry]]:
        """At most `limit` matching entries in list_logs' order, each with its position, from
        just after `before` (a position an earlier page returned) or from the newest. Reads
        only what the page needs (an index walk), however long the log is."""
        ...

    async def count_logs(self, account_id: str, flt: LogFilter, *, cap: int) -> int:
        """How many entries list_logs would return, counting no further than `cap`."""
        ...

    async def prune_logs(self, *, older_than: int, keep: int) -> int:
        """Delete log lines (of every account) with a timestamp below `older_than`, and the
        oldest lines beyond the newest `keep`; a bounded amount per call (call again while it
        returns a positive count). Returns how many lines went."""
    async def put_blob(self, blob: Blob, *, expect_revision: int | None = None) -> bool:
        """Insert or replace by blob_id; returns whether it wrote. With `expect_revision`
        (compare-and-set) it only replaces a stored blob whose revision is still that one, and
        returns False when the blob is gone or has another revision. Raises
        `percl.errors.Conflict` when another blob of the account already has `blob.alias`."""
        ...

    async def get_blob(self, blob_id: str) -> Blob | None: ...
    async def list_blobs(self, account_id: str, alias: str | None = None) -> Sequence[Blob]:
        """The account's blobs (only the one with exactly `alias`, if given), oldest first."""
        ...

    async def delete_blob(self, blob_id: str) -> None: ...
    async def delete_expired_blobs(self, now: float) -> int:
        """Delete every blob of any account whose expires_at <= `now`; returns how many."""
        ...

    async def put_export(self, export: Export) -> None: ...
    async def get_export(self, export_id: str) -> Export | None: ...
    async def list_exports(
        self, account_id: str, status: ExportStatus | None = None
    ) -> Sequence[Export]:
        """The account's exports (only those in `status`, if given), newest first."""
        ...

    # Recordings (issue 13): metadata only; the audio is a RecordingFiles port's.
    async def put_recording(self, recording: Recording) -> None: ...
    async def get_recording(self, recording_id: str) -> Recording | None: ...
    async def list_recordings(self, flt: RecordingQuery) -> Sequence[Recording]:
        """The recordings `flt` keeps, newest first (date_created, then recording_id)."""
        ...

    async def delete_recording(self, recording_id: str) -> None:
        """Delete the record; absent is fine."""
        ...
