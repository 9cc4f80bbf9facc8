"""Webhook payloads: one frozen dataclass per requestType, and the one encoder to FreeClimb's wire.

A payload holds what its requestType carries besides the standard call fields (accountId, callId,
from, to, callStatus, ..., which the dispatcher takes from the Call): `GetDigits(digits, reason)`,
`QueueWait(...)`. Fields are snake_case Python values (enums, ints, bools); `wire_fields` is the
only place that spells them the way FreeClimb does (camelCase, enum values, `originalRequestType`).
webhooks/specs.py still checks every body the SDK's way before it leaves, so a payload the encoder
got wrong fails loudly in one place.

A field whose value is None is left out (the dispatcher fills in the nulls a requestType always
carries), except where `NULL_KEPT` marks it: those are sent as JSON null.

Pure: no I/O. Lives in domain/ because both the interpreter (percl/) and the engine build them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from enum import Enum
from typing import ClassVar, Literal

from percl.domain.enums import (
    CallEndedReason,
    ConferenceStatus,
    GetDigitsReason,
    GetSpeechReason,
    MachineType,
    QueueResult,
    RequestType,
)
from percl.domain.enums import (
    MessageStatus as MessageState,
)

#: A field's value on the wire.
WireValue = str | int | bool | None

#: Metadata of a field sent as JSON null when None (instead of being left out).
NULL_KEPT = {"null": True}

# SDK enums with no counterpart in domain.enums, spelt as freeclimb 5.4.1 spells them.
RecordTermReason = Literal["finishKey", "timeout", "hangup", "maxLength"]
TranscribeTermReason = Literal["error", "completed"]
TranscribeReason = Literal["internalError", "hangup", "maxLength", "digit", "noInput"]
BargeInReason = Literal["noBargeIn", "bargeInByDTMF", "bargeInByEnergy"]


# --------------------------------------------------------------------------- calls


@dataclass(frozen=True, slots=True)
class InboundCall:
    REQUEST_TYPE: ClassVar[RequestType] = RequestType.INBOUND_CALL


@dataclass(frozen=True, slots=True)
class GetDigits:
    REQUEST_TYPE: ClassVar[RequestType] = RequestType.GET_DIGITS
    digits: str
    reason: GetDigitsReason


@dataclass(frozen=True, slots=True)
class GetSpeech:
    REQUEST_TYPE: ClassVar[RequestType] = RequestType.GET_SPEECH
    reason: GetSpeechReason
    recognition_result: str | None = None
    confidence: int | None = None
    completion_reason: str | None = None
    completion_cause: str | None = None
    mrcp_code: int | None = None
    mrcp_diagnostic: str | None = None


@dataclass(frozen=True, slots=True)
class Record:
    REQUEST_TYPE: ClassVar[RequestType] = RequestType.RECORD
    recording_id: str
    recording_url: str
    recording_size: str  # a JSON string: the SDK insists
    recording_format: str
    recording_duration_sec: int
    term_reason: RecordTermReason
    privacy_mode: bool


@dataclass(frozen=True, slots=True)
class Transcribe:
    REQUEST_TYPE: ClassVar[RequestType] = RequestType.TRANSCRIBE
    term_reason: TranscribeTermReason
    recording_id: str | None = None
    recording_url: str | None = None
    recording_size: int | None = None
    recording_format: str | None = None
    recording_duration_ms: int | None = None
    record_term_reason: RecordTermReason | None = None
    digit: str | None = None
    privacy_for_logging: bool | None = None
    privacy_for_recording: bool | None = None
    barge_in_reason: BargeInReason | None = None
    barged_in_prompt_no: int | None = None
    barged_in_prompt_ms: int | None = None
    barged_in_prompt_loop_no: int | None = None
    barge_in_time_ms: int | None = None
    transcript: str | None = field(default=None, metadata=NULL_KEPT)  # null: it failed
    transcribe_reason: TranscribeReason | None = None
    transcription_duration_ms: int | None = None


@dataclass(frozen=True, slots=True)
class OutDialStart:
    REQUEST_TYPE: ClassVar[RequestType] = RequestType.OUT_DIAL_START
    dial_call_id: str


@dataclass(frozen=True, slots=True)
class OutDialConnect:
    REQUEST_TYPE: ClassVar[RequestType] = RequestType.OUT_DIAL_CONNECT


@dataclass(frozen=True, slots=True)
class OutDialApiConnect:
    REQUEST_TYPE: ClassVar[RequestType] = RequestType.OUT_DIAL_API_CONNECT


@dataclass(frozen=True, slots=True)
class MachineDetected:
    REQUEST_TYPE: ClassVar[RequestType] = RequestType.MACHINE_DETECTED
    machine_type: MachineType


@dataclass(frozen=True, slots=True)
class AudioStream:
    REQUEST_TYPE: ClassVar[RequestType] = RequestType.AUDIO_STREAM


@dataclass(frozen=True, slots=True)
class CallStatus:
    """callStatus: callEndedReason and callDuration default to the Call's (specs.py)."""

    REQUEST_TYPE: ClassVar[RequestType] = RequestType.CALL_STATUS
    call_ended_reason: CallEndedReason | None = None
    call_duration: int | None = None
    recording_url: str | None = None
    recording_id: str | None = None
    recording_duration_sec: int | None = None


