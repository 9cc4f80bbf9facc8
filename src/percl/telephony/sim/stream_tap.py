"""StreamTaps of the simulated network (AudioStream's live audio, engine/ports/media.py).

Two kinds, one per media fidelity, sharing the outbound bookkeeping (`Outbound`):

* `FrameTap` (audio fidelity): the audio plane feeds it the phone's frame every 20 ms tick and
  takes one frame of queued agent audio to add to what the phone hears (audio/plane.py).
* `SilentTap` (symbolic fidelity): the far end's words are not audio, so the agent hears a frame
  of silence every 20 ms of clock time; what the agent plays is counted as time (it is "played"
  at 20 ms a frame while the tap is read) but carries no words to the phone's transcript. DTMF
  still reaches the agent both ways (it goes through the engine, not the tap).
"""

from __future__ import annotations

import asyncio
from collections import deque

import numpy as np

from percl.domain.clock import Clock
from percl.media.audio.pcm import FRAME_MS, FRAME_SAMPLES, Pcm

FRAME_BYTES = FRAME_SAMPLES * 2
_SILENT_FRAME = bytes(FRAME_BYTES)


class Outbound:
    """Agent audio queued for the phone, at most `max_samples`, taken a frame at a time."""

    __slots__ = ("_chunks", "_max", "played", "queued")

    def __init__(self, max_samples: int) -> None:
        self._chunks: deque[Pcm] = deque()
        self._max = max_samples
        self.queued = 0
        self.played = 0

    def put(self, pcm: bytes) -> int:
        room = max(0, self._max - self.queued)
        samples = np.frombuffer(pcm[: (len(pcm) // 2) * 2], dtype="<i2")[:room].astype(np.int16)
        if len(samples):
            self._chunks.append(samples)
            self.queued += len(samples)
        return len(samples)

    def clear(self) -> int:
        dropped = self.queued
        self._chunks.clear()
        self.queued = 0
        return dropped

    def take(self, n: int) -> Pcm | None:
        """The next `n` samples (zero-padded when fewer are queued); None when nothing is."""
        if not self.queued:
            return None
        out = np.zeros(n, dtype=np.int16)
        filled = 0
        while filled < n and self._chunks:
            head = self._chunks[0]
            part = head[: n - filled]
            out[filled:filled + len(part)] = part
            filled += len(part)
            if len(part) == len(head):
                self._chunks.popleft()
            else:
                self._chunks[0] = head[len(part):]
        self.queued -= filled
        self.played += filled
        return out


class _Playing:
    """What both taps do with the agent's audio: queue it (bounded), clear it, count it."""

    _out: Outbound
    closed: bool

    def play(self, pcm: bytes) -> int:
        return 0 if self.closed else self._out.put(pcm)

    def clear(self) -> int:
        return self._out.clear()

    @property
    def queued(self) -> int:
        return self._out.queued

    @property
    def played(self) -> int:
        return self._out.played


class FrameTap(_Playing):
    """The StreamTap of an audio-fidelity leg; the plane calls `feed` and `next_out` each tick."""

    def __init__(self, max_frames: int) -> None:
        self._in: deque[bytes] = deque(maxlen=max(1, max_frames))
        self._out = Outbound(max(1, max_frames) * FRAME_SAMPLES)
        self._waiter: asyncio.Future[None] | None = None
        self.closed = False

    # ---------------------------------------------------------------- the plane's side

    def feed(self, frame: Pcm | None) -> None:
        """This tick's frame from the phone (None: silence)."""
        if self.closed:
            return
        self._in.append(_SILENT_FRAME if frame is None else frame.astype("<i2").tobytes())
        self._wake()

    def next_out(self) -> Pcm | None:
        """This tick's frame of agent audio for the phone (None: nothing queued)."""
        return None if self.closed else self._out.take(FRAME_SAMPLES)

    # ---------------------------------------------------------------- StreamTap

    async def read(self) -> bytes | None:
        while not self._in:
            if self.closed:
                return None
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._in.popleft()

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._out.clear()
            self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)


class SilentTap(_Playing):
    """The StreamTap of a symbolic leg (see the module docstring); ends with `ended`."""

    def __init__(self, clock: Clock, ended: asyncio.Future[None] | None, max_frames: int) -> None:
        self._clock = clock
        self._ended = ended
        self._out = Outbound(max(1, max_frames) * FRAME_SAMPLES)
        self.closed = ended is None or ended.done()

    async def read(self) -> bytes | None:
        if self.closed or self._ended is None:
            return None
        tick = asyncio.ensure_future(self._clock.sleep(FRAME_MS / 1000))
        try:
            await asyncio.wait((tick, self._ended), return_when=asyncio.FIRST_COMPLETED)
        finally:
            tick.cancel()
        if self.closed or self._ended.done():
            self.closed = True
            return None
        self._out.take(FRAME_SAMPLES)  # the agent's audio takes its time
        return _SILENT_FRAME

    def close(self) -> None:
        self.closed = True
        self._out.clear()
