"""The fall-back engine, Debian's espeak-ng program, forced by a library that cannot load."""

from __future__ import annotations

import io
import logging
import wave

import numpy as np
import pytest

from percl.media.tts import EspeakSynthesizer, TtsError, VoiceNotFound
from percl.media.tts.cli_fallback import ProgramRenderer, wav_samples
from tests.media.tts.support import band_share, edges_ms, espeak_program, seconds

NO_LIBRARY = "/nonexistent/libespeak-ng.so"


@pytest.fixture(scope="module")
def program() -> str:
    return espeak_program()


def test_a_library_that_cannot_load_falls_back_to_the_program(program: str,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    synthesizer = EspeakSynthesizer(library_path=NO_LIBRARY)
    with caplog.at_level(logging.WARNING, "percl.media.tts"):
        assert synthesizer.engine == f"the espeak-ng program ({program})"
    assert "did not load" in caplog.text and NO_LIBRARY in caplog.text
    short = synthesizer.synthesize("Hello.", "en-US")
    long = synthesizer.synthesize("Hello. Please hold while we connect your call.", "en-US")
    assert short.pcm.dtype == np.int16 and 0.3 < seconds(short.pcm) < seconds(long.pcm) - 1.0
    assert band_share(long.pcm) > 0.7
    lead, tail = edges_ms(long.pcm)
    assert 49 <= lead <= 101 and 49 <= tail <= 101


def test_the_program_speaks_every_language_and_markup_as_text(program: str) -> None:
    synthesizer = EspeakSynthesizer(library_path=NO_LIBRARY)
    for language, voice in [("de-DE", "de"), ("es-MX", "es-419"), ("zh-HK", "yue"), ("pt-BR", "pt-br")]:
        speech = synthesizer.synthesize("1 2 3", language)
        assert (speech.voice, speech.fell_back) == (voice, False) and seconds(speech.pcm) > 0.5

    def length(text: str) -> float:
        return seconds(synthesizer.synthesize(text, None).pcm)

    assert length("a < b") > length("a b") + 0.25
    assert length("<speak>hello</speak>") > 3 * length("hello")
    assert length("-v xx") > 0.3  # on stdin, a leading "-" is text, not an option


def test_the_programs_missing_voice_and_failures_are_errors(program: str) -> None:
    with pytest.raises(VoiceNotFound):
        ProgramRenderer(program).render("hello", "xx")
    with pytest.raises(TtsError, match=r"failed \(exit status 1\)"):
        ProgramRenderer("/bin/false").render("hello", "en-us")
    with pytest.raises(TtsError, match="took longer than"):
        ProgramRenderer(program, timeout_s=0.001).render("hello " * 500, "en-us")
    with pytest.raises(TtsError, match="could not run"):
        ProgramRenderer("/nonexistent/espeak-ng").render("hello", "en-us")


def test_neither_engine_is_a_clear_tts_error() -> None:
    synthesizer = EspeakSynthesizer(library_path=NO_LIBRARY, program="no-such-espeak-program")
    for _ in range(2):  # the same answer every time, without retrying the load
        with pytest.raises(TtsError, match="no text-to-speech engine") as error:
            synthesizer.synthesize("hello", None)
        assert "apt-get install espeak-ng" in str(error.value) and NO_LIBRARY in str(error.value)


def _wav(samples: np.ndarray, rate: int = 22050, channels: int = 1) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples.astype("<i2").tobytes())
    return out.getvalue()


def test_wav_samples_reads_a_streamed_wav_whose_sizes_are_unknown() -> None:
    samples = np.arange(-500, 500, dtype=np.int16)
    data = bytearray(_wav(samples))
    assert wav_samples(bytes(data))[1] == 22050
    assert np.array_equal(wav_samples(bytes(data))[0], samples)
    data[4:8] = data[40:44] = (0x7FFFF000).to_bytes(4, "little")  # what espeak-ng writes to a pipe
    got, rate = wav_samples(bytes(data) + b"\x01")  # and an odd trailing byte
    assert rate == 22050 and np.array_equal(got, samples)


@pytest.mark.parametrize(("data", "message"), [
    (b"not a wav at all", "not a WAV"),
    (_wav(np.zeros(10, np.int16), channels=2), "2 channel"),
    (b"RIFF\x04\x00\x00\x00WAVE", "without format or audio"),
])
def test_wav_samples_refuses_what_it_cannot_read(data: bytes, message: str) -> None:
    with pytest.raises(TtsError, match=message):
        wav_samples(data)
