"""Virtual phones in audio fidelity: their mouths send frames, the platform's ear turns them into
keys, speech and machine verdicts (FakeClock; test-double kit)."""

from __future__ import annotations

import numpy as np
import pytest
from audio_helpers import FakeKit, Listener, audio_network, peak, speak
from test_audio_media import LEG, PHONE, PLATFORM, answered_leg, entries, played

from percl.domain.enums import AnsweredBy, MachineType, PhoneAnswer
from percl.engine.ports import PlayEnd, Tts
from percl.media.grammar.port import GrammarRecognizer
from percl.telephony.sim.model import PhoneProgram, PhoneStep, TranscriptEvent
from percl.testing.clock import FakeClock


async def test_keys_pressed_reach_the_platform_through_its_dtmf_detector(clock: FakeClock) -> None:
    async with audio_network(clock) as net:
        listener = await answered_leg(net, clock)
        net.press(LEG, "1123#")
        await clock.advance(0.03)
        assert listener.of("digits") == []  # nothing is known before the tone is heard
        await clock.advance(0.03)
        assert listener.of("digits") == ["1"]
        await clock.advance(2)
        assert "".join(listener.of("digits")) == "1123#"  # a repeated key is two keys
        pressed = [f for kind, f in entries(net) if kind is TranscriptEvent.DIGITS_PRESSED]
        assert len(pressed) == 1
        transcript = net.transcript(LEG)
        assert transcript is not None and transcript.entries[-1].digits == "1123#"
        assert listener.of("speaking") == []  # keys are not speech


PLEASE = b"""<grammar xmlns="http://www.w3.org/2001/06/grammar" version="1.0" root="a">
<rule id="a"><one-of><item>yes please</item><item>no thanks</item></one-of></rule></grammar>"""


async def test_speech_is_heard_by_voice_activity_and_transcribed(clock: FakeClock) -> None:
    kit = FakeKit()
    async with audio_network(clock, kit) as net:
        listener = await answered_leg(net, clock)
        net.media(LEG).expect_speech(GrammarRecognizer().compile(PLEASE, None))
        net.say(LEG, "yes please")
        await clock.advance(0.3)
        assert listener.of("speaking") == [None] and listener.of("speech") == []
        await clock.advance(1.5)  # the utterance ends 700 ms after the voice stops
        assert listener.of("speech") == ["yes please"]
        assert kit.transcribed == [["yes please", "no thanks"]]
        assert kit.speech_calls == [("yes please", "en-US")]
        assert (TranscriptEvent.SAID, {"text": "yes please"}) in entries(net)


async def test_script_steps_wait_for_what_the_phone_says(clock: FakeClock) -> None:
    program = PhoneProgram(script=(PhoneStep(0, say="one two three four"), PhoneStep(100, digits="5")))
    async with audio_network(clock) as net:
        net.program(PHONE, program)
        listener = await answered_leg(net, clock)
        await clock.advance(3)
        speech_at = [at for at, name, _ in listener.events if name == "speech"]
        digit_at = [at for at, name, _ in listener.events if name == "digits"]
        said_ms = len(speak("one two three four")) * 1000 // 8000
        assert listener.of("digits") == ["5"] and len(speech_at) == 1
        assert digit_at[0] >= 1000 + said_ms  # the key follows the speech, it is not mixed in
        _, sent = net.leg_audio(LEG) or (None, None)
        assert sent is not None and peak(sent, speak("one two three four"))[1] > 0.99


@pytest.mark.parametrize(("answer", "kind"), [(PhoneAnswer.MACHINE, MachineType.ANSWERING_MACHINE),
                                              (PhoneAnswer.FAX, MachineType.FAX_MODEM)])
async def test_machine_detection_on_audio(clock: FakeClock, answer: PhoneAnswer,
                                          kind: MachineType) -> None:
    async with audio_network(clock) as net:
        net.program(PHONE, PhoneProgram(answer=answer))
        listener = Listener(clock)
        await net.dial(LEG, PLATFORM, PHONE, listener, detect_machine=True)
        await clock.advance(7)
        assert listener.of("answered") == [AnsweredBy.HUMAN]  # what is known at the answer
        assert listener.of("machine") == [kind]
        detected = [at for at, name, _ in listener.events if name == "machine"][0]
        assert 1000 < detected < 5000
        assert any(k is TranscriptEvent.MACHINE_DETECTED for k, _ in entries(net))


async def test_a_human_is_not_taken_for_a_machine(clock: FakeClock) -> None:
    async with audio_network(clock) as net:
        net.program(PHONE, PhoneProgram(script=(PhoneStep(200, say="hello"),)))
        listener = Listener(clock)
        await net.dial(LEG, PLATFORM, PHONE, listener, detect_machine=True)
        other = Listener(clock)
        await net.dial("CA" + "b" * 40, PLATFORM, "+15550100002", other, detect_machine=True)
        await clock.advance(10)
        assert listener.of("machine") == [] and other.of("machine") == []  # the silent one too


async def test_a_machine_greets_without_detection_too(clock: FakeClock) -> None:
    async with audio_network(clock) as net:
        net.program(PHONE, PhoneProgram(answer=PhoneAnswer.MACHINE))
        listener = Listener(clock)
        await net.dial(LEG, PLATFORM, PHONE, listener, detect_machine=False)
        await clock.advance(8)
        assert listener.of("machine") == [] and listener.of("speaking") == [None]


class MuteKit(FakeKit):
    """A kit whose TTS engine fails."""

    def speech(self, text: str, language: str | None) -> np.ndarray:
        raise RuntimeError("espeak is gone")


async def test_a_machine_whose_greeting_cannot_be_spoken_still_answers(clock: FakeClock) -> None:
    async with audio_network(clock, MuteKit()) as net:
        net.program(PHONE, PhoneProgram(answer=PhoneAnswer.MACHINE))
        listener = Listener(clock)
        await net.dial(LEG, PLATFORM, PHONE, listener, detect_machine=False)
        await clock.advance(2)
        assert listener.of("answered") == [AnsweredBy.HUMAN]
        result = await played(clock, net.media(LEG).play(Tts("Hello")))
        assert result.end is PlayEnd.FINISHED  # nothing to play: it still ends
