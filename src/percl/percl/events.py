"""What happens to a call leg, as the Interpreter hears it. Frozen, I/O-free values.

Tokens tie an answer to the action that asked for it: a MediaDone(token=7) for an action that was
since cancelled is stale and ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from percl.domain.enums import CallEndedReason, RequestType
from percl.domain.payloads import Payload
from percl.percl.actions import Grammar, Metadata
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
    metadata: Metadata | None = None  # logged with the detail (e.g. the invalid PerCL's path)


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
class SpeechStarted:
    """The far end began to speak (voice activity on an audio network; a network that knows
    only whole utterances sends it right before their SpeechHeard)."""


@dataclass(frozen=True, slots=True)
class SpeechHeard:
    """The far end said something (text, as the phone network recognised it)."""

    text: str


@dataclass(frozen=True, slots=True)
class GrammarLoaded:
    """The grammar of LoadGrammar(token) is ready (`grammar`, carried as is to Recognize) or cannot
    be used: then `problem` says why (naming the URL) and `cause` is the MRCP completion cause
    (`uri-failure`, `grammar-compilation-failure`, ...)."""

    token: int
    grammar: Grammar | None = None
    problem: str | None = None
    cause: str | None = None


@dataclass(frozen=True, slots=True)
class Recognized:
    """What the grammar made of the utterance of Recognize(token): `confidence` is 0..100."""

    token: int
    matched: bool
    result: str
    confidence: int


@dataclass(frozen=True, slots=True)
class FarEndHangup:
    pass


@dataclass(frozen=True, slots=True)
class Interrupt:
    """Abort whatever runs and ask `url` for a new script (ifMachine redirect, leaveConference,
    queueWait, dequeue, callControl ...).

    `payload` is the webhook to post (its requestType's fields). With `release`, the leg leaves
    the service that held it (see Hold): the new script runs with the ordinary rules again."""

    url: str
    payload: Payload
    release: bool = False

    @property
    def request_type(self) -> RequestType:
        return self.payload.REQUEST_TYPE


# ----------------------------------------------------------------- service commands
# Commands the interpreter does not run itself (conferences, queues, Park, Sms ...) go to the
# engine as an Invoke action; the engine answers with Invoked(token, outcome), one of these.


@dataclass(frozen=True, slots=True)
class Proceed:
    """The command is done; go on with the next one (non-terminal commands: SetTalk, Sms ...)."""


@dataclass(frozen=True, slots=True)
class Fetch:
    """Post `payload` to `url` and run what it answers (terminal commands with an actionUrl).

    `release` ends a Hold first (Dequeue, RemoveFromConference with leaveConferenceUrl)."""

    url: str
    payload: Payload
    privacy_mode: bool = False
    release: bool = False

    @property
    def request_type(self) -> RequestType:
        return self.payload.REQUEST_TYPE


class Idle(Enum):
    """What a held leg does when its script runs out."""

    WAIT = "wait"  # stay put, silently (a conference participant)
    NOTIFY = "notify"  # tell the holder (LegIdle action): a queue or park re-requests its waitUrl


@dataclass(frozen=True, slots=True)
class Hold:
    """The leg now waits inside a service (conference, queue, park) until an Interrupt(release=True)
    or a Terminate moves it on. While held, only commands named in `allowed` may run (None: any);
    another one ends the leg with perclProcessingError."""

    idle: Idle
    allowed: frozenset[str] | None = None


@dataclass(frozen=True, slots=True)
class Finish:
    """End the leg with `reason`; `message` (if any) is logged as an error naming the command."""

    reason: CallEndedReason
    message: str | None = None


@dataclass(frozen=True, slots=True)
class Moved:
    """The leg now runs on another percl worker (handed over to the worker of the conference it
    joins): its script goes on there; here it is let go, not ended (actions.LetGo)."""


Outcome = Proceed | Fetch | Hold | Finish | Moved


@dataclass(frozen=True, slots=True)
class Invoked:
    """The engine ran the command of Invoke(token)."""

    token: int
    outcome: Outcome


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
    | SpeechStarted
    | SpeechHeard
    | GrammarLoaded
    | Recognized
    | FarEndHangup
    | Interrupt
    | Terminate
    | Invoked
)
