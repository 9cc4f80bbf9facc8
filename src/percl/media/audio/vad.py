"""Voice activity on 20 ms frames: frame energy against an adaptive noise floor.

Why a percentile floor: the floor must follow the line's noise up and down without ever taking a
talker for noise. A low percentile (the 10th by default) of the last few seconds of frame energies
does that: speech has gaps between syllables and words, so its quiet frames keep the percentile at
the noise, while steady noise fills the window and becomes the floor within a fraction of it. The
window is kept sorted (bisect), so a frame costs one insertion and one removal.

A frame is voice when it is `threshold_db` above the floor and above `min_level_dbfs`. STARTED is
reported once `start_ms` of consecutive voice frames have been seen, ENDED once `end_silence_ms`
of consecutive non-voice frames follow.
"""

from __future__ import annotations

import bisect
from collections import deque
from enum import StrEnum

import numpy as np

from percl.media.audio.pcm import FRAME_MS, Pcm

_FLOOR_DB = -100.0  # digital silence, so that log(0) never enters the arithmetic


class VadEvent(StrEnum):
    STARTED = "started"
    ENDED = "ended"


def frame_dbfs(frame: Pcm) -> float:
    """RMS level of a frame in dBFS (0 = a full-scale square wave), at least -100."""
    x = frame.astype(np.float64)
    power = float(np.dot(x, x)) / max(len(x), 1)
    if power <= 0.0:
        return _FLOOR_DB
    return max(_FLOOR_DB, 10.0 * float(np.log10(power / 32768.0**2)))


class VoiceActivity:
    """Feed 20 ms frames in order; `feed` returns STARTED or ENDED on the frame that decides it.

    Defaults: voice is >= 10 dB above the floor and >= -50 dBFS; STARTED after 100 ms of voice,
    ENDED after 700 ms of silence; the floor is the 10th percentile of the last 3 s.
    """

    def __init__(self, *, threshold_db: float = 10.0, min_level_dbfs: float = -50.0,
                 start_ms: int = 100, end_silence_ms: int = 700, floor_window_ms: int = 3000,
                 floor_percentile: float = 10.0) -> None:
        if start_ms < FRAME_MS or end_silence_ms < FRAME_MS or floor_window_ms < FRAME_MS:
            raise ValueError("start_ms, end_silence_ms and floor_window_ms must be >= 20")
        if not 0.0 <= floor_percentile < 100.0:
            raise ValueError("floor_percentile must be in 0..100")
        self._threshold_db = threshold_db
        self._min_level = min_level_dbfs
        self._start_frames = -(-start_ms // FRAME_MS)
        self._end_frames = -(-end_silence_ms // FRAME_MS)
        self._window = floor_window_ms // FRAME_MS
        self._percentile = floor_percentile / 100.0
        self._history: deque[float] = deque()
        self._sorted: list[float] = []
        self._voice_run = 0
        self._silence_run = 0
        self.speaking = False

    @property
    def noise_floor_dbfs(self) -> float:
        """The current floor (-100 before the first frame)."""
        if not self._sorted:
            return _FLOOR_DB
        return self._sorted[int(self._percentile * (len(self._sorted) - 1))]

    def feed(self, frame: Pcm) -> VadEvent | None:
        """Take the next frame; the event it completes, if any."""
        level = frame_dbfs(frame)
        self._remember(level)
        voice = level >= max(self.noise_floor_dbfs + self._threshold_db, self._min_level)
        if voice:
            self._voice_run, self._silence_run = self._voice_run + 1, 0
        else:
            self._voice_run, self._silence_run = 0, self._silence_run + 1
        if not self.speaking and self._voice_run >= self._start_frames:
            self.speaking = True
            return VadEvent.STARTED
        if self.speaking and self._silence_run >= self._end_frames:
            self.speaking = False
            return VadEvent.ENDED
        return None

    def _remember(self, level: float) -> None:
        self._history.append(level)
        bisect.insort(self._sorted, level)
        if len(self._history) > self._window:
            old = self._history.popleft()
            del self._sorted[bisect.bisect_left(self._sorted, old)]
