"""Answering-machine detection: right on a seeded synthetic set of people and machines, a verdict
within total_analysis_ms, NOTSURE on silence; the beep after a greeting, not speech or DTMF."""

from __future__ import annotations

import numpy as np
import pytest

from bench import signals as s
from percl.media.audio.amd import AmdConfig, AmdResult, AmdVerdict, BeepDetector, MachineDetector

NOISE = (0.0, 60.0, 150.0)


def verdict(pcm: np.ndarray, config: AmdConfig | None = None) -> AmdVerdict:
    m = MachineDetector(config)
    found = [v for f in s.frames(pcm) if (v := m.feed(f)) is not None]
    assert len(found) == 1, found
    return found[0]


def human_greeting(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return s.human(rng, lead_ms=rng.uniform(100, 1500), sigma=NOISE[seed % 3], words=1 + seed % 2)


def machine_greeting(seed: int) -> np.ndarray:
    rng = np.random.default_rng(1000 + seed)
    return s.machine(rng, lead_ms=rng.uniform(100, 1000), talk_ms=rng.uniform(3000, 5000),
                     sigma=NOISE[seed % 3])


@pytest.mark.parametrize("seed", range(12))
def test_a_person_saying_hello_is_human(seed: int) -> None:
    v = verdict(human_greeting(seed))
    assert v.result is AmdResult.HUMAN
    assert v.reason == "HUMAN-800-800"
    assert v.at_ms <= AmdConfig().total_analysis_ms


@pytest.mark.parametrize("seed", range(12))
def test_a_long_greeting_is_a_machine(seed: int) -> None:
    v = verdict(machine_greeting(seed))
    assert v.result is AmdResult.MACHINE
    assert v.reason.startswith(("MAXWORDS-", "LONGGREETING-")), v.reason
    assert v.at_ms <= AmdConfig().total_analysis_ms


def test_one_long_word_is_a_machine_by_greeting_length() -> None:
    rng = np.random.default_rng(5)
    x = np.concatenate([s.silence(300), s.sine(300, 2000, -12) * s.envelope(16000), s.silence(500)])
    v = verdict(s.to_pcm(x + s.noise(len(x), 10, rng)))
    assert (v.result, v.reason, v.at_ms) == (AmdResult.MACHINE, "LONGGREETING-1500-1500", 300 + 1500)


def test_pure_silence_is_not_sure() -> None:
    v = verdict(s.to_pcm(s.silence(6000)))
    assert (v.result, v.reason, v.at_ms) == (AmdResult.NOTSURE, "INITIALSILENCE-2500-2500", 2500)


def test_undecided_audio_is_not_sure_at_the_total_analysis_time() -> None:
    # Words far apart enough to be counted but the word limit lifted: nothing decides.
    rng = np.random.default_rng(2)
    word_and_pause = [np.concatenate([s.syllable(150, rng), s.silence(600)]) for _ in range(10)]
    config = AmdConfig(max_words=99, greeting_ms=10_000)
    v = verdict(s.to_pcm(np.concatenate(word_and_pause)), config)
    assert (v.result, v.reason, v.at_ms) == (AmdResult.NOTSURE, "TOOLONG-5000", 5000)


def test_the_verdict_is_given_once() -> None:
    m = MachineDetector()
    results = [m.feed(f) for f in s.frames(human_greeting(3))]
    decided = [r for r in results if r is not None]
    assert len(decided) == 1 and m.verdict == decided[0]
    assert results.index(decided[0]) == decided[0].at_ms // 20 - 1


def test_defaults_are_app_amds() -> None:
    c = AmdConfig()
    assert (c.initial_silence_ms, c.greeting_ms, c.after_greeting_silence_ms, c.total_analysis_ms,
            c.min_word_ms, c.between_words_silence_ms, c.max_words, c.silence_threshold) == (
        2500, 1500, 800, 5000, 100, 50, 3, 256)


def beeps(pcm: np.ndarray, detector: BeepDetector | None = None) -> list[int]:
    """End of each frame (ms) on which a beep was reported."""
    b = detector or BeepDetector()
    return [20 * (i + 1) for i, f in enumerate(s.frames(pcm)) if b.feed(f)]


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("hz", [440.0, 1000.0, 1400.0])
def test_the_beep_after_a_greeting_is_found_when_it_ends(seed: int, hz: float) -> None:
    rng = np.random.default_rng(seed)
    greeting = s.talk(rng.uniform(2000, 4000), rng)
    x = np.concatenate([greeting, s.silence(300), s.beep_tone(500, hz), s.silence(1000)])
    x = x + s.noise(len(x), 500 if seed % 2 else 0, rng)
    beep_end = (len(greeting) + s.samples(800)) / 8
    found = beeps(s.to_pcm(x))
    assert len(found) == 1
    assert abs(found[0] - beep_end) <= 40


def clipped(pcm: np.ndarray, seed: int, gain: float = 10.0, sigma: float = 60.0) -> np.ndarray:
    """`pcm` driven `gain` times past full scale (hard clipping), then line noise."""
    hot = np.clip(pcm.astype(np.float64) * gain, -32768, 32767)
    return s.to_pcm(hot + s.noise(len(hot), sigma, np.random.default_rng(seed)))


@pytest.mark.parametrize("seed", range(4))
def test_clipped_greetings_and_beeps_are_still_told_apart(seed: int) -> None:
    rng = np.random.default_rng(seed)
    person = clipped(s.human(rng, lead_ms=rng.uniform(100, 1500), words=1 + seed % 2), seed)
    assert verdict(person).result is AmdResult.HUMAN
    assert beeps(person) == []
    rng = np.random.default_rng(1000 + seed)
    machine = clipped(s.machine(rng, lead_ms=rng.uniform(100, 1000), talk_ms=rng.uniform(3000, 5000)),
                      seed)  # its 1 kHz beep becomes a square wave
    assert verdict(machine).result is AmdResult.MACHINE
    assert len(beeps(machine)) == 1


@pytest.mark.parametrize("seed", range(10))
def test_speech_is_not_a_beep(seed: int) -> None:
    rng = np.random.default_rng(50 + seed)
    x = s.talk(8000, rng, float(rng.uniform(-20, -6)))
    assert beeps(s.to_pcm(x + s.noise(len(x), 100, rng))) == []


def test_dtmf_is_not_a_beep() -> None:
    x = np.concatenate([np.concatenate([s.dtmf(k, ms), s.silence(80)])
                        for k, ms in zip("123A456B789C*0#D", [100, 300, 1000] * 6, strict=False)])
    assert beeps(s.to_pcm(x)) == []


def test_short_quiet_or_out_of_band_tones_are_not_beeps() -> None:
    def tone(hz: float, ms: float, db: float = -12) -> np.ndarray:
        return s.to_pcm(np.concatenate([s.silence(200), s.beep_tone(ms, hz, db), s.silence(200)]))

    assert beeps(tone(1000, 140)) == []
    assert beeps(tone(1000, 500, db=-50)) == []
    assert beeps(tone(300, 500)) == []
    assert beeps(tone(2500, 500)) == []
    assert len(beeps(tone(1000, 260))) == 1


def test_a_gliding_tone_is_not_a_beep() -> None:
    t = np.arange(8000) / 8000
    sweep = 0.3 * 32767 * np.sin(2 * np.pi * (500 * t + 400 * t**2))  # 500 Hz to 1,300 Hz in 1 s
    assert beeps(s.to_pcm(np.concatenate([sweep, s.silence(300)]))) == []
