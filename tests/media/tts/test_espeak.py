"""The espeak-ng engine through the wheel's library: what Say sounds like, measured, never byte-compared."""

from __future__ import annotations

import shutil
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import espeakng_loader
import numpy as np
import pytest

from percl.media.tts import (
    SAMPLE_RATE,
    CachedSynthesizer,
    EspeakSynthesizer,
    Speech,
    TtsError,
    VoiceNotFound,
    default_synthesizer,
)
from percl.media.tts.speech import EDGE_MAX_MS, EDGE_MIN_MS, to_phone_audio
from tests.media.tts.support import band_share, edges_ms, envelope_similarity, seconds


@pytest.fixture(scope="module")
def tts() -> EspeakSynthesizer:
    synthesizer = EspeakSynthesizer(program=None)  # the library only: a fall-back would hide a failure
    assert synthesizer.engine.startswith("the espeak-ng library")
    return synthesizer


def test_speech_is_8khz_int16_and_lasts_longer_for_longer_text(tts: EspeakSynthesizer) -> None:
    texts = ["Hello.", "Hello. Please hold while we connect your call.",
             "Hello. Please hold while we connect your call. Your call is important to us, and an "
             "agent will be with you shortly. Press the pound key to leave a message instead."]
    speeches = [tts.synthesize(text, "en-US") for text in texts]
    for speech in speeches:
        assert speech.pcm.dtype == np.int16 and speech.pcm.ndim == 1
        assert np.abs(speech.pcm.astype(np.int32)).max() > 3000  # audible, not a whisper
    durations = [seconds(s.pcm) for s in speeches]
    assert 0.3 < durations[0] < 1.5
    assert durations[0] + 1.0 < durations[1] and durations[1] + 3.0 < durations[2]
    assert speeches[0].duration_ms == len(speeches[0].pcm) * 1000 // SAMPLE_RATE


def test_speech_energy_is_in_the_telephone_band(tts: EspeakSynthesizer) -> None:
    pcm = tts.synthesize("Thank you for calling. Press one for sales, two for support.", "en-US").pcm
    assert band_share(pcm) > 0.7
    assert band_share(pcm, 3800, 4000) < 0.01  # resampled to 8 kHz without aliasing up top


def test_silence_at_the_edges_is_kept_between_50_and_100_ms(tts: EspeakSynthesizer) -> None:
    for text in ["Hello.", "Tom and Jerry", "<b>"]:  # engine lead-ins of 12, 49 and 110 ms
        lead, tail = edges_ms(tts.synthesize(text, "en-US").pcm)
        assert EDGE_MIN_MS - 1 <= lead <= EDGE_MAX_MS + 1, (text, lead)
        assert EDGE_MIN_MS - 1 <= tail <= EDGE_MAX_MS + 1, (text, tail)


def test_to_phone_audio_trims_long_silence_pads_short_and_drops_all_silence() -> None:
    tone = (8000 * np.sin(np.arange(800) * 2 * np.pi * 440 / SAMPLE_RATE)).astype(np.int16)
    long_edges = np.concatenate([np.zeros(4000, np.int16), tone, np.zeros(4000, np.int16)])
    assert edges_ms(to_phone_audio(long_edges, SAMPLE_RATE)) == pytest.approx((100, 100), abs=1)
    assert edges_ms(to_phone_audio(tone, SAMPLE_RATE)) == pytest.approx((50, 50), abs=1)
    assert len(to_phone_audio(np.full(22050, 20, np.int16), 22050)) == 0
    upsampled = to_phone_audio(np.repeat(tone, 2), 16000)  # resampled: 0.1 s of tone stays 0.1 s
    assert seconds(upsampled) == pytest.approx(0.1 + 0.1, abs=0.01)


def test_long_text_renders(tts: EspeakSynthesizer) -> None:
    text = ("Your account balance is one hundred and twenty dollars. " * 80)[:4096]  # FreeClimb's limit
    speech = tts.synthesize(text, "en-US")
    assert seconds(speech.pcm) > 120
    lead, tail = edges_ms(speech.pcm)
    assert lead <= EDGE_MAX_MS + 1 and tail <= EDGE_MAX_MS + 1


