"""AudioStream under load: N concurrent streams over gRPC on 2 cores, paced in real time.

    python bench/audiostream.py --streams 50,100,150,200 --processes 1,2 --seconds 10

The platform side is percl's own stream code (percl.streaming: Connector, StreamSession, gRPC
link), fed by a 20 ms ticker with absolute deadlines, as the simulated network's media clock
feeds its taps. `--processes K` spreads the streams over K such processes (as `percl serve
--workers K` spreads calls), each with its own connector and ticker. The agent is a gRPC server
of FreeClimb's contract in a process of its own that echoes every frame: by default the C++ one
in bench/agent_cpp/ (built on first use by its build.sh), so that the bench measures percl and
not its agent; `--agent python` is the grpc.aio one in this script. Streams are l16 8 kHz, so a
frame's first 8 bytes can carry the time it was made and the agent can stamp the next 8 with the
time it got it (lossless; mu-law would garble them).

Reported, over every frame of the measured window (all processes together):
- caller -> agent: from the tick that made the frame to the agent receiving it (added latency of
  percl's uplink: the codec, the queue, gRPC, the network stack),
- round trip: from the tick to the echo being queued for the caller (what percl adds both ways
  plus the agent's own turn-around),
- ticker lateness (the media clock's punctuality under the load), lost frames, CPU of each
  process and per frame echoed. One `SUMMARY` line per run, and a table after a sweep.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import struct
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import grpc
import numpy as np

from bench.common import cpu_seconds, machine_banner, percentile
from percl.cli.serve import tune_gc
from percl.engine.ports import StreamStart
from percl.runtime.clock import SystemClock
from percl.streaming.connector import Connector
from percl.streaming.proto import ivr_pb2 as pb
from percl.streaming.session import StreamSettings
from percl.telephony.sim.stream_tap import FrameTap

FRAME = 320  # l16 8 kHz, 20 ms
SILENCE = np.zeros(FRAME // 2 - 8, dtype=np.int16)  # a frame after its 16-byte stamp
AGENT_CPP = Path(__file__).resolve().parent / "agent_cpp"
TARGET_STREAMS, TARGET_P99_MS = 200, 20.0  # issue 14
GRACE_S = 1.0  # an echo later than this after the window closed is counted as lost


# ------------------------------------------------------------------------------- the agents

def _echo(lead: int) -> Any:
    async def echo(requests: AsyncIterator[pb.PlatformMessage],
                   context: Any) -> AsyncIterator[pb.AppMessage]:
        ahead = lead
        async for message in requests:
            if message.WhichOneof("payload") == "notify_audio_data":
                audio = bytearray(message.notify_audio_data.audio_data)
                for _ in range(ahead):  # see --lead
                    yield pb.AppMessage(audio_data=pb.AppMessage.PlayAudioMessage(
                        id="e", audio_data=bytes(len(audio))))
                ahead = 0
                # l16 is big-endian on the wire: swap each byte pair so that percl's
                # conversion back to little-endian leaves the stamp readable
                stamp = bytearray(struct.pack("<d", time.time()))
                stamp[0::2], stamp[1::2] = stamp[1::2], stamp[0::2]
                audio[8:16] = stamp
                yield pb.AppMessage(audio_data=pb.AppMessage.PlayAudioMessage(
                    id="e", audio_data=bytes(audio)))
    return echo


async def agent_main(lead: int) -> None:
    server = grpc.aio.server()
    handler = grpc.stream_stream_rpc_method_handler(
        _echo(lead), request_deserializer=pb.PlatformMessage.FromString,
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


def cpp_agent() -> Path:
    """The C++ echo agent's binary, built (bench/agent_cpp/build.sh) when missing or stale."""
    binary = AGENT_CPP / "build" / "echo_agent"
    sources = [AGENT_CPP / "echo_agent.cc", AGENT_CPP / "Makefile",
               AGENT_CPP.parent.parent / "src/percl/streaming/proto/ivr.proto"]
    if not binary.exists() or binary.stat().st_mtime < max(s.stat().st_mtime for s in sources):
        print("building the C++ echo agent (bench/agent_cpp/build.sh) ...", file=sys.stderr)
        subprocess.run([str(AGENT_CPP / "build.sh")], check=True)
    return binary


