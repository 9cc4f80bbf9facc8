"""FreeClimb's AudioStream over gRPC: the platform is the client of the agent's
GRPCStreamService.SendIVRData (proto/ivr.proto), one bidirectional call per stream.

Locations: `grpcs://host[:port]` and `https://` use TLS (default port 443), `grpc://` and
`http://` plain HTTP/2 (default port 80). FreeClimb's documentation gives `https://example.com`
style locations. TLS trusts the system's roots, or the PEM file of the `root_certificates`
setting (PERCL_AUDIOSTREAM_CA_FILE), e.g. a development CA.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from percl.engine.ports import StreamStart
from percl.streaming import messages as m
from percl.streaming.proto import ivr_pb2 as pb
from percl.streaming.proto import ivr_pb2_grpc as pbg

TLS_SCHEMES = {"grpcs": 443, "https": 443}
PLAIN_SCHEMES = {"grpc": 80, "http": 80}
SCHEMES = frozenset(TLS_SCHEMES) | frozenset(PLAIN_SCHEMES)

_P = pb.PlatformMessage
_A = pb.AppMessage


def target_of(location: str) -> tuple[str, bool]:
    """(host:port, TLS?) of a gRPC location. Raises ValueError for another scheme."""
    parts = urlsplit(location)
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES or not parts.hostname:
        raise ValueError(f"not a gRPC location: {location!r}")
    tls = scheme in TLS_SCHEMES
    port = parts.port or (TLS_SCHEMES.get(scheme) if tls else PLAIN_SCHEMES.get(scheme))
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{host}:{port}", tls


def _ts(seconds: float) -> Timestamp:
    stamp = Timestamp()
    stamp.FromNanoseconds(round(seconds * 1e9))
    return stamp


_NS = 1_000_000_000


def _audio_message(event: m.AudioData) -> pb.PlatformMessage:
    """NotifyAudio, 50 a second per stream: fields set in place, which costs half of building
    the nested messages from keyword arguments (docs/BENCHMARKS.md, AudioStream)."""
    message = _P()
    audio = message.notify_audio_data
    audio.audio_data = event.audio
    audio.sequence_num = event.sequence
    audio.start_tstamp.seconds, audio.start_tstamp.nanos = divmod(round(event.start * 1e9), _NS)
    audio.end_tstamp.seconds, audio.end_tstamp.nanos = divmod(round(event.end * 1e9), _NS)
    return message


def platform_message(event: m.PlatformEvent) -> pb.PlatformMessage:
    """A typed platform event as FreeClimb's PlatformMessage."""
    match event:
        case m.CallStarted():
            return _P(notify_call_started=_P.NotifyCallStartedMessage(
                call_id=event.call_id, to=event.to, is_inbound=event.is_inbound,
                metadata=list(event.metadata), content_type=event.content_type,
                **{"from": event.from_}))
        case m.AudioData():
            return _audio_message(event)
        case m.DtmfStarted():
            return _P(notify_dtmf_received_start_data=_P.NotifyDTMFReceivedStartedMessage(
                digit=event.digit, start_tstamp=_ts(event.at)))
        case m.DtmfEnded():
            return _P(notify_dtmf_received_end_data=_P.NotifyDTMFReceivedEndedMessage(
                digit=event.digit, end_tstamp=_ts(event.at)))
        case m.Acknowledged():
            message = _P()
            field = getattr(message, event.kind)
            field.id = event.id
            field.timestamp.CopyFrom(_ts(event.at))
            return message
        case m.CallEnded():
            return _P(notify_call_ended=_P.NotifyCallEndedMessage(
                call_id=event.call_id, reason_code=event.code.name, reason=event.reason))
        case m.ErrorNotice():
            return _P(notify_error=_P.NotifyErrorMessage(error_message=event.message,
                                                        error_id=event.error_id))
        case m.BufferDepth():
            return _P(notify_buffer=_P.NotifyBufferDepthMessage(
                buffer_type="DTMF" if event.kind is m.BufferKind.DTMF else "Audio",
                depth=event.depth, buffer_size=event.size))


