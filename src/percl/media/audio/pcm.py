"""The one audio representation inside percl: 8 kHz, 16-bit, mono PCM as a numpy int16 array.

Everything that makes or consumes sound (codecs, files, tones, TTS, mixers, detectors) speaks this
type, so no module needs to know where a sound came from. A frame is 20 ms (160 samples): the
packet time of G.711 over RTP and the tick of the media clock.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import numpy as np
import numpy.typing as npt

Pcm = npt.NDArray[np.int16]

SAMPLE_RATE = 8000
FRAME_MS = 20
FRAME_SAMPLES = SAMPLE_RATE * FRAME_MS // 1000  # 160
FULL_SCALE = 32768.0

SILENT_FRAME: Pcm = np.zeros(FRAME_SAMPLES, dtype=np.int16)
"""One shared, read-only frame of digital silence. A source that decodes a silent packet hands out
this very object, so the audio plane can tell it from sound by identity (`frame is SILENT_FRAME`)
and treat it as silence (`None`) without looking at its samples."""
SILENT_FRAME.setflags(write=False)


def samples_for_ms(ms: float) -> int:
    """The number of 8 kHz samples in `ms` milliseconds (rounded to the nearest sample)."""
    if ms < 0:
        raise ValueError(f"a duration cannot be negative, got {ms} ms")
    return round(ms * SAMPLE_RATE / 1000)


def silence(ms: float) -> Pcm:
    """`ms` milliseconds of digital silence."""
    return np.zeros(samples_for_ms(ms), dtype=np.int16)


def frames(pcm: Pcm) -> Iterator[Pcm]:
    """The 20 ms frames of `pcm` in order, each exactly 160 samples; the last is zero-padded.

    Frames are copies: a consumer may keep or change one without touching `pcm`.
    """
    for start in range(0, len(pcm), FRAME_SAMPLES):
        frame = np.zeros(FRAME_SAMPLES, dtype=np.int16)
        chunk = pcm[start : start + FRAME_SAMPLES]
        frame[: len(chunk)] = chunk
        yield frame


def duration_ms(pcm: Pcm) -> int:
    """How long `pcm` lasts, in whole milliseconds (rounded down)."""
    return len(pcm) * 1000 // SAMPLE_RATE


def concat(parts: Sequence[Pcm]) -> Pcm:
    """`parts` one after the other (an empty sequence gives an empty array)."""
    if not parts:
        return np.zeros(0, dtype=np.int16)
    return np.concatenate([np.asarray(p, dtype=np.int16) for p in parts])


def rms_dbfs(pcm: Pcm) -> float:
    """The RMS level in dB relative to full scale (32,768): -inf for silence or no samples.

    A full-scale square wave is 0 dBFS and a full-scale sine about -3.01 dBFS; tones.py takes its
    levels on this same scale, so `rms_dbfs(sine(1000, 100, -20))` is about -20.
    """
    if len(pcm) == 0:
        return -math.inf
    power = float(np.mean(np.square(pcm, dtype=np.float64)))
    if power == 0.0:
        return -math.inf
    return 10.0 * math.log10(power / (FULL_SCALE * FULL_SCALE))


def to_int16(samples: npt.NDArray[np.floating]) -> Pcm:
    """Float samples in -1..1 to int16, rounded and clipped (values beyond full scale clip)."""
    scaled = np.rint(np.asarray(samples, dtype=np.float64) * FULL_SCALE)
    return np.clip(scaled, -32768, 32767).astype(np.int16)
