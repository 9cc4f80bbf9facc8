"""Test doubles and measures for the audio fidelity: a kit whose "voice" is seeded tones and whose
"recogniser" knows what it said, a recording listener, and correlation/energy helpers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from tests.audio_doubles import FakeKit as FakeKit
from tests.audio_doubles import speak as speak

from percl.domain.enums import AnsweredBy, MachineType
from percl.domain.ids import SequentialIds
from percl.engine.ports import DialResult
from percl.telephony.sim.network import SimNetwork
from percl.testing.clock import FakeClock

Pcm = npt.NDArray[np.int16]
RATE = 8000


def peak(haystack: Pcm, needle: Pcm) -> tuple[int, float]:
    """Where `needle` best matches in `haystack` (sample offset) and the normalised correlation
    there (1.0: identical)."""
    h = haystack.astype(np.float64)
    n = needle.astype(np.float64)
    size = 1 << (len(h) + len(n)).bit_length()
    corr = np.fft.irfft(np.fft.rfft(h, size) * np.conj(np.fft.rfft(n, size)), size)[: len(h) - len(n) + 1]
    energy = np.convolve(h * h, np.ones(len(n)), "valid")
    norm = np.sqrt(np.maximum(energy, 1e-9) * float(n @ n))
    scores = corr / norm
    at = int(np.argmax(scores))
    return at, float(scores[at])


def rms(pcm: Pcm) -> float:
    return float(np.sqrt(np.mean(pcm.astype(np.float64) ** 2))) if len(pcm) else 0.0


def tone_power(pcm: Pcm, hz: float) -> float:
    """The share of `pcm`'s energy at `hz` (a single-bin DFT), leading and trailing silence
    left out."""
    loud = np.flatnonzero(pcm)
    x = pcm[loud[0]:loud[-1] + 1].astype(np.float64) if len(loud) else pcm.astype(np.float64)
    t = np.arange(len(x)) / RATE
    c, s = x @ np.cos(2 * np.pi * hz * t), x @ np.sin(2 * np.pi * hz * t)
    total = float(x @ x)
    return 0.0 if total == 0 else (c * c + s * s) * 2 / len(x) / total


@dataclass
class Listener:
    """A LegListener noting (ms since start, event, argument)."""

    clock: FakeClock
    start: float = 0.0
    events: list[tuple[int, str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.start = self.clock.now()

    def _note(self, name: str, arg: Any = None) -> None:
        self.events.append((round((self.clock.now() - self.start) * 1000), name, arg))

    def on_ringing(self) -> None:
        self._note("ringing")

    def on_answered(self, answered_by: AnsweredBy, *, web_rtc: bool = False) -> None:
        self._note("answered", answered_by)

    def on_dial_failed(self, result: DialResult) -> None:
        self._note("failed", result)

    def on_machine_detected(self, machine_type: MachineType) -> None:
        self._note("machine", machine_type)

    def on_dtmf(self, digits: str) -> None:
        self._note("digits", digits)

    def on_speech_started(self) -> None:
        self._note("speaking")

    def on_speech_ended(self, text: str) -> None:
        self._note("speech", text)

    def on_far_end_hangup(self) -> None:
        self._note("hangup")

    def of(self, name: str) -> list[Any]:
        return [arg for _, n, arg in self.events if n == name]


@asynccontextmanager
async def audio_network(clock: FakeClock, kit: FakeKit | None = None,
                        **kwargs: Any) -> AsyncIterator[SimNetwork]:
    async with SimNetwork(clock, SequentialIds("aud"), media="audio", audio_kit=kit or FakeKit(),
                          tracker=clock.tracker, **kwargs) as net:
        yield net