def app_command(message: pb.AppMessage) -> m.AppCommand:
    """FreeClimb's AppMessage as a typed command. Raises AgentFault for one with no payload."""
    match message.WhichOneof("payload"):
        case "audio_data":
            a = message.audio_data
            return m.PlayAudio(a.id, a.audio_data, a.content_type, a.sequence_num, a.last_message)
        case "clear_audio_buffer":
            return m.ClearAudio(message.clear_audio_buffer.id)
        case "dtmf_data":
            d = message.dtmf_data
            return m.PressDtmf(d.id, d.dtmf_digits, d.press_duration_ms, d.break_duration_ms)
        case "query_buffer":
            return m.QueryBuffer(m.BufferKind(message.query_buffer.buffer_type))
        case "terminate_call":
            return m.TerminateCall()
        case "end_stream":
            return m.EndStream(message.end_stream.action_url)
    raise m.AgentFault("agent sent an AppMessage with no payload")


def platform_event(message: pb.PlatformMessage) -> m.PlatformEvent:
    """FreeClimb's PlatformMessage as a typed event (for agents: the test kit, examples).
    Raises ValueError for one with no payload."""
    kind = message.WhichOneof("payload")
    if kind is None:
        raise ValueError("a PlatformMessage with no payload")
    body = getattr(message, kind)
    match kind:
        case "notify_call_started":
            return m.CallStarted(body.call_id, body.to, getattr(body, "from"), body.is_inbound,
                                 tuple(body.metadata), body.content_type)
        case "notify_audio_data":
            return m.AudioData(body.audio_data, body.sequence_num,
                               body.start_tstamp.ToNanoseconds() / 1e9,
                               body.end_tstamp.ToNanoseconds() / 1e9)
        case "notify_dtmf_received_start_data":
            return m.DtmfStarted(body.digit, body.start_tstamp.ToNanoseconds() / 1e9)
        case "notify_dtmf_received_end_data":
            return m.DtmfEnded(body.digit, body.end_tstamp.ToNanoseconds() / 1e9)
        case "notify_call_ended":
            return m.CallEnded(body.call_id, m.EndCode(body.reason_code), body.reason)
        case "notify_error":
            return m.ErrorNotice(body.error_message, body.error_id)
        case "notify_buffer":
            return m.BufferDepth(m.BufferKind(body.buffer_type), body.depth, body.buffer_size)
    return m.Acknowledged(kind, body.id, body.timestamp.ToNanoseconds() / 1e9)


def app_message(command: m.AppCommand) -> pb.AppMessage:
    """A typed command as FreeClimb's AppMessage (for agents: the test kit, examples)."""
    match command:
        case m.PlayAudio():
            return _A(audio_data=_A.PlayAudioMessage(
                id=command.id, audio_data=command.audio, content_type=command.content_type,
                sequence_num=command.sequence, last_message=command.last))
        case m.ClearAudio():
            return _A(clear_audio_buffer=_A.ClearAudioBufferMessage(id=command.id))
        case m.PressDtmf():
            return _A(dtmf_data=_A.PressDTMFMessage(
                id=command.id, dtmf_digits=command.digits, press_duration_ms=command.press_ms,
                break_duration_ms=command.break_ms))
        case m.QueryBuffer():
            return _A(query_buffer=_A.QueryBufferDepthMessage(
                buffer_type="DTMF" if command.kind is m.BufferKind.DTMF else "Audio"))
        case m.TerminateCall():
            return _A(terminate_call=_A.TerminateCallMessage())
        case m.EndStream():
            return _A(end_stream=_A.EndGrpcStreamMessage(action_url=command.action_url))


def _fault(location: str, error: grpc.aio.AioRpcError) -> m.AgentFault:
    code = error.code()
    details = error.details() or ""
    if code == grpc.StatusCode.UNAVAILABLE:
        if "ssl" in details.lower() or "handshake" in details.lower() or "tls" in details.lower():
            return m.AgentFault(f"TLS failure with the agent at {location}: {details}")
        return m.AgentFault(f"agent unreachable at {location}: {details}")
    if code == grpc.StatusCode.INTERNAL and "deserializ" in details.lower():
        return m.AgentFault(f"agent sent garbage (not an AppMessage): {details}")
    return m.AgentFault(f"agent stream failed ({code.name}): {details}")


