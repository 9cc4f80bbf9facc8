"""What gRPC itself costs per AudioStream frame in Python, without percl: the floor under
bench/audiostream.py's "CPU per frame".

    python bench/grpc_floor.py --streams 50

N streams to the C++ echo agent (bench/agent_cpp, just in time: no lead), each writing one 320-byte
NotifyAudio every 20 ms on absolute deadlines and reading the echo, for 3 s; CPU of this process
(all its threads) per frame echoed. Two clients of the same contract: grpc.aio (what percl uses:
one event loop) and grpc's sync API (a request-iterator thread that gRPC runs per call and a
response thread per call).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import queue
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import grpc

from bench.audiostream import start_agent
from bench.common import machine_banner
from percl.streaming.proto import ivr_pb2 as pb
from percl.streaming.proto import ivr_pb2_grpc as pbg

FRAMES = 150
MESSAGE = pb.PlatformMessage(notify_audio_data=pb.PlatformMessage.NotifyAudioMessage(
    audio_data=bytes(320)))


def sync_client(port: int, streams: int) -> float:
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    stub = pbg.GRPCStreamServiceStub(channel)  # type: ignore[no-untyped-call]
    queues: list[queue.SimpleQueue[pb.PlatformMessage | None]] = [
        queue.SimpleQueue() for _ in range(streams)]
    got = [0]
    lock = threading.Lock()

    def requests(q: queue.SimpleQueue[pb.PlatformMessage | None]) -> Iterator[pb.PlatformMessage]:
        while (message := q.get()) is not None:
            yield message

    def consume(responses: Iterator[pb.AppMessage]) -> None:
        for _ in responses:
            with lock:
                got[0] += 1

    threads = [threading.Thread(target=consume, args=(stub.SendIVRData(requests(q)),))
               for q in queues]
    for thread in threads:
        thread.start()
    gc.collect()
    gc.freeze()
    cpu0, t0 = time.process_time(), time.time()
    for i in range(FRAMES):
        for q in queues:
            q.put(MESSAGE)
        time.sleep(max(0.0, t0 + (i + 1) * 0.02 - time.time()))
    while got[0] < streams * FRAMES and time.time() - t0 < 60:
        time.sleep(0.01)
    cpu = time.process_time() - cpu0
    for q in queues:
        q.put(None)
    for thread in threads:
        thread.join()
    channel.close()
    return 1e6 * cpu / max(1, got[0])


async def aio_client(port: int, streams: int) -> float:
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    stub = pbg.GRPCStreamServiceStub(channel)  # type: ignore[no-untyped-call]
    calls = [stub.SendIVRData() for _ in range(streams)]
    got = 0

    async def read(call: grpc.aio.StreamStreamCall) -> None:  # type: ignore[type-arg]
        nonlocal got
        while (await call.read()) is not grpc.aio.EOF:
            got += 1

    readers = [asyncio.ensure_future(read(call)) for call in calls]
    gc.collect()
    gc.freeze()
    cpu0, t0 = time.process_time(), time.time()
    for i in range(FRAMES):
        await asyncio.gather(*(call.write(MESSAGE) for call in calls))
        await asyncio.sleep(max(0.0, t0 + (i + 1) * 0.02 - time.time()))
    while got < streams * FRAMES and time.time() - t0 < 60:
        await asyncio.sleep(0.01)
    cpu = time.process_time() - cpu0
    for call in calls:
        await call.done_writing()
    await asyncio.gather(*readers)
    await channel.close()
    return 1e6 * cpu / max(1, got)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=50)
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    print(machine_banner(f"gRPC's own cost per AudioStream frame, {args.streams} streams"))
    agent, port = start_agent("cpp", 0)
    try:
        for _ in range(args.runs):
            aio = asyncio.run(aio_client(port, args.streams))
            sync = sync_client(port, args.streams)
            print(f"CPU per frame echoed: grpc.aio {aio:.0f} us, sync API {sync:.0f} us", flush=True)
    finally:
        agent.terminate()
        agent.wait(timeout=10)


if __name__ == "__main__":
    main()
