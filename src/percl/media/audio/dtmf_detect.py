"""In-band DTMF detection on 20 ms frames: a DFT at the eight ITU frequencies over sliding blocks.

Why this shape: the classic Goertzel detector evaluates one block of 205 samples (8 kHz) at the
eight DTMF frequencies; 205 samples resolve the 73 Hz between neighbouring row tones. Frames of 160
samples do not line up with blocks, so samples are buffered and blocks start every HOP samples
(a quarter block), which gives at least two whole blocks inside a 40 ms tone wherever it falls.
All blocks of a frame are evaluated at once as one matrix product (no per-sample Python loop).

A block names a key only when every check passes (each rejects a different impostor):
- level: both tones are loud enough (silence, quiet noise);
- dominance: each tone stands out in its group of four (noise, broadband sound);
- twist: the two tones are within TWIST_DB of each other (a single sine, one loud harmonic);
- energy share: the two tones carry most of the block's energy (speech and music, whose energy
  is spread over many harmonics and formants).
A key is confirmed after CONFIRM_BLOCKS consecutive blocks agree and reported once; it is released
after RELEASE_BLOCKS blocks without it, so two presses with a 40 ms gap are two keys.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from percl.media.audio.pcm import SAMPLE_RATE, Pcm
from percl.media.audio.tones import DTMF_COLUMNS, DTMF_KEYPAD, DTMF_ROWS

BLOCK = 205
HOP = 51
ROWS = tuple(map(float, DTMF_ROWS))
COLS = tuple(map(float, DTMF_COLUMNS))
KEYS = DTMF_KEYPAD
CONFIRM_BLOCKS = 2
RELEASE_BLOCKS = 2


def _basis() -> NDArray[np.float64]:
    """cos and sin of the eight frequencies over one block: shape (BLOCK, 16)."""
    t = np.arange(BLOCK, dtype=np.float64) / SAMPLE_RATE
    freqs = np.array(ROWS + COLS)
    phase = 2.0 * np.pi * np.outer(t, freqs)
    return np.concatenate([np.cos(phase), np.sin(phase)], axis=1)


_BASIS = _basis()
_SPAN = np.arange(BLOCK)


class DtmfDetector:
    """Feed 20 ms frames in order; `feed` returns the keys confirmed in that frame ("" mostly).

    Defaults: each tone at least `min_level_dbfs` (-36 dBFS RMS), the weaker tone within
    `twist_db` (8 dB) of the stronger, each tone `dominance_db` (8 dB) above the others of its
    group, and the pair carrying `min_share` (80%) of the block's energy.
    """

    def __init__(self, *, min_level_dbfs: float = -36.0, twist_db: float = 8.0,
                 dominance_db: float = 8.0, min_share: float = 0.8) -> None:
        # A tone's energy per sample (A**2 / 2) at the minimum level, in int16 units squared.
        self._min_power = (32768.0 * 10.0 ** (min_level_dbfs / 20.0)) ** 2
        self._twist = 10.0 ** (twist_db / 10.0)
        self._dominance = 10.0 ** (dominance_db / 10.0)
        self._min_share = min_share
        self.reset()

    def reset(self) -> None:
        """Forget buffered samples and any key in progress (a new call or a new prompt)."""
        self._buf = np.zeros(0, dtype=np.float64)
        self._candidate = ""
        self._seen = 0
        self._current = ""
        self._missed = 0

    def feed(self, frame: Pcm) -> str:
        """Take the next frame (any length, normally 160 samples); return keys confirmed now."""
        buf = np.concatenate([self._buf, frame.astype(np.float64)])
        count = (len(buf) - BLOCK) // HOP + 1 if len(buf) >= BLOCK else 0
        if count == 0:
            self._buf = buf
            return ""
        # Fancy indexing: sliding_window_view costs more than the DFT for a handful of blocks.
        blocks = buf[np.arange(0, count * HOP, HOP)[:, None] + _SPAN]
        self._buf = buf[count * HOP:]
        return "".join(self._step(key) for key in self._classify(blocks))

    def _classify(self, blocks: NDArray[np.float64]) -> list[str]:
        """The key each block shows, or "" when a check fails."""
        proj = blocks @ _BASIS
        # Energy per sample of each tone (A**2 / 2 for a tone of amplitude A at that frequency).
        power = (proj[:, :8] ** 2 + proj[:, 8:] ** 2) * (2.0 / BLOCK**2)
        total = np.einsum("ij,ij->i", blocks, blocks) / BLOCK
        rows, cols = power[:, :4], power[:, 4:]
        row_p, col_p = rows.max(axis=1), cols.max(axis=1)
        ok = row_p + col_p >= self._min_share * total
        ok &= (row_p >= self._min_power) & (col_p >= self._min_power)
        if not ok.any():  # speech, noise and silence stop here: the cheap checks first
            return [""] * len(blocks)
        ok &= (row_p <= col_p * self._twist) & (col_p <= row_p * self._twist)
        ok &= _second(rows) * self._dominance <= row_p
        ok &= _second(cols) * self._dominance <= col_p
        r, c = rows.argmax(axis=1), cols.argmax(axis=1)
        return [KEYS[ri][ci] if good else "" for ri, ci, good in zip(r, c, ok, strict=True)]

    def _step(self, key: str) -> str:
        """Advance the press state machine by one block; the key when a press is confirmed."""
        if key and key == self._candidate:
            self._seen += 1
        else:
            self._candidate, self._seen = key, 1 if key else 0
        if key == self._current and key:
            self._missed = 0
            return ""
        if self._current:
            self._missed += 1
            if self._missed < RELEASE_BLOCKS and not (key and self._seen >= CONFIRM_BLOCKS):
                return ""
            self._current = ""
        if key and self._seen >= CONFIRM_BLOCKS:
            self._current, self._missed = key, 0
            return key
        return ""


def _second(group: NDArray[np.float64]) -> NDArray[np.float64]:
    """The second-largest value of each row of a (n, 4) array."""
    return np.partition(group, 2, axis=1)[:, 2]