class GrpcLink:
    """One SendIVRData call (session.Link).

    Why a reader and a writer task: in grpc.aio, cancelling a coroutine that awaits `read()` or
    `write()` cancels the whole RPC, and the stream's tasks are cancelled whenever one of them
    ends it; the agent must still get NotifyCallEnded afterwards. So one task reads for the
    link's whole life into a queue, `receive` waits on the queue (safe to cancel), and one task
    writes what `send` queues, in order, `send` waiting for its own message's future (safe to
    cancel: the write goes on). One writer instead of a shielded task per write: no task is made
    per frame, and a goodbye queued after a cancelled send never overlaps its write."""

    def __init__(self, location: str, channel: grpc.aio.Channel,
                 release: Callable[[], Awaitable[None]] | None = None) -> None:
        self._location = location
        self._channel = channel
        self._release = release  # the shared channel's owner (None: the link owns the channel)
        stub = pbg.GRPCStreamServiceStub(channel)  # type: ignore[no-untyped-call]
        self._call = stub.SendIVRData()
        self._inbox: asyncio.Queue[m.AppCommand | m.AgentFault | None] = asyncio.Queue()
        self._reader: asyncio.Task[None] | None = None
        self._writes: deque[tuple[pb.PlatformMessage | None, asyncio.Future[None]]] = deque()
        self._writer: asyncio.Task[None] | None = None
        self._writer_idle: asyncio.Future[None] | None = None
        self._write_fault: m.AgentFault | None = None  # set once a write failed: sends fail
        self._closed = False

    async def send(self, event: m.PlatformEvent) -> None:
        await self._queue_write(platform_message(event))

    def _queue_write(self, message: pb.PlatformMessage | None) -> asyncio.Future[None]:
        """Queue a message (None: half-close) for the writer; the future is done once written."""
        if self._write_fault is not None:
            raise m.AgentFault(str(self._write_fault))
        if self._writer is not None and self._writer.done():
            raise m.AgentFault("agent stream failed: the platform closed it")
        done = asyncio.get_running_loop().create_future()
        self._writes.append((message, done))
        if self._writer is None:
            self._writer = asyncio.ensure_future(self._write_all())
        elif self._writer_idle is not None and not self._writer_idle.done():
            self._writer_idle.set_result(None)
        return done

    async def _write_all(self) -> None:
        writes = self._writes
        while True:
            while not writes:
                self._writer_idle = asyncio.get_running_loop().create_future()
                await self._writer_idle
            message, done = writes[0]
            try:
                if message is None:
                    await self._call.done_writing()
                else:
                    await self._call.write(message)
            except grpc.aio.AioRpcError as exc:
                self._fail_writes(_fault(self._location, exc))
                return
            except Exception as exc:  # grpc raises its UsageError / InvalidStateError once done
                self._fail_writes(m.AgentFault(await self._why_done(exc)))
                return
            writes.popleft()
            if not done.done():  # a cancelled send: its message went out all the same
                done.set_result(None)
            if message is None:
                return

    def _fail_writes(self, fault: m.AgentFault) -> None:
        self._write_fault = fault
        for _, done in self._writes:
            if not done.done():
                done.set_exception(m.AgentFault(str(fault)))
        self._writes.clear()

    async def receive(self) -> m.AppCommand | None:
        if self._reader is None:
            self._reader = asyncio.ensure_future(self._read_all())
        item = await self._inbox.get()
        if isinstance(item, m.AgentFault):
            raise item
        return item

    async def _read_all(self) -> None:
        try:
            while True:
                message = await self._call.read()
                if message is grpc.aio.EOF:
                    self._inbox.put_nowait(None)
                    return
                if message is None:  # grpc.aio's answer to bytes it could not deserialize
                    raise m.AgentFault("agent sent garbage (not an AppMessage)")
                self._inbox.put_nowait(app_command(message))
        except grpc.aio.AioRpcError as exc:
            self._inbox.put_nowait(_fault(self._location, exc))
        except m.AgentFault as fault:
            self._inbox.put_nowait(fault)
        except Exception as exc:  # never leave receive() waiting
            self._inbox.put_nowait(m.AgentFault(f"agent stream failed: {exc!r}"))

    async def close(self) -> None:
        """Half-close, let the agent read what was sent and end the call, then close the
        channel (the caller bounds the wait; cancelling it still closes)."""
        if self._closed:
            return
        self._closed = True
        try:
            if not self._call.done():
                with contextlib.suppress(m.AgentFault):  # after what is queued
                    await self._queue_write(None)
                if self._reader is None:
                    self._reader = asyncio.ensure_future(self._read_all())
                await self._reader  # until the agent ends the call (what it says is not heard)
        except grpc.aio.AioRpcError:
            pass
        finally:
            for task in (self._reader, self._writer):
                if task is not None:
                    task.cancel()
            self._call.cancel()
            if self._release is not None:
                await self._release()
            else:
                await self._channel.close()

    async def _why_done(self, exc: Exception) -> str:
        if self._call.done():
            code = await self._call.code()
            if code == grpc.StatusCode.OK:
                return "the agent closed the stream"
            return f"agent stream failed ({code.name}): {await self._call.details()}"
        return f"agent stream failed: {exc!r}"


