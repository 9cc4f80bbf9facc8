"""Tones: sines, DTMF keys (ITU-T Q.23), SendDigits strings, the conference and machine beeps.

Levels are RMS dBFS, the scale pcm.rms_dbfs measures: `sine(hz, ms, -10)` measures -10 dBFS. A
sine's peak is 3.01 dB above its RMS, so a level above about -3 dBFS clips. A DTMF key puts each
of its two frequencies 3 dB below the asked level (no twist), so the pair together measures the
asked level. Every tone starts and ends with a 2 ms raised-cosine ramp so it does not click.

A tone, or a whole SendDigits string, lasts at most MAX_TONE_MS (as long as a decoded Play file
may): `{n}` pauses come from documents and requests, and "{9999}" repeated would otherwise ask for
hours of audio. ValueError says so before anything is allocated.
"""

from __future__ import annotations

import math
import re

import numpy as np
import numpy.typing as npt

from percl.media.audio.pcm import SAMPLE_RATE, Pcm, concat, samples_for_ms, silence, to_int16

RAMP_MS = 2.0
#: Silence put between two presses of the same key when the asked gap is shorter: without it
#: "11" would be one long tone, which a receiver must count as one press.
MIN_REPEAT_GAP_MS = 50
BEEP_LEVEL_DBFS = -13.0
MAX_TONE_MS = 600_000
MACHINE_BEEP_HZ = 1000

DTMF_ROWS = (697, 770, 852, 941)
DTMF_COLUMNS = (1209, 1336, 1477, 1633)
DTMF_KEYPAD = ("123A", "456B", "789C", "*0#D")  # rows of DTMF_ROWS, columns of DTMF_COLUMNS
DTMF_FREQUENCIES: dict[str, tuple[int, int]] = {
    key: (DTMF_ROWS[r], DTMF_COLUMNS[c]) for r, row in enumerate(DTMF_KEYPAD) for c, key in enumerate(row)
}
_DIGITS = re.compile(r"[0-9*#]|\{(\d+)\}")


def _ramped(wave: npt.NDArray[np.float64], ramp_samples: int) -> npt.NDArray[np.float64]:
    ramp = min(ramp_samples, len(wave) // 2)
    if ramp > 0:
        window = 0.5 - 0.5 * np.cos(np.pi * np.arange(ramp) / ramp)
        wave[:ramp] *= window
        wave[len(wave) - ramp :] *= window[::-1]
    return wave


def _sines(freqs: tuple[float, ...], ms: float, level_dbfs: float) -> Pcm:
    """The sum of equal-level sines whose total RMS is `level_dbfs`."""
    if not math.isfinite(level_dbfs):
        raise ValueError(f"a tone's level must be a number of dBFS, got {level_dbfs}")
    _check_length(ms)
    n = samples_for_ms(ms)
    t = np.arange(n) / SAMPLE_RATE
    each_rms = 10 ** (level_dbfs / 20) / np.sqrt(len(freqs))
    wave = sum(np.sin(2 * np.pi * f * t) for f in freqs) * (each_rms * np.sqrt(2))
    return to_int16(_ramped(np.asarray(wave, dtype=np.float64), samples_for_ms(RAMP_MS)))


def sine(hz: float, ms: float, level_dbfs: float = -10.0) -> Pcm:
    """A `hz` sine lasting `ms` milliseconds at `level_dbfs` RMS."""
    if not 0 < hz < SAMPLE_RATE / 2:
        raise ValueError(f"a tone must be between 0 and {SAMPLE_RATE // 2} Hz, got {hz}")
    return _sines((hz,), ms, level_dbfs)


def dtmf(key: str, ms: int = 100, level_dbfs: float = -10.0) -> Pcm:
    """The dual tone of one key (0-9, *, #, A-D), each frequency at `level_dbfs` - 3 dB."""
    pair = DTMF_FREQUENCIES.get(key.upper())
    if pair is None:
        raise ValueError(f"not a DTMF key: {key!r} (0-9, *, #, A-D)")
    return _sines(pair, ms, level_dbfs)


def dtmf_digits(digits: str, *, tone_ms: int = 100, gap_ms: int = 0, pause_ms: int = 500) -> Pcm:
    """A SendDigits string as sound: each key `tone_ms` long, `gap_ms` of silence between two keys
    that follow each other (at least MIN_REPEAT_GAP_MS between two presses of the same key),
    and `{n}` as n x `pause_ms` of silence. ValueError for anything but 0-9, *, # and {n}.
    """
    plan = _digits_plan(digits, tone_ms, gap_ms, pause_ms)
    _check_length(sum(ms for _, ms in plan))
    return concat([dtmf(key, tone_ms) if key else silence(ms) for key, ms in plan])


def _digits_plan(digits: str, tone_ms: int, gap_ms: int, pause_ms: int) -> list[tuple[str, float]]:
    """(key, ms) for each part of a SendDigits string in order; key "" is silence."""
    plan: list[tuple[str, float]] = []
    previous: str | None = None  # the key just sounded, None after a pause or at the start
    pos = 0
    while pos < len(digits):
        match = _DIGITS.match(digits, pos)
        if match is None:
            raise ValueError(f"digits may hold only 0-9, * , # and {{n}} pauses; {digits[pos:]!r} "
                             f"at position {pos} is not one")
        pos = match.end()
        if match.group(1) is not None:
            units = match.group(1)  # more than 9 digits: past any limit (and int() refuses 4,300)
            pause = int(units) * pause_ms if len(units) <= 9 else math.inf
            plan.append(("", pause))
            if pause >= MIN_REPEAT_GAP_MS:  # "1{0}1" is still two presses of 1
                previous = None
            continue
        key = match.group(0)
        if previous is not None:
            plan.append(("", max(gap_ms, MIN_REPEAT_GAP_MS) if key == previous else gap_ms))
        plan.append((key, tone_ms))
        previous = key
    return plan


def _check_length(ms: float) -> None:
    if not ms <= MAX_TONE_MS:  # also NaN
        raise ValueError(f"tones may last at most {MAX_TONE_MS / 1000:g} s, these would last "
                         f"{ms / 1000:g} s")


def beep(ms: int = 300, hz: int = 1000) -> Pcm:
    """The conference entry/exit beep (playBeep): a 1 kHz tone at BEEP_LEVEL_DBFS."""
    return sine(hz, ms, BEEP_LEVEL_DBFS)


def machine_beep(ms: int = 500) -> Pcm:
    """An answering machine's "leave your message after the tone": 1 kHz at BEEP_LEVEL_DBFS."""
    return sine(MACHINE_BEEP_HZ, ms, BEEP_LEVEL_DBFS)

