"""Say renders each (text, language) once: a byte-bounded LRU cache in front of a synthesizer.

IVR prompts repeat ("Press 1 for sales..." on every call, `loop` on one call), so a hit must cost
nothing: it returns the very Speech (and numpy array) stored, made read-only so no caller can
change what the next caller hears. An entry counts its text as well as its audio against the bound
(entry_bytes): text that speaks as silence ("...", control characters) has no audio, and without
its key counted a stream of such texts would grow the cache without end. Two threads missing the
same text at once both render it; the second result replaces the first, which is harmless (same
audio) and keeps the lock out of the engine's time.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

from percl.media.tts.speech import Speech, SpeechSynthesizer
from percl.media.tts.voices import canonical_language

DEFAULT_MAX_BYTES = 32 * 1024 * 1024  # ~35 minutes of 8 kHz speech
ENTRY_OVERHEAD = 256  # bytes counted for an entry's objects (key tuple, Speech, array header)


def entry_bytes(text: str, speech: Speech) -> int:
    """What one entry counts against max_bytes: its audio, its text (at most 4 bytes a
    character, as Python stores it) and ENTRY_OVERHEAD."""
    return speech.pcm.nbytes + 4 * len(text) + ENTRY_OVERHEAD


@dataclass(frozen=True, slots=True)
class CacheStats:
    hits: int
    misses: int
    evictions: int
    entries: int
    bytes: int


class CachedSynthesizer:
    """A SpeechSynthesizer that keeps `inner`'s results, least recently used first out once their
    entry_bytes pass `max_bytes`. A Speech larger than `max_bytes` is returned but not kept."""

    def __init__(self, inner: SpeechSynthesizer, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        if max_bytes < 0:
            raise ValueError(f"max_bytes must be >= 0, got {max_bytes}")
        self._inner = inner
        self._max_bytes = max_bytes
        self._lock = threading.Lock()
        self._entries: OrderedDict[tuple[str, str], tuple[Speech, int]] = OrderedDict()
        self._bytes = 0
        self._hits = self._misses = self._evictions = 0

    def synthesize(self, text: str, language: str | None) -> Speech:
        key = (text, canonical_language(language) or (language or "").lower())
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
                self._hits += 1
                return found[0]
            self._misses += 1
        speech = self._inner.synthesize(text, language)
        speech.pcm.flags.writeable = False
        self._keep(key, speech)
        return speech

    def stats(self) -> CacheStats:
        with self._lock:
            return CacheStats(self._hits, self._misses, self._evictions, len(self._entries), self._bytes)

    def _keep(self, key: tuple[str, str], speech: Speech) -> None:
        size = entry_bytes(key[0], speech)
        if size > self._max_bytes:
            return
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= old[1]
            self._entries[key] = (speech, size)
            self._bytes += size
            while self._bytes > self._max_bytes:
                _, (_, evicted) = self._entries.popitem(last=False)
                self._bytes -= evicted
                self._evictions += 1
