"""What the media plane's detectors cost, and how right answering-machine detection is.

On synthetic audio (bench/signals.py: seeded, numpy only), this measures:

  1. DtmfDetector: CPU per 20 ms frame over a minute of speech, keys and white noise;
  2. VoiceActivity: CPU per 20 ms frame over the same minute;
  3. MachineDetector on a synthetic set of people ("Hello?" then silence) and answering machines
     (3-5 s of talk, a pause, a 1 kHz beep), at three noise levels: accuracy, the audio fed before
     the verdict (ms), and the CPU per call spent until the verdict;
  4. BeepDetector over each whole recording: beeps found on machines, false beeps on people, and
     its CPU per call.

CPU is process time (time.process_time), so a busy machine does not inflate it much.

    .venv/bin/python bench/media_detect.py [--calls 50] [--quick]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

from bench import signals as s
from bench.common import machine_banner, percentile
from percl.media.audio.amd import AmdResult, BeepDetector, MachineDetector
from percl.media.audio.dtmf_detect import DtmfDetector
from percl.media.audio.vad import VoiceActivity

NOISE = (0.0, 60.0, 150.0)


def minute_of_audio() -> list[np.ndarray]:
    """Talk, key presses and noise bursts, 60 s in 20 ms frames."""
    rng = np.random.default_rng(12)
    parts: list[np.ndarray] = []
    while sum(len(p) for p in parts) < 8000 * 60:
        parts += [s.talk(3000, rng), s.silence(300)]
        parts += [np.concatenate([s.dtmf(k), s.silence(80)]) for k in "0123456789"]
        parts += [s.noise(8000, 500, rng)]
    x = np.concatenate(parts)[: 8000 * 60]
    return s.frames(s.to_pcm(x + s.noise(len(x), 100, rng)))


def per_frame_us(make: Callable[[], Callable[[np.ndarray], object]], frames: Sequence[np.ndarray],
                 rounds: int) -> float:
    """Best-of-`rounds` CPU microseconds per frame for a fresh detector over all frames."""
    best = float("inf")
    for _ in range(rounds):
        feed = make()
        start = time.process_time()
        for f in frames:
            feed(f)
        best = min(best, time.process_time() - start)
    return best / len(frames) * 1e6


def synthetic_set(calls: int) -> list[tuple[AmdResult, list[np.ndarray]]]:
    out: list[tuple[AmdResult, list[np.ndarray]]] = []
    for i in range(calls):
        rng = np.random.default_rng(i)
        pcm = s.human(rng, lead_ms=rng.uniform(100, 1500), sigma=NOISE[i % 3], words=1 + i % 2)
        out.append((AmdResult.HUMAN, s.frames(pcm)))
        rng = np.random.default_rng(10_000 + i)
        pcm = s.machine(rng, lead_ms=rng.uniform(100, 1000), talk_ms=rng.uniform(3000, 5000),
                        sigma=NOISE[i % 3], beep_hz=float(rng.choice([440, 1000, 1400])))
        out.append((AmdResult.MACHINE, s.frames(pcm)))
    return out


def amd_report(calls: int) -> None:
    cases = synthetic_set(calls)
    right = {AmdResult.HUMAN: 0, AmdResult.MACHINE: 0}
    at_ms: dict[AmdResult, list[float]] = {AmdResult.HUMAN: [], AmdResult.MACHINE: []}
    amd_cpu: list[float] = []
    beep_cpu: list[float] = []
    beeps = {AmdResult.HUMAN: 0, AmdResult.MACHINE: 0}
    for truth, frames in cases:
        m = MachineDetector()
        start = time.process_time()
        verdict = next(v for f in frames if (v := m.feed(f)) is not None)
        amd_cpu.append(time.process_time() - start)
        right[truth] += verdict.result is truth
        at_ms[truth].append(verdict.at_ms)
        b = BeepDetector()
        start = time.process_time()
        found = sum(b.feed(f) for f in frames)
        beep_cpu.append(time.process_time() - start)
        beeps[truth] += found > 0
    print(f"3. MachineDetector on {calls} people + {calls} machines (noise sigma {NOISE}):")
    for truth in (AmdResult.HUMAN, AmdResult.MACHINE):
        ms = sorted(at_ms[truth])
        print(f"   {truth.value:8s} right {right[truth]}/{calls}; verdict after audio ms: "
              f"median {statistics.median(ms):.0f}, p90 {percentile(ms, 90):.0f}, max {ms[-1]:.0f}")
    amd_cpu.sort()
    print(f"   CPU per call until the verdict: median {statistics.median(amd_cpu) * 1e3:.2f} ms, "
          f"max {amd_cpu[-1] * 1e3:.2f} ms")
    beep_cpu.sort()
    print(f"4. BeepDetector over whole recordings: beep found on {beeps[AmdResult.MACHINE]}/{calls} "
          f"machines, on {beeps[AmdResult.HUMAN]}/{calls} people; CPU per call "
          f"median {statistics.median(beep_cpu) * 1e3:.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=50, help="people and machines each (default 50)")
    parser.add_argument("--quick", action="store_true", help="10 calls each, one timing round")
    args = parser.parse_args()
    calls, rounds = (10, 1) if args.quick else (args.calls, 3)
    print(machine_banner("media detectors (bench/media_detect.py)"))
    frames = minute_of_audio()

    def dtmf() -> Callable[[np.ndarray], object]:
        return DtmfDetector().feed

    def vad() -> Callable[[np.ndarray], object]:
        return VoiceActivity().feed

    d_us, v_us = per_frame_us(dtmf, frames, rounds), per_frame_us(vad, frames, rounds)
    print(f"1. DtmfDetector: {d_us:.1f} us CPU per 20 ms frame ({d_us / 200:.2f}% of a core per leg)")
    print(f"2. VoiceActivity: {v_us:.1f} us CPU per 20 ms frame ({v_us / 200:.2f}% of a core per leg)")
    amd_report(calls)


if __name__ == "__main__":
    main()
