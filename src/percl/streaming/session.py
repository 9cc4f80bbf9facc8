"""One AudioStream, whatever its wire: the engine's AgentStream (engine/ports/streaming.py).

The shape: a `Link` is the connection to the agent (grpc.py or websocket.py), typed messages in
and out (messages.py). `StreamSession.run` dials it, says NotifyCallStarted, then runs three
tasks until one of them ends the stream:

    uplink    reads the leg's tap every 20 ms, converts the frame to the stream's content type,
              queues it (and the caller's keys, and the playback notices) for the agent
    sender    writes the queue to the link, oldest first. The queue is bounded (`max_buffer_ms`
              of audio): an agent that reads too slowly loses the oldest frames, never the call
    receiver  reads the agent's messages: audio is queued to the tap (its bound: an overfill is
              cut and answered with NotifyError, as FreeClimb does), ClearAudioBuffer empties it
              (barge-in), PressDTMF plays keys, TerminateCall hangs up, the agent's end ends
    watchdog  (when `stall_s` > 0) ends the stream when the agent sent nothing for `stall_s`
              seconds of clock time

Faults never escape as exceptions: each becomes StreamEnd(FAILED, reason) and the reason names
what happened (unreachable, TLS, stalled, garbage). Audio in a format the stream cannot take is
FreeClimb's NotifyError to the agent and a warning in the log; the stream goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from percl.domain.clock import Clock
from percl.engine.ports import MediaSession, StreamEnd, StreamEndKind, StreamStart, StreamTap
from percl.streaming import messages as m
from percl.streaming.codec import Codec, WrongFormat, parse_content_type
from percl.streaming.pacing import InFlight

log = logging.getLogger(__name__)

FRAME_S = 0.02
_DIGITS = re.compile(r"[0-9*#]+")


class Link(Protocol):
    """A connection to one agent for one stream."""

    async def send(self, event: m.PlatformEvent) -> None:
        """Write one message. Raises AgentFault when the connection is gone."""
        ...

    async def receive(self) -> m.AppCommand | None:
        """The agent's next message; None when it ended the stream. Raises AgentFault for a
        broken connection or a message that is not one of the contract's."""
        ...

    async def close(self) -> None:
        """Close the connection (idempotent; never raises)."""
        ...


#: Opens the link of a stream. Raises AgentFault (unreachable, TLS failure, refused).
Dialer = Callable[[StreamStart], Awaitable[Link]]


@dataclass(frozen=True, slots=True)
class StreamSettings:
    """The limits of every stream (docs/DECISIONS.md has their defaults and why)."""

    connect_timeout_s: float = 10.0  # real seconds to reach the agent
    stall_s: float = 30.0  # clock seconds without a message from the agent; 0 = never stalls
    max_buffer_ms: int = 10_000  # audio held each way (tap, send queue)
    close_timeout_s: float = 2.0  # real seconds to say goodbye to an agent


@dataclass(slots=True)
class _Segment:
    """Agent audio under one PlayAudio id: samples [start, end) of the tap's played count."""

    id: str
    start: int
    end: int
    started: bool = False


class _Ended(Exception):
    def __init__(self, end: StreamEnd) -> None:
        self.end = end


