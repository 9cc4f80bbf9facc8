"""External lines (lines.py): a leg whose far end is a real phone on another network. Its signalling
reaches the engine's listener like a sim phone's; its audio flows through a FarAudio one frame a tick,
both ways, and what it presses is heard by the platform's detectors (FakeClock; test-double kit)."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from audio_helpers import FakeKit, Listener, audio_network, peak, rms, speak

from percl.domain.ids import SequentialIds
from percl.domain.records import IncomingNumber
from percl.engine.ports import DialResult, Tts
from percl.media.audio.pcm import SILENT_FRAME
from percl.media.audio.vad import VadEvent, VoiceActivity
from percl.telephony.sim import LineCall, SimNetwork
from percl.telephony.sim.audio.dsp import Pcm
from percl.telephony.sim.model import TranscriptEvent
from percl.testing.clock import FakeClock

PLATFORM = "+13125550100"
LEG = "CA" + "b" * 40
FRAME = 160


class Far:
    """A FarAudio: sends `voice` frame by frame, keeps what it is given."""

    def __init__(self, voice: Pcm | None = None) -> None:
        self.voice = voice if voice is not None else np.zeros(0, np.int16)
        self.at = 0
        self.given: list[Pcm] = []
        self.closed = 0

    def take(self) -> Pcm | None:
        if self.at >= len(self.voice):
            return None
        frame = self.voice[self.at:self.at + FRAME]
        self.at += FRAME
        return np.pad(frame, (0, FRAME - len(frame)))

    def give(self, frame: Pcm | None) -> None:
        self.given.append(np.zeros(FRAME, np.int16) if frame is None else frame)

    def close(self) -> None:
        self.closed += 1

    def heard(self) -> Pcm:
        return np.concatenate(self.given) if self.given else np.zeros(0, np.int16)


class Line:
    """An ExternalLine for `sip:` addresses that hands its calls to the test."""

    name = "test"

    def __init__(self) -> None:
        self.calls: asyncio.Queue[LineCall] = asyncio.Queue()
        self.answered_ids: list[str] = []
        self.ended_ids: list[str] = []

    def handles(self, to: str) -> bool:
        return to.startswith("sip:")

    async def dial(self, call: LineCall) -> None:
        await self.calls.put(call)

    def answered(self, call_id: str) -> None:
        self.answered_ids.append(call_id)

    def ended(self, call_id: str) -> None:
        self.ended_ids.append(call_id)


class Handler:
    """The engine side of inbound calls: attaches a listener and answers at once."""

    def __init__(self, net: SimNetwork, clock: FakeClock) -> None:
        self.net = net
        self.listener = Listener(clock)
        self.calls: list[tuple[str, str, str]] = []

    async def incoming_call(self, call_id: str, from_: str, to: str,
                            number: IncomingNumber | None = None, *,
                            web_rtc: bool = False) -> None:
        self.calls.append((call_id, from_, to))
        self.net.attach(call_id, self.listener)
        await self.net.answer(call_id)


async def dialled(net: SimNetwork, clock: FakeClock, line: Line,
                  to: str = "sip:bob@127.0.0.1") -> tuple[Listener, LineCall]:
    listener = Listener(clock)
    assert net.is_reachable(to)
    await net.dial(LEG, PLATFORM, to, listener, detect_machine=False)
    await clock.advance(0.01)
    return listener, line.calls.get_nowait()


async def test_an_outbound_call_rings_answers_and_carries_audio_both_ways(clock: FakeClock) -> None:
    kit, line = FakeKit(), Line()
    async with audio_network(clock, kit) as net:
        net.add_line(line)
        listener, call = await dialled(net, clock, line)
        assert (call.call_id, call.from_, call.to) == (LEG, PLATFORM, "sip:bob@127.0.0.1")
        call.ringing()
        voice = speak("hello from a real phone")
        far = Far(voice)
        call.answer(far)
        play = asyncio.ensure_future(net.media(LEG).play(Tts("welcome to percl")))
        assert await clock.run_until(play.done, limit_s=30)
        await clock.advance(1)

        assert [name for _, name, _ in listener.events][:2] == ["ringing", "answered"]
        said = kit.said["welcome to percl"]
        _, score = peak(far.heard(), said)
        assert score > 0.95  # the far end heard the platform's Say
        audio = net.leg_audio(LEG)
        assert audio is not None
        _, score = peak(audio[1], voice)
        assert score > 0.95  # and the platform got what the far end sent


async def test_keys_the_far_end_presses_reach_the_listener_as_dtmf(clock: FakeClock) -> None:
    line = Line()
    async with audio_network(clock) as net:
        net.add_line(line)
        listener, call = await dialled(net, clock, line)
        call.answer(Far())
        call.press("42#")
        await clock.advance(2)
        assert "".join(listener.of("digits")) == "42#"


class SilentFar(Far):
    """A far end whose every frame is decoded digital silence (an RTP endpoint's SILENT_FRAME)."""

    def take(self) -> Pcm | None:
        return SILENT_FRAME


async def test_a_far_end_sending_digital_silence_costs_the_ear_nothing(
        clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> None:
    # Most legs of a SIP load are silent most of the time; their frames must cost what a sim
    # phone's silence costs (issue 15's 500 legs): the ear settles, then hears nothing more.
    fed: list[Pcm] = []
    original = VoiceActivity.feed

    def counting(self: VoiceActivity, frame: Pcm) -> VadEvent | None:
        fed.append(frame)
        return original(self, frame)

    monkeypatch.setattr(VoiceActivity, "feed", counting)
    line = Line()
    async with audio_network(clock) as net:
        net.add_line(line)
        listener, call = await dialled(net, clock, line)
        call.answer(SilentFar())
        await clock.advance(5)  # 250 frames
        assert len(fed) <= 50  # the ear's settling second at most, as for a silent sim phone
        call.press("7")  # and the line still hears keys
        await clock.advance(1)
        assert "".join(listener.of("digits")) == "7"
        audio = net.leg_audio(LEG)
        assert audio is not None and not audio[1][:200 * FRAME].any()  # kept as silence


async def test_the_platforms_hangup_ends_the_line_call_once_and_closes_its_audio(
    clock: FakeClock,
) -> None:
    line = Line()
    async with audio_network(clock) as net:
        net.add_line(line)
        _, call = await dialled(net, clock, line)
        far = Far()
        call.answer(far)
        await clock.advance(0.2)
        await net.hangup(LEG)
        await net.hangup(LEG)
        call.hang_up()  # a BYE racing the hang-up is harmless
        assert line.ended_ids == [LEG]
        assert far.closed == 1
        assert not call.live


@pytest.mark.parametrize("result", [DialResult.BUSY, DialResult.NO_ANSWER, DialResult.FAILED])
async def test_a_failed_outbound_call_reaches_the_listener(clock: FakeClock,
                                                          result: DialResult) -> None:
    line = Line()
    async with audio_network(clock) as net:
        net.add_line(line)
        listener, call = await dialled(net, clock, line)
        call.fail(result)
        await clock.advance(0.01)
        assert listener.of("failed") == [result]
        assert line.ended_ids == [LEG]
        with pytest.raises(ValueError):
            call.fail(DialResult.ANSWERED)


async def test_the_far_ends_hangup_reaches_the_listener(clock: FakeClock) -> None:
    line = Line()
    async with audio_network(clock) as net:
        net.add_line(line)
        listener, call = await dialled(net, clock, line)
        call.answer(Far())
        await clock.advance(0.1)
        call.hang_up()
        await clock.advance(0.01)
        assert listener.of("hangup") == [None]
        transcript = net.transcript(LEG)
        assert transcript is not None
        assert transcript.entries[-1].type is TranscriptEvent.HANGUP


async def test_an_inbound_line_call_reaches_the_engine_and_is_answered(clock: FakeClock) -> None:
    kit, line = FakeKit(), Line()
    async with audio_network(clock, kit) as net:
        net.add_line(line)
        handler = Handler(net, clock)
        net.set_inbound_handler(handler)
        voice = speak("I would like to speak to an agent")
        far = Far(voice)
        call = await net.line_call(line, "sip:alice@127.0.0.1", "+13125550199", far)
        assert handler.calls == [(call.call_id, "sip:alice@127.0.0.1", "+13125550199")]
        assert line.answered_ids == [call.call_id]
        await clock.advance(4)
        assert rms(far.heard()) == 0  # nothing played yet: silence frames, one a tick
        assert len(far.given) >= 4 / 0.02 - 2
        audio = net.leg_audio(call.call_id)
        assert audio is not None
        assert peak(audio[1], voice)[1] > 0.95
        call.hang_up()
        await clock.advance(0.01)
        assert handler.listener.of("hangup") == [None]
        assert line.ended_ids == [call.call_id]
        assert far.closed == 1


async def test_lines_need_the_audio_fidelity_and_valid_numbers(clock: FakeClock) -> None:
    async with SimNetwork(clock, SequentialIds("sym")) as net:
        with pytest.raises(ValueError, match="audio fidelity"):
            net.add_line(Line())
    async with audio_network(clock) as net:
        line = Line()
        net.add_line(line)
        net.set_inbound_handler(Handler(net, clock))
        with pytest.raises(ValueError):
            await net.line_call(line, "sip:alice@127.0.0.1", "not-a-number", Far())
        assert not net.is_reachable("tel:123")
        assert net.is_reachable("+15550100001")  # the network's own phones are still there
