"""The audio building blocks the simulated network's audio fidelity uses, in one place.

Everything but `tones_in` comes from percl.media.audio (the media plane's pure pieces: PCM
helpers, tones, mixing, detectors); the rest of this package imports them from here only.

`tones_in` is this package's own: "is a DTMF tone sounding in this 20 ms frame?" for every leg's
frame of a tick in one matrix product. The mixer uses it to hold a leg's keys out of a conference
when its path says dtmf_pass False, and the ear to keep key presses away from voice activity.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from percl.media.audio.amd import AmdConfig, AmdResult, AmdVerdict, BeepDetector, MachineDetector
from percl.media.audio.dtmf_detect import DtmfDetector
from percl.media.audio.mix import mix_minus
from percl.media.audio.pcm import (
    FRAME_MS,
    FRAME_SAMPLES,
    SAMPLE_RATE,
    SILENT_FRAME,
    Pcm,
    concat,
    duration_ms,
    rms_dbfs,
    silence,
)
from percl.media.audio.tones import beep, dtmf, dtmf_digits, machine_beep, sine
from percl.media.audio.vad import VadEvent, VoiceActivity

__all__ = [
    "FRAME_MS", "FRAME_SAMPLES", "SAMPLE_RATE", "SILENT_FRAME", "AmdConfig", "AmdResult",
    "AmdVerdict", "BeepDetector", "DtmfDetector", "MachineDetector", "Pcm", "VadEvent",
    "VoiceActivity", "beep",
    "concat", "dtmf", "dtmf_digits", "duration_ms", "machine_beep", "mix_minus", "rms_dbfs",
    "silence", "sine", "tones_in",
]

_LOW = (697.0, 770.0, 852.0, 941.0)
_HIGH = (1209.0, 1336.0, 1477.0, 1633.0)
_T = np.arange(FRAME_SAMPLES) / SAMPLE_RATE
_HZ = np.array(_LOW + _HIGH)
_BASIS = np.concatenate([np.cos(2 * np.pi * _HZ[:, None] * _T),
                         np.sin(2 * np.pi * _HZ[:, None] * _T)]).astype(np.float32)
_BASIS_T = np.ascontiguousarray(_BASIS.T)
_SLICE = 32
_QUIET = FRAME_SAMPLES * 100.0**2  # a frame quieter than about -50 dBFS holds no tone


def tones_in(frames: npt.NDArray[np.int16]) -> npt.NDArray[np.bool_]:
    """For each row (a 20 ms frame) of `frames` (n, 160): does a DTMF tone clearly sound in it,
    i.e. do one low and one high DTMF frequency carry more than 60% of its energy?"""
    x = frames.astype(np.float32)
    total = np.einsum("ij,ij->i", x, x)
    # In slices of 32 frames: a larger product wakes OpenBLAS's thread pool, whose hand-off
    # cost milliseconds a tick (and a second core) under the media clock (docs/BENCHMARKS.md).
    proj = np.concatenate([x[i:i + _SLICE] @ _BASIS_T for i in range(0, len(x), _SLICE)])
    power = proj[:, :8] ** 2 + proj[:, 8:] ** 2  # per frequency, ~ (amplitude * N / 2)^2
    best = power[:, :4].max(axis=1) + power[:, 4:].max(axis=1)
    present: npt.NDArray[np.bool_] = (total >= _QUIET) & (best * 2 / FRAME_SAMPLES > 0.6 * total)
    return present
