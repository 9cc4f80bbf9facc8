"""MediaKit, the simulated network's AudioKit, over doubles of its engines and of the Fetcher."""

from __future__ import annotations

import io
import logging
import re
import threading
import wave
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pytest

from percl.engine.ports import Fetched, Heard
from percl.media.asr import Recognized
from percl.media.grammar.port import GrammarRecognizer
from percl.media.grammar.recognizer import Grammar
from percl.media.kit import (
    DEFAULT_TTL_S,
    AudioUnavailable,
    FileCache,
    MediaKit,
    Pcm,
    cache_ttl,
)
from percl.media.tts import Speech
from percl.testing.clock import FakeClock, WorkTracker

URL = "http://app.test/hold.wav"


def wav(samples: Pcm) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(samples.astype("<i2").tobytes())
    return out.getvalue()


def decode_wav(data: bytes) -> Pcm:
    """A stand-in for decode_audio: 8 kHz mono WAV only; ValueError otherwise."""
    try:
        with wave.open(io.BytesIO(data)) as w:
            return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.int16)
    except (wave.Error, EOFError) as exc:
        raise ValueError(f"not a WAV file ({exc})") from None


@dataclass
class Voice:
    asked: list[tuple[str, str | None]] = field(default_factory=list)

    def synthesize(self, text: str, language: str | None) -> Speech:
        self.asked.append((text, language))
        known = language in (None, "en-US", "es-MX")
        return Speech(np.full(len(text) * 80, 100, dtype=np.int16), "test",
                      language if known and language else "en-US", not known)


@dataclass
class Ear:
    heard: list[tuple[int, Sequence[str] | None]] = field(default_factory=list)

    def transcribe(self, pcm: Pcm, phrases: Sequence[str] | None) -> Recognized:
        self.heard.append((len(pcm), phrases))
        return Recognized("yes", 87)

    def transcribe_grammar(self, pcm: Pcm, grammar: Grammar) -> Recognized:
        self.heard.append((len(pcm), ["<rules>"]))
        return Recognized("one two three four", 60)


@dataclass
class Files:
    """A Fetcher serving `answers` by URL and counting the GETs."""

    answers: dict[str, Fetched] = field(default_factory=dict)
    gets: list[tuple[str, int | None]] = field(default_factory=list)

    def serve(self, url: str, body: bytes, *, cache_control: str | None = None,
              status: int = 200, **extra: object) -> None:
        self.answers[url] = Fetched(url, status, body, "audio/wav", None if status == 200
                                    else f"HTTP {status}", 0.0, cache_control=cache_control,
                                    **extra)  # type: ignore[arg-type]

    async def fetch(self, url: str, *, max_bytes: int | None = None) -> Fetched:
        self.gets.append((url, max_bytes))
        return self.answers.get(url, Fetched(url, None, error="connection refused"))


@dataclass
class Kit:
    kit: MediaKit
    files: Files
    clock: FakeClock
    voice: Voice
    ear: Ear
    tracker: WorkTracker


@pytest.fixture
def k() -> Kit:
    clock, files, voice, ear, tracker = FakeClock(), Files(), Voice(), Ear(), WorkTracker()
    kit = MediaKit(synthesizer=voice, recognizer=ear, fetcher=files, decode=decode_wav,
                   clock=clock, max_file_bytes=10_000, cache_bytes=40_000, tracker=tracker)
    return Kit(kit, files, clock, voice, ear, tracker)


def test_speech_is_the_synthesizers_audio(k: Kit) -> None:
    pcm = k.kit.speech("hello", "es-MX")
    assert len(pcm) == 400 and k.voice.asked == [("hello", "es-MX")]


def test_a_language_without_a_voice_warns_once_naming_it(k: Kit,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="percl.media.kit"):
        for _ in range(3):
            k.kit.speech("hola", "xx-YY")
        k.kit.speech("hello", "en-US")
    lines = [r.getMessage() for r in caplog.records]
    assert lines == ["Say: no voice for language 'xx-YY'; speaking it in en-US"]


class Listed:
    """A SpeechGrammar that is not one of percl.media.grammar's: decoded by its sentences."""

    def recognize(self, utterance: str) -> Heard:
        return Heard(utterance == "yes", utterance, 90)

    def phrases(self, limit: int = 500) -> list[str] | None:
        return ["yes", "no"]


def test_transcribe_gives_text_and_confidence_and_passes_the_phrases(k: Kit) -> None:
    assert k.kit.transcribe(np.zeros(800, dtype=np.int16), Listed()) == ("yes", 87)
    assert k.kit.transcribe(np.zeros(80, dtype=np.int16), None) == ("yes", 87)
    assert k.ear.heard == [(800, ["yes", "no"]), (80, None)]