def start_agent(kind: str, lead: int) -> tuple[subprocess.Popen[str], int]:
    command = ([str(cpp_agent()), "--lead", str(lead)] if kind == "cpp" else
               [sys.executable, __file__, "--agent-process", str(lead)])
    agent = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert agent.stdout is not None
    return agent, int(agent.stdout.readline())


# ------------------------------------------------------------------------------- the platform side

class BenchTap(FrameTap):
    """percl's own StreamTap of an audio leg (telephony/sim/stream_tap.py), fed and drained by
    the ticker as the audio plane does every 20 ms; the echoes it queues are measured."""

    def __init__(self, stats: Stats) -> None:
        super().__init__(StreamSettings().max_buffer_ms // 20)
        self._stats = stats

    def tick(self, now: float) -> None:
        stamp = np.frombuffer(struct.pack("<dd", now, 0.0), dtype="<i2")
        self.feed(np.concatenate((stamp, SILENCE)))
        self.next_out()  # what the phone hears this tick

    def play(self, pcm: bytes) -> int:
        sent, got = struct.unpack("<dd", pcm[:16])
        self._stats.handled += self._stats.measuring  # echoes while the CPU is measured
        if self._stats.start <= sent <= self._stats.end:  # made in the measured window
            now = time.time()
            self._stats.uplink.append(got - sent)
            self._stats.round_trip.append(now - sent)
        return super().play(pcm)


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
        self.handled = 0
        self.start = self.end = float("inf")  # the measured window (epoch seconds)


async def ticker(taps: list[BenchTap], stats: Stats, start: float,
                 until: asyncio.Future[float]) -> None:
    """Feed every tap a frame every 20 ms on absolute deadlines from `start` to `until` (set
    later: when the parent says)."""
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
        if until.done() and now > until.result():
            return
        for tap in taps:
            tap.tick(now)


async def worker(port: int, streams: int, first: int, seconds: float) -> dict[str, Any]:
    """One percl process's share: `streams` streams from now; once it said `ready` on stdout, the
    parent answers with when to measure (epoch seconds on stdin), for `seconds`. Its figures as
    a dict (printed as JSON for the parent)."""
    stats = Stats()
    connector = Connector(SystemClock(), StreamSettings(stall_s=0))
    taps = [BenchTap(stats) for _ in range(streams)]
    runs = [connector.stream(StreamStart(f"grpc://127.0.0.1:{port}", f"CA{first + i:040x}", "+1",
                                         "+2", True, (), "audio/l16;rate=8000"), BenchMedia(tap))
            for i, tap in enumerate(taps)]
    tasks = [asyncio.ensure_future(run.run()) for run in runs]  # type: ignore[arg-type]
    tune_gc()  # what `percl serve` does once it started
    until = asyncio.get_running_loop().create_future()
    clock = asyncio.ensure_future(ticker(taps, stats, time.time(), until))
    print("ready", flush=True)
    measure_at = float(await asyncio.to_thread(sys.stdin.readline))
    until.set_result(measure_at + seconds)
    stats.start, stats.end = measure_at, measure_at + seconds
    await asyncio.sleep(max(0.0, measure_at - time.time()))
    cpu0, t0 = time.process_time(), time.time()
    stats.measuring = True
    await clock
    stats.measuring = False
    cpu, wall = time.process_time() - cpu0, time.time() - t0
    await asyncio.sleep(GRACE_S)  # the window's last echoes; later ones count as lost
    for tap in taps:
        tap.close()
    ends = await asyncio.gather(*tasks)
    await connector.close()
    return {"uplink": stats.uplink, "round_trip": stats.round_trip, "late": stats.late,
            "cpu": cpu, "wall": wall, "streams": streams, "handled": stats.handled,
            "dropped": sum(run.dropped_frames for run in runs),
            "ends": sorted({e.kind.value for e in ends})}


# ------------------------------------------------------------------------------- one run, a sweep

@dataclass(frozen=True)
class Result:
    streams: int
    processes: int
    load: float
    echoed: float  # share of the frames sent that came back in the window
    uplink_p50: float  # ms
    uplink_p99: float
    round_trip_p50: float
    round_trip_p99: float
    late_p99: float
    percl_cpu: float  # cores, all processes
    agent_cpu: float
    percl_us: float  # CPU per frame echoed, all processes
    agent_us: float

    @property
    def verdict(self) -> str:
        """Issue 14's target: >= 200 streams, (nearly) every frame echoed, p99 <= 20 ms."""
        if self.echoed < 0.99 or self.uplink_p99 > TARGET_P99_MS:
            return "not met"
        return "met" if self.streams >= TARGET_STREAMS else "p99 met (under 200 streams)"

    def row(self) -> str:
        return (f"| {self.streams} | {self.processes} | {self.load:.1f} | {100 * self.echoed:.0f}% | "
                f"{_fmt(self.uplink_p50)} / {_fmt(self.uplink_p99)} | "
                f"{_fmt(self.round_trip_p50)} / {_fmt(self.round_trip_p99)} | {_fmt(self.late_p99)} | "
                f"{100 * self.percl_cpu:.0f}% / {100 * self.agent_cpu:.0f}% | "
                f"{self.percl_us:.0f} / {self.agent_us:.0f} us |")


def _fmt(ms: float) -> str:
    return f"{ms / 1000:.1f} s" if ms >= 1000 else f"{ms:.1f} ms" if ms < 10 else f"{ms:.0f} ms"


def _ms(values: list[float], p: float) -> float:
    return percentile(sorted(values), p) * 1000 if values else float("nan")


def run_once(streams: int, processes: int, agent_kind: str, lead: int, seconds: float,
             warmup: float) -> Result:
    load = os.getloadavg()[0]
    print(machine_banner(f"AudioStream: {streams} concurrent gRPC streams over {processes} percl "
                         f"process(es), {agent_kind} echo agent {lead} frame(s) ahead, {seconds:g} s"),
          flush=True)
    agent, port = start_agent(agent_kind, lead)
    workers: list[subprocess.Popen[str]] = []
    try:
        shares = [streams // processes + (i < streams % processes) for i in range(processes)]
        for i, share in enumerate(shares):
            workers.append(subprocess.Popen(
                [sys.executable, __file__, "--worker-process", str(port), str(share),
                 str(sum(shares[:i])), repr(seconds)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True))
        for proc in workers:  # every process started its streams
            assert proc.stdout is not None
            if proc.stdout.readline().strip() != "ready":
                raise SystemExit("a percl process failed to start")
        measure_at = time.time() + warmup
        for proc in workers:
            assert proc.stdin is not None
            proc.stdin.write(f"{measure_at!r}\n")
            proc.stdin.flush()
        time.sleep(max(0.0, measure_at - time.time()))
        agent0 = cpu_seconds(agent.pid)
        time.sleep(seconds)
        agent_cpu = cpu_seconds(agent.pid) - agent0
        parts = []
        for proc in workers:
            out, _ = proc.communicate(timeout=120)
            if proc.returncode != 0:
                raise SystemExit(f"a percl process failed (exit {proc.returncode})")
            parts.append(json.loads(out.splitlines()[-1]))
    finally:
        for proc in workers:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        os.kill(agent.pid, signal.SIGTERM)
        agent.wait(timeout=10)
    uplink = [v for p in parts for v in p["uplink"]]
    round_trip = [v for p in parts for v in p["round_trip"]]
    late = [v for p in parts for v in p["late"]]
    frames = len(round_trip)
    expected = streams * round(seconds / 0.02)
    wall = max(p["wall"] for p in parts)
    percl_cpu = sum(p["cpu"] for p in parts)
    handled = sum(p["handled"] for p in parts)  # echoes while the CPU was measured
    for i, p in enumerate(parts):
        mine = p["handled"]
        print(f"  process {i + 1}: {p['streams']} streams, echoed {len(p['round_trip'])}, "
              f"caller -> agent p99 "
              f"{_fmt(_ms(p['uplink'], 99))}, CPU {100 * p['cpu'] / p['wall']:.0f}% of a core, "
              f"{1e6 * p['cpu'] / max(1, mine):.0f} us a frame, dropped {p['dropped']}, "
              f"ends {p['ends']}")
    result = Result(streams, processes, load, frames / max(1, expected), _ms(uplink, 50),
                    _ms(uplink, 99), _ms(round_trip, 50), _ms(round_trip, 99), _ms(late, 99),
                    percl_cpu / wall, agent_cpu / wall, 1e6 * percl_cpu / max(1, handled),
                    1e6 * agent_cpu / max(1, handled))
    print(f"frames echoed {frames} of ~{expected} ({100 * result.echoed:.1f}%)")
    print(f"caller -> agent: p50 {_fmt(result.uplink_p50)}  p99 {_fmt(result.uplink_p99)}  "
          f"max {_fmt(_ms(uplink, 100))}")
    print(f"round trip:      p50 {_fmt(result.round_trip_p50)}  p99 {_fmt(result.round_trip_p99)}"
          f"  max {_fmt(_ms(round_trip, 100))}")
    print(f"ticker late:     p50 {_fmt(_ms(late, 50))}  p99 {_fmt(result.late_p99)}")
    print(f"SUMMARY streams={streams} processes={processes} agent={agent_kind} lead={lead} "
          f"load={load:.2f} "
          f"echoed={100 * result.echoed:.1f}% up_p99={result.uplink_p99:.1f}ms "
          f"rt_p99={result.round_trip_p99:.1f}ms percl_cpu={100 * result.percl_cpu:.0f}% "
          f"agent_cpu={100 * result.agent_cpu:.0f}% percl_us_per_frame={result.percl_us:.0f} "
          f"agent_us_per_frame={result.agent_us:.0f} target={result.verdict}",
          flush=True)
    return result


def _ints(text: str) -> list[int]:
    return [int(v) for v in text.split(",") if v]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=_ints, default=[TARGET_STREAMS],
                        help="concurrent streams; a comma list sweeps (e.g. 50,100,150,200)")
    parser.add_argument("--processes", type=_ints, default=[1],
                        help="percl processes the streams are spread over; a comma list sweeps")
    parser.add_argument("--agent", choices=("cpp", "python"), default="cpp",
                        help="the echo agent: C++ (bench/agent_cpp, default) or Python grpc.aio")
    parser.add_argument("--seconds", type=float, default=10.0, help="measured window")
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--pause", type=float, default=5.0, help="seconds between runs")
    parser.add_argument("--lead", type=int, default=1,
                        help="frames of silence the agent plays first, so that its echo stays "
                             "that far ahead of the phone's playout (0: just in time; the tap "
                             "runs dry between echoes and percl sends PlaybackStarted and "
                             "PlaybackCompleted again and again)")
    parser.add_argument("--agent-process", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--worker-process", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.agent_process is not None:
        asyncio.run(agent_main(args.agent_process))
        return
    if args.worker_process:
        port, streams, first, seconds = args.worker_process
        print(json.dumps(asyncio.run(worker(int(port), int(streams), int(first), float(seconds)))))
        return
    results = []
    for processes in args.processes:
        for streams in args.streams:
            if results:
                time.sleep(args.pause)
            results.append(run_once(streams, processes, args.agent, args.lead, args.seconds,
                                    args.warmup))
    if len(results) > 1:
        print("\n| streams | processes | load | frames echoed | caller -> agent p50 / p99 | "
              "round trip p50 / p99 | ticker late p99 | CPU percl / agent | per frame percl / agent |")
        print("|---|---|---|---|---|---|---|---|---|")
        for result in results:
            print(result.row())


if __name__ == "__main__":
    main()
