"""Fake AudioStream agents for tests: a real gRPC server (FreeClimb's contract) or a real
WebSocket server (percl's extension), in-process on 127.0.0.1, that record what they heard and
can play audio, press keys, hang up, close or misbehave.

    async with FakeAgent("grpc", inflight=h.platform.streaming.inflight, on_event=echo) as agent:
        app.on("/voice", [{"AudioStream": {"location": agent.location}}])
        ...
        stream = agent.streams[0]
        stream.heard()      # the caller's audio as the agent got it, as 8 kHz PCM
        stream.digits       # the caller's keys
        stream.play(pcm)    # audio for the caller (8 kHz PCM, sent in the stream's format)

`on_event(stream, event)` answers each message the platform sends with commands, at once (so a
FakeClock test stays in lockstep: see percl.streaming.pacing). Pass the platform's InFlight
(`Harness.platform.streaming.inflight`) for FakeClock tests; leave it None against a real clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import json
import ssl
from collections.abc import Callable
from types import TracebackType
from typing import Any

import grpc
import numpy as np
from aiohttp import WSMsgType, web

from percl.media.audio.pcm import FRAME_SAMPLES, Pcm
from percl.streaming import grpc as wire
from percl.streaming import messages as m
from percl.streaming import websocket
from percl.streaming.codec import Codec, parse_content_type
from percl.streaming.pacing import InFlight
from percl.streaming.proto import ivr_pb2 as pb

#: Answers one platform message with commands (None or [] : nothing).
OnEvent = Callable[["AgentStream", m.PlatformEvent], "list[m.AppCommand] | None"]
_CLOSE = object()  # in a stream's outbox: end the stream (the agent closes it)


class AgentStream:
    """One AudioStream as the agent saw it."""

    def __init__(self, agent: FakeAgent) -> None:
        self.agent = agent
        self.started: m.CallStarted | None = None
        self.events: list[m.PlatformEvent] = []
        self.digits = ""
        self.ended: m.CallEnded | None = None
        self.closed = False  # the connection is gone (either side)
        self._audio: list[bytes] = []
        self._codec: Codec | None = None
        self._outbox: asyncio.Queue[Any] = asyncio.Queue()
        self._sequence = 0

    @property
    def key(self) -> tuple[str, str]:
        return (self.agent.location, self.started.call_id if self.started else "")

    # ------------------------------------------------------------------ what it heard

    def heard(self) -> Pcm:
        """The caller's audio as received, decoded to 8 kHz PCM (16 kHz streams resampled)."""
        if self._codec is None or not self._audio:
            return np.zeros(0, dtype=np.int16)
        codec = Codec(self._codec.content_type)
        pcm = b"".join(codec.from_agent(frame) for frame in self._audio)
        return np.frombuffer(pcm, dtype="<i2").astype(np.int16)

    @property
    def frames(self) -> list[bytes]:
        """The audio frames as they came, in the stream's content type."""
        return list(self._audio)

    def of_type(self, kind: type[Any]) -> list[Any]:
        return [event for event in self.events if isinstance(event, kind)]

    # ------------------------------------------------------------------ what it does

    def send(self, *commands: m.AppCommand) -> None:
        for command in commands:
            self._post(command)

    def play(self, pcm: Pcm, ident: str = "play", content_type: str = "") -> None:
        """Play 8 kHz PCM to the caller, 20 ms a message, in the stream's content type (or
        `content_type`, to test a wrong one: sent as is, as raw 16-bit big-endian bytes)."""
        assert self._codec is not None, "the stream has not started"
        for start in range(0, len(pcm), FRAME_SAMPLES):
            frame = pcm[start:start + FRAME_SAMPLES].astype("<i2").tobytes()
            if content_type:
                data = pcm[start:start + FRAME_SAMPLES].astype(">i2").tobytes()
            else:
                data = b"".join(self._codec.to_agent(frame)) if self._codec.content_type.rate == 8000 \
                    else _wide(frame)
            self._sequence += 1
            self._post(m.PlayAudio(ident, data, content_type, self._sequence,
                                   start + FRAME_SAMPLES >= len(pcm)))

    def press(self, digits: str, ident: str = "keys") -> None:
        self._post(m.PressDtmf(ident, digits, 100, 100))

    def terminate(self) -> None:
        self._post(m.TerminateCall())

    def clear(self, ident: str = "clear") -> None:
        self._post(m.ClearAudio(ident))

    def garbage(self) -> None:
        """Send bytes that are not a message of the contract."""
        self._post(b"\xff\xfe not a message")

    def close(self) -> None:
        """End the stream from the agent's side."""
        self._post(_CLOSE)

    # ------------------------------------------------------------------ the server's side

    def _post(self, item: Any) -> None:
        if self.agent.inflight is not None and item is not _CLOSE and not self.closed:
            self.agent.inflight.sent(self.key)
        self._outbox.put_nowait(item)

    def _received(self, event: m.PlatformEvent) -> None:
        """Record `event`, answer it (replies posted before it counts as arrived)."""
        self.events.append(event)
        match event:
            case m.CallStarted():
                self.started = event
                self._codec = Codec(parse_content_type(event.content_type))
            case m.AudioData(audio=audio):
                self._audio.append(audio)
            case m.DtmfEnded(digit=digit):
                self.digits += digit
            case m.CallEnded():
                self.ended = event
        if self.agent.on_event is not None:
            for command in self.agent.on_event(self, event) or ():
                self._post(command)
        if self.agent.inflight is not None:
            self.agent.inflight.arrived(self.key)


