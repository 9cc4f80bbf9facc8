"""Audio moving through a leg, one 20 ms frame per media-clock tick.

A `FrameQueue` is what one source has queued to send (the platform's plays to the phone, the
phone's mouth): items played one after another, each telling its awaiting task when its last
frame went out. A `Track` is what a leg kept of one direction (what the phone heard, what it
sent), newest frames only.

Silence is `None` throughout, not a frame of zeros: most frames of most legs are silent, and the
tick skips them without touching numpy.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable

import numpy as np

from percl.telephony.sim.audio.dsp import FRAME_MS, FRAME_SAMPLES, Pcm


class Queued:
    """One queued item: `pcm` (padded to whole frames) or, for silence, None and a frame count.
    `done` resolves when its last frame went out; `sent` counts the frames that did."""

    __slots__ = ("done", "frames", "pcm", "sent")

    def __init__(self, pcm: Pcm | None, frames: int) -> None:
        self.pcm = pcm
        self.frames = frames
        self.sent = 0
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    @property
    def sent_ms(self) -> int:
        return self.sent * FRAME_MS

    @property
    def ms(self) -> int:
        return self.frames * FRAME_MS


class FrameQueue:
    """Items to send, in order. `next()` takes the frame of the current tick."""

    __slots__ = ("_closed", "_items")

    def __init__(self) -> None:
        self._items: deque[Queued] = deque()
        self._closed = False

    def __bool__(self) -> bool:
        return bool(self._items)

    def put(self, pcm: Pcm) -> Queued:
        """Queue `pcm`. An empty one lasts one frame of silence: a Play or Say of nothing that
        loops forever (loop 0) must still let time pass between its iterations."""
        if len(pcm) == 0:
            return self._queue(Queued(None, 1))
        frames = -(-len(pcm) // FRAME_SAMPLES)
        padded = pcm if len(pcm) == frames * FRAME_SAMPLES else np.concatenate(
            (pcm, np.zeros(frames * FRAME_SAMPLES - len(pcm), dtype=np.int16)))
        return self._queue(Queued(padded, frames))

    def put_silence(self, ms: int) -> Queued:
        return self._queue(Queued(None, -(-max(0, ms) // FRAME_MS)))

    def _queue(self, item: Queued) -> Queued:
        if self._closed:
            item.done.cancel()
        elif item.frames == 0:
            item.done.set_result(None)
        else:
            self._items.append(item)
        return item

    def next(self) -> Pcm | None:
        """The frame to send now (None: silence); the item whose last frame this is resolves."""
        if not self._items:
            return None
        item = self._items[0]
        start = item.sent * FRAME_SAMPLES
        item.sent += 1
        if item.sent >= item.frames:
            self._items.popleft()
            if not item.done.done():
                item.done.set_result(None)
        return None if item.pcm is None else item.pcm[start:start + FRAME_SAMPLES]

    def drop(self, item: Queued) -> None:
        """Stop `item` now (barge-in): its remaining frames are not sent."""
        with contextlib.suppress(ValueError):  # already sent, or never queued
            self._items.remove(item)

    def clear(self) -> None:
        """The leg ended: nothing more is sent; whoever still waits (or queues) is cancelled."""
        self._closed = True
        while self._items:
            self._items.popleft().done.cancel()


class Track:
    """The newest `max_frames` frames of one direction of a leg (None: silence)."""

    __slots__ = ("_frames", "append")

    def __init__(self, max_frames: int) -> None:
        self._frames: deque[Pcm | None] = deque(maxlen=max_frames)
        # The deque's own append: every leg keeps two frames a tick, no Python call between.
        self.append: Callable[[Pcm | None], None] = self._frames.append

    def __len__(self) -> int:
        return len(self._frames)

    def pcm(self) -> Pcm:
        """The kept audio as one array (silence as zeros)."""
        out = np.zeros(len(self._frames) * FRAME_SAMPLES, dtype=np.int16)
        for i, frame in enumerate(self._frames):
            if frame is not None:
                out[i * FRAME_SAMPLES:(i + 1) * FRAME_SAMPLES] = frame
        return out
