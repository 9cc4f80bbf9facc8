"""Frozen records shared by the engine, the store and the API.

Times are float seconds since the epoch (the Clock's unit); the API renders them as RFC 1123 and
ISO 8601. Records change only through `dataclasses.replace`, so a record read from the store is a
snapshot that nobody mutates behind your back.
"""

from __future__ import annotations

import dataclasses
import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

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


@dataclass(frozen=True, slots=True)
class Account:
    account_id: str
    api_key: str
    signing_secret: str
    alias: str | None = None
    label: str | None = None
    type: AccountType = AccountType.FULL
    status: AccountStatus = AccountStatus.ACTIVE
    date_created: float = 0.0
    date_updated: float = 0.0
    revision: int = 1


@dataclass(frozen=True, slots=True)
class Application:
    application_id: str
    account_id: str
    alias: str | None = None
    voice_url: str | None = None
    voice_fallback_url: str | None = None
    call_connect_url: str | None = None
    status_callback_url: str | None = None
    sms_url: str | None = None
    sms_fallback_url: str | None = None
    date_created: float = 0.0
    date_updated: float = 0.0
    revision: int = 1


@dataclass(frozen=True, slots=True)
class IncomingNumber:
    phone_number_id: str
    account_id: str
    phone_number: str
    application_id: str | None = None
    alias: str | None = None
    region: str | None = None
    country: str | None = None
    voice_enabled: bool = True
    sms_enabled: bool = True
    toll_free: bool = False
    date_created: float = 0.0
    date_updated: float = 0.0
    revision: int = 1


