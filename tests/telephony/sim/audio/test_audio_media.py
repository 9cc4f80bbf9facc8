"""The audio fidelity's MediaSession and media clock: what the platform plays reaches the phone's
ear as frames, at the right offset, for as long as its audio lasts (FakeClock; test-double kit)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from dataclasses import dataclass, field

import numpy as np
import pytest
from audio_helpers import FakeKit, Listener, audio_network, peak, rms, speak, tone_power
from tests.telephony.sim.sim_helpers import Sink

from percl.domain.ids import SequentialIds
from percl.engine.ports import AudioFrame, File, Played, PlayEnd, Silence, Tone, Tts
from percl.telephony.sim.media_model import PLAY_DEFAULT_MS
from percl.telephony.sim.model import PhoneStep, TranscriptEvent
from percl.telephony.sim.network import SimNetwork
from percl.testing.clock import FakeClock

PLATFORM, PHONE = "+13125550100", "+15550100001"
LEG = "CA" + "a" * 40
RATE = 8000


async def answered_leg(net: SimNetwork, clock: FakeClock, call_id: str = LEG,
                       to: str = PHONE) -> Listener:
    listener = Listener(clock)
    await net.dial(call_id, PLATFORM, to, listener, detect_machine=False)
    await clock.advance(1)  # the default phone answers after 1 s
    assert net.is_live(call_id)
    return listener


async def played(clock: FakeClock, play: Awaitable[Played]) -> Played:
    task = asyncio.ensure_future(play)
    assert await clock.run_until(task.done, limit_s=60)
    return await task


def heard(net: SimNetwork, call_id: str = LEG) -> np.ndarray:
    audio = net.leg_audio(call_id)
    assert audio is not None
    return audio[0]


def entries(net: SimNetwork, call_id: str = LEG) -> list[tuple[TranscriptEvent, dict[str, object]]]:
    transcript = net.transcript(call_id)
    assert transcript is not None
    return [(e.type, {k: v for k, v in (("text", e.text), ("url", e.url),
                                        ("interrupted", e.interrupted), ("heard_ms", e.heard_ms))
                      if v is not None})
            for e in transcript.entries]


async def test_a_say_is_heard_at_its_offset_and_lasts_as_long_as_its_audio(clock: FakeClock) -> None:
    kit = FakeKit()
    async with audio_network(clock, kit) as net:
        await answered_leg(net, clock)
        started = len(heard(net)) / RATE  # seconds of audio the leg has carried so far
        result = await played(clock, net.media(LEG).play(Tts("hello there caller", "en-US")))
        speech = speak("hello there caller")
        frames = -(-len(speech) // 160)
        assert result == Played(PlayEnd.FINISHED, frames * 20)
        at, score = peak(heard(net), speech)
        assert score > 0.99
        assert abs(at / RATE - started) <= 0.021  # the first frame after the play began
        assert kit.speech_calls == [("hello there caller", "en-US")]
        assert (TranscriptEvent.SAY, {"text": "hello there caller"}) in entries(net)


async def test_the_media_clock_ticks_every_20_ms_without_drift(clock: FakeClock) -> None:
    async with audio_network(clock) as net:
        await answered_leg(net, clock)
        before = len(heard(net))
        await clock.advance(10)
        assert len(heard(net)) - before == 500 * 160
        stats = net.media_clock_stats()
        assert stats is not None and stats.max_ms == 0.0


async def test_the_clock_stops_when_no_audio_leg_is_live(clock: FakeClock) -> None:
    async with audio_network(clock) as net:
        await answered_leg(net, clock)
        await clock.advance(0.1)
        await net.hangup(LEG)
        await clock.advance(0.1)
        assert clock.next_deadline() is None  # nothing ticks for nobody
        kept = net.leg_audio(LEG)
        assert kept is not None and len(kept[0]) == len(kept[1]) == 5 * 160


async def test_a_play_file_is_heard_sample_for_sample(clock: FakeClock) -> None:
    rng = np.random.default_rng(7)
    music = (rng.standard_normal(RATE) * 3000).astype(np.int16)
    kit = FakeKit(files={"http://app.test/a.wav": music})
    async with audio_network(clock, kit) as net:
        await answered_leg(net, clock)
        result = await played(clock, net.media(LEG).play(File("http://app.test/a.wav")))
        assert result == Played(PlayEnd.FINISHED, 1000)
        at, score = peak(heard(net), music)
        assert score > 0.999 and np.array_equal(heard(net)[at:at + RATE], music)


async def test_a_file_that_cannot_be_had_is_skipped_with_one_clear_line(
        clock: FakeClock, caplog: pytest.LogCaptureFixture) -> None:
    async with audio_network(clock) as net:
        await answered_leg(net, clock)
        with caplog.at_level(logging.WARNING):
            result = await played(clock, net.media(LEG).play(File("http://u:secret@app.test/x.wav")))
            again = await played(clock, net.media(LEG).play(File("http://u:secret@app.test/x.wav")))
        # silence as long as a file of unknown length on the symbolic network: a loop cannot spin
        assert result == again == Played(PlayEnd.FINISHED, PLAY_DEFAULT_MS)
        lines = [r.getMessage() for r in caplog.records if "skipped" in r.getMessage()]
        assert len(lines) == 1 and "404" in lines[0] and "secret" not in lines[0]
        assert [kind for kind, _ in entries(net)[-2:]] == [TranscriptEvent.PLAY] * 2


async def test_barge_in_stops_the_audio_at_once_and_notes_what_was_heard(clock: FakeClock) -> None:
    async with audio_network(clock) as net:
        await answered_leg(net, clock)
        task = asyncio.ensure_future(net.media(LEG).play(Tts("one two three four five six")))
        await clock.advance(0.5)
        task.cancel()
        await clock.settle()
        assert task.cancelled()
        kind, fields = entries(net)[-1]
        assert kind is TranscriptEvent.SAY and fields["interrupted"] is True
        assert fields["heard_ms"] == 500
        await clock.advance(1)
        tail = heard(net)[-RATE // 2:]
        assert rms(tail) == 0  # nothing more was sent after the barge-in


async def test_a_play_on_a_leg_that_ends_is_cut(clock: FakeClock) -> None:
    async with audio_network(clock) as net:
        await answered_leg(net, clock)
        task = asyncio.ensure_future(net.media(LEG).play(Silence(5000)))
        await clock.advance(1)
        await net.hangup(LEG)
        await clock.settle()
        assert task.result() == Played(PlayEnd.CUT, 1000)


async def test_pause_and_beep_take_their_time(clock: FakeClock) -> None:
    async with audio_network(clock) as net:
        await answered_leg(net, clock)
        assert await played(clock, net.media(LEG).play(Silence(250))) == Played(PlayEnd.FINISHED, 260)
        assert await played(clock, net.media(LEG).play(Tone())) == Played(PlayEnd.FINISHED, 300)
        assert tone_power(heard(net)[-RATE * 3 // 10:], 1000) > 0.9


async def test_send_digits_plays_dual_tones_to_the_phone(clock: FakeClock) -> None:
    async with audio_network(clock) as net:
        await answered_leg(net, clock)
        task = asyncio.ensure_future(net.media(LEG).send_dtmf("1{1}9", 200))
        assert await clock.run_until(task.done)
        audio = heard(net)[-4000:]  # 100 ms tone, 200 ms pause, 100 ms tone, then silence
        first, second = audio[:800], audio[2400:3200]
        assert tone_power(first, 697) > 0.3 and tone_power(first, 1209) > 0.3
        assert tone_power(second, 852) > 0.3 and tone_power(second, 1477) > 0.3
        assert rms(audio[800:2400]) == 0
        assert entries(net)[-1][0] is TranscriptEvent.DIGITS_SENT
        with pytest.raises(ValueError):
            await net.media(LEG).send_dtmf("12x", 200)


async def test_a_send_digits_pause_longer_than_any_tone_is_counted_silence(clock: FakeClock) -> None:
    # {7000} at 100 ms is 700 s: legal PerCL, longer than the tone generator renders (MAX_TONE_MS)
    async with audio_network(clock) as net:
        await answered_leg(net, clock)
        task = asyncio.ensure_future(net.media(LEG).send_dtmf("1{7000}2", 100))
        await clock.advance(5)
        assert not task.done()  # still pausing, nothing raised
        audio = heard(net)
        assert tone_power(audio[-5 * 8000:-5 * 8000 + 800], 697) > 0.3  # the first key was sent
        assert rms(audio[-4 * 8000:]) == 0  # then silence
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_a_recording_gets_the_frames_the_phone_sends(clock: FakeClock) -> None:
    async with audio_network(clock) as net:
        await answered_leg(net, clock)
        sink = Sink()
        net.media(LEG).start_recording(sink)
        net.say(LEG, "leave this message")
        await clock.advance(2)
        net.media(LEG).stop_recording()
        assert sink.closed == [2000] and len(sink.written) == 100
        assert all(isinstance(a, AudioFrame) for a in sink.written)
        pcm = np.frombuffer(b"".join(a.pcm for a in sink.written if isinstance(a, AudioFrame)),
                            dtype=np.int16)
        assert peak(pcm, speak("leave this message"))[1] > 0.99


async def test_audio_needs_a_kit_and_a_known_fidelity(clock: FakeClock) -> None:
    with pytest.raises(ValueError, match="audio_kit"):
        SimNetwork(clock, SequentialIds(), media="audio")
    with pytest.raises(ValueError, match="symbolic"):
        SimNetwork(clock, SequentialIds(), media="stereo", audio_kit=FakeKit())
    async with SimNetwork(clock, SequentialIds()) as symbolic:
        await answered_leg(symbolic, clock)
        assert symbolic.leg_audio(LEG) is None and symbolic.media_fidelity == "symbolic"


async def test_ended_legs_keep_their_audio_for_the_last_max_audio_legs(clock: FakeClock) -> None:
    async with audio_network(clock, max_audio_legs=2) as net:
        ids = [f"CA{i:040d}" for i in range(3)]
        for call_id in ids:
            await answered_leg(net, clock, call_id)
            await net.hangup(call_id)
        assert net.leg_audio(ids[0]) is None
        assert net.leg_audio(ids[1]) is not None and net.leg_audio(ids[2]) is not None
        assert net.leg_audio("CA" + "9" * 40) is None


async def test_tracks_keep_the_newest_max_audio_seconds(clock: FakeClock) -> None:
    async with audio_network(clock, max_audio_seconds=2) as net:
        await answered_leg(net, clock)
        await clock.advance(5)
        heard_pcm, sent_pcm = net.leg_audio(LEG) or (None, None)
        assert heard_pcm is not None and sent_pcm is not None
        assert len(heard_pcm) == len(sent_pcm) == 2 * RATE


@dataclass
class Handler:
    """An InboundHandler that attaches one Listener to every call."""

    net: SimNetwork
    clock: FakeClock
    listeners: dict[str, Listener] = field(default_factory=dict)

    async def incoming_call(self, call_id: str, from_: str, to: str, number: object = None,
                            *, web_rtc: bool = False) -> None:
        self.listeners[call_id] = listener = Listener(self.clock)
        self.net.attach(call_id, listener)


async def test_early_media_reaches_a_ringing_inbound_caller(clock: FakeClock) -> None:
    async with audio_network(clock) as net:
        handler = Handler(net, clock)
        net.set_inbound_handler(handler)
        call_id = await net.place_call(PHONE, PLATFORM, [PhoneStep(500, digits="7")])
        result = await played(clock, net.media(call_id).play(Tts("please hold")))
        assert result.end is PlayEnd.FINISHED
        assert peak(heard(net, call_id), speak("please hold"))[1] > 0.99
        await net.answer(call_id)
        await clock.advance(1)
        assert handler.listeners[call_id].of("digits") == ["7"]
