"""An AudioKit test double for the simulated network's audio fidelity: its "voice" is seeded
tones, its files are what the test gives it, and its "recogniser" knows what it said.

Used by tests/telephony/sim/audio, where the network's own behaviour is under test, not the
engines' (the golden tests there use the real ones).
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from percl.engine.ports import SpeechGrammar
from percl.telephony.sim.audio.kit import AudioUnavailable

Pcm = npt.NDArray[np.int16]
RATE = 8000
WORD_MS = 350
GAP_MS = 50
TAIL_MS = 300


def word_sound(word: str) -> Pcm:
    """A word as a 350 ms voiced sound: three harmonics of a fundamental (150-250 Hz) seeded by
    the word, under a smooth envelope, about -18 dBFS."""
    f0 = 150 + zlib.crc32(word.lower().encode()) % 100
    t = np.arange(WORD_MS * RATE // 1000) / RATE
    wave = sum(np.sin(2 * np.pi * f0 * k * t + k) for k in (1, 2, 3)) / 3
    envelope = np.hanning(len(t)) ** 0.3
    return (wave * envelope * 8000).astype(np.int16)


def speak(text: str) -> Pcm:
    """`text` said as the symbolic network times it: 400 ms a word (150 words a minute, here
    350 ms of sound and 50 ms of pause) and 300 ms more (silence) an utterance."""
    parts: list[Pcm] = []
    for word in text.split():
        parts += [word_sound(word), np.zeros(GAP_MS * RATE // 1000, dtype=np.int16)]
    parts.append(np.zeros(TAIL_MS * RATE // 1000, dtype=np.int16))
    return np.concatenate(parts)


@dataclass
class FakeKit:
    """An AudioKit double. `speech` renders seeded tones; `transcribe` answers with the said text
    whose audio correlates best with the utterance (nothing below 0.5)."""

    files: dict[str, Pcm] = field(default_factory=dict)
    default_file: Pcm | None = None  # what any other URL plays (None: AudioUnavailable)
    said: dict[str, Pcm] = field(default_factory=dict)
    speech_calls: list[tuple[str, str | None]] = field(default_factory=list)
    transcribed: list[Sequence[str] | None] = field(default_factory=list)

    def speech(self, text: str, language: str | None) -> Pcm:
        self.speech_calls.append((text, language))
        pcm = self.said[text] = speak(text)
        return pcm

    async def file(self, url: str) -> Pcm:
        if url in self.files:
            return self.files[url]
        if self.default_file is not None:
            return self.default_file
        raise AudioUnavailable("GET answered 404")

    def transcribe(self, pcm: Pcm, grammar: SpeechGrammar | None) -> tuple[str, int]:
        self.transcribed.append(None if grammar is None else grammar.phrases())
        best, score = "", 0.0
        for text, said in self.said.items():
            if len(said) <= len(pcm):
                found = _best_match(pcm, said)
                if found > score:
                    best, score = text, found
        return (best, 90) if score >= 0.5 else ("", 0)




def _best_match(haystack: Pcm, needle: Pcm) -> float:
    """The best normalised correlation of `needle` anywhere in `haystack` (1.0: identical)."""
    h = haystack.astype(np.float64)
    n = needle.astype(np.float64)
    size = 1 << (len(h) + len(n)).bit_length()
    corr = np.fft.irfft(np.fft.rfft(h, size) * np.conj(np.fft.rfft(n, size)), size)[: len(h) - len(n) + 1]
    energy = np.convolve(h * h, np.ones(len(n)), "valid")
    return float(np.max(corr / np.sqrt(np.maximum(energy, 1e-9) * float(n @ n))))

