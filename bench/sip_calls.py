"""End-to-end SIP figures: calls per second through percl's SIP line, and concurrent RTP legs.

percl runs in this process as `percl serve` would build it (Platform with a SIP line on
127.0.0.1, audio media, an in-memory store, the number's app answered in-process); sipp (Debian's
sip-tester) plays the callers in a process of its own.

  a. call rate: sipp's built-in `uac` places CALLS calls at RATE calls/s (each held HOLD_MS, then
     BYE); the app answers with a long Pause. Reported: calls that succeeded, the rate reached
     (successes over sipp's elapsed time), percl's CPU per call;
  b. concurrent legs: LEGS calls held up at once with sipp echoing percl's RTP (`-rtp_echo`), so
     every leg sends and receives 50 packets/s; after warm-up, 5 s measured: the media clock's
     lateness percentiles (each 20 ms tick is one RTP packet per leg: its lateness is the send
     jitter), the RFC 3550 jitter of the echoed streams percl received, and percl's CPU.

The whole set the docs quote, and the default (one summary line per run, each with the load
average and percl's CPU per call, per leg-second and per leg-tick, so that runs on a busy machine
can still be compared; about 3 minutes):

    .venv/bin/python bench/sip_calls.py
    .venv/bin/python bench/sip_calls.py --rates 100 --legs     # one run of (a), none of (b)

`--profile FILE` runs it under cProfile on the event loop thread's CPU clock (read it with
`bench/profile_summary.py --pstats FILE`).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import ipaddress
import os
import random
import re
import shutil
import socket
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import machine_banner, percentile
from percl.app import Platform
from percl.config import MediaFidelity, Settings
from percl.domain.records import Application, IncomingNumber
from percl.store.memory import MemoryStore
from percl.telephony.sip.config import HostPort, SipConfig, Trunk
from percl.testing.apps import ScriptedApp
from percl.webhooks.inprocess import FunctionTransport, RoutingTransport

NUMBER = "+13125550100"


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _platform(app: ScriptedApp) -> Platform:
    router = RoutingTransport()
    router.mount("http://app.test/", FunctionTransport(app))
    low = random.randrange(20000, 50000, 2)
    config = SipConfig(listen=HostPort("127.0.0.1", 0), advertised="127.0.0.1",
                       rtp_ports=(low, low + 4000),
                       trunks=(Trunk(name="bench",
                                     sources=(ipaddress.ip_network("127.0.0.1/32"),)),))
    platform = Platform(Settings(db=":memory:", media=MediaFidelity.AUDIO), store=MemoryStore(),
                        transport=router, probe_media=False, sip=config)
    await platform.__aenter__()
    account, now = platform.account.account_id, platform.clock.now()
    await platform.store.put_application(Application(
        application_id="AP" + "a" * 40, account_id=account, voice_url=app.url("/voice"),
        date_created=now, date_updated=now))
    await platform.store.put_number(IncomingNumber(
        phone_number_id="PN" + "b" * 40, account_id=account, phone_number=NUMBER,
        application_id="AP" + "a" * 40, date_created=now, date_updated=now))
    return platform


def _sipp(sip_port: int, *extra: str) -> list[str]:
    sipp = shutil.which("sipp")
    if sipp is None:
        raise SystemExit("sipp is not installed: sh tests/setup/ensure_sipp.sh")
    return [sipp, "-sn", "uac", f"127.0.0.1:{sip_port}", "-s", NUMBER, "-i", "127.0.0.1",
            "-p", str(_free_udp_port()), "-mp", str(_free_udp_port()), "-nostdin",
            "-timeout", "300s", "-timeout_error", *extra]


def _successes(output: str) -> int:
    found = re.findall(r"Successful call\s*\|\s*\d+\s*\|\s*(\d+)", output)
    return int(found[-1]) if found else 0


async def call_rate(calls: int, rate: int, hold_ms: int) -> None:
    app = ScriptedApp("http://app.test")
    app.on("/voice", [{"Say": {"text": "Hi"}}, {"Pause": {"length": 60000}}])
    platform = await _platform(app)
    try:
        assert platform.sip_line is not None
        port = platform.sip_line.address[1]
        with tempfile.TemporaryDirectory() as folder:
            cpu, start = time.process_time(), time.monotonic()
            proc = await asyncio.create_subprocess_exec(
                *_sipp(port, "-m", str(calls), "-r", str(rate), "-l", str(rate * 4),
                       "-d", str(hold_ms)),
                cwd=folder, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
            output, _ = await proc.communicate()
            elapsed, cpu = time.monotonic() - start, time.process_time() - cpu
        text = output.decode(errors="replace")
        ok = _successes(text)
        busy = max(elapsed - hold_ms / 1000, 1e-9)  # the last call's hold is not call set-up
        print(f"a. rate {rate}/s asked, {calls} calls held {hold_ms} ms: {ok} succeeded, "
              f"{ok / busy:.0f} calls/s reached; percl CPU {cpu * 1000 / max(ok, 1):.2f} ms "
              f"per call ({cpu:.1f} s over {elapsed:.1f} s); sipp exit {proc.returncode}; "
              f"{_load()}", flush=True)
    finally:
        await platform.__aexit__(None, None, None)


async def concurrent_legs(legs: int, rate: int, *, echo_rtp: bool = True) -> None:
    app = ScriptedApp("http://app.test")
    # GetDigits answers the call and plays nothing: the echoed stream is silence, so the legs'
    # ears hear no speech (each utterance would be transcribed in a worker thread, and those
    # threads' hold on the GIL, not the SIP path, would then be what is measured).
    app.on("/voice", [{"GetDigits": {"actionUrl": app.url("/digits"), "maxDigits": 1,
                                     "initialTimeoutMs": 120000}}])
    platform = await _platform(app)
    proc = None
    try:
        line = platform.sip_line
        assert line is not None
        hold_s = legs / rate + 12
        echo = ("-rtp_echo",) if echo_rtp else ()
        with tempfile.TemporaryDirectory() as folder:
            proc = await asyncio.create_subprocess_exec(
                *_sipp(line.address[1], "-m", str(legs), "-r", str(rate), "-l", str(legs),
                       "-d", str(int(hold_s * 1000)), *echo),
                cwd=folder, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
            deadline = time.monotonic() + legs / rate + 10
            while line.live_legs < legs and time.monotonic() < deadline:
                await asyncio.sleep(0.2)
            up = line.live_legs
            await asyncio.sleep(2)  # warm-up: every stream flowing
            platform.sim.media_clock_stats(reset=True)
            cpu = time.process_time()
            await asyncio.sleep(5)
            cpu = time.process_time() - cpu
            stats = platform.sim.media_clock_stats()
            jitter = sorted(line.jitter_ms()) or [float("nan")]
            clock = (f"clock lateness p50 {stats.p50_ms:.2f} / p99 {stats.p99_ms:.2f} / max "
                     f"{stats.max_ms:.1f} ms ({stats.ticks} ticks)" if stats else "no media clock")
            # Per leg-tick (one RTP packet each way, one frame through the audio plane): what a
            # clock that fell behind did not tick is not counted as work it did.
            per_tick = cpu * 1e6 / max(up * (stats.ticks if stats else 250), 1)
            print(f"b. legs {legs}: {up} up; over 5 s {clock}; received jitter p50 "
                  f"{percentile(jitter, 50):.2f} / p99 {percentile(jitter, 99):.2f} ms; percl CPU "
                  f"{cpu / 5 * 100:.0f}% of a core = {cpu * 1e6 / (5 * max(up, 1)):.0f} us per "
                  f"leg-second, {per_tick:.1f} us per leg-tick; {_load()}", flush=True)
            proc.kill()
            await proc.wait()
    finally:
        if proc is not None and proc.returncode is None:
            proc.kill()
            await proc.wait()
        await platform.__aexit__(None, None, None)


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.1f}/{five:.1f}"


async def run(args: argparse.Namespace) -> None:
    print(machine_banner("SIP calls through percl's SIP line (sipp on 127.0.0.1)"), flush=True)
    for rate in args.rates:
        await call_rate(args.calls, rate, args.hold_ms)
    for legs in args.legs:
        await concurrent_legs(legs, 50, echo_rtp=not args.no_echo)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--rates", type=int, nargs="*", default=[50, 100, 150], metavar="RATE",
                        help="call rates asked, one run each (none: skip)")
    parser.add_argument("--hold-ms", type=int, default=1000)
    parser.add_argument("--legs", type=int, nargs="*", default=[200, 300, 500], metavar="LEGS",
                        help="concurrent legs, one run each (none: skip)")
    parser.add_argument("--no-echo", action="store_true", help="sipp sends no RTP back")
    parser.add_argument("--profile", metavar="FILE",
                        help="cProfile on the thread's CPU clock, stats to FILE")
    args = parser.parse_args()
    if args.profile is None:
        asyncio.run(run(args))
        return
    profiler = cProfile.Profile(time.thread_time)
    profiler.enable()
    try:
        asyncio.run(run(args))
    finally:
        profiler.disable()
        profiler.dump_stats(args.profile)


if __name__ == "__main__":
    main()
