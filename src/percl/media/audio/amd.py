"""Answering-machine detection on 20 ms frames: Asterisk app_amd's energy and cadence heuristic.

Why a heuristic: no offline AMD model exists to install, and app_amd's rules have worked on
telephone lines for twenty years. A person answers with a short greeting ("Hello?") and waits; a
machine talks at length ("Hi, you've reached...") and ends with a beep. Frames are voice or
silence by average absolute amplitude (app_amd's silence_threshold); words are runs of voice of at
least min_word_ms separated by at least between_words_silence_ms of silence. The rules, in app_amd's
order and with its defaults:
- silence for initial_silence_ms before any word: NOTSURE (app_amd says MACHINE; a silent line is
  more often a person who has not spoken yet or a dead line than a machine, and FreeClimb's
  callers may hang up or retry on "not sure");
- a greeting longer than greeting_ms of voice, max_words words, or one word longer than
  max_word_ms: MACHINE;
- after_greeting_silence_ms of silence once a greeting has begun: HUMAN;
- nothing decided by total_analysis_ms: NOTSURE.

BeepDetector finds the record tone that follows a machine's greeting: a run of frames whose
spectrum is one narrow peak between 400 and 2,000 Hz at a steady frequency. Speech (energy spread
over harmonics) and DTMF (two peaks, short) do not qualify.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from numpy.typing import NDArray

from percl.media.audio.pcm import FRAME_MS, SAMPLE_RATE, Pcm


class AmdResult(StrEnum):
    HUMAN = "HUMAN"
    MACHINE = "MACHINE"
    NOTSURE = "NOTSURE"


@dataclass(frozen=True, slots=True)
class AmdVerdict:
    """What answered, why (app_amd's cause string, e.g. "MAXWORDS-3-3"), and after how much audio."""

    result: AmdResult
    reason: str
    at_ms: int


@dataclass(frozen=True, slots=True)
class AmdConfig:
    """app_amd's settings and defaults (amd.conf); silence_threshold is mean |sample| in int16 units."""

    initial_silence_ms: int = 2500
    greeting_ms: int = 1500
    after_greeting_silence_ms: int = 800
    total_analysis_ms: int = 5000
    min_word_ms: int = 100
    between_words_silence_ms: int = 50
    max_words: int = 3
    silence_threshold: int = 256
    max_word_ms: int = 5000


class MachineDetector:
    """Feed 20 ms frames from the moment the call is answered; one verdict, then None."""

    def __init__(self, config: AmdConfig | None = None) -> None:
        self.config = config or AmdConfig()
        self._elapsed = 0
        self._silence = 0  # consecutive silence, ms
        self._voice_run = 0  # consecutive voice, ms
        self._voice_total = 0
        self._words = 0
        self._in_word = False
        self._in_greeting = False
        self.verdict: AmdVerdict | None = None

    def feed(self, frame: Pcm) -> AmdVerdict | None:
        """Take the next frame; the verdict on the frame that decides it, None before and after."""
        if self.verdict is not None:
            return None
        self._elapsed += FRAME_MS
        silent = float(np.abs(frame.astype(np.int32)).mean()) < self.config.silence_threshold
        decided = self._on_silence() if silent else self._on_voice()
        if decided is None and self._elapsed >= self.config.total_analysis_ms:
            decided = (AmdResult.NOTSURE, f"TOOLONG-{self._elapsed}")
        if decided is None:
            return None
        self.verdict = AmdVerdict(decided[0], decided[1], self._elapsed)
        return self.verdict

    def _on_silence(self) -> tuple[AmdResult, str] | None:
        cfg = self.config
        self._silence += FRAME_MS
        if self._silence >= cfg.between_words_silence_ms:
            self._in_word, self._voice_run = False, 0
        if not self._in_greeting and self._words == 0 and self._silence >= cfg.initial_silence_ms:
            return AmdResult.NOTSURE, f"INITIALSILENCE-{self._silence}-{cfg.initial_silence_ms}"
        if self._in_greeting and self._silence >= cfg.after_greeting_silence_ms:
            return AmdResult.HUMAN, f"HUMAN-{self._silence}-{cfg.after_greeting_silence_ms}"
        return None

    def _on_voice(self) -> tuple[AmdResult, str] | None:
        cfg = self.config
        self._voice_run += FRAME_MS
        self._voice_total += FRAME_MS
        self._silence = 0
        if self._voice_run >= cfg.min_word_ms and not self._in_word:
            self._words += 1
            self._in_word = True
            self._in_greeting = True
        if self._voice_run >= cfg.max_word_ms:
            return AmdResult.MACHINE, f"MAXWORDLENGTH-{self._voice_run}"
        if self._words >= cfg.max_words:
            return AmdResult.MACHINE, f"MAXWORDS-{self._words}-{cfg.max_words}"
        if self._in_greeting and self._voice_total >= cfg.greeting_ms:
            return AmdResult.MACHINE, f"LONGGREETING-{self._voice_total}-{cfg.greeting_ms}"
        return None


class BeepDetector:
    """Feed 20 ms frames; True on the frame where a steady tone of >= min_ms has just ended.

    A frame is tonal when it is >= min_level_dbfs and >= `min_share` (80%) of its energy lies
    within 125 Hz of its spectral peak, the peak is between low_hz and high_hz, and the peak stays
    within `max_drift_hz` (40 Hz) of where the run began.
    """

    _NFFT = 256

    def __init__(self, *, min_ms: int = 200, low_hz: float = 400.0, high_hz: float = 2000.0,
                 min_level_dbfs: float = -40.0, min_share: float = 0.8,
                 max_drift_hz: float = 40.0) -> None:
        self._min_frames = -(-min_ms // FRAME_MS)
        self._low, self._high = low_hz, high_hz
        self._min_power = (32768.0 * 10.0 ** (min_level_dbfs / 20.0)) ** 2
        self._min_share = min_share
        self._drift = max_drift_hz
        self._run = 0
        self._run_hz = 0.0
        self._window: NDArray[np.float64] | None = None

    def feed(self, frame: Pcm) -> bool:
        """Take the next frame; True once, on the first frame after a long enough tone."""
        hz = self._tone_hz(frame)
        if hz is not None and self._run and abs(hz - self._run_hz) <= self._drift:
            self._run += 1
            return False
        ended = self._run >= self._min_frames
        self._run, self._run_hz = (1, hz) if hz is not None else (0, 0.0)
        return ended

    def reset(self) -> None:
        self._run, self._run_hz = 0, 0.0

    def _tone_hz(self, frame: Pcm) -> float | None:
        """The frequency of the frame's single tone, or None when it is not one tone."""
        x = frame.astype(np.float64)
        if float(np.dot(x, x)) / max(len(x), 1) < self._min_power:
            return None
        if self._window is None or len(self._window) != len(x):
            self._window = np.hanning(len(x))
        spectrum = np.abs(np.fft.rfft(x * self._window, self._NFFT)) ** 2
        peak = int(spectrum.argmax())
        hz = peak * SAMPLE_RATE / self._NFFT
        near = spectrum[max(peak - 4, 0): peak + 5].sum()
        if not self._low <= hz <= self._high or near < self._min_share * spectrum.sum():
            return None
        return hz
