"""Tones: frequencies checked with an FFT, levels with rms_dbfs, SendDigits timing by sample counts."""

from __future__ import annotations

import numpy as np
import pytest

from percl.media.audio.pcm import rms_dbfs
from percl.media.audio.tones import (
    DTMF_FREQUENCIES,
    MAX_TONE_MS,
    MIN_REPEAT_GAP_MS,
    beep,
    dtmf,
    dtmf_digits,
    machine_beep,
    sine,
)

from .measure import band_energy_share, dominant_hz

ITU = {"1": (697, 1209), "2": (697, 1336), "3": (697, 1477), "A": (697, 1633),
       "4": (770, 1209), "5": (770, 1336), "6": (770, 1477), "B": (770, 1633),
       "7": (852, 1209), "8": (852, 1336), "9": (852, 1477), "C": (852, 1633),
       "*": (941, 1209), "0": (941, 1336), "#": (941, 1477), "D": (941, 1633)}


def two_peaks(pcm: np.ndarray) -> tuple[float, float]:
    """The frequencies of the two strongest spectral peaks, low first."""
    spectrum = np.abs(np.fft.rfft(pcm.astype(np.float64) * np.hanning(len(pcm))))
    freqs = np.fft.rfftfreq(len(pcm), 1 / 8000)
    first = int(np.argmax(spectrum))
    masked = spectrum.copy()
    masked[max(0, first - 20) : first + 21] = 0  # drop the first peak's main lobe
    second = int(np.argmax(masked))
    low, high = sorted((float(freqs[first]), float(freqs[second])))
    return low, high


@pytest.mark.parametrize("key", list(ITU))
def test_each_key_is_its_two_itu_frequencies_at_equal_level(key: str) -> None:
    pcm = dtmf(key, ms=1000)
    low, high = two_peaks(pcm)
    assert abs(low - ITU[key][0]) <= 2 and abs(high - ITU[key][1]) <= 2
    share_low, share_high = band_energy_share(pcm, ITU[key][0]), band_energy_share(pcm, ITU[key][1])
    assert share_low + share_high > 0.999  # nothing else in the signal
    assert abs(10 * np.log10(share_low / share_high)) < 0.2  # no twist
    assert rms_dbfs(pcm) == pytest.approx(-10.0, abs=0.1)  # the pair measures the asked level


def test_key_table_matches_the_itu_keypad() -> None:
    assert DTMF_FREQUENCIES == ITU
    assert np.array_equal(dtmf("a"), dtmf("A"))


def test_dtmf_length_level_and_ramp() -> None:
    pcm = dtmf("5", ms=100, level_dbfs=-20.0)
    assert pcm.dtype == np.int16 and len(pcm) == 800
    assert rms_dbfs(pcm[40:-40]) == pytest.approx(-20.0, abs=0.3)
    assert abs(int(pcm[0])) < 50 and abs(int(pcm[-1])) < 300  # ramped: no click at either end
    with pytest.raises(ValueError, match="not a DTMF key"):
        dtmf("x")


@pytest.mark.parametrize(("hz", "level"), [(300, -10.0), (1000, -20.0), (3400, -30.0)])
def test_sine_frequency_and_level(hz: int, level: float) -> None:
    pcm = sine(hz, 1000, level)
    assert len(pcm) == 8000 and abs(dominant_hz(pcm) - hz) <= 1
    assert rms_dbfs(pcm) == pytest.approx(level, abs=0.05)
    with pytest.raises(ValueError):
        sine(4000, 100)


def test_a_sine_above_minus_3_dbfs_clips_instead_of_wrapping() -> None:
    pcm = sine(1000, 100, 0.0)
    assert pcm.max() == 32767 and pcm.min() == -32768
    assert np.all(np.abs(np.diff(pcm.astype(np.int32))) < 40000)  # no wrap-around jumps


@pytest.mark.parametrize("level", [float("nan"), float("inf"), float("-inf")])
def test_a_level_that_is_not_a_number_of_dbfs_is_refused(level: float) -> None:
    with pytest.raises(ValueError, match="level must be a number of dBFS"):
        sine(1000, 100, level)
    with pytest.raises(ValueError, match="level must be a number of dBFS"):
        dtmf("5", 100, level)


