"""The audio building blocks the simulated network's audio fidelity uses, in one place.

INTERIM (issue 12, phase 1): percl.media.audio (codecs, tones, mixing, detectors) is being built
at the same time under the contract in the media brief. Until it lands, this module holds small
implementations with the contract's names and signatures, so the rest of this package imports
only from here; phase 2 replaces the bodies by re-exports of percl.media.audio.

`frame_key` is this package's own: a per-frame "is a DTMF tone sounding" test the mixer uses to
hold a leg's keys out of a conference when its path says dtmf_pass False.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt

Pcm = npt.NDArray[np.int16]

SAMPLE_RATE = 8000
FRAME_MS = 20
FRAME_SAMPLES = 160

_LOW = (697.0, 770.0, 852.0, 941.0)
_HIGH = (1209.0, 1336.0, 1477.0, 1633.0)
_KEYS = ("123A", "456B", "789C", "*0#D")


def silence(ms: int) -> Pcm:
    return np.zeros(max(0, ms) * SAMPLE_RATE // 1000, dtype=np.int16)


def duration_ms(pcm: Pcm) -> int:
    return len(pcm) * 1000 // SAMPLE_RATE


def concat(parts: Sequence[Pcm]) -> Pcm:
    return np.concatenate(list(parts)).astype(np.int16) if parts else silence(0)


def rms_dbfs(pcm: Pcm) -> float:
    if len(pcm) == 0:
        return -math.inf
    rms = float(np.sqrt(np.mean(pcm.astype(np.float64) ** 2)))
    return -math.inf if rms == 0 else 20 * math.log10(rms / 32768)


def sine(hz: float, ms: int, level_dbfs: float = -10.0) -> Pcm:
    t = np.arange(ms * SAMPLE_RATE // 1000) / SAMPLE_RATE
    amp = 32767 * 10 ** (level_dbfs / 20)
    return (amp * np.sin(2 * np.pi * hz * t)).astype(np.int16)


def dtmf(key: str, ms: int = 100, level_dbfs: float = -10.0) -> Pcm:
    for row, keys in enumerate(_KEYS):
        col = keys.find(key)
        if col >= 0:
            a = sine(_LOW[row], ms, level_dbfs - 3).astype(np.int32)
            return (a + sine(_HIGH[col], ms, level_dbfs - 3)).astype(np.int16)
    raise ValueError(f"{key!r} is not a DTMF key")


def dtmf_digits(digits: str, *, tone_ms: int = 100, gap_ms: int = 0, pause_ms: int = 500) -> Pcm:
    parts: list[Pcm] = []
    i = 0
    while i < len(digits):
        if digits[i] == "{":
            end = digits.index("}", i)
            parts.append(silence(int(digits[i + 1:end]) * pause_ms))
            i = end + 1
            continue
        if digits[i] not in "0123456789*#":
            raise ValueError(f"{digits[i]!r} is not a key")
        parts.extend((dtmf(digits[i], tone_ms), silence(gap_ms)))
        i += 1
    return concat(parts)


def beep(ms: int = 300, hz: int = 1000) -> Pcm:
    return sine(hz, ms, -12.0)


def machine_beep(ms: int = 500) -> Pcm:
    return sine(1000, ms, -8.0)


def mix_minus(frames: npt.NDArray[np.int16], talk: npt.NDArray[np.bool_]) -> npt.NDArray[np.int16]:
    wide = frames.astype(np.int32) * talk[:, None]
    out = wide.sum(axis=0)[None, :] - wide
    mixed: npt.NDArray[np.int16] = np.clip(out, -32768, 32767).astype(np.int16)
    return mixed


# --------------------------------------------------------------------------- detection

_ALL_HZ = np.array(_LOW + _HIGH)
_T = np.arange(FRAME_SAMPLES) / SAMPLE_RATE
_BASIS = np.concatenate([np.cos(2 * np.pi * _ALL_HZ[:, None] * _T),
                         np.sin(2 * np.pi * _ALL_HZ[:, None] * _T)]).astype(np.float32)


def tones_in(frames: npt.NDArray[np.int16]) -> npt.NDArray[np.bool_]:
    """For each row (a 20 ms frame) of `frames` (n, 160): does a DTMF tone clearly sound in it
    (one low and one high frequency carrying most of the energy)? One matrix product for all
    rows: the tick asks this of every leg's frame at once."""
    x = frames.astype(np.float32)
    total = np.einsum("ij,ij->i", x, x)
    proj = x @ _BASIS.T
    power = proj[:, :8] ** 2 + proj[:, 8:] ** 2
    best = power[:, :4].max(axis=1) + power[:, 4:].max(axis=1)
    present: npt.NDArray[np.bool_] = ((total >= FRAME_SAMPLES * 100.0**2)
                                      & (best * 2 / FRAME_SAMPLES > 0.6 * total))
    return present


def frame_key(frame: Pcm) -> str | None:
    """The DTMF key sounding in this 20 ms frame, if one clearly is (one low and one high
    frequency carrying most of the frame's energy)."""
    x = frame.astype(np.float32)
    total = float(x @ x)
    if total < FRAME_SAMPLES * 100.0**2:  # quieter than about -50 dBFS
        return None
    proj = _BASIS @ x
    power = proj[:8] ** 2 + proj[8:] ** 2  # per frequency, ~ (amplitude * N/2)^2
    low, high = int(np.argmax(power[:4])), int(np.argmax(power[4:]))
    share = (power[low] + power[4 + high]) * 2 / FRAME_SAMPLES / total
    return _KEYS[low][high] if share > 0.6 else None


