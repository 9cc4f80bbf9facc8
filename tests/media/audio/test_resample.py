"""resample: lengths, frequencies kept in band, aliasing removed, input types and errors."""

from __future__ import annotations

import numpy as np
import pytest
from bench.signals import tone

from percl.media.audio.pcm import rms_dbfs
from percl.media.audio.resample import resample

from .measure import band_energy_share, correlation, dominant_hz


def test_22050_to_8000_keeps_a_tone_and_the_duration() -> None:
    source = np.rint(tone(440, 2.0, 22050) * 32767).astype(np.int16)
    out = resample(source, 22050, 8000)
    assert out.dtype == np.int16 and abs(len(out) - 16000) <= 1
    assert abs(dominant_hz(out) - 440) <= 2
    reference = np.rint(tone(440, 2.0, 8000) * 32767).astype(np.int16)
    assert correlation(out[200:-200], reference[200:-200]) > 0.999  # no delay, no distortion


def test_float_input_is_scaled_and_clipped() -> None:
    for dtype in (np.float32, np.float64):
        out = resample(tone(300, 1.0, 16000, amplitude=0.25).astype(dtype), 16000, 8000)
        assert out.dtype == np.int16 and len(out) == 8000
        assert rms_dbfs(out) == pytest.approx(20 * np.log10(0.25 / np.sqrt(2)), abs=0.1)
    loud = resample(np.full(100, 3.0), 8000, 8000)
    assert np.all(loud == 32767)


def test_content_above_the_new_nyquist_is_removed() -> None:
    source = np.rint((tone(1000, 1.0, 48000, 0.4) + tone(6000, 1.0, 48000, 0.4)) * 32767).astype(np.int16)
    out = resample(source, 48000, 8000)
    assert band_energy_share(out, 1000) > 0.9999  # 6 kHz would fold to 2 kHz


def test_upsampling_and_the_same_rate() -> None:
    narrow = np.rint(tone(500, 1.0, 8000) * 32767).astype(np.int16)
    wide = resample(narrow, 8000, 16000)
    assert len(wide) == 16000 and abs(dominant_hz(wide, rate=16000) - 500) <= 2
    same = resample(narrow, 8000, 8000)
    assert np.array_equal(same, narrow) and same is not narrow
    assert len(resample(np.zeros(0, dtype=np.int16), 22050, 8000)) == 0


@pytest.mark.parametrize(("from_rate", "to_rate"), [(8000, 16000), (16000, 8000), (44100, 8000),
                                                   (8000, 11025), (1, 8000), (8000, 1)])
@pytest.mark.parametrize("length", [0, 1, 2])
def test_no_one_or_two_samples_at_any_ratio(from_rate: int, to_rate: int, length: int) -> None:
    for samples in (np.full(length, 16384, dtype=np.int16), np.full(length, 0.5)):
        out = resample(samples, from_rate, to_rate)
        assert out.dtype == np.int16 and out.ndim == 1
        assert abs(len(out) - length * to_rate / from_rate) <= 1
        assert np.all(np.abs(out.astype(np.int32)) <= 16384 * 1.5)  # a step rings (Gibbs), no more


def test_a_non_integer_ratio_keeps_the_duration_and_the_tone() -> None:
    pcm = resample(tone(1000, 2.0, 11025), 11025, 8000)
    assert len(pcm) == 16000 and abs(dominant_hz(pcm) - 1000) <= 1
    back = resample(pcm, 8000, 44100)
    assert len(back) == 88200 and abs(dominant_hz(back, rate=44100) - 1000) <= 1


@pytest.mark.parametrize(("samples", "rates", "message"), [
    (np.zeros(10, dtype=np.int16), (0, 8000), "positive"),
    (np.zeros(10, dtype=np.int16), (8000, -1), "positive"),
    (np.zeros((10, 2), dtype=np.int16), (16000, 8000), "mono"),
    (np.zeros(10, dtype=np.int32), (16000, 8000), "int16 or float"),
])
def test_bad_arguments(samples: np.ndarray, rates: tuple[int, int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        resample(samples, *rates)