@pytest.mark.parametrize("text", ["", "   ", "\n\t "])
def test_empty_or_blank_text_is_empty_audio_without_the_engine(text: str) -> None:
    class Refuses:
        name = "an engine that must not be called"

        def render(self, text: str, voice: str) -> tuple[np.ndarray, int]:
            raise AssertionError("rendered blank text")

    speech = EspeakSynthesizer(renderer=Refuses()).synthesize(text, "de-DE")
    assert speech == Speech(speech.pcm, "de", "de-DE", False)
    assert speech.pcm.dtype == np.int16 and len(speech.pcm) == 0


def test_markup_characters_are_spoken_not_parsed(tts: EspeakSynthesizer) -> None:
    def length(text: str, language: str = "en-US") -> float:
        return seconds(tts.synthesize(text, language).pcm)

    # "<" is read out ("less than"), not dropped as espeak-ng does by default, not taken as a tag
    assert length("a < b") == pytest.approx(length("a less than b"), rel=0.2)
    assert length("a < b") > length("a b") + 0.25
    assert length("x > y") > length("x y") + 0.25
    # a tag is words, not SSML: with SSML parsing only "hello" would remain
    assert length("<speak>hello</speak>") > 3 * length("hello")
    assert length("Tom & Jerry") > length("Tom Jerry") + 0.05  # "&" is read as "and"
    assert length("R&amp;D") > length("R D") + 0.25
    assert length("[[h@l'oU]]") > 0  # phoneme brackets are not phoneme input either
    # still after switching voices (the punctuation setting survives a voice change)
    length("Guten Tag", "de-DE")
    assert length("a < b") > length("a b") + 0.25


def test_a_nul_character_does_not_cut_the_text_short(tts: EspeakSynthesizer) -> None:
    assert seconds(tts.synthesize("one\0two three four", "en-US").pcm) > \
        seconds(tts.synthesize("one", "en-US").pcm) + 0.5


def test_a_control_character_cannot_change_how_later_texts_sound(tts: EspeakSynthesizer) -> None:
    # espeak-ng reads U+0001 as an embedded command; its amplitude (A) or speed (S) would stay set
    text = "one two three four five six"
    before = tts.synthesize(text, "en-US").pcm
    for command in ("\x01" "200A", "\x01" "20S", "\x01" "90P"):
        tts.synthesize(f"{command} hello {command}", "en-US")
    after = tts.synthesize(text, "en-US").pcm
    assert seconds(after) == pytest.approx(seconds(before), rel=0.1)
    assert np.abs(after.astype(np.int32)).max() < 1.2 * np.abs(before.astype(np.int32)).max()


def _odd_text(alphabet: list[str], seed: int) -> str:
    """Characters drawn from `alphabet` up to 4,096 bytes (UTF-8, surrogates counted as 3)."""
    rng = np.random.default_rng(seed)
    text = ""
    while True:
        char = alphabet[int(rng.integers(len(alphabet)))]
        if len((text + char).encode("utf-8", "surrogatepass")) > 4096:
            return text
        text += char


ODD_ALPHABETS = {
    "emoji": [chr(c) for c in range(0x1F300, 0x1F650)] + ["\u200d", "\ufe0f"],
    "right-to-left": [chr(c) for c in range(0x05D0, 0x05EB)] + [chr(c) for c in range(0x0621, 0x064B)]
    + ["\u200f", "\u202e", " "],
    "combining marks": ["a", "o"] + [chr(c) for c in range(0x0300, 0x036F)],
    "control characters": [chr(c) for c in [*range(32), *range(0x7F, 0xA0)]] + ["yes"],
    "lone surrogates": ["\ud800", "\udfff", "hello ", "\U0001F600"],
    "anything": [chr(c) for c in np.random.default_rng(5).integers(1, 0x110000, 3000)],
}


@pytest.mark.parametrize("name", list(ODD_ALPHABETS))
def test_4096_bytes_of_odd_unicode_speak_or_stay_silent(tts: EspeakSynthesizer, name: str) -> None:
    speech = tts.synthesize(_odd_text(ODD_ALPHABETS[name], seed=len(name)), "en-US")
    assert speech.pcm.dtype == np.int16 and seconds(speech.pcm) < 15 * 60


