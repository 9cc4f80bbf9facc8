"""The audio surface end to end, in audio fidelity: what a phone heard and sent, read as numpy
arrays (`call.audio()`), through the sim API's WAV, and a Play file the app serves.

These need the simulated network's audio fidelity (SimNetwork(media="audio")): they skip while
this build's SimNetwork has no `media` parameter.
"""

from __future__ import annotations

import io
import logging
import wave

import numpy as np
import pytest

from percl.media.audio.pcm import rms_dbfs
from percl.media.audio.tones import sine
from percl.media.audio.wav import wav_bytes
from percl.testing.harness import Harness
from percl.testing.phones import speak
from tests.e2e.conftest import CALLER

WELCOME = "Welcome to the audio test."
TONE = sine(600, 1000, level_dbfs=-12.0)


async def test_the_phone_hears_the_say_where_it_was_said_and_silence_after() -> None:
    async with Harness(media="audio") as h:
        assert h.media == "audio"
        app = h.scripted_app()
        app.on("/voice", [{"Say": {"text": WELCOME}}, {"Pause": {"length": 2000}},
                          {"Hangup": {}}])
        call = await h.phone(CALLER).calls(await h.number_for(app))
        await call.expect_say(WELCOME)
        await call.expect_hangup()
        audio = await call.audio()
        speech = h.speech(WELCOME)
        at = audio.offset_of(speech, min_match=0.8)
        assert at is not None and at < 0.5, at
        spoken_until = at + len(speech) / 8000
        assert audio.seconds >= spoken_until + 1.5  # the pause, then the hangup
        assert rms_dbfs(audio.heard_between(at, spoken_until)) > -40
        assert rms_dbfs(audio.heard_between(spoken_until + 0.2, spoken_until + 1.8)) < -60


async def test_what_the_phone_says_is_in_the_sent_channel() -> None:
    async with Harness(media="audio") as h:
        app = h.scripted_app()
        # (a Pause alone does not answer an inbound call: the Say does, at once)
        app.on("/voice", [{"Say": {"text": "One moment."}}, {"Pause": {"length": 5000}},
                          {"Hangup": {}}])
        call = await h.phone(CALLER).calls(await h.number_for(app), speak("hello there",
                                                                          after_ms=1000))
        await call.expect_hangup()
        audio = await call.audio()
        at = audio.offset_of(h.speech("hello there", "en-US"), side="sent", min_match=0.8)
        assert at is not None and 0.9 < at < 1.5, at
        assert audio.offset_of(h.speech("hello there", "en-US"), min_match=0.8) is None


async def test_a_play_file_is_heard_sample_for_sample() -> None:
    async with Harness(media="audio") as h:
        app = h.scripted_app()
        app.on("/tone.wav", (200, wav_bytes([TONE])))
        app.on("/voice", [{"Play": {"file": "http://app.test/tone.wav"}}, {"Hangup": {}}])
        call = await h.phone(CALLER).calls(await h.number_for(app))
        await call.expect_hangup()
        audio = await call.audio()
        at = audio.offset_of(TONE, min_match=0.99)
        assert at is not None
        start = round(at * 8000)
        assert np.array_equal(audio.heard[start:start + len(TONE)], TONE)


async def test_a_missing_play_file_is_skipped_with_a_log_line_and_the_call_goes_on(
        caplog: pytest.LogCaptureFixture) -> None:
    async with Harness(media="audio") as h:
        app = h.scripted_app()
        app.on("/voice", [{"Play": {"file": "http://app.test/gone.wav"}},
                          {"Say": {"text": "After the file."}}, {"Hangup": {}}])
        with caplog.at_level(logging.WARNING):
            call = await h.phone(CALLER).calls(await h.number_for(app))
            await call.expect_say("After the file.")
            await call.expect_hangup(reason="appHangup")
        lines = [r.getMessage() for r in caplog.records]
        assert any("http://app.test/gone.wav" in line and "HTTP 404" in line for line in lines)


async def test_the_sim_api_serves_the_leg_as_a_stereo_wav() -> None:
    async with Harness(media="audio") as h:
        app = h.scripted_app()
        app.on("/voice", [{"Say": {"text": WELCOME}}, {"Hangup": {}}])
        call = await h.phone(CALLER).calls(await h.number_for(app), speak("hi", after_ms=0))
        await call.expect_hangup()
        r = await h.sim_rest.get(f"/calls/{call.call_id}/audio")
        assert r.status_code == 200 and r.headers["content-type"] == "audio/wav"
        with wave.open(io.BytesIO(r.content)) as wav:
            assert (wav.getnchannels(), wav.getframerate(), wav.getsampwidth()) == (2, 8000, 2)
            frames = np.frombuffer(wav.readframes(wav.getnframes()), "<i2").reshape(-1, 2)
        audio = await call.audio()
        assert np.array_equal(frames[:, 0], audio.heard)
        assert np.array_equal(frames[:, 1], audio.sent)
        heard = await h.sim_rest.get(f"/calls/{call.call_id}/audio",
                                     params={"channel": "heard", "fromMs": 500})
        with wave.open(io.BytesIO(heard.content)) as wav:
            assert wav.getnchannels() == 1 and wav.getnframes() == len(audio.heard) - 4000
