"""The phone's mouth in audio fidelity: what a virtual phone says, presses and plays, as frames.

A `say` step is the kit's TTS (en-US) into the mouth; a key is a 100 ms dual tone followed by
100 ms of silence, so two presses of one key are two keys to any detector (keys of one press are
200 ms apart, where the symbolic network delivers them 100 ms apart). The platform learns of them
only through its ear (plane.py): the detectors, not the network, report keys and speech.

An answering machine answers with a greeting (TTS of `MACHINE_GREETING`, about 6 s) and its record
tone; a fax answers with its calling tone (CNG: 1,100 Hz for 0.5 s every 3.5 s, ITU-T T.30),
repeated for `FAX_CNG_CYCLES` cycles (about a minute). The platform is told a human answered; with
machine detection on, the ear's verdict says otherwise when it is a machine.

The conference `heard` entries are written when the phone starts saying or pressing something,
as the symbolic network does (the mixer's `carry`), so transcripts read the same in both.
"""

from __future__ import annotations

import logging

from percl.domain.enums import AnsweredBy, PhoneAnswer
from percl.engine.ports import DtmfTone, SpokenText
from percl.telephony.sim.audio.dsp import Pcm, concat, dtmf, machine_beep, silence, sine
from percl.telephony.sim.audio.plane import AudioPlane
from percl.telephony.sim.phones import Leg

log = logging.getLogger(__name__)

MACHINE_GREETING = ("Hello. You have reached the voice mail of a person who cannot come to the "
                    "phone right now. Please leave a message after the tone.")
PHONE_LANGUAGE = "en-US"
KEY_TONE_MS = 100
KEY_GAP_MS = 100
FAX_CNG_CYCLES = 17


class AudioFarEnd:
    """The FarEnd (phones.py) of the audio fidelity."""

    def __init__(self, plane: AudioPlane) -> None:
        self._plane = plane

    def connected(self, leg: Leg) -> None:
        self._plane.audio_leg(leg)

    def answered(self, leg: Leg, answer: PhoneAnswer, *, detect_machine: bool) -> AnsweredBy:
        audio = self._plane.audio_leg(leg)
        if answer is PhoneAnswer.MACHINE:
            audio.mouth.put(concat((self._greeting(), silence(300), machine_beep())))
        elif answer is PhoneAnswer.FAX:
            tone = sine(1100, 500)
            for _ in range(FAX_CNG_CYCLES):
                audio.mouth.put(tone)
                audio.mouth.put_silence(3000)
        if detect_machine:
            audio.ear.judge_machine()
        return AnsweredBy.HUMAN

    def _greeting(self) -> Pcm:
        """The machine's greeting; a TTS failure leaves only its beep (the answer must still
        reach the platform)."""
        try:
            return self._plane.kit.speech(MACHINE_GREETING, PHONE_LANGUAGE)
        except Exception:
            log.exception("answering machine greeting: text to speech failed")
            return silence(0)

    async def key_gap(self) -> None:
        """Nothing: each key's tone is followed by its own silence."""

    async def key(self, leg: Leg, key: str) -> None:
        self._plane.mixer.carry(leg, DtmfTone(key))
        tone = concat((dtmf(key, KEY_TONE_MS), silence(KEY_GAP_MS)))
        await self._plane.audio_leg(leg).mouth.put(tone).done

    async def speak(self, leg: Leg, text: str) -> None:
        self._plane.mixer.carry(leg, SpokenText(text))
        pcm = self._plane.kit.speech(text, PHONE_LANGUAGE)
        await self._plane.audio_leg(leg).mouth.put(pcm).done
