"""AudioStream under load: N concurrent streams over gRPC on 2 cores, paced in real time.

    python bench/audiostream.py --streams 200 --seconds 20

The platform side is percl's own stream code (percl.streaming: Connector, StreamSession, gRPC
link) in this process, fed by a 20 ms ticker with absolute deadlines, as the simulated network's
media clock feeds its taps. The agent is a gRPC server of FreeClimb's contract in a second
process (this script with --agent) that echoes every frame. Streams are l16 8 kHz, so a frame's
first 8 bytes can carry the time it was made and the agent can stamp the next 8 with the time it
got it (lossless; mu-law would garble them).

Reported, over every frame of the measured window:
- caller -> agent: from the tick that made the frame to the agent receiving it (added latency of
  percl's uplink: the codec, the queue, gRPC, the network stack),
- round trip: from the tick to the echo being queued for the caller (what percl adds both ways
  plus the agent's own turn-around),
- ticker lateness (the media clock's punctuality under the load), lost frames, CPU of each side.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import struct
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import grpc

from bench.common import cpu_seconds, machine_banner, percentile
from percl.engine.ports import StreamStart
from percl.runtime.clock import SystemClock
from percl.streaming.connector import Connector
from percl.streaming.proto import ivr_pb2 as pb
from percl.streaming.session import StreamSettings

FRAME = 320  # l16 8 kHz, 20 ms


# ------------------------------------------------------------------------------- the agent process

async def _echo(requests: AsyncIterator[pb.PlatformMessage], context: Any) -> AsyncIterator[pb.AppMessage]:
    async for message in requests:
        if message.WhichOneof("payload") == "notify_audio_data":
            audio = bytearray(message.notify_audio_data.audio_data)
            # l16 is big-endian on the wire: swap each byte pair so that percl's conversion
            # back to little-endian leaves the stamp readable
            stamp = bytearray(struct.pack("<d", time.time()))
            stamp[0::2], stamp[1::2] = stamp[1::2], stamp[0::2]
            audio[8:16] = stamp
            yield pb.AppMessage(audio_data=pb.AppMessage.PlayAudioMessage(id="e", audio_data=bytes(audio)))


async def agent_main() -> None:
    server = grpc.aio.server()
    handler = grpc.stream_stream_rpc_method_handler(
        _echo, request_deserializer=pb.PlatformMessage.FromString,
        response_serializer=pb.AppMessage.SerializeToString)
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(
        "freeclimb.GRPCStreamService", {"SendIVRData": handler}),))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    print(port, flush=True)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    await server.stop(0)


# ------------------------------------------------------------------------------- the platform side

class BenchTap:
    """A StreamTap fed by the ticker; what comes back is measured, not played."""

    def __init__(self, stats: Stats) -> None:
        self._frames: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._stats = stats
        self.played = 0
        self.queued = 0

    def feed(self, now: float) -> None:
        self._frames.put_nowait(struct.pack("<dd", now, 0.0) + bytes(FRAME - 16))

    async def read(self) -> bytes | None:
        return await self._frames.get()

    def play(self, pcm: bytes) -> int:
        sent, got = struct.unpack("<dd", pcm[:16])
        if sent and self._stats.measuring:
            now = time.time()
            self._stats.uplink.append(got - sent)
            self._stats.round_trip.append(now - sent)
        self.played += len(pcm) // 2
        return len(pcm) // 2

    def clear(self) -> int:
        return 0

    def close(self) -> None:
        self._frames.put_nowait(None)


class BenchMedia:
    def __init__(self, tap: BenchTap) -> None:
        self.tap = tap

    def open_stream(self, max_buffer_ms: int) -> BenchTap:
        return self.tap

    async def send_dtmf(self, digits: str, pause_ms: int) -> None:
        pass


class Stats:
    def __init__(self) -> None:
        self.uplink: list[float] = []
        self.round_trip: list[float] = []
        self.late: list[float] = []
        self.measuring = False


async def ticker(taps: list[BenchTap], stats: Stats, seconds: float) -> None:
    start = time.time()
    n = 0
    while True:
        n += 1
        deadline = start + n * 0.02
        delay = deadline - time.time()
        if delay > 0:
            await asyncio.sleep(delay)
        now = time.time()
        if stats.measuring:
            stats.late.append(max(0.0, now - deadline))
        if now - start > seconds:
            return
        for tap in taps:
            tap.feed(now)


def _ms(values: list[float], p: float) -> str:
    return f"{percentile(sorted(values), p) * 1000:.1f}" if values else "-"


async def bench(streams: int, seconds: float, warmup: float) -> None:
    agent = subprocess.Popen([sys.executable, __file__, "--agent"], stdout=subprocess.PIPE, text=True)
    try:
        assert agent.stdout is not None
        port = int(agent.stdout.readline())
        stats = Stats()
        connector = Connector(SystemClock(), StreamSettings(stall_s=0))
        taps = [BenchTap(stats) for _ in range(streams)]
        runs = [connector.stream(StreamStart(f"grpc://127.0.0.1:{port}", f"CA{i:040x}", "+1", "+2",
                                             True, (), "audio/l16;rate=8000"), BenchMedia(tap))
                for i, tap in enumerate(taps)]
        tasks = [asyncio.ensure_future(run.run()) for run in runs]  # type: ignore[arg-type]
        clock = asyncio.ensure_future(ticker(taps, stats, warmup + seconds))
        await asyncio.sleep(warmup)
        cpu0, agent_cpu0, t0 = time.process_time(), cpu_seconds(agent.pid), time.time()
        stats.measuring = True
        await clock
        stats.measuring = False
        wall = time.time() - t0
        cpu, agent_cpu = time.process_time() - cpu0, cpu_seconds(agent.pid) - agent_cpu0
        for tap in taps:
            tap.close()
        ends = await asyncio.gather(*tasks)
        frames = len(stats.round_trip)
        expected = streams * round(seconds / 0.02)
        print(machine_banner(f"AudioStream: {streams} concurrent gRPC streams, {seconds:g} s"))
        print(f"frames echoed {frames} of ~{expected} ({100 * frames / max(1, expected):.1f}%), "
              f"ends: {sorted({e.kind.value for e in ends})}")
        print(f"caller -> agent ms: p50 {_ms(stats.uplink, 50)}  p99 {_ms(stats.uplink, 99)}  "
              f"max {_ms(stats.uplink, 100)}")
        print(f"round trip ms:      p50 {_ms(stats.round_trip, 50)}  p99 {_ms(stats.round_trip, 99)}"
              f"  max {_ms(stats.round_trip, 100)}")
        print(f"ticker late ms:     p50 {_ms(stats.late, 50)}  p99 {_ms(stats.late, 99)}")
        print(f"CPU: percl side {100 * cpu / wall:.0f}% of a core, agent {100 * agent_cpu / wall:.0f}%"
              f"; per frame echoed: percl {1e6 * cpu / max(1, frames):.0f} us, "
              f"agent {1e6 * agent_cpu / max(1, frames):.0f} us")
    finally:
        os.kill(agent.pid, signal.SIGTERM)
        agent.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--agent", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.agent:
        asyncio.run(agent_main())
    else:
        asyncio.run(bench(args.streams, args.seconds, args.warmup))


if __name__ == "__main__":
    main()
