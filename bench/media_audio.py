"""The simulated network's audio fidelity under load (issue 12): how punctual is the media clock?

1. Concurrent audio legs at real-time pacing (the real clock): N legs in conferences of 10, every
   phone saying TTS without pause (so every frame of every leg is sent, detected by the platform's
   ear and mixed). After a warm-up, for `--seconds`: the media clock's frame lateness (p50, p99,
   max: how late each 20 ms tick ran after its absolute deadline) and the process's CPU as a share
   of one core. The target (issue 12) is >= 500 legs per core at p99 <= 5 ms.
2. Mixing one 10-party conference, everybody talking: CPU per 20 ms frame (the mixer alone).

Run: .venv/bin/python bench/media_audio.py [--legs 100 250 500] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import timeit
from collections.abc import Sequence
from pathlib import Path

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import machine_banner
from percl.domain.enums import AnsweredBy, MachineType
from percl.domain.ids import SequentialIds
from percl.engine.ports import DialResult, MixPath, SpeechGrammar
from percl.media.tts import default_synthesizer
from percl.runtime.clock import SystemClock
from percl.telephony.sim.audio.dsp import FRAME_SAMPLES, Pcm
from percl.telephony.sim.audio.mixer import AudioMixer
from percl.telephony.sim.model import PhoneProgram, PhoneStep
from percl.telephony.sim.network import SimNetwork

SENTENCE = "Thank you for calling. All of our agents are busy. Please stay on the line."
PARTY = 10
RATE = 8000


class BenchKit:
    """The AudioKit of the bench: espeak-ng TTS rendered once, no files, no recogniser work
    (the phones never stop talking, so no utterance ends)."""

    def __init__(self) -> None:
        self._cache: dict[str, Pcm] = {}

    def speech(self, text: str, language: str | None) -> Pcm:
        pcm = self._cache.get(text)
        if pcm is None:
            pcm = self._cache[text] = _render(text)
        return pcm

    async def file(self, url: str) -> Pcm:
        raise NotImplementedError("the bench plays no files")

    def transcribe(self, pcm: Pcm, grammar: SpeechGrammar | None) -> tuple[str, int]:
        return "", 0


def _render(text: str) -> Pcm:
    pcm: Pcm = default_synthesizer().synthesize(text, "en-US").pcm
    return pcm


class Quiet:
    """A LegListener that ignores everything (the bench measures the network, not an engine)."""

    def on_ringing(self) -> None: ...
    def on_answered(self, answered_by: AnsweredBy) -> None: ...
    def on_dial_failed(self, result: DialResult) -> None: ...
    def on_machine_detected(self, machine_type: MachineType) -> None: ...
    def on_dtmf(self, digits: str) -> None: ...
    def on_speech_started(self) -> None: ...
    def on_speech_ended(self, text: str) -> None: ...
    def on_far_end_hangup(self) -> None: ...


async def legs_run(legs: int, seconds: float, warmup: float = 2.0) -> str:
    kit = BenchKit()
    said = len(kit.speech(SENTENCE, "en-US")) / RATE
    steps = tuple(PhoneStep(round(i * said * 1000), say=SENTENCE)
                  for i in range(int((warmup + seconds) / said) + 2))
    async with SimNetwork(SystemClock(), SequentialIds("bench"), media="audio",
                          audio_kit=kit, max_audio_seconds=5) as net:
        for i in range(legs):
            number = f"+1555{i:07d}"
            # answers spread over 2 s: phones that all start a sentence in the same tick
            # would measure that tick, not the clock
            net.program(number, PhoneProgram(answer_after_ms=i * 7919 % 2000, script=steps))
            call_id = f"CA{i:040d}"
            await net.dial(call_id, "+13125550100", number, Quiet(), detect_machine=False)
        await asyncio.sleep(2.1)  # every phone answers
        for i in range(legs):
            net.mixer.add(f"CF{i // PARTY:040d}", f"CA{i:040d}", MixPath())
        await asyncio.sleep(warmup)
        net.media_clock_stats(reset=True)  # the warm-up's figures go
        cpu0, wall0 = time.process_time(), time.perf_counter()
        await asyncio.sleep(seconds)
        cpu = (time.process_time() - cpu0) / (time.perf_counter() - wall0)
        stats = net.media_clock_stats()
        assert stats is not None
    per_frame_us = cpu * 20_000 / legs
    return (f"{legs:>6} {stats.ticks:>7} {stats.p50_ms:>8.2f} {stats.p99_ms:>8.2f} "
            f"{stats.max_ms:>8.2f} {cpu * 100:>7.1f}% {per_frame_us:>9.1f}")


def mix_cost() -> str:
    """One 10-party conference, everybody talking: microseconds per 20 ms frame."""
    mixer = AudioMixer(lambda _: None, lambda _: None)
    rng = np.random.default_rng(1)

    class Party:
        def __init__(self) -> None:
            self.sent: Pcm | None = (rng.standard_normal(FRAME_SAMPLES) * 3000).astype(np.int16)
            self.in_tone = False
            self.bound: Pcm | None = None

        def add_bound(self, frame: Pcm) -> None:
            self.bound = frame

        def inject(self, pcm: Pcm) -> None: ...

    parties = {f"CA{i:040d}": Party() for i in range(PARTY)}
    for call_id in parties:
        mixer.add("CF1", call_id, MixPath())
    runs = 5000
    seconds = timeit.timeit(lambda: mixer.mix(parties), number=runs)
    return f"10-party conference, all talking: {seconds / runs * 1e6:.1f} µs per 20 ms frame"


async def main(legs: Sequence[int], seconds: float) -> None:
    print(machine_banner("bench/media_audio.py: the simulated network's audio fidelity"))
    print(f"legs in conferences of {PARTY}, every phone talking (TTS), {seconds:g} s measured "
          "after 2 s of warm-up; lateness of each 20 ms tick after its deadline")
    print(f"{'legs':>6} {'ticks':>7} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'CPU':>8} "
          f"{'µs/leg-frame':>9}")
    for n in legs:
        print(await legs_run(n, seconds), flush=True)
    print(mix_cost())


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--legs", type=int, nargs="+", default=[100, 250, 500])
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    asyncio.run(main(args.legs, args.seconds))
