"""The AudioStream conversation as typed values, whatever the wire (gRPC or WebSocket).

Names follow FreeClimb's messages (proto/ivr.proto): `PlatformMessage` payloads go to the agent,
`AppMessage` payloads come from it. grpc.py and websocket.py translate these to and from their
wire; session.py speaks only these.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum


class EndCode(IntEnum):
    """NotifyCallEndedMessage.ReasonCode."""

    CALLER_DISCONNECT = 0
    APPLICATION_DISCONNECT = 1
    PLATFORM_DISCONNECT = 2
    PLATFORM_ERROR = 3


class BufferKind(IntEnum):
    """BufferType of QueryBufferDepth and NotifyBufferDepth."""

    DTMF = 0
    AUDIO = 1


# --------------------------------------------------------------------------- platform -> agent


@dataclass(frozen=True, slots=True)
class CallStarted:
    call_id: str
    to: str
    from_: str
    is_inbound: bool
    metadata: tuple[str, ...]
    content_type: str


@dataclass(frozen=True, slots=True)
class AudioData:
    """One frame of the caller's audio; times are clock seconds."""

    audio: bytes
    sequence: int
    start: float
    end: float


@dataclass(frozen=True, slots=True)
class DtmfStarted:
    digit: str
    at: float


@dataclass(frozen=True, slots=True)
class DtmfEnded:
    digit: str
    at: float


@dataclass(frozen=True, slots=True)
class Acknowledged:
    """The notices that echo an application's id: which one is `kind`."""

    kind: str  # one of ACK_KINDS
    id: str
    at: float


#: Acknowledged.kind values, each the PlatformMessage payload field it becomes.
ACK_KINDS = ("notify_playback_started_data", "notify_playback_completed_data",
             "notify_audio_cleared_data", "notify_dtmf_play_started_data",
             "notify_dtmf_play_completed_data")
PLAYBACK_STARTED, PLAYBACK_COMPLETED, AUDIO_CLEARED, DTMF_PLAY_STARTED, DTMF_PLAY_COMPLETED = ACK_KINDS


@dataclass(frozen=True, slots=True)
class CallEnded:
    call_id: str
    code: EndCode
    reason: str


@dataclass(frozen=True, slots=True)
class ErrorNotice:
    message: str
    error_id: str


@dataclass(frozen=True, slots=True)
class BufferDepth:
    kind: BufferKind
    depth: int
    size: int


PlatformEvent = (CallStarted | AudioData | DtmfStarted | DtmfEnded | Acknowledged | CallEnded
                 | ErrorNotice | BufferDepth)


# --------------------------------------------------------------------------- agent -> platform


@dataclass(frozen=True, slots=True)
class PlayAudio:
    id: str
    audio: bytes
    content_type: str  # "": the stream's
    sequence: int = 0
    last: bool = False


@dataclass(frozen=True, slots=True)
class ClearAudio:
    id: str


@dataclass(frozen=True, slots=True)
class PressDtmf:
    id: str
    digits: str
    press_ms: int = 0
    break_ms: int = 0


@dataclass(frozen=True, slots=True)
class QueryBuffer:
    kind: BufferKind


@dataclass(frozen=True, slots=True)
class TerminateCall:
    pass


@dataclass(frozen=True, slots=True)
class EndStream:
    """FreeClimb: "UNIMPLEMENTED, DO NOT USE". percl ends the stream as if the agent closed it."""

    action_url: str = ""


AppCommand = PlayAudio | ClearAudio | PressDtmf | QueryBuffer | TerminateCall | EndStream


class AgentFault(Exception):
    """The agent cannot be reached or broke the protocol (the message says how, for the log)."""