# --------------------------------------------------------------------------- queues


@dataclass(frozen=True, slots=True)
class QueueWait:
    REQUEST_TYPE: ClassVar[RequestType] = RequestType.QUEUE_WAIT
    queue_id: str
    queue_position: str  # a JSON string: the SDK insists
    queue_time: int
    current_queue_size: int
    average_queue_time: int | None = None


@dataclass(frozen=True, slots=True)
class Dequeue:
    REQUEST_TYPE: ClassVar[RequestType] = RequestType.DEQUEUE
    queue_id: str
    queue_result: QueueResult
    queue_time: int


@dataclass(frozen=True, slots=True)
class AddToQueueNotification:
    REQUEST_TYPE: ClassVar[RequestType] = RequestType.ADD_TO_QUEUE_NOTIFICATION
    queue_id: str


@dataclass(frozen=True, slots=True)
class RemoveFromQueueNotification:
    REQUEST_TYPE: ClassVar[RequestType] = RequestType.REMOVE_FROM_QUEUE_NOTIFICATION
    queue_id: str
    queue_result: QueueResult
    queue_time: int


# --------------------------------------------------------------------------- conferences


@dataclass(frozen=True, slots=True)
class CreateConference:
    REQUEST_TYPE: ClassVar[RequestType] = RequestType.CREATE_CONFERENCE
    conference_id: str
    status: ConferenceStatus | None = None
    recording_url: str | None = None
    recording_id: str | None = None
    recording_duration_sec: int | None = None


@dataclass(frozen=True, slots=True)
class ConferenceStatusChanged:
    """conferenceStatus (named so as not to clash with the ConferenceStatus enum)."""

    REQUEST_TYPE: ClassVar[RequestType] = RequestType.CONFERENCE_STATUS
    conference_id: str
    status: ConferenceStatus
    recording_url: str | None = None
    recording_id: str | None = None
    recording_duration_sec: int | None = None


@dataclass(frozen=True, slots=True)
class RecordingFields:
    """A conference's last recording, as its webhooks carry it."""

    recording_url: str
    recording_id: str
    recording_duration_sec: int


@dataclass(frozen=True, slots=True)
class ConferenceRecordingStatus:
    REQUEST_TYPE: ClassVar[RequestType] = RequestType.CONFERENCE_RECORDING_STATUS
    conference_id: str
    status: ConferenceStatus
    recording_url: str
    recording_id: str
    recording_duration_sec: int


@dataclass(frozen=True, slots=True)
class AddToConferenceNotification:
    REQUEST_TYPE: ClassVar[RequestType] = RequestType.ADD_TO_CONFERENCE_NOTIFICATION
    conference_id: str
    status: ConferenceStatus
    recording_url: str | None = None
    recording_id: str | None = None
    recording_duration_sec: int | None = None


