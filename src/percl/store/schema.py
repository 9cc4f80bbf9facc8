"""The SQLite schema and the mapping between rows and domain records.

One table per record type. Enums are stored as their wire strings, times as REAL seconds (log
timestamps as INTEGER microseconds), log metadata as JSON text. The mapping is declared once per
record type as a tuple of `Field`s, so writing a record is a flat loop of `getattr` calls: the
engine writes a call record on every state change and `dataclasses.asdict` (which deep-copies) would
be the slowest part of a write.

A change of shape here needs an Alembic revision in store/migrations/versions/ and `SCHEMA_VERSION`
one higher (docs/ARCHITECTURE.md, "Where a change goes: a schema change"); a test fails otherwise.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from enum import StrEnum
from typing import Any, Generic, TypeVar

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

from percl.domain.enums import (
    AccountStatus,
    AccountType,
    AnsweredBy,
    CallDirection,
    CallEndedReason,
    CallStatus,
    ConferenceStatus,
    ExportResourceType,
    ExportStatus,
    LogLevel,
    MessageDirection,
    MessageStatus,
    PlayBeep,
)
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

# 1: accounts, applications, numbers, calls, logs. 2: + conferences, participants, queues,
# queue_members, messages (new tables only, so create_all migrates a version-1 file).
# 3: logs' ix_logs_call (call_id) becomes ix_logs_call_timestamp (call_id, timestamp), so a call's
# log pages walk an index in order (STATEMENTS; create_all adds no index to a table that
# exists).
# 4: + blobs, exports (new tables only).
# 5: queue_members + inserted (insertion order, ADDED_COLUMNS): members tied on
# (date_enqueued, seq) came in SQLite's rowid order, which PostgreSQL has no equivalent of.
# 6: + leases (new table only): which worker owns what, until when (issue 19, workers).
# 7: + recordings (new table only): recordings' metadata; their WAV files are RecordingFiles'.
# 8: + rates (new table only): dial pacing and REST allowance shared by workers (issue 19).
# 9: calls + audio_stream_ms (ADDED_COLUMNS): how long the leg's AudioStreams ran (issue 14).
# 10: calls + web_rtc (ADDED_COLUMNS): placed from or answered by a browser phone (issue 16).
# From 10 on, each change is an Alembic revision (store/migrations/; 10 is its baseline, 0001, and
# the steps above are migrations/baseline.py's); the schema_version table keeps counting, one per
# revision, for the percls from before Alembic, which refuse a version above theirs.
SCHEMA_VERSION = 10

metadata = MetaData()

schema_version = Table(
    "schema_version",
    metadata,
    Column("version", Integer, nullable=False),
)

accounts = Table(
    "accounts",
    metadata,
    Column("account_id", String, primary_key=True),
    Column("api_key", String, nullable=False),
    Column("signing_secret", String, nullable=False),
    Column("alias", String),
    Column("label", String),
    Column("type", String, nullable=False),
    Column("status", String, nullable=False),
    Column("date_created", Float, nullable=False),
    Column("date_updated", Float, nullable=False),
    Column("revision", Integer, nullable=False),
)

applications = Table(
    "applications",
    metadata,
    Column("application_id", String, primary_key=True),
    Column("account_id", String, nullable=False),
    Column("alias", String),
    Column("voice_url", String),
    Column("voice_fallback_url", String),
    Column("call_connect_url", String),
    Column("status_callback_url", String),
    Column("sms_url", String),
    Column("sms_fallback_url", String),
    Column("date_created", Float, nullable=False),
    Column("date_updated", Float, nullable=False),
    Column("revision", Integer, nullable=False),
    Index("ix_applications_account", "account_id"),
)

numbers = Table(
    "numbers",
    metadata,
    Column("phone_number_id", String, primary_key=True),
    Column("account_id", String, nullable=False),
    Column("phone_number", String, nullable=False),
    Column("application_id", String),
    Column("alias", String),
    Column("region", String),
    Column("country", String),
    Column("voice_enabled", Boolean, nullable=False),
    Column("sms_enabled", Boolean, nullable=False),
    Column("toll_free", Boolean, nullable=False),
    Column("date_created", Float, nullable=False),
    Column("date_updated", Float, nullable=False),
    Column("revision", Integer, nullable=False),
    Index("ux_numbers_phone_number", "phone_number", unique=True),
    Index("ix_numbers_account", "account_id"),
)

calls = Table(
    "calls",
    metadata,
    Column("call_id", String, primary_key=True),
    Column("account_id", String, nullable=False),
    Column("from_number", String, nullable=False),
    Column("to_number", String, nullable=False),
    Column("direction", String, nullable=False),
    Column("status", String, nullable=False),
    Column("application_id", String),
    Column("parent_call_id", String),
    Column("phone_number_id", String),
    Column("answered_by", String),
    Column("caller_name", String),
    Column("call_ended_reason", String),
    Column("conference_id", String),
    Column("queue_id", String),
    Column("request_id", String),
    Column("start_time", Float),
    Column("connect_time", Float),
    Column("end_time", Float),
    Column("date_created", Float, nullable=False),
    Column("date_updated", Float, nullable=False),
    Column("revision", Integer, nullable=False),
    Column("call_connect_url", String),
    Column("status_callback_url", String),
    Column("if_machine", String),
    Column("if_machine_url", String),
    Column("send_digits", String),
    Column("timeout_s", Integer, nullable=False),
    Column("privacy_mode", Boolean, nullable=False),
    Column("audio_stream_ms", Integer, nullable=False, server_default="0"),
    # "false", not "0": PostgreSQL refuses an integer default for a boolean column.
    Column("web_rtc", Boolean, nullable=False, server_default="false"),
    Index("ix_calls_account_created", "account_id", "date_created"),
    Index("ix_calls_status", "status"),
)

logs = Table(
    "logs",
    metadata,
    # INTEGER PRIMARY KEY is SQLite's rowid: it gives "insertion order" for the newest-first sort.
    Column("log_id", Integer, primary_key=True, autoincrement=True),
    Column("timestamp", BigInteger, nullable=False),
    Column("level", String, nullable=False),
    Column("account_id", String, nullable=False),
    Column("message", Text, nullable=False),
    Column("request_id", String),
    Column("call_id", String),
    Column("metadata", Text, nullable=False),
    # Both end in the rowid (log_id), so either is the whole newest-first keyset order.
    Index("ix_logs_account_timestamp", "account_id", "timestamp"),
    Index("ix_logs_call_timestamp", "call_id", "timestamp"),
)

conferences = Table(
    "conferences",
    metadata,
    Column("conference_id", String, primary_key=True),
    Column("account_id", String, nullable=False),
    Column("alias", String),
    Column("play_beep", String, nullable=False),
    Column("record", Boolean, nullable=False),
    Column("status", String, nullable=False),
    Column("wait_url", String),
    Column("action_url", String),
    Column("status_callback_url", String),
    Column("request_id", String),
    Column("date_created", Float, nullable=False),
    Column("date_updated", Float, nullable=False),
    Column("revision", Integer, nullable=False),
    Index("ix_conferences_account_created", "account_id", "date_created"),
)

participants = Table(
    "participants",
    metadata,
    Column("conference_id", String, primary_key=True),
    Column("call_id", String, primary_key=True),
    Column("account_id", String, nullable=False),
    Column("talk", Boolean, nullable=False),
    Column("listen", Boolean, nullable=False),
    Column("dtmf_pass_through", Boolean, nullable=False),
    Column("start_conf_on_enter", Boolean, nullable=False),
    Column("allow_call_control", Boolean, nullable=False),
    Column("call_control_sequence", String),
    Column("call_control_url", String),
    Column("leave_conference_url", String),
    Column("notification_url", String),
    Column("date_created", Float, nullable=False),
    Column("date_updated", Float, nullable=False),
    Column("revision", Integer, nullable=False),
    Index("ix_participants_call", "call_id"),
)

queues = Table(
    "queues",
    metadata,
    Column("queue_id", String, primary_key=True),
    Column("account_id", String, nullable=False),
    Column("alias", String),
    Column("max_size", Integer, nullable=False),
    Column("removed_count", Integer, nullable=False),
    Column("removed_total_s", Float, nullable=False),
    Column("dequeued_count", Integer, nullable=False),
    Column("dequeued_total_s", Float, nullable=False),
    Column("date_created", Float, nullable=False),
    Column("date_updated", Float, nullable=False),
    Column("revision", Integer, nullable=False),
    Index("ix_queues_account_created", "account_id", "date_created"),
)

queue_members = Table(
    "queue_members",
    metadata,
    Column("call_id", String, primary_key=True),  # a call waits in at most one queue
    Column("queue_id", String, nullable=False),
    Column("account_id", String, nullable=False),
    Column("date_enqueued", Float, nullable=False),
    Column("seq", Integer, nullable=False),
    Column("wait_url", String),
    Column("action_url", String),
    Column("notification_url", String),
    # The order members were first stored in: the tie-breaker after (date_enqueued, seq). Set by
    # the upsert on insert (one more than the largest), kept by its update (sql/queues.py).
    Column("inserted", BigInteger, nullable=False, server_default="0"),
    Index("ix_queue_members_queue", "queue_id", "date_enqueued", "seq"),
)

messages = Table(
    "messages",
    metadata,
    Column("message_id", String, primary_key=True),
    Column("account_id", String, nullable=False),
    Column("from_number", String, nullable=False),
    Column("to_number", String, nullable=False),
    Column("text", Text, nullable=False),
    Column("direction", String, nullable=False),
    Column("status", String, nullable=False),
    Column("notification_url", String),
    Column("application_id", String),
    Column("phone_number_id", String),
    Column("call_id", String),
    Column("segment_count", Integer, nullable=False),
    Column("media_urls", Text, nullable=False),
    Column("request_id", String),
    Column("date_created", Float, nullable=False),
    Column("date_updated", Float, nullable=False),
    Column("revision", Integer, nullable=False),
    Index("ix_messages_account_created", "account_id", "date_created"),
)

blobs = Table(
    "blobs",
    metadata,
    Column("blob_id", String, primary_key=True),
    Column("account_id", String, nullable=False),
    Column("alias", String, nullable=False),
    Column("content", Text, nullable=False),
    Column("expires_at", Float, nullable=False),
    Column("date_created", Float, nullable=False),
    Column("date_updated", Float, nullable=False),
    Column("revision", Integer, nullable=False),
    Index("ux_blobs_account_alias", "account_id", "alias", unique=True),
    Index("ix_blobs_expires_at", "expires_at"),
)

exports = Table(
    "exports",
    metadata,
    Column("export_id", String, primary_key=True),
    Column("account_id", String, nullable=False),
    Column("resource_type", String, nullable=False),
    Column("fields", Text, nullable=False),  # JSON list
    Column("query", Text, nullable=False),  # JSON object
    Column("status", String, nullable=False),
    Column("size", Integer, nullable=False),
    Column("date_created", Float, nullable=False),
    Column("date_updated", Float, nullable=False),
    Column("revision", Integer, nullable=False),
    Index("ix_exports_account_created", "account_id", "date_created"),
)

# Which worker owns a leg (or itself: kind "worker"), until when (engine/ports/leases.py).
leases = Table(
    "leases",
    metadata,
    Column("kind", String, primary_key=True),
    Column("key", String, primary_key=True),
    Column("owner", String, nullable=False),
    Column("expires_at", Float, nullable=False),
    Index("ix_leases_owner", "owner"),
    Index("ix_leases_expires_at", "expires_at"),
)

# Recordings' metadata (issue 13); the audio is a RecordingFiles port's file of the same id.
recordings = Table(
    "recordings",
    metadata,
    Column("recording_id", String, primary_key=True),
    Column("account_id", String, nullable=False),
    Column("call_id", String, nullable=True),
    Column("conference_id", String, nullable=True),
    Column("duration_sec", Integer, nullable=False),
    Column("date_created", Float, nullable=False),
    Column("date_updated", Float, nullable=False),
    Column("revision", Integer, nullable=False),
    Column("duration_ms", Integer, nullable=False),
    Column("size", Integer, nullable=False),
    Index("ix_recordings_account_created", "account_id", "date_created"),
    Index("ix_recordings_call", "call_id"),
    Index("ix_recordings_conference", "conference_id"),
    Index("ix_recordings_created", "date_created"),
)

# Rates several workers share (engine/ports/limits.py): a key's GCRA "theoretical arrival time";
# a row whose tat has passed is back at its full allowance (swept).
rates = Table(
    "rates",
    metadata,
    Column("key", String, primary_key=True),
    Column("tat", Float, nullable=False),
    Index("ix_rates_tat", "tat"),
)


# --------------------------------------------------------------------------- row <-> record

R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class Field:
    """One record attribute and how it is stored."""

    attr: str
    column: str
    enum: type[StrEnum] | None = None
    json: bool = False
    as_tuple: bool = False  # a JSON list that the record holds as a tuple
    boolean: bool = False  # SQLite hands back 0/1; SQLAlchemy's Boolean type did the bool() before

    def converter(self) -> Callable[[Any], Any] | None:
        """What turns a raw sqlite3 value of this column into the record's value (None: as is)."""
        if self.json:
            return _json_tuple if self.as_tuple else json.loads
        enum = self.enum
        if enum is not None:
            return lambda value: None if value is None else enum(value)
        if self.boolean:
            return lambda value: None if value is None else bool(value)
        return None