def test_a_compiled_grammar_is_decoded_by_its_rules_however_many_sentences(k: Kit) -> None:
    dig4 = GrammarRecognizer().builtin("DIG4")  # 10,000 sentences: more than phrases() lists
    assert k.kit.transcribe(np.zeros(800, dtype=np.int16), dig4) == ("one two three four", 60)
    assert k.ear.heard == [(800, ["<rules>"])]


async def test_a_file_is_fetched_with_the_cap_decoded_and_cached(k: Kit) -> None:
    samples = (np.arange(1000) % 200 - 100).astype(np.int16)
    k.files.serve(URL, wav(samples))
    first = await k.kit.file(URL)
    assert np.array_equal(first, samples)
    assert k.files.gets == [(URL, 10_000)]
    again = await k.kit.file(URL)
    assert again is first and len(k.files.gets) == 1
    assert not again.flags.writeable  # shared by every call playing it
    assert not k.tracker.busy


async def test_decoding_runs_off_the_event_loop_counted_by_the_tracker(k: Kit) -> None:
    seen: list[tuple[str, bool]] = []

    def decode(data: bytes) -> Pcm:
        seen.append((threading.current_thread().name, k.tracker.busy))
        return decode_wav(data)

    kit = MediaKit(synthesizer=k.voice, recognizer=k.ear, fetcher=k.files, decode=decode,
                   clock=k.clock, tracker=k.tracker)
    k.files.serve(URL, wav(np.zeros(80, dtype=np.int16)))
    await kit.file(URL)
    assert seen and seen[0][0] != threading.current_thread().name and seen[0][1] is True
    assert not k.tracker.busy


@pytest.mark.parametrize(("header", "kept_s"), [
    ("no-store", 0), ("no-cache", 0), ("private, max-age=600", 0), ("max-age=0", 0),
    ("public, max-age=60", 60), ("max-age=60, s-maxage=5", 5), ('max-age="30"', 30),
    (None, DEFAULT_TTL_S), ("public", DEFAULT_TTL_S), ("immutable, bogus=x", DEFAULT_TTL_S),
])
def test_cache_control_says_how_long_a_file_is_kept(header: str | None, kept_s: float) -> None:
    assert cache_ttl(header) == kept_s


async def test_no_store_fetches_every_time(k: Kit) -> None:
    k.files.serve(URL, wav(np.zeros(80, dtype=np.int16)), cache_control="no-store")
    await k.kit.file(URL)
    await k.kit.file(URL)
    assert len(k.files.gets) == 2 and k.kit.files.size_bytes == 0


async def test_max_age_expires_on_the_clock(k: Kit) -> None:
    k.files.serve(URL, wav(np.zeros(80, dtype=np.int16)), cache_control="max-age=10")
    await k.kit.file(URL)
    await k.clock.advance(9.5)
    await k.kit.file(URL)
    assert len(k.files.gets) == 1
    await k.clock.advance(1)
    await k.kit.file(URL)
    assert len(k.files.gets) == 2


def test_the_cache_is_bounded_least_recently_used_out_first() -> None:
    clock = FakeClock()
    cache = FileCache(clock, max_bytes=3000)
    one_k = np.zeros(500, dtype=np.int16)  # 1,000 bytes each
    for name in ("a", "b", "c"):
        cache.put(name, one_k.copy(), 60)
    assert cache.get("a") is not None  # a is now the most recent
    cache.put("d", one_k.copy(), 60)
    assert cache.get("b") is None and cache.get("a") is not None
    assert cache.size_bytes == 3000
    cache.put("huge", np.zeros(2000, dtype=np.int16), 60)  # larger than the whole cache
    assert cache.get("huge") is None and cache.size_bytes == 3000


@pytest.mark.parametrize(("answer", "reason"), [
    ({"status": 404, "body": b"nope"}, "cannot fetch it: HTTP 404"),
    ({"body": b"", "size": 20_000}, "the file declares 20000 bytes, more than the 10000 percl plays "
                                    "(PERCL_MAX_PLAY_BYTES)"),
    ({"body": b"x" * 10_000, "truncated": True}, "the file is larger than the 10000 bytes"),
    ({"body": b"ID3 not a wav at all"}, "cannot decode it: not a WAV file"),
    ({"body": b""}, "the file is empty"),
])
async def test_what_cannot_be_played_says_why(k: Kit, answer: dict[str, object],
                                              reason: str) -> None:
    extra = dict(answer)
    body = extra.pop("body")
    assert isinstance(body, bytes)
    k.files.serve(URL, body, **extra)
    with pytest.raises(AudioUnavailable, match="^" + re.escape(reason)):
        await k.kit.file(URL)
    assert k.kit.files.size_bytes == 0 and not k.tracker.busy


async def test_an_unreachable_server_says_so(k: Kit) -> None:
    with pytest.raises(AudioUnavailable, match="cannot fetch it: connection refused"):
        await k.kit.file("http://down.test/x.wav")
