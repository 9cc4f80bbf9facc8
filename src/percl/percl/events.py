"""What happens to a call leg, as the Interpreter hears it. Frozen, I/O-free values.

Tokens tie an answer to the action that asked for it: a MediaDone(token=7) for an action that was
since cancelled is stale and ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from percl.domain.enums import CallEndedReason, RequestType
from percl.percl.parse import Script


@dataclass(frozen=True, slots=True)
class ScriptReceived:
    """A PerCL-expecting webhook answered with a valid script."""

    token: int
    script: Script


@dataclass(frozen=True, slots=True)
class WebhookBroken:
    """A PerCL-expecting webhook failed or answered something unusable; the leg must end."""

    token: int
    reason: CallEndedReason
    detail: str


@dataclass(frozen=True, slots=True)
class MediaDone:
    token: int


@dataclass(frozen=True, slots=True)
class TimerFired:
    token: int


@dataclass(frozen=True, slots=True)
class DigitsSent:
    token: int


@dataclass(frozen=True, slots=True)
class DialStarted:
    """The child leg of an OutDial exists; `child_call_id` is its callId (outDialStart.dialCallId)."""

    token: int
    child_call_id: str


@dataclass(frozen=True, slots=True)
class DigitsPressed:
    """The far end pressed keys (one or more DTMF characters, in order)."""

    digits: str


@dataclass(frozen=True, slots=True)
class FarEndHangup:
    pass


@dataclass(frozen=True, slots=True)
class Interrupt:
    """Abort whatever runs and ask `url` for a new script (ifMachine redirect, REST redirects).

    `fields` are the requestType-specific webhook fields."""

    request_type: RequestType
    url: str
    fields: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Terminate:
    """The platform ends the leg from outside (REST update, machine hangup, shutdown)."""

    reason: CallEndedReason


Event = (
    ScriptReceived
    | WebhookBroken
    | MediaDone
    | TimerFired
    | DigitsSent
    | DialStarted
    | DigitsPressed
    | FarEndHangup
    | Interrupt
    | Terminate
)