@dataclass(frozen=True, slots=True)
class LeaveConference:
    REQUEST_TYPE: ClassVar[RequestType] = RequestType.LEAVE_CONFERENCE
    conference_id: str


@dataclass(frozen=True, slots=True)
class CallControl:
    REQUEST_TYPE: ClassVar[RequestType] = RequestType.CALL_CONTROL
    conference_id: str
    digits: str


# --------------------------------------------------------------------------- messages


@dataclass(frozen=True, slots=True)
class MessageDelivery:
    """messageDelivery (direction inbound and status received are derived)."""

    REQUEST_TYPE: ClassVar[RequestType] = RequestType.MESSAGE_DELIVERY
    message_id: str
    from_: str
    to: str
    text: str
    application_id: str | None = field(metadata=NULL_KEPT)
    phone_number_id: str | None = field(metadata=NULL_KEPT)
    uri: str


@dataclass(frozen=True, slots=True)
class MessageStatus:
    """messageStatus (direction outbound is derived)."""

    REQUEST_TYPE: ClassVar[RequestType] = RequestType.MESSAGE_STATUS
    message_id: str
    call_id: str | None = field(metadata=NULL_KEPT)
    from_: str
    to: str
    text: str
    application_id: str | None = field(metadata=NULL_KEPT)
    phone_number_id: str | None = field(metadata=NULL_KEPT)
    status: MessageState


# --------------------------------------------------------------------------- redirect


@dataclass(frozen=True, slots=True)
class Redirect:
    """redirect: a Redirect first in a webhook's answer also carries that webhook's requestType
    (originalRequestType) and fields: `original`."""

    REQUEST_TYPE: ClassVar[RequestType] = RequestType.REDIRECT
    original: Original | None = None


#: The payloads a redirect may carry as its original (every requestType but redirect itself).
Original = (
    InboundCall
    | GetDigits
    | GetSpeech
    | Record
    | Transcribe
    | OutDialStart
    | OutDialConnect
    | OutDialApiConnect
    | MachineDetected
    | AudioStream
    | CallStatus
    | QueueWait
    | Dequeue
    | AddToQueueNotification
    | RemoveFromQueueNotification
    | CreateConference
    | ConferenceStatusChanged
    | ConferenceRecordingStatus
    | AddToConferenceNotification
    | LeaveConference
    | CallControl
    | MessageDelivery
    | MessageStatus
)

#: Every webhook payload.
Payload = Original | Redirect


# --------------------------------------------------------------------------- the encoder


def wire_fields(payload: Payload) -> dict[str, WireValue]:
    """`payload`'s requestType-specific fields as FreeClimb spells them (camelCase keys, enum
    values); the standard call fields and `requestType` are the dispatcher's."""
    if isinstance(payload, Redirect):
        if payload.original is None:
            return {}
        return {"originalRequestType": payload.original.REQUEST_TYPE.value,
                **wire_fields(payload.original)}
    out: dict[str, WireValue] = {}
    for name, wire, null in _wire_plan(payload):
        value = getattr(payload, name)
        if value is None and not null:
            continue
        out[wire] = value.value if isinstance(value, Enum) else value
    return out


_WirePlan = tuple[tuple[str, str, bool], ...]
_WIRE_PLANS: dict[type[object], _WirePlan] = {}


def _wire_plan(payload: Original) -> _WirePlan:
    """(attribute, wire name, sent as null) per field of `payload`'s type: worked out once per
    type, not per webhook."""
    plan = _WIRE_PLANS.get(type(payload))
    if plan is None:
        plan = _WIRE_PLANS[type(payload)] = tuple(
            (f.name, wire_name(f.name), bool(f.metadata.get("null")))
            for f in dataclasses.fields(payload))
    return plan


def wire_name(name: str) -> str:
    """snake_case -> FreeClimb's camelCase (`dial_call_id` -> `dialCallId`, `from_` -> `from`)."""
    head, *rest = name.rstrip("_").split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)
