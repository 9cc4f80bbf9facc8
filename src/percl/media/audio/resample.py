"""Sample-rate conversion to and from percl's 8 kHz with soxr (the SoX resampler, "HQ" quality).

soxr's HQ filter is a linear-phase low-pass at about 0.91 of the lower Nyquist frequency, so
downsampling a 44.1 kHz file to 8 kHz keeps 0-3.6 kHz (the whole telephone band) and removes
what would alias. Float input is taken as -1..1 and clipped to int16 after conversion.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import soxr

from percl.media.audio.pcm import Pcm, to_int16

QUALITY = "HQ"


def resample(samples: npt.NDArray[np.int16] | npt.NDArray[np.floating], from_rate: int,
             to_rate: int) -> Pcm:
    """Mono `samples` at `from_rate` Hz as int16 PCM at `to_rate` Hz.

    `samples` are int16, or float32/float64 in -1..1. Raises ValueError for a rate that is not
    positive, for more than one dimension, or for another sample type.
    """
    if from_rate <= 0 or to_rate <= 0:
        raise ValueError(f"sample rates must be positive, got {from_rate} -> {to_rate} Hz")
    array = np.asarray(samples)
    if array.ndim != 1:
        raise ValueError(f"resample takes mono samples (one dimension), got shape {array.shape}")
    if array.dtype == np.int16:
        if from_rate == to_rate:
            return array.copy()
        out: npt.NDArray[np.int16] = soxr.resample(array, from_rate, to_rate, quality=QUALITY)
        return out
    if array.dtype not in (np.float32, np.float64):
        raise ValueError(f"resample takes int16 or float samples, got {array.dtype}")
    if from_rate == to_rate:
        return to_int16(array)
    return to_int16(soxr.resample(array, from_rate, to_rate, quality=QUALITY))
