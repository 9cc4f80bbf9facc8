"""SIP calls through percl's SIP line, from and to sipp (Debian's sip-tester), bounded in time.

The platform runs on the real clock with audio media (sip_platform.py); sipp plays the far phones:
callers (uac_*.xml) and called phones (uas_*.xml) from tests/telephony/sip/scenarios/.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sip_platform import (
    CALLER,
    FAR,
    LOOPBACK,
    NUMBER,
    SipPlatform,
    free_udp_port,
    need,
    run,
    sip_platform,
)

from percl.domain.enums import CallStatus
from percl.telephony.sip.config import Trunk
from percl.telephony.sip.message import Request, Response
from percl.telephony.sip.rtp import decode_payload, parse_rtp

SCENARIOS = Path(__file__).parent / "scenarios"


@pytest.fixture(scope="module")
def sipp() -> str:
    return need("sipp", "ensure_sipp.sh")


class _Sink(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.packets: list[bytes] = []

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        self.packets.append(data)


def _scenario(folder: Path, name: str, after_ack: str = "") -> Path:
    text = (SCENARIOS / name).read_text().replace("<!-- AFTER-ACK -->", after_ack)
    path = folder / name
    path.write_text(text)
    return path


def _uac(sipp: str, scenario: Path, sip_port: int, *, rtp_port: int | None = None,
         calls: int = 1, rate: int = 10, limit: int = 10) -> list[str]:
    return [sipp, "-sf", str(scenario), f"{LOOPBACK}:{sip_port}", "-i", LOOPBACK,
            "-p", str(free_udp_port()), "-mp", str(free_udp_port()),
            "-key", "dest", NUMBER, "-key", "caller", CALLER,
            "-key", "rtp_port", str(rtp_port or free_udp_port()),
            "-m", str(calls), "-r", str(rate), "-l", str(limit),
            "-nostdin", "-timeout", "60s", "-timeout_error", "-recv_timeout", "30000"]


def _answer(app_routes: dict[str, Any], sp: SipPlatform) -> None:
    for path, answer in app_routes.items():
        sp.app.on(path, answer)


async def test_an_inbound_sip_call_runs_the_numbers_app_and_hears_its_say(
        sipp: str, tmp_path: Path) -> None:
    loop = asyncio.get_running_loop()
    sink_transport, sink = await loop.create_datagram_endpoint(_Sink, local_addr=(LOOPBACK, 0))
    rtp_port = int(sink_transport.get_extra_info("sockname")[1])
    try:
        async with sip_platform() as sp:
            sp.app.on("/voice", [{"Say": {"text": "Hello from percl over SIP"}}, {"Hangup": {}}])
            code, output = await run(_uac(sipp, _scenario(tmp_path, "uac_call.xml"),
                                          sp.sip_port, rtp_port=rtp_port), tmp_path, 60)
            assert code == 0, output[-3000:]
            (call,) = await sp.calls()
            assert (call.from_, call.to, call.direction.value) == (CALLER, NUMBER, "inbound")
            assert await sp.wait(lambda: sp.platform.sim.leg_audio(call.call_id) is not None, 5)
            audio = sp.platform.sim.leg_audio(call.call_id)
            assert audio is not None
            heard_by_leg = audio[0]
    finally:
        sink_transport.close()
    packets = [parse_rtp(p) for p in sink.packets]
    assert packets and all(p.payload_type == 0 for p in packets)
    received = np.concatenate([decode_payload(p.payload, 0) for p in
                               sorted(packets, key=lambda p: p.sequence)])
    loud = received[np.abs(received) > 500]
    assert len(loud) > 8000 * 0.3  # at least 0.3 s of speech came over RTP
    # What sipp's media port received is what the platform played to the leg (TTS, mu-law).
    said = heard_by_leg[np.flatnonzero(np.abs(heard_by_leg) > 500)[0]:][:8000]
    corr = np.correlate(received.astype(np.float64), said.astype(np.float64), "valid")
    norm = np.sqrt(float(said.astype(np.float64) @ said) * np.convolve(
        received.astype(np.float64) ** 2, np.ones(len(said)), "valid").max())
    assert corr.max() / norm > 0.8  # 0.8999 once at load 3.5; unrelated audio scores ~0.1


async def test_rfc2833_digits_from_sipp_reach_getdigits(sipp: str, tmp_path: Path) -> None:
    got: list[dict[str, Any]] = []

    def digits(body: dict[str, Any]) -> list[dict[str, Any]]:
        got.append(body)
        return [{"Hangup": {}}]

    pcap = tmp_path / "pcap"
    pcap.mkdir()
    for name in ("dtmf_2833_1.pcap", "dtmf_2833_pound.pcap"):
        source = Path("/usr/share/sip-tester") / name
        if not source.exists():
            pytest.skip(f"sipp's {source} is not installed")
        (pcap / name).symlink_to(source)
    steps = ('<nop><action><exec play_pcap_audio="pcap/dtmf_2833_1.pcap"/></action></nop>'
             '<pause milliseconds="700"/>'
             '<nop><action><exec play_pcap_audio="pcap/dtmf_2833_pound.pcap"/></action></nop>')
    async with sip_platform() as sp:
        sp.app.on("/voice", [{"GetDigits": {"actionUrl": sp.app.url("/digits"),
                                            "maxDigits": 5, "finishOnKey": "#",
                                            "digitTimeoutMs": 5000, "initialTimeoutMs": 8000}}])
        sp.app.on("/digits", digits)
        code, output = await run(_uac(sipp, _scenario(tmp_path, "uac_call.xml", steps),
                                      sp.sip_port), tmp_path, 60)
        assert code == 0, output[-3000:]
    assert len(got) == 1 and got[0]["digits"] == "1" and got[0]["reason"] == "finishKey"


async def test_a_caller_who_cancels_while_it_rings_ends_the_call(sipp: str,
                                                                  tmp_path: Path) -> None:
    release = asyncio.Event()

    async def slow_app(url: str, body: bytes, headers: Mapping[str, str]) -> tuple[int, bytes]:
        await release.wait()  # the app thinks: the call rings on
        return 200, b'[{"Say": {"text": "too late"}}]'

    async with sip_platform(voice=slow_app) as sp:
        code, output = await run(_uac(sipp, _scenario(tmp_path, "uac_cancel.xml"), sp.sip_port),
                                 tmp_path, 60)
        release.set()
        assert code == 0, output[-3000:]
        assert await sp.wait(lambda: sp.platform.sip_line is not None
                             and sp.platform.sip_line.live_legs == 0, 5)
        (call,) = await sp.calls()
        assert call.status is CallStatus.CANCELED


async def test_an_invite_from_an_unknown_source_is_forbidden(sipp: str, tmp_path: Path) -> None:
    async with sip_platform(sources=("192.0.2.0/24",)) as sp:
        sp.app.on("/voice", [{"Hangup": {}}])
        code, output = await run(_uac(sipp, _scenario(tmp_path, "uac_cancel.xml"), sp.sip_port),
                                 tmp_path, 60)
        assert code != 0 and "403" in output  # sipp expected 180 and got 403 Forbidden
        assert await sp.calls() == []


async def _far_phone(sipp: str, tmp_path: Path, scenario: str, port: int,
                     *extra: str) -> asyncio.subprocess.Process:
    proc = await asyncio.create_subprocess_exec(
        sipp, "-sf", str(SCENARIOS / scenario), "-i", LOOPBACK, "-p", str(port), *extra,
        "-mp", str(free_udp_port()), "-m", "1", "-nostdin", "-timeout", "30s", "-timeout_error",
        cwd=tmp_path, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    await asyncio.sleep(0.3)  # let it bind its port
    return proc


async def _finish(proc: asyncio.subprocess.Process, within: float) -> tuple[int, str]:
    try:
        output, _ = await asyncio.wait_for(proc.communicate(), within)
    finally:
        if proc.returncode is None:
            proc.kill()  # our own sipp, by its PID
            await proc.wait()
    return int(proc.returncode or 0), output.decode(errors="replace")


@pytest.mark.parametrize(("scenario", "extra", "status"), [
    ("uas_answer.xml", {}, "completed"),
    ("uas_answer_at_once.xml", {}, "completed"),  # a 200 with no 180 before it
    ("uas_busy.xml", {}, "busy"),
    ("uas_no_answer.xml", {"timeout": 2}, "noAnswer"),
])
async def test_an_outbound_call_through_the_trunk_reaches_sipp(
        sipp: str, tmp_path: Path, scenario: str, extra: dict[str, Any], status: str) -> None:
    port = free_udp_port()
    far = await _far_phone(sipp, tmp_path, scenario, port)
    try:
        async with sip_platform(trunk_port=port) as sp:
            sp.app.on("/connect", [{"Say": {"text": "This is percl calling"}}, {"Hangup": {}}])
            made = await sp.make_call(FAR, **extra)
            call = await sp.ended(made["callId"], 20)
            code, output = await _finish(far, 20)
    finally:
        if far.returncode is None:
            far.kill()
            await far.wait()
    assert call.status.value == status
    assert code == 0, output[-3000:]


async def test_two_hundred_inbound_calls_all_run_and_end(sipp: str, tmp_path: Path) -> None:
    async with sip_platform() as sp:
        sp.app.on("/voice", [{"Pause": {"length": 300}}, {"Hangup": {}}])
        code, output = await run(_uac(sipp, _scenario(tmp_path, "uac_call.xml"), sp.sip_port,
                                      calls=200, rate=40, limit=80), tmp_path, 90)
        assert code == 0, output[-3000:]  # sipp exits 0 only when every call succeeded
        calls = await sp.calls()
        assert len(calls) == 200
        assert await sp.wait(lambda: sp.platform.sip_line is not None
                             and sp.platform.sip_line.live_legs == 0, 10)
        statuses = {c.status.value for c in await sp.calls()}
        assert statuses == {"completed"}


async def test_a_challenged_outbound_invite_is_sent_again_through_the_digest_hook(
        sipp: str, tmp_path: Path) -> None:
    challenges: list[int] = []

    def digest(trunk: Trunk, request: Request, challenge: Response) -> Request | None:
        challenges.append(challenge.status)
        value = f'Digest username="{trunk.username}", realm="test", nonce="abc123"'
        return replace(request, headers=request.headers.add("Proxy-Authorization", value))

    port = free_udp_port()
    far = await _far_phone(sipp, tmp_path, "uas_challenge.xml", port)
    try:
        async with sip_platform(trunk_port=port, digest=digest) as sp:
            sp.app.on("/connect", [{"Say": {"text": "authorized"}}, {"Hangup": {}}])
            made = await sp.make_call(FAR)
            call = await sp.ended(made["callId"], 20)
            code, output = await _finish(far, 20)
    finally:
        if far.returncode is None:
            far.kill()
            await far.wait()
    assert challenges == [407]
    assert call.status.value == "completed"
    assert code == 0, output[-3000:]


async def test_a_session_timer_too_short_gets_422_and_the_200_carries_the_timer(
        sipp: str, tmp_path: Path) -> None:
    async with sip_platform() as sp:
        sp.app.on("/voice", [{"Say": {"text": "timers"}}, {"Hangup": {}}])
        code, output = await run(_uac(sipp, SCENARIOS / "uac_session_timer.xml", sp.sip_port),
                                 tmp_path, 60)
        assert code == 0, output[-3000:]  # 422 with Min-SE 90, then 200 with the timer
        (call,) = await sp.calls()
        assert call.status is CallStatus.COMPLETED
