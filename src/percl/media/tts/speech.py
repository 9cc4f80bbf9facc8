"""What text-to-speech produces (Speech), the port that produces it, and how an engine's raw output
becomes telephone audio.

Engines render at their own rate (espeak-ng: 22,050 Hz) with their own idea of silence around the
words (10 ms at one end, 120 ms at the other). percl's audio is 8 kHz mono; the edges are evened out
to 50-100 ms so a Say starts promptly yet consecutive Says (or a `loop`) never run words together.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import soxr
from numpy.typing import NDArray

from percl.errors import PerclError
from percl.media.audio.pcm import Pcm as Pcm

SAMPLE_RATE = 8000

EDGE_MIN_MS = 50  # never fewer than this of silence before the first and after the last sound
EDGE_MAX_MS = 100  # never more: longer engine silence is cut back to this
#: A sample this loud or louder is sound (-54 dBFS): far below speech, far above the engine's dither.
SOUND_THRESHOLD = 64


class TtsError(PerclError):
    """The text-to-speech engine cannot speak: it did not load, or it failed on this text. The
    message says which engine and what to do."""


@dataclass(frozen=True, slots=True)
class Speech:
    """Rendered text: `pcm` (8 kHz mono), the engine `voice` used, the FreeClimb `language`
    honoured, and `fell_back` (True when the asked language had no voice and en-US was used)."""

    pcm: Pcm
    voice: str
    language: str
    fell_back: bool

    @property
    def duration_ms(self) -> int:
        return len(self.pcm) * 1000 // SAMPLE_RATE


class SpeechSynthesizer(Protocol):
    """Turns text into speech. Synchronous and thread-safe; may take milliseconds (call it from a
    worker thread in async code). Raises TtsError when the engine fails."""

    def synthesize(self, text: str, language: str | None) -> Speech: ...


def to_phone_audio(samples: NDArray[np.int16], rate: int) -> Pcm:
    """An engine's int16 output at `rate` as percl audio: 8 kHz, with 50-100 ms of silence at
    each end (an all-silent render becomes empty)."""
    pcm = samples if rate == SAMPLE_RATE else soxr.resample(samples, rate, SAMPLE_RATE)
    pcm = np.asarray(pcm, dtype=np.int16)
    loud = np.flatnonzero(np.abs(pcm.astype(np.int32)) >= SOUND_THRESHOLD)
    if len(loud) == 0:
        return np.zeros(0, dtype=np.int16)
    lo, hi = EDGE_MIN_MS * SAMPLE_RATE // 1000, EDGE_MAX_MS * SAMPLE_RATE // 1000
    first, last = int(loud[0]), int(loud[-1]) + 1
    start = max(0, first - hi)
    end = min(len(pcm), last + hi)
    lead = max(0, lo - (first - start))
    tail = max(0, lo - (end - last))
    return np.concatenate([np.zeros(lead, np.int16), pcm[start:end], np.zeros(tail, np.int16)])


class VoiceNotFound(TtsError):
    """The engine has no voice of this name (the synthesizer then speaks en-US)."""


class Renderer(Protocol):
    """One way of running espeak-ng: its shared library, or its program. `render` returns the
    engine's raw int16 mono samples and their rate; it raises VoiceNotFound or TtsError."""

    @property
    def name(self) -> str: ...

    def render(self, text: str, voice: str) -> tuple[NDArray[np.int16], int]: ...
