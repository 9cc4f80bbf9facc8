"""A MediaSession double for the streaming package's own tests: its tap says `script` (8 kHz
PCM) as fast as it is read, then waits until `wait_for` samples came back, then ends the call."""

from __future__ import annotations

import asyncio

import numpy as np

from percl.domain.clock import Clock
from percl.engine.ports import Played, PlayEnd, RecordingSink, Source, SpeechGrammar
from percl.media.audio.pcm import FRAME_SAMPLES, Pcm


class ScriptTap:
    def __init__(self, script: Pcm, wait_for: int, clock: Clock | None = None) -> None:
        self._clock = clock  # given: a frame every 20 ms of its time
        self._script = script
        self._pos = 0
        self._wait_for = wait_for
        self._back: list[bytes] = []
        self._got = 0
        self._arrived = asyncio.Event()
        self.closed = False
        self.cleared = 0

    async def read(self) -> bytes | None:
        if self.closed:
            return None
        if self._pos < len(self._script):
            frame = self._script[self._pos:self._pos + FRAME_SAMPLES]
            self._pos += FRAME_SAMPLES
            await (self._clock.sleep(0.02) if self._clock is not None else asyncio.sleep(0))
            return frame.astype("<i2").tobytes()
        while self._got < self._wait_for and not self.closed:
            self._arrived.clear()
            await self._arrived.wait()
        return None

    def play(self, pcm: bytes) -> int:
        self._back.append(pcm)
        self._got += len(pcm) // 2
        self._arrived.set()
        return len(pcm) // 2

    def clear(self) -> int:
        self.cleared += 1
        return 0

    @property
    def queued(self) -> int:
        return 0

    @property
    def played(self) -> int:
        return self._got

    def close(self) -> None:
        self.closed = True
        self._arrived.set()

    def back(self) -> Pcm:
        return np.frombuffer(b"".join(self._back), dtype="<i2").astype(np.int16)


class ScriptMedia:
    def __init__(self, tap: ScriptTap) -> None:
        self.tap = tap
        self.keys: list[str] = []

    async def play(self, source: Source) -> Played:
        return Played(PlayEnd.FINISHED, 0)

    async def send_dtmf(self, digits: str, pause_ms: int) -> None:
        self.keys.append(digits)

    def start_recording(self, sink: RecordingSink) -> None:
        sink.close(0)

    def stop_recording(self) -> None:
        pass

    def expect_speech(self, grammar: SpeechGrammar | None) -> None:
        pass

    def open_stream(self, max_buffer_ms: int) -> ScriptTap:
        return self.tap
