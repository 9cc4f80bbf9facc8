"""The AudioStream port: a leg's live audio connected to the application's agent.

The engine's AudioStream runner (engine/audiostream.py) asks an `AgentConnector` for an
`AgentStream` and runs it until it ends; the connector (percl.streaming: FreeClimb's gRPC
contract, and a WebSocket variant that is a percl extension) moves the audio between the leg's
`StreamTap` and the agent, converts it to and from the stream's content type, and says how the
stream ended. Faults are outcomes here, not exceptions: an agent that cannot be reached, fails
TLS, stalls or talks nonsense ends its stream with FAILED and a reason the log line names.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from percl.engine.ports.media import MediaSession

#: The content types an AudioStream may ask for (FreeClimb's three).
CONTENT_TYPES = ("audio/mulaw;rate=8000", "audio/l16;rate=8000", "audio/l16;rate=16000")
DEFAULT_CONTENT_TYPE = "audio/mulaw;rate=8000"


@dataclass(frozen=True, slots=True)
class StreamStart:
    """What the agent is told first (FreeClimb's NotifyCallStartedMessage), and where it is."""

    location: str  # grpc://, grpcs://, http(s):// (gRPC on 80/443), ws:// or wss:// (percl)
    call_id: str
    to: str
    from_: str
    inbound: bool
    metadata: tuple[str, ...]
    content_type: str


class StreamEndKind(StrEnum):
    AGENT_CLOSED = "agentClosed"  # the agent ended the stream (closed the RPC or the socket)
    TERMINATE_CALL = "terminateCall"  # the agent asked the platform to hang the call up
    FAILED = "failed"  # unreachable, TLS failure, stalled, garbage or wrong audio format


@dataclass(frozen=True, slots=True)
class StreamEnd:
    """How a stream ended; `reason` is for the log line (what failed, in the user's words)."""

    kind: StreamEndKind
    reason: str


class AgentStream(Protocol):
    """One AudioStream, from connecting to the end."""

    @property
    def connected_at(self) -> float | None:
        """Clock time the agent was reached (None: not yet, or never)."""
        ...

    def caller_dtmf(self, digits: str) -> None:
        """The caller pressed `digits`: tell the agent (each key's start and end)."""
        ...

    async def run(self) -> StreamEnd:
        """Connect, then carry audio both ways until the stream ends; never raises for the
        agent's faults (they are a FAILED end). Cancelling it (the caller hung up, the call was
        ended) tells the agent the call ended and closes the connection."""
        ...


class AgentConnector(Protocol):
    """Makes the stream of one AudioStream command."""

    def stream(self, start: StreamStart, media: MediaSession) -> AgentStream: ...
