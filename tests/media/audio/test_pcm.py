"""pcm.py: frames, durations, concatenation, silence and levels."""

from __future__ import annotations

import math

import numpy as np
import pytest

from percl.media.audio.pcm import (
    FRAME_MS,
    FRAME_SAMPLES,
    SAMPLE_RATE,
    concat,
    duration_ms,
    frames,
    rms_dbfs,
    silence,
    to_int16,
)


def test_constants() -> None:
    assert (SAMPLE_RATE, FRAME_MS, FRAME_SAMPLES) == (8000, 20, 160)


def test_frames_are_160_samples_and_the_last_is_zero_padded() -> None:
    pcm = np.arange(1, 401, dtype=np.int16)
    chunks = list(frames(pcm))
    assert [len(c) for c in chunks] == [160, 160, 160]
    assert np.array_equal(np.concatenate(chunks)[:400], pcm) and not chunks[2][80:].any()
    chunks[0][0] = -5
    assert pcm[0] == 1  # frames are copies
    assert list(frames(np.zeros(0, dtype=np.int16))) == []


def test_silence_duration_and_concat() -> None:
    assert len(silence(20)) == 160 and not silence(20).any() and silence(20).dtype == np.int16
    assert duration_ms(silence(1234)) == 1234 and duration_ms(np.zeros(7, dtype=np.int16)) == 0
    joined = concat([np.array([1, 2], dtype=np.int16), silence(0), np.array([3], dtype=np.int16)])
    assert joined.tolist() == [1, 2, 3] and joined.dtype == np.int16
    assert len(concat([])) == 0
    with pytest.raises(ValueError, match="negative"):
        silence(-1)


def test_rms_dbfs() -> None:
    assert rms_dbfs(silence(20)) == -math.inf and rms_dbfs(silence(0)) == -math.inf
    assert rms_dbfs(np.full(160, -32768, dtype=np.int16)) == pytest.approx(0.0)
    assert rms_dbfs(np.full(160, 3277, dtype=np.int16)) == pytest.approx(-20.0, abs=0.01)


def test_to_int16_rounds_and_clips() -> None:
    assert to_int16(np.array([0.0, 0.5, -1.0, 1.0, 2.0, -2.0])).tolist() == [
        0, 16384, -32768, 32767, 32767, -32768]