class DtmfDetector:
    """Keys confirmed over frames: a key sounding in two frames running is reported once."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self._candidate: str | None = None
        self._count = 0
        self._reported = False

    def feed(self, frame: Pcm) -> str:
        key = frame_key(frame)
        if key != self._candidate:
            self._candidate, self._count, self._reported = key, 0, False
        if key is None:
            return ""
        self._count += 1
        if self._count >= 2 and not self._reported:
            self._reported = True
            return key
        return ""


class VadEvent(StrEnum):
    STARTED = "started"
    ENDED = "ended"


class VoiceActivity:
    """Energy VAD: STARTED after 100 ms of frames above `threshold_dbfs`, ENDED after
    `end_silence_ms` below it."""

    def __init__(self, threshold_dbfs: float = -45.0, end_silence_ms: int = 700) -> None:
        self._threshold = threshold_dbfs
        self._end_frames = end_silence_ms // FRAME_MS
        self._voiced = 0
        self._quiet = 0
        self.speaking = False

    def feed(self, frame: Pcm) -> VadEvent | None:
        loud = rms_dbfs(frame) > self._threshold
        if not self.speaking:
            self._voiced = self._voiced + 1 if loud else 0
            if self._voiced >= 5:
                self.speaking, self._quiet = True, 0
                return VadEvent.STARTED
            return None
        self._quiet = 0 if loud else self._quiet + 1
        if self._quiet >= self._end_frames:
            self.speaking, self._voiced = False, 0
            return VadEvent.ENDED
        return None


class AmdResult(StrEnum):
    HUMAN = "HUMAN"
    MACHINE = "MACHINE"
    NOTSURE = "NOTSURE"


@dataclass(frozen=True, slots=True)
class AmdVerdict:
    result: AmdResult
    reason: str
    at_ms: int


@dataclass(frozen=True, slots=True)
class AmdConfig:
    initial_silence_ms: int = 2500
    greeting_ms: int = 1500
    after_greeting_silence_ms: int = 800
    total_analysis_ms: int = 5000
    min_word_ms: int = 100
    between_words_silence_ms: int = 50
    max_words: int = 3
    silence_threshold: int = 256


class MachineDetector:
    """app_amd in brief: long initial silence or a long greeting is a machine; a short greeting
    followed by silence is a human."""

    def __init__(self, config: AmdConfig | None = None) -> None:
        self._c = config or AmdConfig()
        self._ms = 0
        self._voice_ms = 0
        self._silence_ms = 0
        self._heard = False
        self._done = False

    def feed(self, frame: Pcm) -> AmdVerdict | None:
        if self._done:
            return None
        self._ms += FRAME_MS
        loud = float(np.sqrt(np.mean(frame.astype(np.float64) ** 2))) > self._c.silence_threshold
        verdict = self._judge(loud)
        if verdict is not None:
            self._done = True
        return verdict

    def _judge(self, loud: bool) -> AmdVerdict | None:
        c = self._c
        if loud:
            self._heard, self._silence_ms = True, 0
            self._voice_ms += FRAME_MS
            if self._voice_ms > c.greeting_ms:
                return AmdVerdict(AmdResult.MACHINE, "long greeting", self._ms)
        else:
            self._silence_ms += FRAME_MS
            if not self._heard and self._silence_ms >= c.initial_silence_ms:
                return AmdVerdict(AmdResult.MACHINE, "initial silence", self._ms)
            if self._heard and self._silence_ms >= c.after_greeting_silence_ms:
                return AmdVerdict(AmdResult.HUMAN, "silence after greeting", self._ms)
        if self._ms >= c.total_analysis_ms:
            return AmdVerdict(AmdResult.NOTSURE, "too long", self._ms)
        return None


class BeepDetector:
    """True on the frame where a steady tone (>= 200 ms, 400-2,000 Hz) has just ended."""

    def __init__(self) -> None:
        self._hz: float | None = None
        self._frames = 0

    def feed(self, frame: Pcm) -> bool:
        hz = _steady_tone_hz(frame)
        if hz is not None and self._hz is not None and abs(hz - self._hz) < 60:
            self._frames += 1
            return False
        ended = self._frames * FRAME_MS >= 200
        self._hz, self._frames = hz, (1 if hz is not None else 0)
        return ended


def _steady_tone_hz(frame: Pcm) -> float | None:
    x = frame.astype(np.float64)
    total = float(x @ x)
    if total < FRAME_SAMPLES * 300.0**2:
        return None
    spectrum = np.abs(np.fft.rfft(x * np.hanning(FRAME_SAMPLES))) ** 2
    peak = int(np.argmax(spectrum))
    hz = peak * SAMPLE_RATE / FRAME_SAMPLES
    share = float(spectrum[max(0, peak - 2):peak + 3].sum() / spectrum.sum())
    return hz if 400 <= hz <= 2000 and share > 0.8 else None
