"""The platform's ear on one leg: what it makes of the frames the phone sends.

Per frame: DTMF keys (a DtmfDetector), the start and end of speech (VoiceActivity; the frames of
an utterance are kept, with a short lead-in, for the recogniser), and, while an outbound leg that
asked for machine detection is being judged, the answering-machine verdict (MachineDetector, with
a BeepDetector to tell a fax's calling tone).

Frames in which a DTMF tone sounds are not speech: the VAD does not hear them (nor learn its
noise floor from them), so a key press never becomes an utterance. The DTMF detector, in turn,
only hears frames from the first one that holds a tone until 100 ms after the last (dsp.tones_in
says which, for every leg at once), so speech and music cost it nothing. Silence (`None`) costs
nothing once the detectors have seen enough of it to settle (`_SETTLE_FRAMES`); until then they
are fed zeros, so a key or an utterance that just stopped is still ended properly.

Machine detection uses app_amd's defaults (media.audio.amd): a long initial silence is NOTSURE,
which the network leaves as the human it reported at the answer (the simulated human phone
answers silently unless its script speaks).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from percl.domain.enums import MachineType
from percl.telephony.sim.audio.dsp import (
    SILENT_FRAME,
    AmdConfig,
    AmdResult,
    BeepDetector,
    DtmfDetector,
    MachineDetector,
    Pcm,
    VadEvent,
    VoiceActivity,
    concat,
)

ZERO: Pcm = SILENT_FRAME

_SETTLE_FRAMES = 50  # 1 s of silence fed to the detectors after the last sound
_TONE_TAIL_FRAMES = 5  # 100 ms
LEAD_IN_FRAMES = 15  # 300 ms kept before speech starts (the recogniser needs a lead-in)
MAX_UTTERANCE_FRAMES = 1500  # 30 s: a longer utterance is cut to its first 30 s


@dataclass(frozen=True, slots=True)
class Heard:
    """What the ear made of one frame (most frames: nothing, and no Heard is made)."""

    keys: str = ""
    speech_started: bool = False
    utterance: Pcm | None = None  # an utterance ended: its audio
    machine: MachineType | None = None  # the AMD verdict: a machine of this kind


class Ear:
    """One leg's detectors."""

    def __init__(self) -> None:
        self._dtmf = DtmfDetector()
        self._vad = VoiceActivity()
        self._lead_in: deque[Pcm] = deque(maxlen=LEAD_IN_FRAMES)
        self._utterance: list[Pcm] | None = None
        self._amd: MachineDetector | None = None
        self._beep: BeepDetector | None = None
        self._quiet = _SETTLE_FRAMES
        self._tone_tail = 0  # frames the DTMF detector still hears after the last tone

    def judge_machine(self) -> None:
        """Start answering-machine detection (an outbound leg that asked for it was answered)."""
        self._amd = MachineDetector(AmdConfig())
        self._beep = BeepDetector()

    def hear(self, frame: Pcm | None, in_tone: bool) -> Heard | None:
        """Feed the frame of this tick (None: silence); `in_tone` says whether a DTMF tone sounds
        in it (dsp.tones_in, asked of every leg's frame at once)."""
        if frame is None:
            if self._quiet >= _SETTLE_FRAMES and self._amd is None:
                return None
            self._quiet += 1
            frame = ZERO
        else:
            self._quiet = 0
        keys = self._keys(frame, in_tone)
        started, utterance = (False, None) if in_tone else self._speech(frame)
        machine = self._judge(frame) if self._amd is not None else None
        if keys or started or utterance is not None or machine is not None:
            return Heard(keys, started, utterance, machine)
        return None

    def _keys(self, frame: Pcm, in_tone: bool) -> str:
        """The DTMF detector hears frames from the first one holding a tone until
        `_TONE_TAIL_FRAMES` after the last, then starts afresh: most frames of most legs (speech,
        music, silence) never reach it."""
        if in_tone:
            self._tone_tail = _TONE_TAIL_FRAMES
        elif self._tone_tail == 0:
            return ""
        else:
            self._tone_tail -= 1
        keys = self._dtmf.feed(frame)
        if self._tone_tail == 0:
            self._dtmf.reset()
        return keys

    def _speech(self, frame: Pcm) -> tuple[bool, Pcm | None]:
        event = self._vad.feed(frame)
        if self._utterance is None:
            self._lead_in.append(frame)
            if event is VadEvent.STARTED:
                self._utterance = list(self._lead_in)
                self._lead_in.clear()
                return True, None
            return False, None
        if len(self._utterance) < MAX_UTTERANCE_FRAMES:
            self._utterance.append(frame)
        if event is VadEvent.ENDED:
            utterance, self._utterance = self._utterance, None
            return False, concat(utterance)
        return False, None

    def _judge(self, frame: Pcm) -> MachineType | None:
        """One frame of machine detection; a verdict ends it. A steady tone ending before any
        verdict is a fax's calling tone; a machine's greeting is decided before its beep."""
        assert self._amd is not None and self._beep is not None
        if self._beep.feed(frame):
            self._amd = self._beep = None
            return MachineType.FAX_MODEM
        verdict = self._amd.feed(frame)
        if verdict is None:
            return None
        self._amd = self._beep = None
        return MachineType.ANSWERING_MACHINE if verdict.result is AmdResult.MACHINE else None
