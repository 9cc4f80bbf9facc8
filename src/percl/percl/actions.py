"""What the Interpreter asks its shell to do. Frozen, I/O-free values.

The shell performs actions in the order given. Instant ones (Answer, Reject, EndCall, Log, Cancel)
complete before the next action; long ones (PlayMedia, StartTimer, PostWebhook, SendDigitsOut, Dial,
Invoke, LoadGrammar) run concurrently and report back with an event carrying the same token; one
Cancel(token) abandons any of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol

from percl.domain.enums import CallEndedReason, LogLevel, RequestType
from percl.domain.json import JsonValue
from percl.domain.payloads import Payload
from percl.percl.commands import Command, OutDial

#: What a PlayMedia plays: a Say, a Play, a Pause, or the conference entry/exit tone.
MediaKind = Literal["say", "play", "pause", "beep"]

#: What a log line carries besides its message.
Metadata = Mapping[str, JsonValue]


class Heard(Protocol):
    """What a grammar made of one utterance (the engine's ports.Heard has this shape)."""

    @property
    def matched(self) -> bool: ...
    @property
    def result(self) -> str: ...
    @property
    def confidence(self) -> int: ...


class Grammar(Protocol):
    """A compiled grammar, as the engine's recognizer made it (ports.SpeechGrammar): the
    interpreter only carries it from GrammarLoaded to Recognize."""

    def recognize(self, utterance: str) -> Heard: ...


@dataclass(frozen=True, slots=True)
class Answer:
    """Answer a ringing inbound leg (status ringing -> inProgress)."""


@dataclass(frozen=True, slots=True)
class RejectCall:
    reason: str | None


@dataclass(frozen=True, slots=True)
class PlayMedia:
    """Play one iteration of a Say ("say"), Play ("play") or Pause ("pause") -> MediaDone(token)."""

    token: int
    kind: MediaKind
    text: str | None = None
    language: str | None = None
    url: str | None = None
    length_ms: int | None = None
    privacy_mode: bool = False


@dataclass(frozen=True, slots=True)
class StartTimer:
    """-> TimerFired(token) after `ms` milliseconds of clock time."""

    token: int
    ms: int


@dataclass(frozen=True, slots=True)
class PostWebhook:
    """POST `payload` (its requestType's webhook) to `url`. With `expects_percl`, the answer comes
    back as ScriptReceived/WebhookBroken."""

    token: int
    url: str
    payload: Payload
    expects_percl: bool = True
    privacy_mode: bool = False

    @property
    def request_type(self) -> RequestType:
        return self.payload.REQUEST_TYPE


@dataclass(frozen=True, slots=True)
class SendDigitsOut:
    """Play DTMF to the far end -> DigitsSent(token)."""

    token: int
    digits: str
    pause_ms: int
    privacy_mode: bool = False


@dataclass(frozen=True, slots=True)
class Dial:
    """Create the child leg of an OutDial -> DialStarted(token, child_call_id). `command` is the OutDial."""

    token: int
    command: OutDial


@dataclass(frozen=True, slots=True)
class Invoke:
    """Run a command the engine implements (conference, queue, Park, Sms ...) -> Invoked(token, outcome)."""

    token: int
    command: Command


@dataclass(frozen=True, slots=True)
class Cancel:
    """Abandon the long action with this token: stop its media, timer, digits, runner or grammar
    fetch (it was superseded: barge-in, hangup, an Interrupt). Its late news is ignored."""

    token: int


@dataclass(frozen=True, slots=True)
class LegIdle:
    """A held leg with Idle.NOTIFY ran out of script: its holder decides what comes next."""


@dataclass(frozen=True, slots=True)
class LetGo:
    """The leg was handed over to another worker (events.Moved): this shell stops running it
    without ending it (no hang-up, no final record, no webhook)."""


@dataclass(frozen=True, slots=True)
class LoadGrammar:
    """Get the grammar of a GetSpeech ready -> GrammarLoaded(token, ...).

    `grammar_type` is "URL" (GET `grammar_file`, compile it with `grammar_rule`) or "BUILTIN"
    (`grammar_file` names a builtin). Cancel(token) abandons a fetch still under way."""

    token: int
    grammar_type: str
    grammar_file: str
    grammar_rule: str | None = None


@dataclass(frozen=True, slots=True)
class Recognize:
    """Match `utterance` against `grammar` (what GrammarLoaded carried) -> Recognized(token, ...)."""

    token: int
    grammar: Grammar
    utterance: str


@dataclass(frozen=True, slots=True)
class EndCall:
    """Hang the leg up (if still up) and finish its record with `reason`.

    `notices` are notification webhooks (PerCL ignored) of the command the end cut short (a
    GetSpeech's `hangup`): sent after the final record is stored, before callStatus."""

    reason: CallEndedReason
    notices: tuple[PostWebhook, ...] = ()


@dataclass(frozen=True, slots=True)
class Log:
    level: LogLevel
    message: str
    metadata: Metadata = field(default_factory=dict)


Action = (
    Answer
    | RejectCall
    | PlayMedia
    | StartTimer
    | PostWebhook
    | SendDigitsOut
    | Dial
    | Invoke
    | Cancel
    | LegIdle
    | LetGo
    | LoadGrammar
    | Recognize
    | EndCall
    | Log
)
