"""Every dependency of the engine on the outside world, as small Protocols.

Adapters implement these (store/, webhooks/, telephony/) and depend only on this module and on
domain/. The engine never imports an adapter; app.py wires them together.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from percl.domain.enums import (
    AnsweredBy,
    CallStatus,
    ConferenceStatus,
    ExportStatus,
    LogLevel,
    MachineType,
    MessageDirection,
    RequestType,
)
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
)

# --------------------------------------------------------------------------- store


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


# --------------------------------------------------------------------------- webhooks


@dataclass(frozen=True, slots=True)
class WebhookRequest:
    """A webhook the engine wants sent. The dispatcher builds the body from `call` + `fields`.

    `fields` holds the requestType-specific fields in wire spelling (e.g. {"dialCallId": ...},
    {"digits": "12", "reason": "finishKey"}); the standard fields (accountId, callId, from, to,
    callStatus, direction, conferenceId, queueId, parentCallId) come from `call`.
    """

    request_type: RequestType
    url: str
    account: Account
    call: Call | None
    fields: Mapping[str, Any] = field(default_factory=dict)
    fallback_url: str | None = None
    privacy_mode: bool = False
    request_id: str | None = None


class WebhookOutcome(StrEnum):
    OK = "ok"  # 2xx answer received (body may still be garbage: the engine parses it)
    HTTP_ERROR = "httpError"  # status >= 300 (after fallback, if any)
    TIMEOUT = "timeout"
    TRANSPORT_ERROR = "transportError"
    # A 2xx answer longer than the dispatcher's byte cap: reading stopped there, `body` is cut.
    # The app did answer, so there is no fallback; a PerCL webhook ends the call with
    # webhookInvalidResponse, as for any answer that cannot be used.
    TOO_LARGE = "tooLarge"


@dataclass(frozen=True, slots=True)
class WebhookResult:
    outcome: WebhookOutcome
    url: str  # the URL that produced this result (the fallback, if it was used)
    status: int | None = None
    body: bytes = b""
    elapsed_ms: float = 0.0
    error: str | None = None  # what went wrong, for the log

    @property
    def ok(self) -> bool:
        return self.outcome is WebhookOutcome.OK


class WebhookSender(Protocol):
    async def send(self, request: WebhookRequest) -> WebhookResult:
        """Build, sign, POST and log one webhook; fall back once to `fallback_url` on timeout,
        transport error or HTTP >= 400. Never raises for anything the remote app does."""
        ...


class LogSink(Protocol):
    async def log(
        self,
        level: LogLevel,
        account_id: str,
        message: str,
        *,
        call_id: str | None = None,
        request_id: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> None: ...


class LogObserver(Protocol):
    """Sees every account log line after it is stored (e.g. `percl serve`'s console lines).

    Runs on the event loop, inside the call that logged: return quickly. An observer's error is
    reported and dropped by the sink; it never reaches the call.
    """

    def observe(self, entry: LogEntry) -> None: ...


# --------------------------------------------------------------------------- fetching files


@dataclass(frozen=True, slots=True)
class Fetched:
    """The answer to one GET of a file the app serves (a GetSpeech grammar, a media file)."""

    url: str
    status: int | None  # None: no HTTP answer (see `error`)
    body: bytes = b""
    content_type: str | None = None
    error: str | None = None  # what went wrong, for the log (also set for HTTP errors)
    elapsed_ms: float = 0.0
    size: int | None = None  # the file's length as the server declared it (Content-Length)
    truncated: bool = False  # the file is longer than the cap: `body` is its beginning only

    @property
    def ok(self) -> bool:
        """A 2xx answer read whole (a truncated one is not: see `reached`)."""
        return self.reached and not self.truncated

    @property
    def reached(self) -> bool:
        """The server answered 2xx (the body may still be cut at the cap)."""
        return self.status is not None and 200 <= self.status < 300


class Fetcher(Protocol):
    async def fetch(self, url: str, *, max_bytes: int | None = None) -> Fetched:
        """GET `url` with the platform's timeout, reading at most `max_bytes` of the file (None:
        the fetcher's own cap); a longer file comes back `truncated`, with its first bytes and an
        `error` saying so. Never raises for what the remote side does."""
        ...


# --------------------------------------------------------------------------- speech recognition


@dataclass(frozen=True, slots=True)
class Heard:
    """What a grammar made of one utterance: `matched` False is GetSpeech's noMatch; `result` is
    recognitionResult (the semantic value as a string); `confidence` is 0..100."""

    matched: bool
    result: str
    confidence: int


class SpeechGrammar(Protocol):
    """A compiled grammar, ready to recognise. Immutable: one may serve many legs at once."""

    def recognize(self, utterance: str) -> Heard:
        """Recognise what the caller said. Never raises."""
        ...


class Recognizer(Protocol):
    """Turns grammar documents into SpeechGrammars (GetSpeech). Pure: fetching is the engine's."""

    def compile(self, document: bytes, rule: str | None) -> SpeechGrammar:
        """Compile a GRXML document; `rule` is GetSpeech's grammarRule. Raises PerclError
        (percl.errors) with a message saying what is wrong when the grammar cannot be used."""
        ...

    def builtin(self, name: str) -> SpeechGrammar:
        """A builtin grammar (ALPHNUM6, ANY_DIG, DIG1..DIG11, ...). Raises PerclError for an
        unknown name."""
        ...


# --------------------------------------------------------------------------- telephony


class MediaKind(StrEnum):
    SAY = "say"
    PLAY = "play"
    PAUSE = "pause"
    BEEP = "beep"  # the conference entry/exit tone (playBeep)


@dataclass(frozen=True, slots=True)
class Media:
    """Something the platform plays to the far end of a leg (one iteration; loops are the engine's)."""

    kind: MediaKind
    text: str | None = None  # say
    language: str | None = None  # say
    url: str | None = None  # play
    length_ms: int | None = None  # pause
    privacy_mode: bool = False


class DialResult(StrEnum):
    """How an outbound attempt ended before (or by) being answered."""

    ANSWERED = "answered"
    BUSY = "busy"
    NO_ANSWER = "noAnswer"
    FAILED = "failed"


class LegListener(Protocol):
    """What a phone network reports about one leg. Implemented by the engine's CallSession.

    Each method only records the event for the session's task; none may block or raise.
    """

    def on_ringing(self) -> None: ...
    def on_answered(self, answered_by: AnsweredBy) -> None: ...
    def on_dial_failed(self, result: DialResult) -> None: ...
    def on_machine_detected(self, machine_type: MachineType) -> None: ...
    def on_digits(self, digits: str) -> None: ...
    def on_speech(self, text: str) -> None:
        """The far end said `text` (the simulated network's stand-in for audio + ASR)."""
        ...

    def on_far_end_hangup(self) -> None: ...


class Telephony(Protocol):
    """A phone network (simulated, SIP, WebRTC). Legs are identified by the engine's call id."""

    def is_reachable(self, number: str) -> bool:
        """True when this network can place a call to `number` (for sim: any E.164 number)."""
        ...

    async def dial(
        self, call_id: str, from_: str, to: str, listener: LegListener, *, detect_machine: bool
    ) -> None:
        """Start ringing `to`. Returns at once; progress arrives through `listener`.
        The engine enforces the ring timeout and calls `hangup` to cancel."""
        ...

    def attach(self, call_id: str, listener: LegListener) -> None:
        """Attach the engine's listener to an inbound leg the network announced."""
        ...

    async def answer(self, call_id: str) -> None: ...
    async def reject(self, call_id: str) -> None: ...
    async def hangup(self, call_id: str) -> None:
        """The platform ends the leg (or cancels it while ringing). Idempotent."""
        ...

    async def play(self, call_id: str, media: Media) -> None:
        """Play one media item; returns when it finished. Cancelling the awaiting task stops it
        (barge-in), and the network records how much was heard."""
        ...

    async def send_digits(self, call_id: str, digits: str, pause_ms: int) -> None:
        """Play DTMF to the far end; `{n}` in `digits` waits n pause units. Returns when done."""
        ...

    def relay(
        self, to_call_id: str, from_call_id: str, *, text: str | None = None,
        digits: str | None = None,
    ) -> None:
        """Bridge audio: the far end of `to_call_id` hears what the far end of `from_call_id`
        said (`text`) or pressed (`digits`, DTMF pass-through). Returns at once; unknown or ended
        legs are ignored. Used by conferences."""
        ...


class InboundHandler(Protocol):
    """The engine side of an inbound call; a phone network calls it when a call arrives."""

    async def incoming_call(self, call_id: str, from_: str, to: str) -> None:
        """A new inbound leg `call_id` (made by the network with the shared IdGenerator) is ringing.
        The engine records it, `attach`es its listener and starts the leg's session."""
        ...


@dataclass(frozen=True, slots=True)
class AvailableNumber:
    """A number the phone network can sell (GET /AvailablePhoneNumbers)."""

    phone_number: str
    region: str
    country: str
    voice_enabled: bool = True
    sms_enabled: bool = True
    toll_free: bool = False


class NumberInventory(Protocol):
    """The numbers a phone network can sell."""

    def available_numbers(self) -> Sequence[AvailableNumber]:
        """Every purchasable number, in a stable order (owned ones are filtered by the caller)."""
        ...

    def lookup(self, phone_number: str) -> AvailableNumber | None:
        """The inventory entry for `phone_number`, or None when the network cannot sell it."""
        ...


# --------------------------------------------------------------------------- export files


class ExportSink(Protocol):
    """One export's CSV file being written. Exactly one of `finish` or `abandon` ends it."""

    def write(self, text: str) -> None: ...

    def finish(self) -> int:
        """Close the file and make it the export's; returns its size in bytes."""
        ...

    def abandon(self) -> None:
        """Close and delete the unfinished file."""
        ...


class ExportFiles(Protocol):
    """Where export CSVs live: private files, written and read in pieces, never whole."""

    def create(self, export_id: str) -> ExportSink:
        """A new, empty, private file for `export_id` (a previous unfinished one is replaced)."""
        ...

    def chunks(self, export_id: str) -> Iterator[bytes] | None:
        """The finished file's bytes in pieces, or None when there is none."""
        ...

    def remove(self, export_id: str) -> None:
        """Delete the export's file, finished or not; absent is fine."""
        ...


# --------------------------------------------------------------------------- knowledge bases


class KnowledgeSource(Protocol):
    """Where knowledge bases' documents come from (a folder: store/knowledge_files.py); read by
    engine/knowledge.py."""

    def version(self, knowledge_base_id: str) -> Hashable | None:
        """A value that changes whenever the knowledge base's documents do; None when there is
        no such knowledge base."""
        ...

    def documents(self, knowledge_base_id: str) -> Sequence[tuple[str, str]]:
        """The knowledge base's documents as (name, text), in name order."""
        ...
