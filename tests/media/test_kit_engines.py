"""The default kit (`default_kit`): espeak-ng, the platform's fetcher with decode_audio, and
pocketsphinx, as app.py hands them to the audio fidelity."""

from __future__ import annotations

import logging
from collections.abc import Mapping

import numpy as np
import pytest

from percl.media.audio.pcm import rms_dbfs
from percl.media.audio.tones import sine
from percl.media.audio.wav import wav_bytes
from percl.media.grammar.port import GrammarRecognizer
from percl.media.kit import AudioUnavailable, MediaKit, default_kit
from percl.testing.clock import FakeClock
from percl.webhooks.fetch import TransportFetcher
from percl.webhooks.inprocess import FunctionTransport, RoutingTransport

TONE = sine(440, 500, level_dbfs=-12.0)


def serve(url: str, body: bytes, headers: Mapping[str, str]) -> tuple[int, bytes]:
    if url.endswith("/tone.wav"):
        return 200, wav_bytes([TONE], rate=8000)
    if url.endswith("/tone16k.wav"):  # another rate: resampled to 8 kHz
        return 200, wav_bytes([np.repeat(TONE, 2)], rate=16000)
    if url.endswith("/text.wav"):
        return 200, b"this is not audio"
    return 404, b"not here"


@pytest.fixture
def kit() -> MediaKit:
    clock = FakeClock()
    router = RoutingTransport()
    router.mount("http://app.test/", FunctionTransport(serve))
    return default_kit(TransportFetcher(router, clock), clock, max_file_bytes=1_000_000,
                       tracker=clock.tracker)


def test_speech_is_espeak_at_8_khz(kit: MediaKit) -> None:
    pcm = kit.speech("Welcome to the percl demo.", "en-US")
    assert pcm.dtype == np.int16 and 1.0 < len(pcm) / 8000 < 4.0
    assert rms_dbfs(pcm) > -40
    assert kit.speech("Welcome to the percl demo.", "en-US") is pcm  # cached


def test_a_language_without_a_voice_warns_once(kit: MediaKit,
                                              caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="percl.media.kit"):
        kit.speech("hello", "xx-XX")
        kit.speech("hello again", "xx-XX")
    assert [r.getMessage() for r in caplog.records] == [
        "Say: no voice for language 'xx-XX'; speaking it in en-US"]


async def test_a_wav_file_is_fetched_and_decoded(kit: MediaKit) -> None:
    pcm = await kit.file("http://app.test/tone.wav")
    assert np.array_equal(pcm, TONE)
    resampled = await kit.file("http://app.test/tone16k.wav")
    assert abs(len(resampled) - len(TONE)) <= 8
    assert abs(rms_dbfs(resampled) - rms_dbfs(TONE)) < 1.0


@pytest.mark.parametrize(("path", "reason"), [
    ("/missing.wav", "cannot fetch it: HTTP 404"),
    ("/text.wav", "cannot decode it: "),
])
async def test_what_cannot_be_played_says_why(kit: MediaKit, path: str, reason: str) -> None:
    with pytest.raises(AudioUnavailable, match=reason):
        await kit.file("http://app.test" + path)


YES_NO = b"""<grammar xmlns="http://www.w3.org/2001/06/grammar" version="1.0" root="a">
<rule id="a"><one-of><item>yes</item><item>no</item></one-of></rule></grammar>"""


def test_speech_is_recognised_against_the_grammars_phrases(kit: MediaKit) -> None:
    grammar = GrammarRecognizer().compile(YES_NO, None)
    for word in ("yes", "no"):
        text, confidence = kit.transcribe(kit.speech(word, "en-US"), grammar)
        assert text == word and confidence > 50


def test_digits_are_recognised_by_the_rules_of_a_grammar_of_10000_sentences(kit: MediaKit) -> None:
    text, _ = kit.transcribe(kit.speech("one two three four", "en-US"),
                             GrammarRecognizer().builtin("DIG4"))
    assert text == "one two three four"
