"""Value types of the simulated phone network, shared by `telephony.sim` and `simapi`.

They live in domain/ because the control API (simapi) may not import telephony/ (architecture
rule), yet both must speak of the same phone programs and transcripts.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from percl.domain.enums import PhoneAnswer

DEFAULT_ANSWER_AFTER_MS = 1000


@dataclass(frozen=True, slots=True)
class PhoneStep:
    """One thing a virtual phone does, `after_ms` after the leg was answered.

    Exactly one of `digits` (keys pressed), `hangup` (the phone hangs up) or `say` (the caller
    speaks; recorded in the transcript only for now) is set.
    """

    after_ms: int
    digits: str | None = None
    hangup: bool = False
    say: str | None = None


@dataclass(frozen=True, slots=True)
class PhoneProgram:
    """How a virtual phone behaves when it is called. The default is a patient human."""

    answer: PhoneAnswer = PhoneAnswer.HUMAN
    answer_after_ms: int = DEFAULT_ANSWER_AFTER_MS
    hangup_after_ms: int | None = None
    script: tuple[PhoneStep, ...] = ()


class TranscriptEvent(StrEnum):
    """Kinds of transcript entries, spelled as the control API renders them."""

    RINGING = "ringing"
    ANSWERED = "answered"
    SAY = "say"
    PLAY = "play"
    PAUSE = "pause"
    DIGITS_SENT = "digitsSent"
    DIGITS_PRESSED = "digitsPressed"
    SAID = "said"
    HANGUP = "hangup"
    CANCELED = "canceled"
    REJECTED = "rejected"
    BUSY = "busy"
    NO_ANSWER = "noAnswer"
    FAILED = "failed"
    MACHINE_DETECTED = "machineDetected"


class HangupBy(StrEnum):
    FAR_END = "farEnd"
    PLATFORM = "platform"


@dataclass(frozen=True, slots=True)
class TranscriptEntry:
    """What the far end of a leg heard or did, `at_ms` after the leg was created.

    Only the fields that belong to `type` are set: text/language (say, said), url (play),
    length_ms (pause), digits (digitsSent, digitsPressed), by (hangup), machine_type
    (machineDetected); interrupted/heard_ms on media that was cut short.
    """

    at_ms: int
    type: TranscriptEvent
    text: str | None = None
    language: str | None = None
    url: str | None = None
    length_ms: int | None = None
    digits: str | None = None
    by: HangupBy | None = None
    machine_type: str | None = None
    interrupted: bool | None = None
    heard_ms: int | None = None


@dataclass(frozen=True, slots=True)
class Transcript:
    """A snapshot of one leg's transcript; `live` is False once the leg has ended."""

    call_id: str
    from_: str
    to: str
    entries: tuple[TranscriptEntry, ...]
    live: bool
