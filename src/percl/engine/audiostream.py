"""AudioStreamService: the AudioStream command (a live call's audio to and from the app's agent).

How a streamed leg lives (FreeClimb's AudioStream reference and its gRPC specification; what they
leave open is decided here and listed in docs/DECISIONS.md):

* AudioStream is terminal. The runner holds the leg (a Membership: the caller's keys go to the
  agent, not to PerCL) and runs the connector's stream until it ends.
* The agent closes the stream, or it fails (unreachable, TLS, stalled, garbage): the log says
  why; with an actionUrl the `audioStream` webhook goes there and its PerCL runs; without one the
  call hangs up with callEndedReason grpcHangup.
* The agent sends TerminateCall: the call hangs up (grpcHangup), as FreeClimb says ("as if the
  gRPC channel hung up the call"); actionUrl, if any, is told, its PerCL ignored.
* The caller hangs up (or the call is ended by REST or its maximum duration): the agent is told
  (NotifyCallEnded), and actionUrl is told, its PerCL ignored (OpenAPI: "A PerCL response is
  expected, unless the URL is invoked due to the participant hanging up").
* audioStreamDuration: the time from the agent's answer to the stream's end, added to the call
  record (in ms; several AudioStreams on one call add up). A stream that never connected adds 0.
"""

from __future__ import annotations

from percl.domain import payloads as p
from percl.domain.enums import CallDirection, CallEndedReason, LogLevel
from percl.engine.context import EngineContext
from percl.engine.ports import (
    DEFAULT_CONTENT_TYPE,
    AgentConnector,
    AgentStream,
    StreamEnd,
    StreamEndKind,
    StreamStart,
)
from percl.engine.runners import Leg
from percl.percl import events as e
from percl.percl.commands import AudioStream, Command


class Streaming:
    """One leg's running AudioStream (engine.runners.Membership)."""

    def __init__(self, command: AudioStream, stream: AgentStream) -> None:
        self.command = command
        self.stream = stream
        self.counted = False  # its duration is on the call record

    def on_digits(self, session: Leg, digits: str) -> bool:
        self.stream.caller_dtmf(digits)
        return True  # the agent has them; no PerCL runs while streaming

    def on_speech(self, session: Leg, text: str) -> bool:
        return True  # the agent hears the audio itself

    async def on_idle(self, session: Leg) -> None:
        return None

    async def on_leg_ended(self, session: Leg) -> None:
        """The call ended while streaming (caller hangup, REST, TerminateCall): count the time;
        actionUrl is told, its PerCL ignored."""
        await _count(session, self, session.call.end_time)
        if self.command.action_url:
            await session.send_webhook(self.command.action_url, p.AudioStream(),
                                       privacy_mode=bool(self.command.privacy_mode))


async def _count(session: Leg, streaming: Streaming, now: float | None) -> None:
    """Add the stream's connected time to the call record (once)."""
    connected = streaming.stream.connected_at
    if streaming.counted or connected is None or now is None:
        return
    streaming.counted = True
    ms = max(0, round((now - connected) * 1000))
    if ms:
        await session.update(audio_stream_ms=session.call.audio_stream_ms + ms)


class AudioStreamService:
    """Runs AudioStream through `connector`. Construct once in app.py; it registers the runner."""

    def __init__(self, ctx: EngineContext, connector: AgentConnector) -> None:
        self.ctx = ctx
        self.connector = connector
        self.live: dict[str, Streaming] = {}  # call id -> its stream, while it runs
        ctx.runners.register("AudioStream", self.run)

    async def run(self, session: Leg, command: Command) -> e.Outcome:
        assert isinstance(command, AudioStream)
        call = session.call
        start = StreamStart(
            location=command.location, call_id=call.call_id, to=call.to, from_=call.from_,
            inbound=call.direction is CallDirection.INBOUND,
            metadata=tuple(command.meta_data or ()),
            content_type=command.content_type or DEFAULT_CONTENT_TYPE,
        )
        stream = self.connector.stream(start, self.ctx.telephony.media(call.call_id))
        streaming = Streaming(command, stream)
        session.join(streaming)  # before the first await: a hangup from now on reaches on_leg_ended
        self.live[call.call_id] = streaming
        try:
            await session.log(LogLevel.INFO, f"AudioStream: streaming to {command.location}",
                              {"location": command.location, "contentType": start.content_type})
            end = await stream.run()
        finally:
            self.live.pop(call.call_id, None)
        return await self._ended(session, streaming, end)

    async def _ended(self, session: Leg, streaming: Streaming, end: StreamEnd) -> e.Outcome:
        command = streaming.command
        failed = end.kind is StreamEndKind.FAILED
        level = LogLevel.WARNING if failed else LogLevel.INFO
        await session.log(level, f"AudioStream ended: {end.reason}",
                          {"location": command.location, "end": end.kind.value,
                           "reason": end.reason})
        if end.kind is StreamEndKind.TERMINATE_CALL:  # on_leg_ended counts and tells actionUrl
            return e.Finish(CallEndedReason.GRPC_HANGUP)
        await _count(session, streaming, self.ctx.clock.now())
        session.leave()
        if command.action_url:
            return e.Fetch(command.action_url, p.AudioStream(),
                           privacy_mode=bool(command.privacy_mode))
        return e.Finish(CallEndedReason.GRPC_HANGUP)
