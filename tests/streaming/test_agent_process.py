"""percl's gRPC client against a real agent in another process: examples/voice_agent in echo
mode, started with `python -m`, on 127.0.0.1, stopped by its PID. What comes back is what was
sent (cross-correlation), over FreeClimb's contract, for each content type."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import grpc
import numpy as np
import pytest

from percl.engine.ports import StreamEndKind, StreamStart
from percl.media.audio.tones import sine
from percl.runtime.clock import SystemClock
from percl.streaming.connector import Connector
from percl.streaming.session import StreamSettings
from tests.streaming.helpers import ScriptMedia, ScriptTap

ROOT = Path(__file__).resolve().parents[2]
# A chirp-like test signal: three tones, so a wrong alignment cannot match.
SIGNAL = np.concatenate([sine(f, 300, level_dbfs=-12.0) for f in (440, 950, 1700)])


@pytest.fixture(scope="module")
def agent_port() -> Iterator[int]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "examples.voice_agent.agent", "--port", "0", "--mode", "echo"],
        cwd=ROOT, stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("listening on "), line
        yield int(line.split()[-1])
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)


@pytest.mark.parametrize("content_type", ["audio/mulaw;rate=8000", "audio/l16;rate=8000",
                                          "audio/l16;rate=16000"])
async def test_the_echo_agent_in_another_process_sends_back_what_it_heard(
        agent_port: int, content_type: str) -> None:
    # 16 kHz: the two resamplers keep a tail of a few ms back (their delay)
    tap = ScriptTap(SIGNAL, wait_for=len(SIGNAL) - (400 if "16000" in content_type else 0))
    connector = Connector(SystemClock(), StreamSettings(stall_s=0))
    start = StreamStart(f"grpc://127.0.0.1:{agent_port}", "CA" + "0" * 40, "+15550100002",
                        "+15550100001", True, ("m",), content_type)
    async with asyncio.timeout(30):
        end = await connector.stream(start, ScriptMedia(tap)).run()
    assert end.kind is StreamEndKind.AGENT_CLOSED and end.reason == "the call ended"
    back = tap.back().astype(np.float64)
    probe = SIGNAL[800:-800].astype(np.float64)  # the middle: resampler edges left out
    scores = np.correlate(back, probe, "valid")
    energy = np.convolve(back * back, np.ones(len(probe)), "valid")
    match = scores / (np.sqrt(np.maximum(energy, 1e-9)) * np.linalg.norm(probe))
    assert match.max() > 0.95, match.max()
    assert abs(int(np.argmax(match)) - 800) <= 4  # where it was sent (+ the resamplers' delay)


async def test_concurrent_streams_to_one_agent_share_one_channel_closed_after_them(
        agent_port: int, monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[grpc.aio.Channel] = []
    closed: list[grpc.aio.Channel] = []
    real_open = grpc.aio.insecure_channel

    def counting(target: str) -> grpc.aio.Channel:
        channel = real_open(target)
        real_close = channel.close

        async def close(grace: float | None = None) -> None:
            closed.append(channel)
            await real_close(grace)

        channel.close = close  # type: ignore[method-assign]
        opened.append(channel)
        return channel

    monkeypatch.setattr(grpc.aio, "insecure_channel", counting)
    connector = Connector(SystemClock(), StreamSettings(stall_s=0))
    taps = [ScriptTap(SIGNAL, wait_for=len(SIGNAL)) for _ in range(3)]
    runs = [connector.stream(StreamStart(f"grpc://127.0.0.1:{agent_port}", f"CA{i:040x}",
                                         "+15550100002", "+15550100001", True, (),
                                         "audio/l16;rate=8000"), ScriptMedia(tap)).run()
            for i, tap in enumerate(taps)]
    async with asyncio.timeout(30):
        ends = await asyncio.gather(*runs)
    assert [end.kind for end in ends] == [StreamEndKind.AGENT_CLOSED] * 3
    assert all(tap.played >= len(SIGNAL) for tap in taps)  # each got its own echo back
    assert len(opened) == 1 and closed == opened  # one channel, closed with the last stream
    await connector.close()
    assert closed == opened  # nothing left for the platform's close
