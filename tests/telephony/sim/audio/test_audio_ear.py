"""The platform's ear on one leg (telephony/sim/audio/ear.py): keys at three noise levels, speech
that is not taken for keys, keys that are not taken for speech."""

from __future__ import annotations

import numpy as np
import pytest
from audio_helpers import speak

from percl.media.audio.pcm import FRAME_SAMPLES, concat, silence
from percl.media.audio.tones import dtmf
from percl.telephony.sim.audio.dsp import tones_in
from percl.telephony.sim.audio.ear import Ear, Heard

KEYS = "0123456789*#"


def hear_all(pcm: np.ndarray) -> list[Heard]:
    """Feed `pcm` frame by frame (then 1 s of silence); what the ear made of it."""
    ear = Ear()
    padded = np.concatenate((pcm, np.zeros(-len(pcm) % FRAME_SAMPLES + 8000, dtype=np.int16)))
    frames = padded.reshape(-1, FRAME_SAMPLES)
    tones = tones_in(frames)
    heard = [ear.hear(frame, bool(tone)) for frame, tone in zip(frames, tones, strict=True)]
    return [h for h in heard if h is not None]


@pytest.mark.parametrize("sigma", [0, 500, 1500])
def test_every_key_is_heard_once_at_three_noise_levels(sigma: int) -> None:
    rng = np.random.default_rng(sigma)
    presses = concat([concat((dtmf(key, 100), silence(100))) for key in KEYS])
    noisy = np.clip(presses + rng.normal(0, sigma, len(presses)), -32768, 32767).astype(np.int16)
    heard = hear_all(noisy)
    assert "".join(h.keys for h in heard) == KEYS
    assert not any(h.speech_started or h.utterance is not None for h in heard)  # keys, not speech


def test_speech_is_not_taken_for_keys() -> None:
    heard = hear_all(speak("one two three four five six seven eight nine ten"))
    assert "".join(h.keys for h in heard) == ""
    assert [h.speech_started for h in heard].count(True) == 1
    (utterance,) = [h.utterance for h in heard if h.utterance is not None]
    assert len(utterance) >= len(speak("one two three four five six seven eight nine ten")) - 2400


def test_tones_in_tells_tone_frames_from_others() -> None:
    frames = np.stack([dtmf("5", 20), silence(20), speak("hello")[:FRAME_SAMPLES] * 0 + 3000,
                       speak("hello")[800:800 + FRAME_SAMPLES]])
    assert tones_in(frames).tolist() == [True, False, False, False]