class StreamSession:
    """The AgentStream of one AudioStream command (see the module docstring)."""

    def __init__(self, start: StreamStart, media: MediaSession, dial: Dialer, clock: Clock,
                 settings: StreamSettings, inflight: InFlight | None = None) -> None:
        self.start = start
        self._media = media
        self._dial = dial
        self._clock = clock
        self._settings = settings
        self._inflight = inflight
        self._key = (start.location, start.call_id)
        self._codec = Codec(parse_content_type(start.content_type))
        frames = max(1, settings.max_buffer_ms // 20)
        self._outbox: deque[m.PlatformEvent] = deque()
        self._max_audio = frames
        self._audio_queued = 0
        self._wake = asyncio.Event()
        self._segments: deque[_Segment] = deque()
        self._dtmf_pending = 0
        self._last_heard = clock.now()
        self._tasks: asyncio.TaskGroup | None = None
        self._connected_at: float | None = None  # once NotifyCallStarted went out
        self._opened_at = 0.0
        self._call_gone = False
        self.dropped_frames = 0  # caller audio the agent never got (it read too slowly)

    # ------------------------------------------------------------------ AgentStream

    @property
    def connected_at(self) -> float | None:
        return self._connected_at

    def caller_dtmf(self, digits: str) -> None:
        now = self._clock.now()
        for digit in digits:
            self._queue(m.DtmfStarted(digit, now))
            self._queue(m.DtmfEnded(digit, now))

    async def run(self) -> StreamEnd:
        tap = self._media.open_stream(self._settings.max_buffer_ms)
        try:
            try:
                link = await self._connect()
            except m.AgentFault as fault:
                return StreamEnd(StreamEndKind.FAILED, str(fault))
            try:
                end = await self._converse(link, tap)
            except asyncio.CancelledError:
                await _despite_cancel(self._goodbye(link, m.EndCode.CALLER_DISCONNECT,
                                                    "the call ended"))
                raise
        finally:
            tap.close()
        if await _despite_cancel(self._end(link, end)):
            raise asyncio.CancelledError  # the leg ended meanwhile: its task was cancelled
        return end

    async def _end(self, link: Link, end: StreamEnd) -> None:
        """Tell the agent how the call or its stream ended (unless it ended it), and close."""
        if self._call_gone:  # the leg ended under the stream (its tap closed)
            await self._goodbye(link, m.EndCode.CALLER_DISCONNECT, end.reason)
        elif end.kind is StreamEndKind.TERMINATE_CALL:
            await self._goodbye(link, m.EndCode.APPLICATION_DISCONNECT, end.reason)
        elif end.kind is StreamEndKind.FAILED:
            await self._goodbye(link, m.EndCode.PLATFORM_ERROR, end.reason)
        else:
            await self._close(link)

    # ------------------------------------------------------------------ the conversation

    async def _connect(self) -> Link:
        pacing = self._inflight.connecting() if self._inflight else contextlib.nullcontext()
        try:
            with pacing:
                async with asyncio.timeout(self._settings.connect_timeout_s):
                    link = await self._dial(self.start)
        except TimeoutError:
            raise m.AgentFault(f"agent unreachable at {self.start.location}: no answer within "
                               f"{self._settings.connect_timeout_s:g} s") from None
        s = self.start
        self._outbox.appendleft(m.CallStarted(s.call_id, s.to, s.from_, s.inbound, s.metadata,
                                              self._codec.content_type.wire))
        self._counted(opening=True)
        self._wake.set()
        self._last_heard = self._opened_at = self._clock.now()
        return link

    async def _converse(self, link: Link, tap: StreamTap) -> StreamEnd:
        """Run the tasks until one ends the stream; how it ended."""
        try:
            async with asyncio.TaskGroup() as tg:
                self._tasks = tg
                tg.create_task(self._uplink(tap))
                tg.create_task(self._sender(link))
                tg.create_task(self._receiver(link, tap))
                if self._settings.stall_s > 0:
                    tg.create_task(self._watchdog())
        except BaseExceptionGroup as group:
            return _first_end(group)
        return StreamEnd(StreamEndKind.AGENT_CLOSED, "the stream ended")  # not reached: they loop

    async def _uplink(self, tap: StreamTap) -> None:
        sequence = 0
        started = self._clock.now()
        while (frame := await tap.read()) is not None:
            for audio in self._codec.to_agent(frame):
                at = started + sequence * FRAME_S
                self._queue_audio(m.AudioData(audio, sequence, at, at + FRAME_S))
                sequence += 1
            self._playback_notices(tap)
        self._call_gone = True
        raise _Ended(StreamEnd(StreamEndKind.AGENT_CLOSED, "the call ended"))

    async def _sender(self, link: Link) -> None:
        while True:
            while not self._outbox:
                self._wake.clear()
                await self._wake.wait()
            event = self._outbox.popleft()
            if isinstance(event, m.AudioData):
                self._audio_queued -= 1
            await self._send(link, event)
            if self._connected_at is None:  # gRPC connects on the first write
                self._connected_at = self._opened_at

    async def _receiver(self, link: Link, tap: StreamTap) -> None:
        while True:
            command = await link.receive()
            if self._inflight is not None:
                self._inflight.arrived(self._key)
            self._last_heard = self._clock.now()
            if command is None:
                raise _Ended(StreamEnd(StreamEndKind.AGENT_CLOSED, "the agent closed the stream"))
            self._handle(command, tap)

    async def _watchdog(self) -> None:
        stall = self._settings.stall_s
        while True:
            due = self._last_heard + stall - self._clock.now()
            if due <= 0:
                raise _Ended(StreamEnd(StreamEndKind.FAILED,
                                       f"agent stalled: nothing from it for {stall:g} s"))
            await self._clock.sleep(due)

    # ------------------------------------------------------------------ the agent's commands

    def _handle(self, command: m.AppCommand, tap: StreamTap) -> None:
        now = self._clock.now()
        match command:
            case m.PlayAudio():
                self._play(command, tap)
            case m.ClearAudio(id=ident):
                tap.clear()
                self._segments.clear()
                self._queue(m.Acknowledged(m.AUDIO_CLEARED, ident, now))
            case m.PressDtmf():
                self._press(command)
            case m.QueryBuffer(kind=kind):
                if kind is m.BufferKind.AUDIO:
                    self._queue(m.BufferDepth(kind, -(-tap.queued // 160), self._max_audio))
                else:
                    self._queue(m.BufferDepth(kind, self._dtmf_pending, 0))
            case m.TerminateCall():
                raise _Ended(StreamEnd(StreamEndKind.TERMINATE_CALL,
                                       "the agent asked to hang up (TerminateCall)"))
            case m.EndStream():
                raise _Ended(StreamEnd(StreamEndKind.AGENT_CLOSED,
                                       "the agent ended the stream (EndGrpcStream)"))

    def _play(self, command: m.PlayAudio, tap: StreamTap) -> None:
        try:
            pcm = self._codec.from_agent(command.audio, command.content_type or None)
        except WrongFormat as exc:
            self._error(f"PlayAudio {command.id!r} dropped: {exc}", "wrongFormat")
            return
        begin = tap.played + tap.queued
        queued = tap.play(pcm)
        if queued < len(pcm) // 2:
            self._error(f"audio buffer full ({self._settings.max_buffer_ms} ms): "
                        f"{len(pcm) // 2 - queued} samples of PlayAudio {command.id!r} dropped",
                        "bufferFull")
        if not queued:
            return
        last = self._segments[-1] if self._segments else None
        if last is not None and last.id == command.id and last.end == begin:
            last.end += queued
        else:
            self._segments.append(_Segment(command.id, begin, begin + queued))

    def _playback_notices(self, tap: StreamTap) -> None:
        played = tap.played
        now = self._clock.now()
        while self._segments:
            seg = self._segments[0]
            if not seg.started and played > seg.start:
                seg.started = True
                self._queue(m.Acknowledged(m.PLAYBACK_STARTED, seg.id, now))
            if played < seg.end:
                return
            self._segments.popleft()
            self._queue(m.Acknowledged(m.PLAYBACK_COMPLETED, seg.id, now))

    def _press(self, command: m.PressDtmf) -> None:
        digits = command.digits
        if not _DIGITS.fullmatch(digits):
            self._error(f"PressDTMF {command.id!r}: cannot play {digits!r} (0-9, * and # only)",
                        "badDigits")
            return
        self._dtmf_pending += len(digits)
        pause = min(max(command.break_ms, 100), 1000) if command.break_ms else 100
        if self._tasks is not None:
            self._tasks.create_task(self._send_keys(command.id, digits, pause))

    async def _send_keys(self, ident: str, digits: str, pause_ms: int) -> None:
        self._queue(m.Acknowledged(m.DTMF_PLAY_STARTED, ident, self._clock.now()))
        try:
            await self._media.send_dtmf(digits, pause_ms)
        finally:
            self._dtmf_pending -= len(digits)
        self._queue(m.Acknowledged(m.DTMF_PLAY_COMPLETED, ident, self._clock.now()))

    def _error(self, message: str, error_id: str) -> None:
        log.warning("AudioStream of call %s: %s", self.start.call_id, message)
        self._queue(m.ErrorNotice(message, error_id))

    # ------------------------------------------------------------------ the outbox

    def _queue(self, event: m.PlatformEvent) -> None:
        self._outbox.append(event)
        self._counted()
        self._wake.set()

    def _counted(self, *, opening: bool = False) -> None:
        """A message is on its way (queued counts: a test's FakeClock must not run ahead of a
        queue the sender is still writing; see pacing.py)."""
        if self._inflight is not None:
            self._inflight.sent(self._key, opening=opening)

    def _queue_audio(self, event: m.AudioData) -> None:
        if self._audio_queued >= self._max_audio:  # the agent reads too slowly: drop the oldest
            for i, old in enumerate(self._outbox):
                if isinstance(old, m.AudioData):
                    del self._outbox[i]
                    self._audio_queued -= 1
                    self.dropped_frames += 1
                    if self._inflight is not None:
                        self._inflight.arrived(self._key)  # it never will
                    break
        self._audio_queued += 1
        self._queue(event)

    async def _send(self, link: Link, event: m.PlatformEvent) -> None:
        await link.send(event)

    async def _goodbye(self, link: Link, code: m.EndCode, reason: str) -> None:
        """Tell the agent the call (or its stream) ended, then close; never raises."""
        with contextlib.suppress(Exception, asyncio.CancelledError):
            async with asyncio.timeout(self._settings.close_timeout_s):
                self._counted()
                await self._send(link, m.CallEnded(self.start.call_id, code, reason))
        await self._close(link)

    async def _close(self, link: Link) -> None:
        self._counted()  # a test agent: the clock waits for the close too
        with contextlib.suppress(Exception, asyncio.CancelledError):
            async with asyncio.timeout(self._settings.close_timeout_s):
                await link.close()
        if self._inflight is not None:  # after the agent had its chance to read the goodbye
            self._inflight.forget(self._key)


def _first_end(group: BaseExceptionGroup[BaseException]) -> StreamEnd:
    """The end the first of the stream's tasks reported (a bug in them is re-raised)."""
    for exc in group.exceptions:
        if isinstance(exc, _Ended):
            return exc.end
        if isinstance(exc, m.AgentFault):
            return StreamEnd(StreamEndKind.FAILED, str(exc))
        if isinstance(exc, BaseExceptionGroup):
            return _first_end(exc)
    raise group


async def _despite_cancel(work: Awaitable[None]) -> bool:
    """Run `work` (bounded by its own timeouts) to its end even when the awaiting task is
    cancelled meanwhile (a leg ending cancels its tasks, maybe more than once): the agent must
    hear that the call ended. True when a cancellation was held back (re-raise it then)."""
    task = asyncio.ensure_future(work)
    cancelled = False
    while not task.done():
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            cancelled = True
    return cancelled
