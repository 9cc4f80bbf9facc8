"""Helpers for the simulated network tests: a recording listener, handler and a running network."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from percl.domain.enums import AnsweredBy, MachineType
from percl.domain.ids import SequentialIds
from percl.engine.ports import Audio, DialResult
from percl.telephony.sim.network import SimNetwork
from percl.testing.clock import FakeClock


@dataclass
class RecordingListener:
    """A LegListener that notes (seconds since start, event, argument)."""

    clock: FakeClock
    start: float = 0.0
    events: list[tuple[float, str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.start = self.clock.now()

    def _note(self, name: str, arg: Any = None) -> None:
        self.events.append((round(self.clock.now() - self.start, 3), name, arg))

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
        pass  # the tests note whole utterances (speech ended)

    def on_speech_ended(self, text: str) -> None:
        self._note("speech", text)

    def on_far_end_hangup(self) -> None:
        self._note("hangup")

    def names(self) -> list[str]:
        return [name for _, name, _ in self.events]


@dataclass
class RecordingHandler:
    """An InboundHandler that attaches a RecordingListener to every call it is offered."""

    net: SimNetwork
    clock: FakeClock
    calls: list[tuple[str, str, str]] = field(default_factory=list)
    listeners: dict[str, RecordingListener] = field(default_factory=dict)

    async def incoming_call(
        self, call_id: str, from_: str, to: str, number: object = None, *,
        web_rtc: bool = False,
    ) -> None:
        self.calls.append((call_id, from_, to))
        listener = RecordingListener(self.clock)
        self.listeners[call_id] = listener
        self.net.attach(call_id, listener)


@asynccontextmanager
async def running(clock: FakeClock, **kwargs: Any) -> AsyncIterator[SimNetwork]:
    async with SimNetwork(clock, SequentialIds("test"), **kwargs) as net:
        yield net


@dataclass
class Sink:
    """A RecordingSink that keeps what it was given."""

    written: list[Audio] = field(default_factory=list)
    closed: list[int] = field(default_factory=list)
    heard: list[Audio] = field(default_factory=list)

    def write(self, audio: Audio) -> None:
        self.written.append(audio)

    def hear(self, audio: Audio) -> None:
        self.heard.append(audio)

    def close(self, duration_ms: int) -> None:
        self.closed.append(duration_ms)
