"""mix_minus against a per-row Python reference (hypothesis), plus clipping and muting."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from percl.media.audio.mix import add, mix_minus
from percl.media.audio.pcm import rms_dbfs
from percl.media.audio.tones import sine


def reference(frames: np.ndarray, talk: np.ndarray) -> np.ndarray:
    """Row by row, sample by sample, in Python integers: what each listener should hear."""
    out = np.zeros_like(frames)
    for i in range(frames.shape[0]):
        for k in range(frames.shape[1]):
            total = sum(int(frames[j, k]) for j in range(frames.shape[0]) if j != i and talk[j])
            out[i, k] = max(-32768, min(32767, total))
    return out


@st.composite
def conferences(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    n = draw(st.integers(1, 12))
    samples = draw(st.integers(1, 16))
    frames = draw(hnp.arrays(np.int16, (n, samples)))
    talk = draw(hnp.arrays(np.bool_, (n,)))
    return frames, talk


@settings(max_examples=300, deadline=None)
@given(conferences())
def test_each_row_hears_the_clipped_sum_of_the_other_talkers(case: tuple[np.ndarray, np.ndarray]) -> None:
    frames, talk = case
    got = mix_minus(frames, talk)
    assert got.dtype == np.int16 and got.shape == frames.shape
    assert np.array_equal(got, reference(frames, talk))


def test_full_scale_talkers_clip_and_do_not_wrap() -> None:
    frames = np.full((4, 160), 30000, dtype=np.int16)
    frames[3] = -32768
    out = mix_minus(frames, np.array([True, True, True, True]))
    assert np.all(out[0] == 30000 * 2 - 32768)  # in range: no clipping of a listener who needs none
    assert np.all(out[3] == 32767)  # 90000 clipped, not wrapped to a negative value
    many = np.full((100, 160), 32767, dtype=np.int16)
    assert np.all(mix_minus(many, np.ones(100, dtype=bool)) == 32767)  # int32 sums: no overflow


def test_a_muted_party_is_inaudible_but_still_hears() -> None:
    voice, other = sine(440, 20, -10), sine(700, 20, -10)
    frames = np.stack([voice, other, np.zeros(160, dtype=np.int16)])
    out = mix_minus(frames, np.array([False, True, True]))
    assert np.array_equal(out[2], other)  # the listener hears only the talker allowed to talk
    assert np.array_equal(out[0], other)  # the muted party still hears the others
    assert rms_dbfs(out[1]) == -np.inf  # nobody else talks to party 1


def test_a_single_party_hears_silence() -> None:
    out = mix_minus(sine(440, 20)[None, :], np.array([True]))
    assert not out.any()


def test_no_party_is_an_empty_mix() -> None:
    out = mix_minus(np.zeros((0, 160), dtype=np.int16), np.zeros(0, dtype=bool))
    assert out.shape == (0, 160) and out.dtype == np.int16


def test_shapes_are_checked() -> None:
    with pytest.raises(ValueError, match="mix_minus needs"):
        mix_minus(np.zeros(160, dtype=np.int16), np.array([True]))
    with pytest.raises(ValueError, match="mix_minus needs"):
        mix_minus(np.zeros((3, 160), dtype=np.int16), np.array([True, False]))


def test_add_is_a_clipped_sum_to_the_longer_length() -> None:
    a = np.array([30000, -30000, 5], dtype=np.int16)
    b = np.array([30000, -30000, 5, 7, 9], dtype=np.int16)
    assert add(a, b).tolist() == [32767, -32768, 10, 7, 9]
    assert add(b, a).tolist() == add(a, b).tolist()
    assert add(np.zeros(0, dtype=np.int16), a).tolist() == a.tolist()
