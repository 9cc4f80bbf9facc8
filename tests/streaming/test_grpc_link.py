"""The gRPC link's writes (streaming/grpc.py GrpcLink): one writer task writes what `send`
queues, in order; a cancelled send's message still goes out, and a message sent after it never
overlaps its write (grpc.aio fails the whole RPC on a second write while one is in flight)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import grpc

from percl.engine.ports import StreamStart
from percl.streaming import grpc as g
from percl.streaming import messages as m
from percl.streaming.proto import ivr_pb2 as pb


async def _recording_agent(heard: list[m.PlatformEvent],
                           ended: asyncio.Event) -> tuple[grpc.aio.Server, int]:
    async def handle(requests: AsyncIterator[pb.PlatformMessage],
                     context: Any) -> AsyncIterator[pb.AppMessage]:
        async for message in requests:
            heard.append(g.platform_event(message))
        ended.set()
        return
        yield  # a stream-stream handler: an async generator that answers nothing

    server = grpc.aio.server()
    handler = grpc.stream_stream_rpc_method_handler(
        handle, request_deserializer=pb.PlatformMessage.FromString,
        response_serializer=pb.AppMessage.SerializeToString)
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(
        "freeclimb.GRPCStreamService", {"SendIVRData": handler}),))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    return server, port


async def test_a_cancelled_send_still_goes_out_and_the_next_waits_for_it() -> None:
    heard: list[m.PlatformEvent] = []
    ended = asyncio.Event()
    server, port = await _recording_agent(heard, ended)
    dialer = g.GrpcDialer()
    try:
        link = await dialer(StreamStart(f"grpc://127.0.0.1:{port}", "CA1", "+1", "+2", True, (),
                                        "audio/l16;rate=8000"))
        await link.send(m.CallStarted("CA1", "+1", "+2", True, (), "audio/l16;rate=8000"))
        frames = [m.AudioData(bytes([i]) * 320, i, i * 0.02, i * 0.02 + 0.02) for i in range(20)]
        for frame in frames:  # the session's sender, cancelled while its write is in flight
            send = asyncio.ensure_future(link.send(frame))
            await asyncio.sleep(0)
            send.cancel()
        goodbye = m.CallEnded("CA1", m.EndCode.CALLER_DISCONNECT, "the call ended")
        await asyncio.wait_for(link.send(goodbye), 10)
        await asyncio.wait_for(link.close(), 10)
        await asyncio.wait_for(ended.wait(), 10)
        assert heard[0] == m.CallStarted("CA1", "+1", "+2", True, (), "audio/l16;rate=8000")
        audio = [(e.audio, e.sequence) for e in heard[1:-1] if isinstance(e, m.AudioData)]
        assert audio == [(f.audio, f.sequence) for f in frames] and heard[-1] == goodbye
    finally:
        await dialer.close()
        await server.stop(0)


async def test_a_send_after_the_agent_ended_the_call_is_an_agent_fault() -> None:
    heard: list[m.PlatformEvent] = []
    ended = asyncio.Event()
    server, port = await _recording_agent(heard, ended)
    dialer = g.GrpcDialer()
    try:
        link = await dialer(StreamStart(f"grpc://127.0.0.1:{port}", "CA1", "+1", "+2", True, (),
                                        "audio/l16;rate=8000"))
        await link.send(m.CallStarted("CA1", "+1", "+2", True, (), "audio/l16;rate=8000"))
        await server.stop(0)  # the agent goes away
        fault = None
        for i in range(200):
            try:
                await asyncio.wait_for(link.send(m.AudioData(bytes(320), i, 0.0, 0.02)), 10)
            except m.AgentFault as exc:
                fault = exc
                break
        assert fault is not None and "agent" in str(fault)
        await asyncio.wait_for(link.close(), 10)
    finally:
        await dialer.close()