def _consume(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()


def _wide(frame: bytes) -> bytes:
    """8 kHz PCM as 16 kHz big-endian l16 (each sample twice: enough for a test signal)."""
    samples = np.frombuffer(frame, dtype="<i2")
    return np.repeat(samples, 2).astype(">i2").tobytes()


def echo(stream: AgentStream, event: m.PlatformEvent) -> list[m.AppCommand]:
    """An on_event that plays every frame of the caller's audio straight back."""
    if isinstance(event, m.AudioData) and stream.started is not None:
        return [m.PlayAudio("echo", event.audio, "", event.sequence)]
    return []


class FakeAgent:
    """A gRPC ("grpc") or WebSocket ("ws") agent on 127.0.0.1 (see the module docstring).
    `tls`: (certificate PEM, key PEM) to serve grpcs:// or wss://."""

    def __init__(self, kind: str = "grpc", *, inflight: InFlight | None = None,
                 on_event: OnEvent | None = None, tls: tuple[bytes, bytes] | None = None) -> None:
        if kind not in ("grpc", "ws"):
            raise ValueError(f"kind must be 'grpc' or 'ws', got {kind!r}")
        self.kind = kind
        self.inflight = inflight
        self.on_event = on_event
        self.tls = tls
        self.streams: list[AgentStream] = []
        self.location = ""
        self._grpc: grpc.aio.Server | None = None
        self._runner: web.AppRunner | None = None

    async def __aenter__(self) -> FakeAgent:
        await self.start()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.stop()

    async def start(self) -> str:
        if self.kind == "grpc":
            port = await self._start_grpc()
            scheme = "grpcs" if self.tls else "grpc"
        else:
            port = await self._start_ws()
            scheme = "wss" if self.tls else "ws"
        self.location = f"{scheme}://127.0.0.1:{port}"
        if self.inflight is not None:
            self.inflight.claim(self.location)
        return self.location

    async def stop(self) -> None:
        if self.inflight is not None:
            self.inflight.release(self.location)
        for stream in self.streams:
            stream.close()
        if self._grpc is not None:
            await self._grpc.stop(grace=0.5)
            self._grpc = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def last(self) -> AgentStream:
        return self.streams[-1]

    # ------------------------------------------------------------------ gRPC

    async def _start_grpc(self) -> int:
        server = self._grpc = grpc.aio.server()
        handler = grpc.stream_stream_rpc_method_handler(
            self._serve_grpc,
            request_deserializer=pb.PlatformMessage.FromString,
            response_serializer=lambda item: item if isinstance(item, bytes)
            else item.SerializeToString())
        server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(
            "freeclimb.GRPCStreamService", {"SendIVRData": handler}),))
        if self.tls:
            creds = grpc.ssl_server_credentials([(self.tls[1], self.tls[0])])
            port = server.add_secure_port("127.0.0.1:0", creds)
        else:
            port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        return int(port)

    async def _serve_grpc(self, requests: Any, context: Any) -> None:
        stream = AgentStream(self)
        self.streams.append(stream)
        writer = asyncio.ensure_future(self._grpc_writer(stream, context))
        try:
            while not writer.done():
                reading = asyncio.ensure_future(context.read())
                await asyncio.wait((reading, writer), return_when=asyncio.FIRST_COMPLETED)
                if not reading.done():  # the agent closes: return, leaving the read to fail
                    # (cancelling it would cancel the whole RPC, which is not a close)
                    reading.add_done_callback(_consume)
                    break
                message = reading.result()
                if message is grpc.aio.EOF:
                    break
                stream._received(wire.platform_event(message))
        finally:
            stream.closed = True
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await writer

    async def _grpc_writer(self, stream: AgentStream, context: Any) -> None:
        while True:
            item = await stream._outbox.get()
            if item is _CLOSE:
                return
            await context.write(item if isinstance(item, bytes) else wire.app_message(item))

    # ------------------------------------------------------------------ WebSocket

    async def _start_ws(self) -> int:
        app = web.Application()
        app.router.add_get("/", self._serve_ws)
        runner = self._runner = web.AppRunner(app)
        await runner.setup()
        context = None
        if self.tls:
            context = _server_context(*self.tls)
        site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
        await site.start()
        server = site._server
        assert server is not None
        sockets: list[Any] = list(getattr(server, "sockets", None) or [])
        return int(sockets[0].getsockname()[1])

    async def _serve_ws(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        stream = AgentStream(self)
        self.streams.append(stream)
        writer = asyncio.ensure_future(self._ws_writer(stream, ws))
        try:
            while not writer.done():
                reading = asyncio.ensure_future(ws.receive())
                await asyncio.wait((reading, writer), return_when=asyncio.FIRST_COMPLETED)
                if not reading.done():
                    reading.cancel()
                    break
                msg = reading.result()
                if msg.type is not WSMsgType.TEXT:
                    break
                stream._received(websocket.decode_event(json.loads(msg.data)))
        finally:
            stream.closed = True
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await writer
            await ws.close()
        return ws

    async def _ws_writer(self, stream: AgentStream, ws: web.WebSocketResponse) -> None:
        while True:
            item = await stream._outbox.get()
            if item is _CLOSE:
                return
            if isinstance(item, bytes):
                await ws.send_str(item.decode("latin-1"))
            else:
                await ws.send_str(json.dumps(websocket.encode_command(item)))


def _server_context(cert: bytes, key: bytes) -> ssl.SSLContext:
    import tempfile

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with tempfile.TemporaryDirectory() as tmp:
        cert_file, key_file = f"{tmp}/cert.pem", f"{tmp}/key.pem"
        with open(cert_file, "wb") as f:
            f.write(cert)
        with open(key_file, "wb") as f:
            f.write(key)
        context.load_cert_chain(cert_file, key_file)
    return context


def self_signed(host: str = "127.0.0.1") -> tuple[bytes, bytes]:
    """A throw-away certificate for `host` (an IP address) and its key, as PEM: a TLS agent no
    one trusts unless told to (PERCL_AUDIOSTREAM_CA_FILE)."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(host))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    return (cert.public_bytes(serialization.Encoding.PEM),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()))
