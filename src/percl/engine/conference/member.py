"""One participant as its conference room keeps it, and the hold the room has on its leg.

While a leg is a participant, its session offers every key and every utterance to the room first
(room.py's `ParticipantHold`, the leg's Membership): keys may complete the participant's callControlSequence
(then `callControl` is posted and the script it answers runs on the leg, which stays in the
conference), the rest are passed through to the others per dtmfPassThrough, and speech reaches
every other participant who listens (the network's Mixer carries both; the room configures it).
While a callControl script runs, the keys and speech are the script's (its GetDigits-free
commands may still want them: the interpreter buffers them).

What a participant's callControl script may run (FREECLIMB.md §3.2: Say, GetDigits and GetSpeech
only outside a conference; Play on a participant after its call-control sequence fired):
PARTICIPANT_COMMANDS. Anything else ends the leg with perclProcessingError (docs/DECISIONS.md).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from percl.domain.records import Participant
from percl.engine.conference.state import ParticipantState
from percl.percl.commands import COMMANDS

if TYPE_CHECKING:
    from percl.engine.runners import Leg, Membership

#: Commands that may not run on a conference participant (they need the leg's own audio, or would
#: put it in a second conference or a queue without leaving this one).
NOT_IN_CONFERENCE = frozenset({
    "Say", "GetDigits", "GetSpeech", "RecordUtterance", "TranscribeUtterance", "PlayEarlyMedia",
    "Reject", "AddToConference", "Enqueue", "Dequeue", "Park", "Unpark", "AudioStream",
})
PARTICIPANT_COMMANDS = frozenset(COMMANDS) - NOT_IN_CONFERENCE


class ControlKeys:
    """Watches a participant's keys for its callControlSequence.

    Keys that could still begin the sequence are held back; when they turn out not to, they are
    released (to DTMF pass-through) in the order pressed. With no sequence, every key is released.
    """

    def __init__(self, sequence: str | None) -> None:
        self.sequence = sequence or ""
        self.pending = ""

    def feed(self, keys: str) -> tuple[str, bool]:
        """Take `keys`; returns (keys released for pass-through, whether the sequence completed).
        Keys after a completed sequence in the same call are released."""
        if not self.sequence:
            return keys, False
        released = ""
        for i, key in enumerate(keys):
            self.pending += key
            if self.pending == self.sequence:
                self.pending = ""
                return released + keys[i + 1 :], True
            keep = _longest_prefix_suffix(self.pending, self.sequence)
            released += self.pending[: len(self.pending) - keep]
            self.pending = self.pending[len(self.pending) - keep :]
        return released, False


def _longest_prefix_suffix(text: str, sequence: str) -> int:
    """The length of the longest suffix of `text` that is a prefix of `sequence`."""
    for n in range(min(len(text), len(sequence) - 1), 0, -1):
        if sequence.startswith(text[-n:]):
            return n
    return 0


@dataclass(slots=True)
class Member:
    """A participant of one room: its live leg, its stored record and what the room runs for it."""

    session: Leg
    record: Participant
    keys: ControlKeys
    state: ParticipantState = ParticipantState.JOINING
    control_active: bool = False  # a callControl script runs on the leg
    wait_task: asyncio.Task[None] | None = field(default=None, repr=False)
    hold: Membership | None = field(default=None, repr=False)  # room.ParticipantHold

    @property
    def call_id(self) -> str:
        return self.record.call_id

    @property
    def live(self) -> bool:
        return self.state is not ParticipantState.LEFT
