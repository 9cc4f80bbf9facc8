"""A browser's audio as the simulated network's FarAudio: frames in both directions at 8 kHz.

The network's media clock calls `take()` and `give()` once per 20 ms tick. `give` queues what
the browser should hear; aiortc's sender pulls it through `LegTrack.recv()`, so the media clock
paces the RTP stream (no second clock). The browser's track is read by `pump`, converted to
8 kHz mono and cut into 20 ms frames for `take`.

Why frames cross at 8 kHz and libav converts: aiortc's encoders resample what they are given
(PCMU keeps 8 kHz, Opus goes to 48 kHz) and its decoders hand back whatever the codec decodes
(8 kHz for PCMU, 48 kHz stereo for Opus); libav's `AudioResampler` converts a stream with its
filter state kept between frames. percl.media.audio.resample works on whole buffers: applied per
20 ms frame, each frame's filter would start from nothing and click at every frame edge.

Both directions are bounded: `LegTrack` keeps at most `depth` frames (the oldest go when the
browser's side stalls), the inbox as many (the oldest go when the media clock falls behind).
`take` waits until `prefill` frames are queued before it starts handing them out, and again after
running dry: a small jitter buffer, so packets arriving in bursts do not become gaps.
"""

from __future__ import annotations

import asyncio
from collections import deque
from fractions import Fraction

import numpy as np
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError
from av import AudioFrame, AudioResampler

from percl.media.audio.pcm import FRAME_SAMPLES, SAMPLE_RATE, Pcm

DEPTH = 10  # frames (200 ms) queued in each direction at most
PREFILL = 2  # frames (40 ms) the inbox gathers before `take` hands them out


class LegTrack(MediaStreamTrack):
    """The audio the platform sends the browser: what the far end hears, tick by tick."""

    kind = "audio"

    def __init__(self, depth: int = DEPTH) -> None:
        super().__init__()
        self._frames: deque[Pcm] = deque(maxlen=depth)
        self._ready = asyncio.Event()
        self._pts = 0

    def put(self, frame: Pcm) -> None:
        self._frames.append(frame)
        self._ready.set()

    async def recv(self) -> AudioFrame:
        """The next 20 ms frame; waits for the media clock. Raises MediaStreamError once
        stopped."""
        while not self._frames:
            if self.readyState != "live":
                raise MediaStreamError
            self._ready.clear()
            await self._ready.wait()
        pcm = self._frames.popleft()
        frame = AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = SAMPLE_RATE
        frame.time_base = Fraction(1, SAMPLE_RATE)
        frame.pts = self._pts
        self._pts += len(pcm)
        return frame

    def stop(self) -> None:
        super().stop()
        self._ready.set()  # a waiting recv wakes and raises


class BrowserAudio:
    """The FarAudio of one browser leg (see the module docstring)."""

    def __init__(self, *, depth: int = DEPTH, prefill: int = PREFILL) -> None:
        self.track = LegTrack(depth)
        self._inbox: deque[Pcm] = deque(maxlen=depth)
        self._prefill = prefill
        self._flowing = False
        self._silence = np.zeros(FRAME_SAMPLES, dtype=np.int16)
        self._rest: Pcm = np.zeros(0, dtype=np.int16)  # samples short of a whole frame
        self.closed = False

    # ------------------------------------------------------------------ FarAudio

    def take(self) -> Pcm | None:
        """What the browser sent for this tick (None: nothing yet, or the buffer ran dry)."""
        if not self._flowing and len(self._inbox) < self._prefill:
            return None
        if not self._inbox:
            self._flowing = False
            return None
        self._flowing = True
        return self._inbox.popleft()

    def give(self, frame: Pcm | None) -> None:
        """What the browser hears this tick (None: silence, sent as such so its jitter buffer
        keeps a steady stream)."""
        if not self.closed:
            self.track.put(self._silence if frame is None else frame)

    def close(self) -> None:
        self.closed = True
        self.track.stop()
        self._inbox.clear()

    # ------------------------------------------------------------------ the browser's track

    def hear(self, samples: Pcm) -> None:
        """Frames of `samples` (8 kHz mono, any length) into the inbox; a remainder waits for
        the next call."""
        pending = np.concatenate([self._rest, samples]) if len(self._rest) else samples
        whole = len(pending) - len(pending) % FRAME_SAMPLES
        for start in range(0, whole, FRAME_SAMPLES):
            self._inbox.append(pending[start:start + FRAME_SAMPLES].copy())
        self._rest = pending[whole:].copy()

    async def pump(self, remote: MediaStreamTrack) -> None:
        """Read the browser's track until it ends (or this audio closes)."""
        resampler = AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
        while not self.closed:
            try:
                frame = await remote.recv()
            except MediaStreamError:
                return
            if not isinstance(frame, AudioFrame):
                continue
            for out in resampler.resample(frame):
                self.hear(out.to_ndarray().reshape(-1).astype(np.int16, copy=False))
