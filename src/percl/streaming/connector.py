"""The AgentConnector percl uses (engine/ports/streaming.py): gRPC or WebSocket by the location's
scheme, one StreamSession per AudioStream."""

from __future__ import annotations

import ssl
from urllib.parse import urlsplit

from percl.config import AudioStreamSettings
from percl.domain.clock import Clock
from percl.engine.ports import MediaSession, StreamStart
from percl.streaming import grpc as grpc_link
from percl.streaming import websocket
from percl.streaming.messages import AgentFault
from percl.streaming.pacing import InFlight
from percl.streaming.session import Link, StreamSession, StreamSettings


def stream_settings(config: AudioStreamSettings) -> StreamSettings:
    """The streams' limits from percl's settings."""
    return StreamSettings(connect_timeout_s=config.connect_timeout_s, stall_s=config.stall_s,
                          max_buffer_ms=config.buffer_ms)


class Connector:
    """Streams to agents by location: grpc(s)://, http(s):// (gRPC) and ws(s):// (percl's
    WebSocket extension). `ca_file`: a PEM file of extra roots to trust for TLS (None: the
    system's)."""

    def __init__(self, clock: Clock, settings: StreamSettings | None = None, *,
                 ca_file: str | None = None, inflight: InFlight | None = None) -> None:
        self._clock = clock
        self.settings = settings or StreamSettings()
        self.inflight = inflight
        roots = None
        context = None
        if ca_file:
            with open(ca_file, "rb") as f:
                roots = f.read()
            context = ssl.create_default_context(cafile=ca_file)
        self._grpc = grpc_link.GrpcDialer(roots)
        self._ws = websocket.WsDialer(context)

    async def close(self) -> None:
        """Close the gRPC channels the streams shared (after the calls ended)."""
        await self._grpc.close()

    def stream(self, start: StreamStart, media: MediaSession) -> StreamSession:
        return StreamSession(start, media, self._dial, self._clock, self.settings, self.inflight)

    async def _dial(self, start: StreamStart) -> Link:
        scheme = urlsplit(start.location).scheme.lower()
        if scheme in websocket.SCHEMES:
            return await self._ws(start)
        if scheme in grpc_link.SCHEMES:
            return await self._grpc(start)
        raise AgentFault(f"cannot stream to {start.location}: the scheme must be grpc, grpcs, "
                         "http, https (gRPC) or ws, wss (WebSocket, a percl extension)")