def test_tones_longer_than_ten_minutes_are_refused_before_anything_is_allocated() -> None:
    assert len(dtmf_digits("{1200}")) == MAX_TONE_MS * 8  # 1,200 pauses of 500 ms: the limit
    for digits in ("{1200}1", "1{999999999}2", "{" + "9" * 5000 + "}"):  # the last: past int()'s limit
        with pytest.raises(ValueError, match="tones may last at most 600 s"):
            dtmf_digits(digits)
    with pytest.raises(ValueError, match="tones may last at most 600 s"):
        dtmf_digits("1{2}2", pause_ms=10**12)
    with pytest.raises(ValueError, match="tones may last at most 600 s"):
        sine(1000, 10**12)


def keys_heard(pcm: np.ndarray) -> list[tuple[str, int, int]]:
    """(key, start sample, length) of each tone burst, the key told by its two FFT peaks."""
    # A sine passes through 0 now and then: a burst ends only after 8 zero samples in a row.
    loud = np.convolve((pcm != 0).astype(np.int8), np.ones(9, dtype=np.int8), mode="same") > 0
    edges = np.flatnonzero(np.diff(np.concatenate([[0], loud.astype(np.int8), [0]])))
    bursts = []
    for start, end in zip(edges[::2], edges[1::2], strict=True):
        low, high = two_peaks(pcm[start:end])
        key = next(k for k, (r, c) in ITU.items() if abs(r - low) < 40 and abs(c - high) < 40)
        bursts.append((key, int(start), int(end - start)))
    return bursts


def test_dtmf_digits_order_and_lengths() -> None:
    pcm = dtmf_digits("1#9", tone_ms=80, gap_ms=60)
    assert len(pcm) == (3 * 80 + 2 * 60) * 8
    heard = keys_heard(pcm)
    assert [k for k, _, _ in heard] == ["1", "#", "9"]
    assert [s for _, s, _ in heard] == pytest.approx([0, 140 * 8, 280 * 8], abs=24)  # ramp edges


def test_pauses_are_units_of_pause_ms() -> None:
    pcm = dtmf_digits("1{2}2{1}3", pause_ms=300)
    assert len(pcm) == (3 * 100 + 3 * 300) * 8
    heard = keys_heard(pcm)
    assert [k for k, _, _ in heard] == ["1", "2", "3"]
    assert [s for _, s, _ in heard] == pytest.approx([0, 700 * 8, 1100 * 8], abs=24)
    assert len(dtmf_digits("1{0}1")) == (200 + MIN_REPEAT_GAP_MS) * 8  # still two presses
    assert len(dtmf_digits("{3}", pause_ms=100)) == 2400
    assert len(dtmf_digits("")) == 0


def test_a_repeated_key_stays_two_presses() -> None:
    pcm = dtmf_digits("11", gap_ms=0)
    assert len(pcm) == (200 + MIN_REPEAT_GAP_MS) * 8
    assert [k for k, _, _ in keys_heard(pcm)] == ["1", "1"]
    assert len(dtmf_digits("12", gap_ms=0)) == 200 * 8  # different keys: back to back
    assert len(dtmf_digits("11", gap_ms=200)) == 400 * 8  # a longer gap is kept


@pytest.mark.parametrize("bad", ["12a", "A", "1 2", "{x}", "1{", "{}", "{2", "-1", "1}"])
def test_only_sendDigits_characters_are_accepted(bad: str) -> None:
    with pytest.raises(ValueError, match="digits may hold only"):
        dtmf_digits(bad)


def test_beeps() -> None:
    conference = beep()
    assert len(conference) == 2400 and abs(dominant_hz(conference) - 1000) <= 4
    assert len(beep(ms=100, hz=1400)) == 800 and abs(dominant_hz(beep(ms=500, hz=1400)) - 1400) <= 2
    machine = machine_beep()
    assert len(machine) == 4000 and band_energy_share(machine, 1000) > 0.99
    assert -16 < rms_dbfs(machine) < -10
