"""Helpers for the text-to-speech tests: measures of audio that do not depend on exact samples."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from percl.media.tts import SAMPLE_RATE, Pcm

ROOT = Path(__file__).resolve().parents[3]
ENSURE_ESPEAK = ROOT / "tests" / "setup" / "ensure_espeak.sh"


def seconds(pcm: Pcm) -> float:
    return len(pcm) / SAMPLE_RATE


def band_share(pcm: Pcm, low_hz: float = 300.0, high_hz: float = 3400.0) -> float:
    """The share of the signal's energy between low_hz and high_hz (the telephone band)."""
    spectrum = np.abs(np.fft.rfft(pcm.astype(np.float64))) ** 2
    freqs = np.fft.rfftfreq(len(pcm), 1 / SAMPLE_RATE)
    return float(spectrum[(freqs >= low_hz) & (freqs <= high_hz)].sum() / spectrum.sum())


def edges_ms(pcm: Pcm, threshold: int = 64) -> tuple[float, float]:
    """Milliseconds of near-silence before the first and after the last sound."""
    loud = np.flatnonzero(np.abs(pcm.astype(np.int32)) >= threshold)
    return loud[0] * 1000 / SAMPLE_RATE, (len(pcm) - 1 - loud[-1]) * 1000 / SAMPLE_RATE


def espeak_program() -> str:
    """The path of Debian's espeak-ng program, installed the way `make test` does when it is missing.
    Skips only when it is absent and apt-get cannot be used to install it."""
    found = shutil.which("espeak-ng")
    if found:
        return found
    apt_usable = shutil.which("apt-get") is not None and os.geteuid() == 0
    if not apt_usable:
        pytest.skip("the espeak-ng program is not installed and apt-get cannot be used to install it")
    done = subprocess.run(["sh", str(ENSURE_ESPEAK)], capture_output=True, text=True, timeout=600,
                          check=False)
    found = shutil.which("espeak-ng")
    if not found:
        pytest.fail(f"tests/setup/ensure_espeak.sh could not install espeak-ng: {done.stdout.strip()}")
    return found


def envelope(pcm: Pcm, frame_ms: int = 10) -> np.ndarray:
    """Loudness in dB per frame: what a listener follows, indifferent to waveform phase."""
    size = SAMPLE_RATE * frame_ms // 1000
    frames = pcm[: len(pcm) // size * size].astype(np.float64).reshape(-1, size)
    return 10 * np.log10((frames**2).mean(axis=1) + 1.0)


def envelope_similarity(a: Pcm, b: Pcm) -> float:
    """Correlation of two renders' loudness envelopes over their common length (1.0: same shape).
    espeak-ng's waveform varies a little from render to render (its pitch flutter runs on between
    texts), so "the same speech" is judged by envelope, not by samples."""
    x, y = envelope(a), envelope(b)
    n = min(len(x), len(y))
    return float(np.corrcoef(x[:n], y[:n])[0, 1])