def _json_tuple(text: str) -> tuple[Any, ...]:
    return tuple(json.loads(text))


@dataclass(frozen=True, slots=True)
class RecordMap(Generic[R]):
    """How one record type maps onto its table."""

    table: Table
    record: type[R]
    fields: tuple[Field, ...]
    # (attr, converter) per field, worked out once: from_values runs for every row read.
    _plan: tuple[tuple[str, Callable[[Any], Any] | None], ...] = dataclass_field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "_plan", tuple((f.attr, f.converter()) for f in self.fields))

    def to_row(self, record: R) -> dict[str, Any]:
        """The column values for `record` (enums as strings, metadata as JSON text)."""
        row: dict[str, Any] = {}
        for f in self.fields:
            value = getattr(record, f.attr)
            if f.json:
                value = dump_json(value)
            elif f.enum is not None and value is not None:
                value = value.value
            row[f.column] = value
        return row

    @property
    def columns(self) -> list[Column[Any]]:
        """The table's columns in `fields` order: what a SELECT for `from_values` must list."""
        return [self.table.c[f.column] for f in self.fields]

    def from_values(self, values: Sequence[Any]) -> R:
        """The record from raw sqlite3 values given in `fields` order (a row of `columns`).

        Call on rows the driver returned directly: booleans arrive as 0/1, enums and JSON as text.
        """
        kwargs: dict[str, Any] = {}
        for (attr, convert), value in zip(self._plan, values, strict=True):
            kwargs[attr] = value if convert is None or value is None else convert(value)
        return self.record(**kwargs)


