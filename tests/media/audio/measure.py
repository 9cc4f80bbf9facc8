"""Measurements of audio shared by the audio tests (the signals come from bench/signals.py)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


def dominant_hz(pcm: npt.NDArray[np.int16], rate: int = 8000) -> float:
    """The frequency of the strongest FFT bin (Hann window)."""
    x = pcm.astype(np.float64) * np.hanning(len(pcm))
    spectrum = np.abs(np.fft.rfft(x))
    return float(np.fft.rfftfreq(len(pcm), 1 / rate)[int(np.argmax(spectrum))])


def band_energy_share(pcm: npt.NDArray[np.int16], hz: float, width: float = 20.0,
                      rate: int = 8000) -> float:
    """The share of the signal's energy within `width` Hz of `hz`."""
    power = np.abs(np.fft.rfft(pcm.astype(np.float64) * np.hanning(len(pcm)))) ** 2
    freqs = np.fft.rfftfreq(len(pcm), 1 / rate)
    return float(power[np.abs(freqs - hz) <= width].sum() / power.sum())


def correlation(a: npt.NDArray[np.generic], b: npt.NDArray[np.generic]) -> float:
    """Normalised cross-correlation at lag 0 over the common length."""
    n = min(len(a), len(b))
    x, y = a[:n].astype(np.float64), b[:n].astype(np.float64)
    return float(np.dot(x, y) / (np.linalg.norm(x) * np.linalg.norm(y)))
