"""Value types of the simulated phone network: phone programs, transcripts, leg summaries.

The network (network.py, phones.py, legbook.py) produces them and its control surface
(control/, which simapi mounts at /sim/v1) speaks them; the test kit reads them too.
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
    speaks: a `said` transcript entry, and the platform hears the text as recognised speech) is set.
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
    HEARD = "heard"  # another conference participant's speech or DTMF, bridged to this leg
    BEEP = "beep"  # a conference entry/exit beep


class HangupBy(StrEnum):
    FAR_END = "farEnd"
    PLATFORM = "platform"


@dataclass(frozen=True, slots=True)
class TranscriptEntry:
    """What the far end of a leg heard or did, `at_ms` after the leg was created.

    Only the fields that belong to `type` are set: text/language (say, said), url (play),
    length_ms (pause), digits (digitsSent, digitsPressed), by (hangup), machine_type
    (machineDetected); interrupted/heard_ms on media that was cut short; text or digits plus
    speaker/speaker_call_id (heard: what another conference participant said or pressed).
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
    # heard: who spoke or pressed, as the far-end number and call id of the other leg
    speaker: str | None = None
    speaker_call_id: str | None = None


@dataclass(frozen=True, slots=True)
class Transcript:
    """A snapshot of one leg's transcript; `live` is False once the leg has ended.

    `created_ms` is when the leg was created, in clock milliseconds: entries' `at_ms` count from
    it, so transcripts of several legs can be put on one time line."""

    call_id: str
    from_: str
    to: str
    entries: tuple[TranscriptEntry, ...]
    live: bool
    created_ms: int = 0


class LegState(StrEnum):
    """Where a simulated leg is: ringing, answered (media flows), or ended."""

    RINGING = "ringing"
    ANSWERED = "answered"
    ENDED = "ended"


@dataclass(frozen=True, slots=True)
class LegSummary:
    """One leg of the simulated network, as `GET /phones/{number}/calls` lists it.

    `outbound` is the platform's view: True when the platform called the phone (REST call,
    OutDial), False when a virtual phone called one of the platform's numbers.
    """

    call_id: str
    from_: str
    to: str
    outbound: bool
    state: LegState
    created_ms: int  # when the leg was created, in clock milliseconds (for display and ordering)

    @property
    def live(self) -> bool:
        return self.state is not LegState.ENDED
