"""The requestType registry: which fields each webhook carries and what type each must have.

Why a declarative table: every requestType differs from the others only in which extra fields it
carries and what type each must have (the SDK's models are strict: `queuePosition` and the record
webhook's `recordingSize` must be JSON strings, durations integers, enums their exact spellings).
One `Spec` per requestType states that once, and payloads.build_body applies it. `pause` has no
webhook (the SDK has no model for it) and so no entry. The engine builds every webhook as a typed
payload (domain/payloads.py, one dataclass per requestType here); this table is the run-time check
that its encoding is what the SDK accepts (tests/webhooks/test_typed_payloads.py ties the two).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

from percl.domain.enums import (
    CallEndedReason,
    ConferenceStatus,
    GetDigitsReason,
    MachineType,
    RequestType,
)
from percl.engine.ports import WebhookRequest

# --------------------------------------------------------------------------- field kinds


@dataclass(frozen=True, slots=True)
class Kind:
    """What a field's value must be, in the SDK's strict sense."""

    describe: str
    accepts: Callable[[Any], bool]


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


STR = Kind("a string", lambda v: isinstance(v, str))
INT = Kind("an integer", _is_int)
BOOL = Kind("a boolean", lambda v: isinstance(v, bool))


def one_of(values: Iterable[str]) -> Kind:
    allowed = frozenset(values)
    return Kind(f"one of {sorted(allowed)}", lambda v: isinstance(v, str) and v in allowed)


def enum_of(enum: type[StrEnum]) -> Kind:
    return one_of(member.value for member in enum)


def nullable(kind: Kind) -> Kind:
    return Kind(f"{kind.describe} or null", lambda v: v is None or kind.accepts(v))


# SDK enums that have no counterpart in percl.domain.enums (spelt as freeclimb 5.4.1 spells them).
GET_SPEECH_REASON = one_of(["error", "hangup", "digit", "noInput", "noMatch", "recognition"])
RECORD_TERM_REASON = one_of(["finishKey", "timeout", "hangup", "maxLength"])
QUEUE_RESULT = one_of(["queueFull", "dequeued", "hangup", "systemError"])
TRANSCRIBE_TERM_REASON = one_of(["error", "completed"])
TRANSCRIBE_REASON = one_of(["internalError", "hangup", "maxLength", "digit", "noInput"])
BARGE_IN_REASON = one_of(["noBargeIn", "bargeInByDTMF", "bargeInByEnergy"])
_MESSAGE_STATUSES = (
    "new queued rejected sending sent failed received undelivered expired deleted unknown"
)
MESSAGE_STATUS = one_of(_MESSAGE_STATUSES.split(" "))

# --------------------------------------------------------------------------- the registry

Shape = Literal["call", "control", "message"]
Derive = Callable[[WebhookRequest, Mapping[str, Any]], Mapping[str, Any]]


@dataclass(frozen=True, slots=True)
class Spec:
    """How one requestType's body is made.

    shape: "call" = the nine standard fields from the Call; "control" = callControl's four;
    "message" = SMS webhooks (accountId only, no call). `required`/`optional` are the fields the
    engine may pass (optional ones may be null; standard ones listed here override the Call's).
    `derive` supplies defaults the engine need not pass; `non_null` must be set in the end.
    """

    shape: Shape
    required: Mapping[str, Kind] = field(default_factory=dict)
    optional: Mapping[str, Kind] = field(default_factory=dict)
    derive: Derive | None = None
    non_null: tuple[str, ...] = ()
    # A "call" webhook that may concern no leg at all (a conference created or terminated over
    # REST): without a Call, the standard call fields are null.
    call_optional: bool = False


def _nulls(*names: str) -> Derive:
    return lambda _req, _body: dict.fromkeys(names)


def _dial_call_status(_req: WebhookRequest, body: Mapping[str, Any]) -> Mapping[str, Any]:
    # Deprecated copy of callStatus that official samples still read.
    return {"dialCallStatus": body["callStatus"]}


def _call_status(req: WebhookRequest, _body: Mapping[str, Any]) -> Mapping[str, Any]:
    assert req.call is not None  # the "call" shape guarantees it
    reason = req.call.call_ended_reason
    # A leg that never connected lasted 0 s (FreeClimb types it int in captures, string in docs).
    return {
        "callEndedReason": reason.value if reason else None,
        "callDuration": req.call.duration or 0,
    }


def _message_direction(direction: str, *extra: str) -> Derive:
    def derive(req: WebhookRequest, _body: Mapping[str, Any]) -> Mapping[str, Any]:
        out: dict[str, Any] = {"direction": direction}
        if "callId" in extra:
            out["callId"] = req.call.call_id if req.call else None
        if "status" in extra:
            out["status"] = "received"
        return out

    return derive


_RECORDING_NULLABLE = {
    "recordingUrl": nullable(STR),
    "recordingId": nullable(STR),
    "recordingDurationSec": nullable(INT),
}
_CONF = {"conferenceId": STR}
_QUEUE = {"queueId": STR}
_CONF_RECORDING_NULLS = _nulls("recordingUrl", "recordingId", "recordingDurationSec")

SPECS: dict[RequestType, Spec] = {
    RequestType.INBOUND_CALL: Spec("call"),
    RequestType.REDIRECT: Spec("call"),  # see _redirect_kinds: it may carry the original fields
    RequestType.GET_DIGITS: Spec(
        "call", required={"digits": STR, "reason": enum_of(GetDigitsReason)}
    ),
    RequestType.GET_SPEECH: Spec(
        "call",
        required={"reason": GET_SPEECH_REASON},
        optional={
            "recognitionResult": STR,
            "confidence": INT,
            "completionReason": STR,
            "completionCause": STR,
            "mrcpCode": INT,
            "mrcpDiagnostic": STR,
        },
    ),
    RequestType.RECORD: Spec(
        "call",
        required={
            "recordingId": STR,
            "recordingUrl": STR,
            "recordingSize": STR,
            "recordingFormat": STR,
            "recordingDurationSec": INT,
            "termReason": RECORD_TERM_REASON,
            "privacyMode": BOOL,
        },
    ),
    RequestType.TRANSCRIBE: Spec(
        "call",
        required={"termReason": TRANSCRIBE_TERM_REASON},
        optional={
            "recordingId": STR,
            "recordingUrl": STR,
            "recordingSize": INT,
            "recordingFormat": STR,
            "recordingDurationMs": INT,
            "recordTermReason": RECORD_TERM_REASON,
            "digit": STR,
            "privacyForLogging": BOOL,
            "privacyForRecording": BOOL,
            "bargeInReason": BARGE_IN_REASON,
            "bargedInPromptNo": INT,
            "bargedInPromptMs": INT,
            "bargedInPromptLoopNo": INT,
            "bargeInTimeMs": INT,
            "transcript": STR,
            "transcribeReason": TRANSCRIBE_REASON,
            "transcriptionDurationMs": INT,
        },
    ),
    RequestType.OUT_DIAL_START: Spec("call", required={"dialCallId": STR}),
    RequestType.OUT_DIAL_CONNECT: Spec("call", derive=_dial_call_status),
    RequestType.OUT_DIAL_API_CONNECT: Spec("call", derive=_dial_call_status),
    RequestType.MACHINE_DETECTED: Spec("call", required={"machineType": enum_of(MachineType)}),
    RequestType.DEQUEUE: Spec(
        "call",
        required={"queueResult": QUEUE_RESULT, "queueTime": INT},
        optional=_QUEUE,
        non_null=("queueId",),
    ),
    RequestType.QUEUE_WAIT: Spec(
        "call",
        required={"queuePosition": STR, "queueTime": INT, "currentQueueSize": INT},
        optional={**_QUEUE, "averageQueueTime": INT},
        non_null=("queueId",),
    ),
    RequestType.ADD_TO_QUEUE_NOTIFICATION: Spec("call", optional=_QUEUE, non_null=("queueId",)),
    RequestType.REMOVE_FROM_QUEUE_NOTIFICATION: Spec(
        "call",
        required={"queueResult": QUEUE_RESULT, "queueTime": INT},
        optional=_QUEUE,
        non_null=("queueId",),
    ),
    RequestType.AUDIO_STREAM: Spec("call"),
    RequestType.CALL_STATUS: Spec(
        "call",
        optional={
            "callEndedReason": enum_of(CallEndedReason),
            "callDuration": INT,
            "recordingUrl": STR,
            "recordingId": STR,
            "recordingDurationSec": INT,
        },
        derive=_call_status,
        non_null=("callEndedReason",),
    ),
    RequestType.CREATE_CONFERENCE: Spec(
        "call",
        optional={**_CONF, "status": enum_of(ConferenceStatus), **_RECORDING_NULLABLE},
        derive=_CONF_RECORDING_NULLS,
        non_null=("conferenceId",),
        call_optional=True,
    ),
    RequestType.CONFERENCE_STATUS: Spec(
        "call",
        required={"status": enum_of(ConferenceStatus)},
        optional={**_CONF, **_RECORDING_NULLABLE},
        derive=_CONF_RECORDING_NULLS,
        non_null=("conferenceId",),
        call_optional=True,
    ),
    RequestType.CONFERENCE_RECORDING_STATUS: Spec(
        "call",
        required={
            "status": enum_of(ConferenceStatus),
            "recordingUrl": STR,
            "recordingId": STR,
            "recordingDurationSec": INT,
        },
        optional=_CONF,
        non_null=("conferenceId",),
        call_optional=True,  # about the conference's recording, not a leg
    ),
    RequestType.ADD_TO_CONFERENCE_NOTIFICATION: Spec(
        "call",
        required={"status": enum_of(ConferenceStatus)},
        optional={**_CONF, **_RECORDING_NULLABLE},
        derive=_CONF_RECORDING_NULLS,
        non_null=("conferenceId",),
    ),
    RequestType.LEAVE_CONFERENCE: Spec("call", optional=_CONF, non_null=("conferenceId",)),
    RequestType.CALL_CONTROL: Spec(
        "control", required={"digits": STR}, optional=_CONF, non_null=("conferenceId",)
    ),
    RequestType.MESSAGE_DELIVERY: Spec(
        "message",
        required={"from": STR, "to": STR, "text": STR, "applicationId": STR, "phoneNumberId": STR},
        optional={"messageId": STR, "uri": STR},
        derive=_message_direction("inbound", "status"),
    ),
    RequestType.MESSAGE_STATUS: Spec(
        "message",
        required={
            "messageId": STR,
            "from": STR,
            "to": STR,
            "text": STR,
            "phoneNumberId": STR,
            "status": MESSAGE_STATUS,
        },
        # applicationId is null when the sending number has no application (SDK docs: "May be null").
        optional={"callId": STR, "applicationId": STR},
        derive=_message_direction("outbound", "callId"),
    ),
}

ORIGINAL_TYPES = one_of(rt.value for rt in SPECS if rt is not RequestType.REDIRECT)