def dump_json(value: Any) -> str:
    # A log line must never take a call down, so a value JSON cannot encode is stored as str().
    return json.dumps(value, separators=(",", ":"), default=str)


def _plain(table: Table, **special: Field) -> tuple[Field, ...]:
    """A Field per column; `special` overrides columns whose attr or type differ."""
    return tuple(
        special.get(c.name, Field(c.name, c.name, boolean=isinstance(c.type, Boolean)))
        for c in table.columns
    )


ACCOUNT_MAP: RecordMap[Account] = RecordMap(
    accounts,
    Account,
    _plain(
        accounts,
        type=Field("type", "type", AccountType),
        status=Field("status", "status", AccountStatus),
    ),
)

APPLICATION_MAP: RecordMap[Application] = RecordMap(applications, Application, _plain(applications))

NUMBER_MAP: RecordMap[IncomingNumber] = RecordMap(numbers, IncomingNumber, _plain(numbers))

CALL_MAP: RecordMap[Call] = RecordMap(
    calls,
    Call,
    _plain(
        calls,
        from_number=Field("from_", "from_number"),
        to_number=Field("to", "to_number"),
        direction=Field("direction", "direction", CallDirection),
        status=Field("status", "status", CallStatus),
        answered_by=Field("answered_by", "answered_by", AnsweredBy),
        call_ended_reason=Field("call_ended_reason", "call_ended_reason", CallEndedReason),
    ),
)

