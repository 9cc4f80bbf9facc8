"""What the Interpreter asks its shell to do. Frozen, I/O-free values.

The shell performs actions in the order given. Instant ones (Answer, Reject, EndCall, Log, cancels)
complete before the next action; long ones (PlayMedia, StartTimer, PostWebhook, SendDigitsOut, Dial)
run concurrently and report back with an event carrying the same token.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from percl.domain.enums import CallEndedReason, LogLevel, RequestType


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
    kind: str
    text: str | None = None
    language: str | None = None
    url: str | None = None
    length_ms: int | None = None
    privacy_mode: bool = False


@dataclass(frozen=True, slots=True)
class StopMedia:
    token: int


@dataclass(frozen=True, slots=True)
class StartTimer:
    """-> TimerFired(token) after `ms` milliseconds of clock time."""

    token: int
    ms: int


@dataclass(frozen=True, slots=True)
class CancelTimer:
    token: int


@dataclass(frozen=True, slots=True)
class PostWebhook:
    """POST a webhook. With `expects_percl`, the answer comes back as ScriptReceived/WebhookBroken."""

    token: int
    request_type: RequestType
    url: str
    fields: dict[str, Any] = field(default_factory=dict)
    expects_percl: bool = True
    privacy_mode: bool = False


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
    command: Any


@dataclass(frozen=True, slots=True)
class Invoke:
    """Run a command the engine implements (conference, queue, Park, Sms ...) -> Invoked(token, outcome)."""

    token: int
    command: Any


@dataclass(frozen=True, slots=True)
class Cancel:
    """Abandon the Invoke with this token (the leg ended or was interrupted)."""

    token: int


@dataclass(frozen=True, slots=True)
class LegIdle:
    """A held leg with Idle.NOTIFY ran out of script: its holder decides what comes next."""


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
    grammar: Any
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
    metadata: dict[str, Any] = field(default_factory=dict)


Action = (
    Answer
    | RejectCall
    | PlayMedia
    | StopMedia
    | StartTimer
    | CancelTimer
    | PostWebhook
    | SendDigitsOut
    | Dial
    | Invoke
    | Cancel
    | LegIdle
    | LoadGrammar
    | Recognize
    | EndCall
    | Log
)
