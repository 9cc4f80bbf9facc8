"""In-band DTMF: every key once, in order, at three noise levels and any frame alignment; no key
from speech, single sines, noise or silence."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench import signals as s
from percl.media.audio.dtmf_detect import DtmfDetector

ALL_KEYS = "123A456B789C*0#D"


def detect(x: np.ndarray, *, chunk: int = 160, detector: DtmfDetector | None = None) -> str:
    """The keys a detector reports over the whole signal, fed `chunk` samples at a time."""
    d = detector or DtmfDetector()
    pcm = s.to_pcm(x) if x.dtype != np.int16 else x
    return "".join(d.feed(pcm[i:i + chunk]) for i in range(0, len(pcm), chunk))


def keyed(keys: str, *, tone_ms: float = 100, gap_ms: float = 60, offset: int = 0,
          sigma: float = 0.0, seed: int = 0, level_dbfs: float = -13.0) -> np.ndarray:
    """`offset` samples of silence, then each key with a gap after it, plus seeded white noise."""
    parts = [np.zeros(offset)]
    for key in keys:
        parts += [s.dtmf(key, tone_ms, level_dbfs), s.silence(gap_ms)]
    x = np.concatenate([*parts, s.silence(100)])
    return x + s.noise(len(x), sigma, np.random.default_rng(seed))


@pytest.mark.parametrize("sigma", [0, 500, 1500])
@settings(max_examples=25, deadline=None)
@given(offset=st.integers(0, 159), seed=st.integers(0, 2**32 - 1))
def test_all_sixteen_keys_once_each_in_order(sigma: float, offset: int, seed: int) -> None:
    assert detect(keyed(ALL_KEYS, offset=offset, sigma=sigma, seed=seed)) == ALL_KEYS


@settings(max_examples=25, deadline=None)
@given(offset=st.integers(0, 159), seed=st.integers(0, 2**32 - 1))
def test_forty_ms_tones_with_forty_ms_gaps(offset: int, seed: int) -> None:
    x = keyed(ALL_KEYS, tone_ms=40, gap_ms=40, offset=offset, sigma=500, seed=seed)
    assert detect(x) == ALL_KEYS


@pytest.mark.parametrize("gap_ms", [40, 50, 200])
def test_two_presses_of_one_key_are_two_keys(gap_ms: float) -> None:
    assert detect(keyed("55", gap_ms=gap_ms, sigma=500)) == "55"


def test_a_long_press_is_one_key() -> None:
    assert detect(keyed("7", tone_ms=2000, sigma=1500)) == "7"


def test_different_keys_back_to_back_without_a_gap() -> None:
    assert detect(keyed("1397", gap_ms=0, sigma=500)) == "1397"


@pytest.mark.parametrize("chunk", [7, 80, 160, 205, 333, 1000])
def test_frame_size_does_not_change_the_keys(chunk: int) -> None:
    assert detect(keyed(ALL_KEYS, sigma=500, offset=37), chunk=chunk) == ALL_KEYS


def test_the_key_comes_in_the_frame_that_confirms_it() -> None:
    d = DtmfDetector()
    pcm = s.to_pcm(keyed("9", offset=0))
    frames = s.frames(pcm)
    hits = [i for i, f in enumerate(frames) if d.feed(f)]
    assert len(hits) == 1
    assert 20 * (hits[0] + 1) <= 60  # within 60 ms of the tone's start


def test_silence_and_noise_give_no_key() -> None:
    rng = np.random.default_rng(7)
    assert detect(s.silence(3000)) == ""
    assert detect(s.noise(8000 * 10, 1500, rng)) == ""
    assert detect(s.noise(8000 * 10, 8000, rng)) == ""


def test_single_sines_give_no_key() -> None:
    freqs = [*np.arange(300.0, 3400.0, 11.0), *s.ROWS, *s.COLS]
    false = {hz: k for hz in freqs if (k := detect(s.sine(hz, 300, -6)))}
    assert false == {}


@pytest.mark.parametrize("seed", range(40))
def test_speech_gives_no_key(seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = s.talk(6000, rng, level_dbfs=float(rng.uniform(-20, -6)))
    assert detect(x + s.noise(len(x), 100, rng)) == ""


def test_speech_around_keys_does_not_hide_them() -> None:
    rng = np.random.default_rng(3)
    x = np.concatenate([s.talk(1500, rng), s.silence(100), keyed("42#"), s.talk(1500, rng)])
    assert detect(x) == "42#"


def test_too_quiet_tones_are_ignored() -> None:
    assert detect(keyed("123", level_dbfs=-45)) == ""
    assert detect(keyed("123", level_dbfs=-30)) == "123"


def test_twist_beyond_the_limit_is_rejected() -> None:
    def pair(row_db: float, col_db: float) -> np.ndarray:
        tone = s.sine(s.ROWS[1], 100, row_db) + s.sine(s.COLS[1], 100, col_db)
        return np.concatenate([s.silence(40), tone, s.silence(100)])

    assert detect(pair(-13, -17)) == "5"
    assert detect(pair(-17, -13)) == "5"
    assert detect(pair(-13, -25)) == ""
    assert detect(pair(-25, -13)) == ""


def test_reset_forgets_a_tone_in_progress() -> None:
    d = DtmfDetector()
    tone = s.to_pcm(s.dtmf("8", 40))
    assert d.feed(tone[:160]) == ""
    d.reset()
    assert d.feed(tone[160:]) == ""
    assert d.feed(np.zeros(160, dtype=np.int16)) == ""
