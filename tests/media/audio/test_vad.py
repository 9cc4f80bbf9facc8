"""Voice activity: STARTED and ENDED at the right frames, in silence and in noise; noise alone is
not voice once the floor has adapted."""

from __future__ import annotations

import numpy as np
import pytest

from bench import signals as s
from percl.media.audio.vad import VadEvent, VoiceActivity, frame_dbfs

TOLERANCE_MS = 40


def events(pcm: np.ndarray, vad: VoiceActivity | None = None) -> list[tuple[int, VadEvent]]:
    """(end of the frame in ms, event) for every event."""
    v = vad or VoiceActivity()
    return [(20 * (i + 1), e) for i, f in enumerate(s.frames(pcm)) if (e := v.feed(f))]


def bursts(seed: int, sigma: float, lead_ms: float = 1000) -> tuple[np.ndarray, list[tuple[float, float]]]:
    """Voiced bursts ("words" without fricatives) with 1-2 s pauses; their (start, end) in ms."""
    rng = np.random.default_rng(seed)
    parts, spans, at = [s.silence(lead_ms)], [], lead_ms
    for _ in range(4):
        w = np.concatenate([s.syllable(rng.uniform(150, 300), rng, rng.uniform(-24, -12))
                            for _ in range(int(rng.integers(1, 4)))])
        pause = rng.uniform(1000, 2000)
        spans.append((at, at + len(w) / 8))
        parts += [w, s.silence(pause)]
        at += len(w) / 8 + pause
    x = np.concatenate(parts)
    return s.to_pcm(x + s.noise(len(x), sigma, rng)), spans


@pytest.mark.parametrize("sigma", [0, 30, 300])
@pytest.mark.parametrize("seed", range(4))
def test_started_and_ended_at_the_right_frames(sigma: float, seed: int) -> None:
    pcm, spans = bursts(seed, sigma)
    got = events(pcm)
    assert [e for _, e in got] == [VadEvent.STARTED, VadEvent.ENDED] * len(spans)
    for (start, end), (t_start, _), (t_end, _) in zip(spans, got[::2], got[1::2], strict=True):
        assert abs(t_start - (start + 100)) <= TOLERANCE_MS
        assert abs(t_end - (end + 700)) <= TOLERANCE_MS


@pytest.mark.parametrize("seed", range(3))
def test_clipped_speech_starts_and_ends_as_clean_speech_does(seed: int) -> None:
    pcm, spans = bursts(seed, 0)
    hot = np.clip(pcm.astype(np.float64) * 10, -32768, 32767)  # driven 20 dB past full scale
    got = events(s.to_pcm(hot + s.noise(len(hot), 30, np.random.default_rng(seed))))
    assert [e for _, e in got] == [VadEvent.STARTED, VadEvent.ENDED] * len(spans)
    for (start, end), (t_start, _), (t_end, _) in zip(spans, got[::2], got[1::2], strict=True):
        assert abs(t_start - (start + 100)) <= TOLERANCE_MS
        assert abs(t_end - (end + 700)) <= 2 * TOLERANCE_MS  # the amplified fade-out lasts longer


def test_speaking_follows_the_events() -> None:
    pcm, _ = bursts(1, 30)
    v = VoiceActivity()
    states = []
    for f in s.frames(pcm):
        e = v.feed(f)
        if e is not None:
            states.append((e, v.speaking))
    assert states[:2] == [(VadEvent.STARTED, True), (VadEvent.ENDED, False)]


def test_thresholds_are_settings() -> None:
    pcm, spans = bursts(2, 0)
    got = events(pcm, VoiceActivity(start_ms=200, end_silence_ms=300))
    assert abs(got[0][0] - (spans[0][0] + 200)) <= TOLERANCE_MS
    assert abs(got[1][0] - (spans[0][1] + 300)) <= TOLERANCE_MS


@pytest.mark.parametrize("sigma", [30, 300, 1500, 6000])
def test_steady_noise_alone_is_not_voice(sigma: float) -> None:
    rng = np.random.default_rng(int(sigma))
    assert events(s.to_pcm(s.noise(8000 * 10, sigma, rng))) == []


def test_noise_that_sets_in_is_voice_only_until_the_floor_adapts() -> None:
    rng = np.random.default_rng(4)
    x = np.concatenate([s.silence(2000), s.noise(8000 * 12, 1000, rng)])
    v = VoiceActivity()
    got = events(s.to_pcm(x), v)
    assert all(t <= 2000 + 3000 + 700 + TOLERANCE_MS for t, _ in got)
    assert not v.speaking
    assert v.noise_floor_dbfs == pytest.approx(frame_dbfs(s.to_pcm(s.noise(160, 1000, rng))), abs=2)


def test_speech_in_noise_after_the_floor_adapted() -> None:
    rng = np.random.default_rng(9)
    w = s.syllable(300, rng, -15)
    x = np.concatenate([s.silence(4000), w, s.silence(2000)])
    x = x + s.noise(len(x), 500, rng)
    got = events(s.to_pcm(x))
    assert [e for _, e in got] == [VadEvent.STARTED, VadEvent.ENDED]
    assert abs(got[0][0] - 4100) <= TOLERANCE_MS and abs(got[1][0] - 5000) <= TOLERANCE_MS


def test_a_click_shorter_than_start_ms_is_not_voice() -> None:
    x = np.concatenate([s.silence(1000), s.sine(500, 60, -10), s.silence(1000)])
    assert events(s.to_pcm(x)) == []


def test_frame_level() -> None:
    assert frame_dbfs(np.zeros(160, dtype=np.int16)) == -100.0
    assert frame_dbfs(s.to_pcm(s.sine(1000, 20, -10))) == pytest.approx(-10, abs=0.1)


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="start_ms"):
        VoiceActivity(start_ms=0)
    with pytest.raises(ValueError, match="floor_percentile"):
        VoiceActivity(floor_percentile=100)