#: Streams one shared channel (one HTTP/2 connection) carries at most. Many servers limit the
#: concurrent streams of a connection (HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS, often 100); a call
#: over the limit would wait, so the 101st stream opens a second channel.
STREAMS_PER_CHANNEL = 100


@dataclass(eq=False, slots=True)
class _Shared:
    """A channel and how many open links use it."""

    channel: grpc.aio.Channel
    links: int = 0
    retired: bool = False  # failed: new links get a fresh channel; closed when its links are


class ChannelPool:
    """The channels of one dialer, shared by the streams to the same agent (target and TLS):
    multiplexing them on one HTTP/2 connection costs less CPU per frame than a connection
    per stream (docs/BENCHMARKS.md). A channel closes when its last link does, and `close`
    closes them all (the platform's close: its calls ended first)."""

    def __init__(self, open_channel: Callable[[str, bool], grpc.aio.Channel]) -> None:
        self._open = open_channel
        self._channels: dict[tuple[str, bool], list[_Shared]] = {}

    def acquire(self, target: str, tls: bool) -> tuple[grpc.aio.Channel, Callable[[], Awaitable[None]]]:
        """A channel to use and the callable that gives it back (once, when the link closes)."""
        shared = self._usable(target, tls)
        shared.links += 1
        released = False

        async def release() -> None:
            nonlocal released
            if not released:
                released = True
                shared.links -= 1
                if shared.links == 0:
                    await self._drop(target, tls, shared)

        return shared.channel, release

    def _usable(self, target: str, tls: bool) -> _Shared:
        pool = self._channels.setdefault((target, tls), [])
        for shared in pool:
            if shared.retired or shared.links >= STREAMS_PER_CHANNEL:
                continue
            # A channel that failed to connect would fail new calls at once until its
            # reconnect backoff ends: a new stream gets a new channel, as it did unshared.
            if shared.channel.get_state() is grpc.ChannelConnectivity.TRANSIENT_FAILURE:
                shared.retired = True
                continue
            return shared
        shared = _Shared(self._open(target, tls))
        pool.append(shared)
        return shared

    async def _drop(self, target: str, tls: bool, shared: _Shared) -> None:
        pool = self._channels.get((target, tls), [])
        if shared not in pool:  # the pool's close closed it
            return
        pool.remove(shared)
        if not pool:
            self._channels.pop((target, tls), None)
        await shared.channel.close()

    async def close(self) -> None:
        """Close every channel (idempotent)."""
        channels = [shared.channel for pool in self._channels.values() for shared in pool]
        self._channels.clear()
        for channel in channels:
            await channel.close()


class GrpcDialer:
    """Opens GrpcLinks (session.Dialer) on channels shared per agent (ChannelPool);
    `root_certificates`: PEM to trust for TLS (None: the system's)."""

    def __init__(self, root_certificates: bytes | None = None) -> None:
        self._roots = root_certificates
        self._pool = ChannelPool(self._channel)

    def _channel(self, target: str, tls: bool) -> grpc.aio.Channel:
        if tls:
            return grpc.aio.secure_channel(target, grpc.ssl_channel_credentials(self._roots))
        return grpc.aio.insecure_channel(target)

    async def __call__(self, start: StreamStart) -> GrpcLink:
        target, tls = target_of(start.location)
        channel, release = self._pool.acquire(target, tls)
        return GrpcLink(start.location, channel, release)

    async def close(self) -> None:
        """Close the channels still open (the platform's close)."""
        await self._pool.close()
