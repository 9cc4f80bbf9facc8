"""Speech for the recogniser's tests and bench/media_asr.py (not the product): espeak-ng through a
telephone channel, and seeded sets of spoken grammar items.

Speech comes from the product's handle on the espeak-ng library (percl.media.tts.espeak), at a
chosen speed and voice. `telephone_speech(text)` is what a caller's voice looks like once it has
crossed a phone network: 8 kHz, the 300-3,400 Hz voice band, a G.711 mu-law round trip (the
product's codec, percl.media.audio.g711).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

import espeakng_loader
import numpy as np
import soxr

from percl.media.audio.g711 import ulaw_decode, ulaw_encode
from percl.media.audio.pcm import Pcm
from percl.media.tts.espeak import LibraryRenderer

YES_NO = ("yes", "no")
DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
COMMANDS = (
    "check my balance", "pay my bill", "talk to an agent", "report an outage", "start service",
    "stop service", "change my address", "hear the menu again", "billing question", "technical support",
)  # fmt: skip
VOICES = ("en-us", "en-us+m3", "en-us+f2", "en-us+m5", "en-us+f4")


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


def telephone_speech(text: str, *, words_per_minute: int = 150, voice: str = "en-us") -> Pcm:
    """`text` as a caller's voice reaches percl: espeak at 8 kHz, band-passed, mu-law round trip."""
    return ulaw_decode(ulaw_encode(band_pass(speak(text, voice=voice, words_per_minute=words_per_minute))))


def white_noise(ms: int, sigma: float, seed: int) -> Pcm:
    """Gaussian noise at 8 kHz with standard deviation `sigma` (int16 units)."""
    rng = np.random.default_rng(seed)
    return np.clip(rng.normal(0.0, sigma, ms * 8), -32768, 32767).astype(np.int16)


@dataclass(frozen=True)
class Spoken:
    text: str
    voice: str
    words_per_minute: int
    pcm: Pcm


def spoken_set(items: Sequence[str], count: int, seed: int) -> list[Spoken]:
    """`count` utterances cycling through `items`, each with a seeded voice variant and speed."""
    rng = random.Random(seed)
    out = []
    for i in range(count):
        text = items[i % len(items)]
        voice, wpm = rng.choice(VOICES), rng.randrange(130, 191, 10)
        out.append(Spoken(text, voice, wpm, telephone_speech(text, words_per_minute=wpm, voice=voice)))
    return out