# The logs map leaves out log_id: it is the store's, not the record's.
LOG_MAP: RecordMap[LogEntry] = RecordMap(
    logs,
    LogEntry,
    tuple(
        f
        for f in _plain(
            logs,
            level=Field("level", "level", LogLevel),
            metadata=Field("metadata", "metadata", json=True),
        )
        if f.column != "log_id"
    ),
)

CONFERENCE_MAP: RecordMap[Conference] = RecordMap(
    conferences,
    Conference,
    _plain(
        conferences,
        play_beep=Field("play_beep", "play_beep", PlayBeep),
        status=Field("status", "status", ConferenceStatus),
    ),
)

PARTICIPANT_MAP: RecordMap[Participant] = RecordMap(participants, Participant, _plain(participants))

QUEUE_MAP: RecordMap[Queue] = RecordMap(queues, Queue, _plain(queues))

QUEUE_MEMBER_MAP: RecordMap[QueueMember] = RecordMap(
    queue_members,
    QueueMember,
    tuple(f for f in _plain(queue_members) if f.column != "inserted"),  # the store's, not the record's
)

MESSAGE_MAP: RecordMap[Message] = RecordMap(
    messages,
    Message,
    _plain(
        messages,
        from_number=Field("from_", "from_number"),
        to_number=Field("to", "to_number"),
        direction=Field("direction", "direction", MessageDirection),
        status=Field("status", "status", MessageStatus),
        media_urls=Field("media_urls", "media_urls", json=True, as_tuple=True),
    ),
)

BLOB_MAP: RecordMap[Blob] = RecordMap(blobs, Blob, _plain(blobs))

EXPORT_MAP: RecordMap[Export] = RecordMap(
    exports,
    Export,
    _plain(
        exports,
        resource_type=Field("resource_type", "resource_type", ExportResourceType),
        status=Field("status", "status", ExportStatus),
        fields=Field("fields", "fields", json=True, as_tuple=True),
    ),
)

RECORDING_MAP: RecordMap[Recording] = RecordMap(recordings, Recording, _plain(recordings))
