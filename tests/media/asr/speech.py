"""Test-only speech: espeak-ng through a telephone channel.

Speech comes from the product's handle on the espeak-ng library (percl.media.tts.espeak), at a
chosen speed and voice. `telephone_speech(text)` is what a caller's voice looks like once it has
crossed a phone network: 8 kHz, the 300-3,400 Hz voice band, a G.711 mu-law round trip.
"""

from __future__ import annotations

import espeakng_loader
import numpy as np
import soxr
from numpy.typing import NDArray

from percl.media.tts.espeak import LibraryRenderer

Pcm = NDArray[np.int16]


def speak(text: str, *, voice: str = "en-us", words_per_minute: int = 150) -> Pcm:
    """`text` spoken by espeak-ng, resampled to 8 kHz (no channel effects). Through the product's
    handle on the library: a second ctypes handle would replace its synthesis callback."""
    renderer = LibraryRenderer.load(espeakng_loader.get_library_path(), espeakng_loader.get_data_path())
    pcm, rate = renderer.render(text, voice, words_per_minute)
    return np.asarray(soxr.resample(pcm, rate, 8000), dtype=np.int16)


def band_pass(pcm: Pcm, low_hz: float = 300.0, high_hz: float = 3400.0, rate: int = 8000) -> Pcm:
    """The telephone voice band: zero the FFT bins outside low_hz..high_hz."""
    spectrum = np.fft.rfft(pcm.astype(np.float64))
    freqs = np.fft.rfftfreq(len(pcm), 1.0 / rate)
    spectrum[(freqs < low_hz) | (freqs > high_hz)] = 0
    out = np.fft.irfft(spectrum, n=len(pcm))
    return np.clip(np.round(out), -32768, 32767).astype(np.int16)


_MU = 255.0


def mulaw_round_trip(pcm: Pcm) -> Pcm:
    """A G.711-like mu-law round trip: compand to 8 bits and back (the continuous mu-law curve)."""
    x = pcm.astype(np.float64) / 32768.0
    y = np.sign(x) * np.log1p(_MU * np.abs(x)) / np.log1p(_MU)
    code = np.round(y * 127.0)  # 8 bits: a sign and 7 bits of magnitude
    back = np.sign(code) * np.expm1(np.abs(code / 127.0) * np.log1p(_MU)) / _MU
    return np.clip(np.round(back * 32768.0), -32768, 32767).astype(np.int16)


def telephone_speech(text: str, *, words_per_minute: int = 150, voice: str = "en-us") -> Pcm:
    """`text` as a caller's voice reaches percl: espeak at 8 kHz, band-passed, mu-law round trip."""
    return mulaw_round_trip(band_pass(speak(text, voice=voice, words_per_minute=words_per_minute)))


def white_noise(ms: int, sigma: float, seed: int) -> Pcm:
    """Gaussian noise at 8 kHz with standard deviation `sigma` (int16 units)."""
    rng = np.random.default_rng(seed)
    return np.clip(rng.normal(0.0, sigma, ms * 8), -32768, 32767).astype(np.int16)