def test_a_text_longer_than_say_allows_is_refused_before_the_engine() -> None:
    class Counts:
        name = "an engine that counts"
        calls = 0

        def render(self, text: str, voice: str) -> tuple[np.ndarray, int]:
            self.calls += 1
            return np.full(800, 5000, np.int16), SAMPLE_RATE

    engine = Counts()
    synthesizer = EspeakSynthesizer(renderer=engine)
    synthesizer.synthesize("é" * 2048, "en-US")  # 4,096 bytes: Say's limit
    with pytest.raises(TtsError, match="4097 bytes is longer than the 4096 bytes"):
        synthesizer.synthesize("é" * 2048 + "!", "en-US")
    with pytest.raises(TtsError, match="longer than"):
        synthesizer.synthesize("\ud800" * 1366, "en-US")  # counted as PerCL counts: 3 bytes each
    assert engine.calls == 1


def test_eight_threads_get_the_same_audio_as_one(tts: EspeakSynthesizer) -> None:
    jobs = [(f"Caller number {n}, please hold.", language)
            for n in range(6) for language in ("en-US", "de-DE", "fr-FR", "es-MX")]
    serial = [tts.synthesize(text, language).pcm for text, language in jobs]
    start = threading.Barrier(8)

    def worker(offset: int) -> list[tuple[int, Speech]]:
        start.wait()
        order = list(range(len(jobs)))[offset:] + list(range(len(jobs)))[:offset]
        return [(i, tts.synthesize(*jobs[i])) for i in order]

    with ThreadPoolExecutor(8) as pool:
        results = [r for batch in pool.map(worker, range(0, 24, 3)) for r in batch]
    assert len(results) == 8 * len(jobs)
    for i, speech in results:
        assert speech.language == jobs[i][1]
        assert abs(len(speech.pcm) - len(serial[i])) < SAMPLE_RATE // 20
        # Renders of one text differ a little (espeak's pitch flutter): 0.90 was seen once for a
        # clean es-MX render; interleaved syntheses score far lower, and without the lock crash.
        assert envelope_similarity(speech.pcm, serial[i]) > 0.8, jobs[i]


def test_a_voice_the_engine_lacks_falls_back_to_en_us() -> None:
    class NoGerman:
        name = "an engine without German"

        def __init__(self) -> None:
            self.voices: list[str] = []

        def render(self, text: str, voice: str) -> tuple[np.ndarray, int]:
            self.voices.append(voice)
            if voice == "de":
                raise VoiceNotFound("no voice 'de'")
            return np.full(800, 5000, np.int16), SAMPLE_RATE

    engine = NoGerman()
    speech = EspeakSynthesizer(renderer=engine).synthesize("Guten Tag", "de-DE")
    assert (speech.voice, speech.language, speech.fell_back) == ("en-us", "en-US", True)
    assert engine.voices == ["de", "en-us"]
    assert seconds(speech.pcm) == pytest.approx(0.1 + 0.1, abs=0.01)


def test_an_engine_failure_is_a_tts_error() -> None:
    class Broken:
        name = "a broken engine"

        def render(self, text: str, voice: str) -> tuple[np.ndarray, int]:
            raise TtsError("a broken engine failed")

    with pytest.raises(TtsError, match="broken engine failed"):
        EspeakSynthesizer(renderer=Broken()).synthesize("hello", None)


def test_a_missing_data_folder_is_reported_not_fatal(tmp_path: Path) -> None:
    # A copy of the library is a separate instance: the shared one keeps its good data folder.
    copy = tmp_path / "libespeak-ng.so"
    shutil.copy(espeakng_loader.get_library_path(), copy)
    synthesizer = EspeakSynthesizer(library_path=str(copy), data_path=str(tmp_path / "none"), program=None)
    with pytest.raises(TtsError, match="did not initialise with the data folder"):
        synthesizer.synthesize("hello", None)
    assert synthesizer.synthesize("", None).pcm.size == 0  # blank text still needs no engine


def test_one_library_file_is_initialised_once_with_one_data_folder(tts: EspeakSynthesizer) -> None:
    other = EspeakSynthesizer(data_path="/elsewhere/espeak-ng-data", program=None)
    with pytest.raises(TtsError, match="already speaks with the data folder"):
        other.synthesize("hello", None)
    assert seconds(tts.synthesize("still speaking", None).pcm) > 0.5


def test_the_default_synthesizer_is_one_shared_cached_espeak() -> None:
    first = default_synthesizer()
    assert isinstance(first, CachedSynthesizer) and default_synthesizer() is first
    one = first.synthesize("Welcome to percl.", "en-US")
    assert one.voice == "en-us" and seconds(one.pcm) > 0.5
    assert first.synthesize("Welcome to percl.", "en-us") is one
