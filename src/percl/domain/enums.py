"""FreeClimb's wire enums, spelled exactly as the OpenAPI document and the official SDK spell them."""

from __future__ import annotations

from enum import StrEnum


class CallStatus(StrEnum):
    QUEUED = "queued"
    RINGING = "ringing"
    IN_PROGRESS = "inProgress"
    CANCELED = "canceled"
    COMPLETED = "completed"
    FAILED = "failed"
    BUSY = "busy"
    NO_ANSWER = "noAnswer"

    @property
    def is_final(self) -> bool:
        return self not in _LIVE

    @property
    def is_live(self) -> bool:
        return self in _LIVE


_LIVE = frozenset({CallStatus.QUEUED, CallStatus.RINGING, CallStatus.IN_PROGRESS})


class CallDirection(StrEnum):
    INBOUND = "inbound"
    OUTBOUND_API = "outboundAPI"
    OUTBOUND_DIAL = "outboundDial"


class CallEndedReason(StrEnum):
    BUSY = "busy"
    FAILED = "failed"
    NO_ANSWER = "noAnswer"
    CALL_CANCELED = "callCanceled"
    FAR_END_HANGUP = "farEndHangup"
    APP_HANGUP = "appHangup"
    APP_REJECT = "appReject"
    APP_NO_PERCL = "appNoPercl"
    APP_INVALID_PERCL = "appInvalidPercl"
    CONFERENCE_TERMINATED = "conferenceTerminated"
    CONFERENCE_EMPTIED = "conferenceEmptied"
    REMOVED_FROM_CONFERENCE = "removedFromConference"
    MACHINE_DETECTED = "machineDetected"
    WEBHOOK_FAILED = "webhookFailed"
    WEBHOOK_INVALID_RESPONSE = "webhookInvalidResponse"
    VOICE_DISABLED = "voiceDisabled"
    CONFIG_ERROR_NO_APPLICATION = "configErrorNoApplication"
    CONFIG_ERROR_NO_VOICE_URL = "configErrorNoVoiceUrl"
    MAX_REDIRECTS_ERROR = "maxRedirectsError"
    PERCL_PROCESSING_ERROR = "perclProcessingError"
    INTERNAL_ERROR = "internalError"
    GRPC_HANGUP = "grpcHangup"
    MAX_DURATION = "maxDuration"


class AnsweredBy(StrEnum):
    HUMAN = "human"
    MACHINE = "machine"


class MachineType(StrEnum):
    ANSWERING_MACHINE = "answering machine"
    FAX_MODEM = "fax modem"


class IfMachine(StrEnum):
    REDIRECT = "redirect"
    HANGUP = "hangup"


class LogLevel(StrEnum):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


class GetDigitsReason(StrEnum):
    FINISH_KEY = "finishKey"
    TIMEOUT = "timeout"
    MAX_DIGITS = "maxDigits"
    TONE = "tone"


class AccountStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    CLOSED = "closed"


class AccountType(StrEnum):
    TRIAL = "trial"
    FULL = "full"


class ConferenceStatus(StrEnum):
    EMPTY = "empty"
    POPULATED = "populated"
    IN_PROGRESS = "inProgress"
    TERMINATED = "terminated"


class PlayBeep(StrEnum):
    ALWAYS = "always"
    NEVER = "never"
    ENTRY_ONLY = "entryOnly"
    EXIT_ONLY = "exitOnly"


class QueueResult(StrEnum):
    """`queueResult` of the dequeue / removeFromQueueNotification webhooks."""

    QUEUE_FULL = "queueFull"
    DEQUEUED = "dequeued"
    HANGUP = "hangup"
    SYSTEM_ERROR = "systemError"


class GetSpeechReason(StrEnum):
    ERROR = "error"
    HANGUP = "hangup"
    DIGIT = "digit"
    NO_INPUT = "noInput"
    NO_MATCH = "noMatch"
    RECOGNITION = "recognition"


class MessageStatus(StrEnum):
    NEW = "new"
    QUEUED = "queued"
    REJECTED = "rejected"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    RECEIVED = "received"
    UNDELIVERED = "undelivered"
    EXPIRED = "expired"
    DELETED = "deleted"
    UNKNOWN = "unknown"


class MessageDirection(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class RequestType(StrEnum):
    """requestType values as the SDK's webhook discriminator spells them (`callControl`, `transcribe`)."""

    INBOUND_CALL = "inboundCall"
    RECORD = "record"
    GET_DIGITS = "getDigits"
    GET_SPEECH = "getSpeech"
    REDIRECT = "redirect"
    PAUSE = "pause"
    OUT_DIAL_START = "outDialStart"
    OUT_DIAL_CONNECT = "outDialConnect"
    OUT_DIAL_API_CONNECT = "outDialApiConnect"
    MACHINE_DETECTED = "machineDetected"
    DEQUEUE = "dequeue"
    QUEUE_WAIT = "queueWait"
    ADD_TO_QUEUE_NOTIFICATION = "addToQueueNotification"
    AUDIO_STREAM = "audioStream"
    REMOVE_FROM_QUEUE_NOTIFICATION = "removeFromQueueNotification"
    CALL_STATUS = "callStatus"
    CREATE_CONFERENCE = "createConference"
    CONFERENCE_STATUS = "conferenceStatus"
    LEAVE_CONFERENCE = "leaveConference"
    ADD_TO_CONFERENCE_NOTIFICATION = "addToConferenceNotification"
    CONFERENCE_RECORDING_STATUS = "conferenceRecordingStatus"
    CALL_CONTROL = "callControl"
    TRANSCRIBE = "transcribe"
    MESSAGE_DELIVERY = "messageDelivery"
    MESSAGE_STATUS = "messageStatus"


class PhoneAnswer(StrEnum):
    """How a virtual phone on the simulated network responds when it is called."""

    HUMAN = "human"
    MACHINE = "machine"
    FAX = "fax"
    BUSY = "busy"
    NO_ANSWER = "noAnswer"
    FAILED = "failed"
    MANUAL = "manual"  # rings until the sim API answers or declines it (a terminal softphone)


class ExportStatus(StrEnum):
    """FreeClimb's ExportStatus; percl's exports go queued -> inProgress -> completed | failed,
    and deleted on DELETE (`intaking` is never used)."""

    INTAKING = "intaking"
    QUEUED = "queued"
    IN_PROGRESS = "inProgress"
    COMPLETED = "completed"
    FAILED = "failed"
    DELETED = "deleted"


class ExportResourceType(StrEnum):
    MESSAGES = "Messages"
    CALLS = "Calls"