@dataclass(frozen=True, slots=True)
class Call:
    """One call leg, as the REST API and webhooks describe it, plus what the engine needs to resume it."""

    call_id: str
    account_id: str
    from_: str
    to: str
    direction: CallDirection
    status: CallStatus = CallStatus.QUEUED
    application_id: str | None = None
    parent_call_id: str | None = None
    phone_number_id: str | None = None
    answered_by: AnsweredBy | None = None
    caller_name: str | None = None
    call_ended_reason: CallEndedReason | None = None
    conference_id: str | None = None
    queue_id: str | None = None
    request_id: str | None = None
    # When the leg began ringing, was answered, ended.
    start_time: float | None = None
    connect_time: float | None = None
    end_time: float | None = None
    date_created: float = 0.0
    date_updated: float = 0.0
    revision: int = 1
    # Call settings the engine keeps so the leg can be described and resumed.
    call_connect_url: str | None = None
    status_callback_url: str | None = None
    if_machine: str | None = None
    if_machine_url: str | None = None
    send_digits: str | None = None
    timeout_s: int = 30
    privacy_mode: bool = False
    # How long the leg's AudioStreams were connected to their agents, in all (milliseconds).
    audio_stream_ms: int = 0
    # Placed from or answered by a browser phone (the webrtc line): the record's `webRTC`.
    web_rtc: bool = False

    @property
    def audio_stream_duration(self) -> int:
        """audioStreamDuration: whole seconds, rounded up, so that it is > 0 exactly when the leg
        streamed at all (the list-calls filter usedAudioStream means "audioStreamDuration > 0")."""
        return -(-self.audio_stream_ms // 1000)

    @property
    def duration(self) -> int | None:
        """Whole seconds from start to end; None while live or when the leg never connected."""
        if self.end_time is None or self.start_time is None or self.connect_time is None:
            return None
        return round(self.end_time - self.start_time)

    @property
    def connect_duration(self) -> int | None:
        if self.end_time is None or self.connect_time is None:
            return None
        return round(self.end_time - self.connect_time)


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One account log line. `timestamp` is integer microseconds, as FreeClimb's LogResult."""

    timestamp: int
    level: LogLevel
    account_id: str
    message: str
    request_id: str | None = None
    call_id: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Conference:
    """A conference room (ConferenceResult). `status` changes only through engine.conference.state."""

    conference_id: str
    account_id: str
    alias: str | None = None
    play_beep: PlayBeep = PlayBeep.ALWAYS
    record: bool = False
    status: ConferenceStatus = ConferenceStatus.EMPTY
    wait_url: str | None = None
    action_url: str | None = None
    status_callback_url: str | None = None
    request_id: str | None = None
    date_created: float = 0.0
    date_updated: float = 0.0
    revision: int = 1


@dataclass(frozen=True, slots=True)
class Participant:
    """A call leg in a conference (ConferenceParticipantResult), plus its AddToConference settings."""

    conference_id: str
    call_id: str
    account_id: str
    talk: bool = True
    listen: bool = True
    dtmf_pass_through: bool = True
    start_conf_on_enter: bool = True
    allow_call_control: bool = False
    call_control_sequence: str | None = None
    call_control_url: str | None = None
    leave_conference_url: str | None = None
    notification_url: str | None = None
    date_created: float = 0.0
    date_updated: float = 0.0
    revision: int = 1


@dataclass(frozen=True, slots=True)
class Queue:
    """A call queue (QueueResult). The averages are kept from these running totals."""

    queue_id: str
    account_id: str
    alias: str | None = None
    max_size: int = 100
    # Every member that left the queue, however it left: count and summed seconds in the queue.
    removed_count: int = 0
    removed_total_s: float = 0.0
    # Members that left by being dequeued (they waited for an agent): count and summed seconds.
    dequeued_count: int = 0
    dequeued_total_s: float = 0.0
    date_created: float = 0.0
    date_updated: float = 0.0
    revision: int = 1


@dataclass(frozen=True, slots=True)
class QueueMember:
    """A call waiting in a queue. Position is its rank by (date_enqueued, seq) among the queue's members."""

    queue_id: str
    call_id: str
    account_id: str
    date_enqueued: float
    seq: int = 0  # tie-breaker for members enqueued at the same clock instant
    wait_url: str | None = None
    action_url: str | None = None
    notification_url: str | None = None


@dataclass(frozen=True, slots=True)
class Message:
    """An SMS (MessageResult)."""

    message_id: str
    account_id: str
    from_: str
    to: str
    text: str
    direction: MessageDirection
    status: MessageStatus = MessageStatus.NEW
    notification_url: str | None = None
    application_id: str | None = None
    phone_number_id: str | None = None
    call_id: str | None = None
    segment_count: int = 1
    media_urls: tuple[str, ...] = ()
    request_id: str | None = None
    date_created: float = 0.0
    date_updated: float = 0.0
    revision: int = 1


@dataclass(frozen=True, slots=True)
class Recording:
    """A recording (RecordingResult): of one call (`call_id`) or of a conference (`conference_id`,
    `call_id` None). Its WAV file is kept by a RecordingFiles port; `size` is that file's bytes,
    `duration_ms` its exact length (`duration_sec` is that rounded up, as FreeClimb reports)."""

    recording_id: str
    account_id: str
    call_id: str | None = None
    conference_id: str | None = None
    duration_sec: int = 0
    date_created: float = 0.0
    date_updated: float = 0.0
    revision: int = 1
    duration_ms: int = 0
    size: int = 0


@dataclass(frozen=True, slots=True)
class Blob:
    """An account's JSON key/value document (FreeClimb's Blobs). `content` is the document as
    compact JSON text: the record stays immutable and its size is what the limit counts."""

    blob_id: str
    account_id: str
    alias: str
    content: str
    expires_at: float
    date_created: float = 0.0
    date_updated: float = 0.0
    revision: int = 1


@dataclass(frozen=True, slots=True)
class Export:
    """A CSV export of an account's calls or messages (FreeClimb's Exports). `query` is the
    request's filter object as compact JSON text; `size` the CSV file's bytes once completed."""

    export_id: str
    account_id: str
    resource_type: ExportResourceType
    fields: tuple[str, ...]
    query: str
    status: ExportStatus = ExportStatus.QUEUED
    size: int = 0
    date_created: float = 0.0
    date_updated: float = 0.0
    revision: int = 1


Revisable = TypeVar(
    "Revisable", Account, Application, IncomingNumber, Call, Conference, Participant, Queue, Message
)


def revised(record: Revisable, now: float, **changes: Any) -> Revisable:
    """`record` with `changes` applied as a new revision: revision + 1, dateUpdated = now.

    What dataclasses.replace does, with the field list and its getter worked out once per class:
    every call state change makes a revision (three per call at least), and replace's per-field
    checks were a quarter of its instructions (bench/instructions.py)."""
    names, values_of = _init_fields(type(record))
    kwargs = dict(zip(names, values_of(record), strict=True))
    kwargs.update(changes, date_updated=now, revision=record.revision + 1)
    return type(record)(**kwargs)


_InitFields = tuple[tuple[str, ...], Callable[[Any], tuple[Any, ...]]]
_INIT_FIELDS: dict[type, _InitFields] = {}


def _init_fields(cls: type) -> _InitFields:
    """The names of `cls`'s init fields and one getter of all their values (as a tuple)."""
    found = _INIT_FIELDS.get(cls)
    if found is None:
        names = tuple(f.name for f in dataclasses.fields(cls) if f.init)
        found = _INIT_FIELDS[cls] = (names, operator.attrgetter(*names))
    return found
