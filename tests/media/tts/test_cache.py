"""CachedSynthesizer: each (text, language) rendered once, LRU by bytes, thread-safe, read-only hits."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from percl.media.tts import CachedSynthesizer, CacheStats, EspeakSynthesizer, Speech
from percl.media.tts.cache import ENTRY_OVERHEAD, entry_bytes


def size(text: str) -> int:
    """What a Counting speech of `text` counts against the bound: 200 bytes a character of audio,
    4 of text, and the entry's overhead."""
    return 204 * len(text) + ENTRY_OVERHEAD


class Counting:
    """A synthesizer whose audio is 100 samples per character, each sample the text's length."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str | None]] = []
        self._lock = threading.Lock()

    def synthesize(self, text: str, language: str | None) -> Speech:
        with self._lock:
            self.calls.append((text, language))
        return Speech(np.full(100 * len(text), len(text), np.int16), "en-us", language or "en-US", False)


def test_a_hit_returns_the_same_read_only_array_without_rendering() -> None:
    inner = Counting()
    cache = CachedSynthesizer(inner)
    first = cache.synthesize("hello", "en-US")
    again = cache.synthesize("hello", "en-US")
    assert again is first and again.pcm is first.pcm and inner.calls == [("hello", "en-US")]
    with pytest.raises(ValueError, match="read-only"):
        again.pcm[0] = 1
    assert cache.stats() == CacheStats(hits=1, misses=1, evictions=0, entries=1, bytes=size("hello"))


def test_the_key_is_the_text_and_the_language_in_any_case() -> None:
    inner = Counting()
    cache = CachedSynthesizer(inner)
    cache.synthesize("hello", "en-US")
    cache.synthesize("hello", "EN-us")
    cache.synthesize("hello", None)  # Say's default language
    assert len(inner.calls) == 1
    cache.synthesize("hello", "en-GB")
    cache.synthesize("Hello", "en-US")
    cache.synthesize("hello", "xx-YY")
    cache.synthesize("hello", "XX-yy")
    assert [call[1] for call in inner.calls] == ["en-US", "en-GB", "en-US", "xx-YY"]


def test_the_least_recently_used_entry_is_evicted_past_max_bytes() -> None:
    inner = Counting()
    cache = CachedSynthesizer(inner, max_bytes=3 * size("aaaaa"))  # three 5-character texts
    for text in ["aaaaa", "bbbbb", "ccccc"]:
        cache.synthesize(text, None)
    cache.synthesize("aaaaa", None)  # a is now the most recent: b is the oldest
    cache.synthesize("ddddd", None)
    assert cache.stats() == CacheStats(hits=1, misses=4, evictions=1, entries=3, bytes=3 * size("aaaaa"))
    inner.calls.clear()
    for text in ["aaaaa", "ccccc", "ddddd", "bbbbb"]:
        cache.synthesize(text, None)
    assert inner.calls == [("bbbbb", None)]


def test_a_speech_larger_than_the_cache_is_returned_but_not_kept() -> None:
    inner = Counting()
    cache = CachedSynthesizer(inner, max_bytes=size("x" * 5))
    big = cache.synthesize("x" * 6, None)
    assert len(big.pcm) == 600 and cache.stats().entries == 0
    cache.synthesize("x" * 6, None)
    assert len(inner.calls) == 2
    with pytest.raises(ValueError, match="max_bytes"):
        CachedSynthesizer(inner, max_bytes=-1)


def test_many_threads_keep_the_cache_consistent() -> None:
    inner = Counting()
    cache = CachedSynthesizer(inner, max_bytes=20_000)
    texts = ["t" * n for n in range(1, 41)]  # 40 texts, ~94,000 bytes: constant eviction
    start = threading.Barrier(8)

    def worker(seed: int) -> int:
        start.wait()
        rng = np.random.default_rng(seed)
        for _ in range(500):
            text = texts[int(rng.integers(len(texts)))]
            speech = cache.synthesize(text, "en-US")
            assert len(speech.pcm) == 100 * len(text) and speech.pcm[0] == len(text)
        return 500

    with ThreadPoolExecutor(8) as pool:
        assert sum(pool.map(worker, range(8))) == 4000
    stats = cache.stats()
    assert stats.hits + stats.misses == 4000 and stats.misses == len(inner.calls)
    assert 0 < stats.bytes <= 20_000 and stats.evictions > 0


def test_cached_espeak_speaks_once_per_text() -> None:
    cache = CachedSynthesizer(EspeakSynthesizer(program=None))
    first = cache.synthesize("Your call is important to us.", "en-GB")
    assert first.voice == "en-gb-x-rp" and not first.pcm.flags.writeable
    assert cache.synthesize("Your call is important to us.", "en-gb") is first
    assert cache.stats().bytes == entry_bytes("Your call is important to us.", first)


def test_texts_that_speak_as_silence_still_count_against_the_bound() -> None:
    class Silent:
        def synthesize(self, text: str, language: str | None) -> Speech:
            return Speech(np.zeros(0, np.int16), "en-us", "en-US", False)

    cache = CachedSynthesizer(Silent(), max_bytes=100 * (ENTRY_OVERHEAD + 4 * 1000))
    for n in range(1000):  # 1,000 distinct texts of 1,000 characters, all silent
        cache.synthesize(f"{n:04d}" + "." * 996, None)
    stats = cache.stats()
    assert stats.entries == 100 and stats.evictions == 900
