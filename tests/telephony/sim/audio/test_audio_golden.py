"""Audio golden tests on the real media pieces (espeak-ng TTS, pocketsphinx ASR, media.audio's
detectors and decoder): what a phone hears and what the platform makes of what a phone says,
checked by correlation, energy and recognition, never by exact bytes (FakeClock)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pytest
from audio_helpers import Listener, peak, rms
from test_audio_media import LEG, PHONE, PLATFORM, answered_leg, heard, played

from percl.domain.enums import AnsweredBy, MachineType, PhoneAnswer
from percl.domain.ids import SequentialIds
from percl.engine.ports import Fetched, File, MixPath, PlayEnd, SpeechGrammar, Tts
from percl.media.asr import default_recognizer
from percl.media.audio.decode import decode_audio
from percl.media.audio.wav import wav_bytes
from percl.media.grammar.port import GrammarRecognizer
from percl.media.kit import MediaKit
from percl.media.tts import default_synthesizer
from percl.telephony.sim.model import PhoneProgram, PhoneStep
from percl.telephony.sim.network import SimNetwork
from percl.testing.clock import FakeClock

RATE = 8000


@dataclass
class Served:
    """A Fetcher serving files from a dict (what an app would serve at those URLs)."""

    files: dict[str, bytes] = field(default_factory=dict)

    async def fetch(self, url: str, *, max_bytes: int | None = None) -> Fetched:
        body = self.files.get(url)
        if body is None:
            return Fetched(url, 404, error="HTTP 404")
        return Fetched(url, 200, body, "audio/wav", size=len(body))


@dataclass
class Kit:
    """The production kit (media.kit.MediaKit: espeak-ng, decode_audio, pocketsphinx) over a
    dict of served files."""

    clock: FakeClock
    served: Served = field(default_factory=Served)

    def __post_init__(self) -> None:
        self.media = MediaKit(synthesizer=default_synthesizer(), recognizer=default_recognizer(),
                              fetcher=self.served, decode=decode_audio, clock=self.clock,
                              tracker=self.clock.tracker)

    def speech(self, text: str) -> np.ndarray:
        return self.media.speech(text, "en-US")


@pytest.fixture
def kit(clock: FakeClock) -> Kit:
    return Kit(clock)


def network(clock: FakeClock, kit: Kit) -> SimNetwork:
    return SimNetwork(clock, SequentialIds("gold"), media="audio", audio_kit=kit.media,
                      tracker=clock.tracker)


async def test_a_say_is_heard_at_its_offset(clock: FakeClock, kit: Kit) -> None:
    async with network(clock, kit) as net:
        await answered_leg(net, clock)
        await clock.advance(0.5)
        offset = len(heard(net))
        result = await played(clock, net.media(LEG).play(Tts("Welcome to the demo.", "en-US")))
        speech = kit.speech("Welcome to the demo.")
        assert result.end is PlayEnd.FINISHED and abs(result.heard_ms - len(speech) / 8) <= 20
        at, score = peak(heard(net), speech)
        assert score > 0.99 and abs(at - offset) <= 160


async def test_a_play_file_is_decoded_and_heard(clock: FakeClock, kit: Kit) -> None:
    t = np.arange(RATE * 2) / 16000  # a 16 kHz file of one second
    tone = (np.sin(2 * np.pi * 440 * t) * 8000).astype(np.int16)
    kit.served.files["http://app.test/tone.wav"] = wav_bytes([tone], rate=16000)
    async with network(clock, kit) as net:
        await answered_leg(net, clock)
        result = await played(clock, net.media(LEG).play(File("http://app.test/tone.wav")))
        assert result.end is PlayEnd.FINISHED and 980 <= result.heard_ms <= 1020
        resampled = heard(net)[-RATE - 160:]
        t8 = np.arange(RATE // 2) / RATE
        reference = (np.sin(2 * np.pi * 440 * t8) * 8000).astype(np.int16)
        assert peak(resampled, reference)[1] > 0.98


async def test_a_muted_talker_is_inaudible_to_the_others(clock: FakeClock, kit: Kit) -> None:
    async with network(clock, kit) as net:
        legs = ["CA" + c * 40 for c in "abc"]
        for i, call_id in enumerate(legs):
            await net.dial(call_id, PLATFORM, f"+1555010000{i + 1}", Listener(clock),
                           detect_machine=False)
        await clock.advance(1)
        for call_id in legs:
            net.mixer.add("CF1", call_id, MixPath(talk=call_id != legs[0]))
        net.say(legs[0], "This is a secret nobody may hear.")
        net.say(legs[1], "Hello everyone.")
        await clock.advance(4)
        said_b = kit.speech("Hello everyone.")
        for other in legs[1:]:
            audio = net.leg_audio(other)
            assert audio is not None
            assert rms(audio[0]) < 1 if other == legs[1] else peak(audio[0], said_b)[1] > 0.99
        a_sent = net.leg_audio(legs[0])
        assert a_sent is not None and rms(a_sent[1]) > 300


@pytest.mark.parametrize(("program", "machine"), [
    (PhoneProgram(script=(PhoneStep(300, say="Hello?"),)), None),
    (PhoneProgram(), None),
    (PhoneProgram(answer=PhoneAnswer.MACHINE), MachineType.ANSWERING_MACHINE),
    (PhoneProgram(answer=PhoneAnswer.FAX), MachineType.FAX_MODEM),
])
async def test_machine_detection_is_right_on_humans_and_machines(
        clock: FakeClock, kit: Kit, program: PhoneProgram, machine: MachineType | None) -> None:
    async with network(clock, kit) as net:
        net.program(PHONE, program)
        listener = Listener(clock)
        await net.dial(LEG, PLATFORM, PHONE, listener, detect_machine=True)
        await clock.advance(8)
        assert listener.of("answered") == [AnsweredBy.HUMAN]
        assert listener.of("machine") == ([] if machine is None else [machine])


RECOGNIZER = GrammarRecognizer()
YES_NO = b"""<grammar xmlns="http://www.w3.org/2001/06/grammar" version="1.0" root="a">
<rule id="a"><one-of><item>yes</item><item>no</item></one-of></rule></grammar>"""


def _grammar(name: str) -> SpeechGrammar:
    return RECOGNIZER.compile(YES_NO, None) if name == "yes/no" else RECOGNIZER.builtin(name)


@pytest.mark.parametrize(("said", "grammar"), [
    ("yes", "yes/no"), ("no", "yes/no"), ("three", "DIG1"), ("four two", "DIG2"),
    ("one two three four", "DIG4"),  # 10,000 sentences: decoded by the grammar's rules
])
async def test_what_a_phone_says_is_recognised(clock: FakeClock, kit: Kit, said: str,
                                               grammar: str) -> None:
    async with network(clock, kit) as net:
        listener = await answered_leg(net, clock)
        net.media(LEG).expect_speech(_grammar(grammar))
        net.say(LEG, said)
        await clock.advance(3)
        assert listener.of("speaking") == [None] and listener.of("speech") == [said]
