"""StreamSession with links that misbehave: its queues stay bounded, and it always ends."""

from __future__ import annotations

import asyncio

import numpy as np

from percl.engine.ports import StreamEndKind, StreamStart
from percl.streaming import messages as m
from percl.streaming.session import StreamSession, StreamSettings
from percl.testing.clock import FakeClock
from tests.streaming.helpers import ScriptMedia, ScriptTap

START = StreamStart("grpc://127.0.0.1:9", "CA1", "+1555", "+1666", True, (), "audio/mulaw;rate=8000")


class StuckLink:
    """An agent that reads the first message, then nothing more; it never says anything."""

    def __init__(self) -> None:
        self.sent: list[m.PlatformEvent] = []
        self.forever: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def send(self, event: m.PlatformEvent) -> None:
        if self.sent:
            await self.forever
        self.sent.append(event)

    async def receive(self) -> m.AppCommand | None:
        await self.forever
        return None

    async def close(self) -> None:
        pass


async def test_an_agent_that_stops_reading_costs_a_bounded_queue_and_ends_by_stall() -> None:
    clock = FakeClock()
    link = StuckLink()
    tap = ScriptTap(np.zeros(160 * 3000, dtype=np.int16), wait_for=0, clock=clock)  # 60 s

    async def dial(start: StreamStart) -> StuckLink:
        return link

    session = StreamSession(START, ScriptMedia(tap), dial, clock,
                            StreamSettings(stall_s=5, max_buffer_ms=1000, close_timeout_s=0.01))
    task = asyncio.ensure_future(session.run())
    while not task.done():
        await clock.advance(1)
        assert len(session._outbox) <= 51  # 1 s of audio (+ the goodbye)
    end = task.result()
    assert end.kind is StreamEndKind.FAILED and "stalled" in end.reason
    assert session.dropped_frames > 0
    assert [type(e) for e in link.sent] == [m.CallStarted]
