"""Synthetic signals made with numpy alone, for the media tests and benchmarks (not the product).

The detectors' tests and bench/media_detect.py build their audio here rather than with the product's
tone generators, so a detector is never checked against the code it would share a bug with. At
8 kHz as float64 in int16 units (`to_pcm` rounds and clips), except `tone`, a float reference in
-1..1 at any rate (what the file decoders' tests encode). "Speech" here is synthetic: syllable-like
bursts of a harmonic tone (a glottal pitch with its harmonics shaped by two formants and a wandering
pitch) or of band-limited noise, each with a raised-cosine energy envelope. Deterministic: every
random choice takes a seeded numpy Generator.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

RATE = 8000
Pcm = NDArray[np.int16]
ROWS = (697.0, 770.0, 852.0, 941.0)
COLS = (1209.0, 1336.0, 1477.0, 1633.0)
KEYS = ("123A", "456B", "789C", "*0#D")


def samples(ms: float) -> int:
    return round(ms * RATE / 1000)


def to_pcm(x: NDArray[np.float64]) -> Pcm:
    return np.clip(np.round(x), -32768, 32767).astype(np.int16)


def rms_amplitude(level_dbfs: float) -> float:
    """Peak amplitude of a sine whose RMS is level_dbfs (0 dBFS RMS = 32768)."""
    return 32768.0 * 10.0 ** (level_dbfs / 20.0) * np.sqrt(2.0)


def silence(ms: float) -> NDArray[np.float64]:
    return np.zeros(samples(ms))


def tone(hz: float, seconds: float, rate: int = RATE, amplitude: float = 0.5,
         phase: float = 0.0) -> NDArray[np.float64]:
    """A float sine in -1..1 with no ramps (at `rate`): the reference signal files are built from."""
    t = np.arange(round(seconds * rate)) / rate
    return amplitude * np.sin(2 * np.pi * hz * t + phase)


def sine(hz: float, ms: float, level_dbfs: float = -10.0, phase: float = 0.0) -> NDArray[np.float64]:
    """A sine at 8 kHz in int16 units whose RMS is level_dbfs."""
    return tone(hz, ms / 1000, RATE, rms_amplitude(level_dbfs), phase)


def dtmf(key: str, ms: float = 100, level_dbfs: float = -13.0) -> NDArray[np.float64]:
    """The key's row and column tones, each at level_dbfs RMS."""
    for r, row in enumerate(KEYS):
        if key in row:
            return sine(ROWS[r], ms, level_dbfs) + sine(COLS[row.index(key)], ms, level_dbfs)
    raise ValueError(key)


def noise(n: int, sigma: float, rng: np.random.Generator) -> NDArray[np.float64]:
    return rng.normal(0.0, sigma, n) if sigma > 0 else np.zeros(n)


def envelope(n: int, ramp_ms: float = 30.0) -> NDArray[np.float64]:
    """1 in the middle, raised-cosine ramps at both ends."""
    env = np.ones(n)
    r = min(samples(ramp_ms), n // 2)
    if r:
        ramp = 0.5 - 0.5 * np.cos(np.pi * np.arange(r) / r)
        env[:r], env[n - r:] = ramp, ramp[::-1]
    return env


def syllable(ms: float, rng: np.random.Generator, level_dbfs: float = -18.0) -> NDArray[np.float64]:
    """A voiced syllable: harmonics of a gliding pitch, shaped by two formants, enveloped."""
    n = samples(ms)
    t = np.arange(n) / RATE
    f0 = rng.uniform(100, 230) * (1 + rng.uniform(-0.15, 0.15) * t / max(t[-1], 1e-3))
    phase = 2 * np.pi * np.cumsum(f0) / RATE
    f1, f2 = rng.uniform(300, 900), rng.uniform(900, 2500)
    x = np.zeros(n)
    for h in range(1, 30):
        fh = f0.mean() * h
        if fh > 3600:
            break
        gain = 1 / (1 + ((fh - f1) / 150) ** 2) + 0.6 / (1 + ((fh - f2) / 250) ** 2) + 0.05
        x += gain * np.sin(h * phase)
    x *= envelope(n)
    return x * rms_amplitude(level_dbfs) / np.sqrt(2) / max(np.sqrt(np.mean(x**2)), 1e-9)


def fricative(ms: float, rng: np.random.Generator, level_dbfs: float = -24.0) -> NDArray[np.float64]:
    """An unvoiced syllable: noise band-limited to 2-3.5 kHz, enveloped."""
    n = samples(ms)
    spec = np.fft.rfft(rng.normal(size=n))
    f = np.fft.rfftfreq(n, 1 / RATE)
    spec[(f < 2000) | (f > 3500)] = 0
    x = np.fft.irfft(spec, n) * envelope(n)
    return x * rms_amplitude(level_dbfs) / np.sqrt(2) / max(np.sqrt(np.mean(x**2)), 1e-9)


def word(rng: np.random.Generator, syllables: int, level_dbfs: float = -18.0) -> NDArray[np.float64]:
    """Syllables joined with short dips (< 40 ms), now and then a fricative."""
    parts: list[NDArray[np.float64]] = []
    for i in range(syllables):
        if i:
            parts.append(silence(rng.uniform(0, 30)))
        if rng.random() < 0.2:
            parts.append(fricative(rng.uniform(60, 120), rng, level_dbfs - 6))
        parts.append(syllable(rng.uniform(120, 260), rng, level_dbfs))
    return np.concatenate(parts)


def talk(ms: float, rng: np.random.Generator, level_dbfs: float = -18.0) -> NDArray[np.float64]:
    """Continuous talk of about `ms`: words with 60-250 ms pauses between them."""
    parts: list[NDArray[np.float64]] = []
    total = 0
    while total < samples(ms):
        w = word(rng, int(rng.integers(1, 4)), level_dbfs)
        gap = silence(rng.uniform(60, 250))
        parts += [w, gap]
        total += len(w) + len(gap)
    return np.concatenate(parts)


def human(rng: np.random.Generator, *, lead_ms: float, sigma: float = 0.0,
          words: int = 1, tail_ms: float = 4000) -> Pcm:
    """A person answering: silence, "Hello?" (or "Yes, hello?") of ~0.4-1 s, then silence."""
    parts = [silence(lead_ms)]
    for i in range(words):
        if i:
            parts.append(silence(rng.uniform(150, 300)))
        parts.append(word(rng, int(rng.integers(2, 4)), rng.uniform(-24, -12)))
    parts.append(silence(tail_ms))
    x = np.concatenate(parts)
    return to_pcm(x + noise(len(x), sigma, rng))


def beep_tone(ms: float = 500, hz: float = 1000, level_dbfs: float = -12.0) -> NDArray[np.float64]:
    return sine(hz, ms, level_dbfs) * envelope(samples(ms), 5)


def machine(rng: np.random.Generator, *, lead_ms: float, talk_ms: float, sigma: float = 0.0,
            beep_hz: float = 1000, tail_ms: float = 1000) -> Pcm:
    """An answering machine: short silence, a long greeting, a pause, the record beep, silence."""
    x = np.concatenate([silence(lead_ms), talk(talk_ms, rng, rng.uniform(-22, -12)),
                        silence(rng.uniform(200, 600)), beep_tone(hz=beep_hz), silence(tail_ms)])
    return to_pcm(x + noise(len(x), sigma, rng))


def frames(pcm: Pcm) -> list[Pcm]:
    """160-sample frames, the last zero-padded."""
    n = -(-len(pcm) // 160) * 160
    padded = np.zeros(n, dtype=np.int16)
    padded[: len(pcm)] = pcm
    return list(padded.reshape(-1, 160))
