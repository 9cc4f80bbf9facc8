"""The simulated network's media ports (symbolic): a MediaSession per leg, the Mixer, the
SpeechRecognizer, and recording into a sink."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

from sim_helpers import RecordingListener, running
from test_sim_bridge import AGENT, CALLER, LEG_A, LEG_B, PLATFORM, heard, two_legs
from tests.telephony.sim.sim_helpers import Sink

from percl.engine.ports import (
    AudioFrame,
    DtmfTone,
    File,
    MixPath,
    Played,
    PlayEnd,
    Silence,
    SpokenText,
    Tone,
    Transcription,
    Tts,
)
from percl.telephony.sim.recognizer import SymbolicRecognizer
from percl.testing.clock import FakeClock

MIX = "CF" + "1" * 40


async def played(clock: FakeClock, play: Awaitable[Played]) -> Played:
    task = asyncio.ensure_future(play)
    assert await clock.run_until(task.done, limit_s=60)
    return await task


async def test_play_reports_finished_with_the_modelled_duration(clock: FakeClock) -> None:
    async with running(clock) as net:
        await two_legs(net, clock)
        media = net.media(LEG_A)
        done = Played(PlayEnd.FINISHED, 1500)
        assert await played(clock, media.play(Tts("one two three", "en-US"))) == done
        assert await played(clock, media.play(Silence(250))) == Played(PlayEnd.FINISHED, 250)
        assert await played(clock, media.play(File("http://x/a.wav"))) == Played(
            PlayEnd.FINISHED, 3000)
        assert await played(clock, media.play(Tone())) == Played(PlayEnd.FINISHED, 300)
        types = [str(e.type) for e in net.transcript(LEG_A).entries]  # type: ignore[union-attr]
        assert types[-4:] == ["say", "pause", "play", "beep"]


async def test_play_cut_by_the_end_of_the_leg_says_how_much_was_heard(clock: FakeClock) -> None:
    async with running(clock) as net:
        await two_legs(net, clock)
        play = asyncio.ensure_future(net.media(LEG_A).play(Silence(10_000)))
        await clock.advance(2)
        net.far_end_hangup(LEG_A)
        assert await play == Played(PlayEnd.CUT, 2000)
        assert await net.media(LEG_A).play(Silence(10)) == Played(PlayEnd.CUT, 0)  # ended leg
        assert await net.media("CA" + "9" * 40).play(Tone()) == Played(PlayEnd.CUT, 0)


async def test_mixer_carries_speech_and_keys_by_path(clock: FakeClock) -> None:
    async with running(clock) as net:
        await two_legs(net, clock)
        net.mixer.add(MIX, LEG_A, MixPath())
        net.mixer.add(MIX, LEG_B, MixPath(dtmf_pass=False))
        net.say(LEG_B, "hello agent")
        net.press(LEG_B, "5")
        await clock.advance(0.5)
        assert heard(net, LEG_A) == [(CALLER, LEG_B, "hello agent", None)]  # keys not passed
        net.mixer.pass_dtmf(MIX, LEG_B, "12")  # keys the engine held back, let go
        assert heard(net, LEG_A)[-1] == (CALLER, LEG_B, None, "12")
        net.mixer.update(MIX, LEG_B, MixPath(talk=False))
        net.mixer.update(MIX, LEG_A, MixPath(listen=False))
        net.say(LEG_B, "muted")
        net.say(LEG_A, "deaf leg talks")
        await clock.advance(0.5)
        assert len(heard(net, LEG_A)) == 2
        assert heard(net, LEG_B) == [(AGENT, LEG_A, "deaf leg talks", None)]
        net.mixer.remove(MIX, LEG_A)
        net.say(LEG_A, "gone")
        await clock.advance(0.5)
        assert len(heard(net, LEG_B)) == 1 and net.mixer.paths(MIX) == {LEG_B: MixPath(talk=False)}
        await net.hangup(LEG_B)  # an ended leg leaves every mix
        assert net.mixer.paths(MIX) == {}


async def test_speech_events_carry_the_recognised_text(clock: FakeClock) -> None:
    async with running(clock) as net:
        listener = RecordingListener(clock)
        calls: list[str] = []
        listener.on_speech_started = lambda: calls.append("started")  # type: ignore[method-assign]
        await net.dial(LEG_A, PLATFORM, AGENT, listener, detect_machine=False)
        await clock.advance(1)  # answered
        net.say(LEG_A, "yes please")
        await clock.advance(1)
        assert calls == ["started"]
        assert ("speech", "yes please") in [(n, a) for _, n, a in listener.events]


async def test_recording_takes_what_the_far_end_sends_until_stopped(clock: FakeClock) -> None:
    async with running(clock) as net:
        await two_legs(net, clock)
        sink, media = Sink(), net.media(LEG_A)
        net.say(LEG_A, "before")
        await clock.advance(0.1)
        media.start_recording(sink)
        net.say(LEG_A, "hello")
        net.press(LEG_A, "7")
        await clock.advance(1.5)
        media.stop_recording()
        net.say(LEG_A, "after")
        await clock.advance(0.1)
        assert sink.written == [SpokenText("hello"), DtmfTone("7")]
        assert sink.closed == [1500]


async def test_recording_ends_with_the_leg(clock: FakeClock) -> None:
    async with running(clock) as net:
        await two_legs(net, clock)
        sink = Sink()
        net.media(LEG_B).start_recording(sink)
        await clock.advance(3)
        await net.hangup(LEG_B)
        assert sink.closed == [3000]
        late = Sink()
        net.media(LEG_B).start_recording(late)  # an ended leg records nothing
        assert late.closed == [0] and late.written == []


def test_symbolic_recognizer_passes_words_through() -> None:
    r = SymbolicRecognizer()
    assert r.transcribe([SpokenText("one"), SpokenText("two")]) == Transcription("one two", 100)
    assert r.transcribe([AudioFrame(b"\0\0" * 160)]) == Transcription("", 0)
