"""percl's UAS over real UDP on 127.0.0.1, called by sipp (Debian's sip-tester), bounded in time.

sipp is installed by tests/setup/ensure_sipp.sh (`make test` runs it; this module runs it too when
sipp is missing); the test skips, saying why, only where it cannot be installed.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
from pathlib import Path

import numpy as np
import pytest

from percl.telephony.sip.dialog import Dialog
from percl.telephony.sip.message import Headers, Request, Response, parse_message, parse_uri, serialize
from percl.telephony.sip.rtp import EventReceiver, JitterBuffer, decode_payload, parse_rtp
from percl.telephony.sip.sdp import LocalMedia, make_offer, parse_sdp, read_answer, serialize_sdp
from percl.telephony.sip.transaction import (
    ClientInviteTransaction,
    ClientTransaction,
    Deliver,
    Send,
    TimedOut,
    new_branch,
)
from percl.telephony.sip.uas import AnsweringUas, CallAnswered, CallEnded
from percl.telephony.sip.udp import UdpUas

ENSURE = Path(__file__).resolve().parents[2] / "setup" / "ensure_sipp.sh"
CALLS = 20


@pytest.fixture(scope="module")
def sipp() -> str:
    path = shutil.which("sipp")
    if path is None:
        done = subprocess.run(["sh", str(ENSURE)], capture_output=True, text=True, timeout=300,
                              check=False)
        path = shutil.which("sipp")
        if path is None:
            pytest.skip(done.stdout.strip() or "sipp is not installed")
    return path


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_sipp_uac_calls_are_answered_and_hung_up(sipp: str, tmp_path: Path) -> None:
    core = AnsweringUas(contact="sip:percl@127.0.0.1",
                        media=lambda call_id: LocalMedia("127.0.0.1", 40000, "1"))
    server = await UdpUas.start(core, "127.0.0.1", 0)
    _, port = server.address
    core.contact = f"sip:percl@127.0.0.1:{port}"
    proc = await asyncio.create_subprocess_exec(
        sipp, "-sn", "uac", f"127.0.0.1:{port}", "-i", "127.0.0.1",
        "-p", str(_free_udp_port()), "-mp", str(_free_udp_port()),
        "-m", str(CALLS), "-r", "20", "-l", "10", "-d", "200",
        "-nostdin", "-timeout", "20s", "-timeout_error",
        cwd=tmp_path, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    try:
        output, _ = await asyncio.wait_for(proc.communicate(), 30)
    finally:
        if proc.returncode is None:
            proc.kill()  # this test's own sipp, by its PID
            await proc.wait()
        await server.close()
    text = output.decode(errors="replace")
    assert proc.returncode == 0, text[-2000:]
    answered = [e for e in core.events if isinstance(e, CallAnswered)]
    ended = [e for e in core.events if isinstance(e, CallEnded)]
    assert len(answered) == CALLS and len(ended) == CALLS
    assert all(e.reason == "bye" for e in ended)
    assert all(e.audio.codec == "PCMU" and e.audio.remote_address == "127.0.0.1" for e in answered)


class _RtpSink(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.packets: list[bytes] = []

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        self.packets.append(data)


def _short_pcap_scenario(sipp: str, folder: Path) -> Path:
    """sipp's own uac_pcap scenario (PCMA + telephone-event), shortened: 1.5 s of its G.711
    A-law recording, then the digits 1 and # as RFC 2833 events, then BYE."""
    # `sipp -sd` prints the scenario and exits with 99 (its "nothing run" status).
    xml = subprocess.run([sipp, "-sd", "uac_pcap"], capture_output=True, text=True, timeout=10,
                         check=False).stdout
    pause, digit = '<pause milliseconds="8000"/>', '<exec play_pcap_audio="pcap/dtmf_2833_1.pcap"/>'
    assert pause in xml and digit in xml, "sipp's uac_pcap scenario changed"
    xml = xml.replace(pause, '<pause milliseconds="1500"/>').replace(
        '<pause milliseconds="1000"/>',
        '<pause milliseconds="600"/><nop><action>'
        '<exec play_pcap_audio="pcap/dtmf_2833_pound.pcap"/></action></nop>'
        '<pause milliseconds="800"/>', 1)
    (folder / "pcap").mkdir()
    for name in ("g711a.pcap", "dtmf_2833_1.pcap", "dtmf_2833_pound.pcap"):
        source = Path("/usr/share/sip-tester") / name
        if not source.exists():
            pytest.skip(f"sipp's {source} is not installed")
        (folder / "pcap" / name).symlink_to(source)
    scenario = folder / "uac_pcap_short.xml"
    scenario.write_text(xml)
    return scenario


async def test_sipp_rtp_audio_and_rfc2833_digits_reach_percl_rtp_code(sipp: str,
                                                                       tmp_path: Path) -> None:
    loop = asyncio.get_running_loop()
    rtp_transport, sink = await loop.create_datagram_endpoint(_RtpSink,
                                                              local_addr=("127.0.0.1", 0))
    rtp_port = int(rtp_transport.get_extra_info("sockname")[1])
    core = AnsweringUas(contact="sip:percl@127.0.0.1",
                        media=lambda call_id: LocalMedia("127.0.0.1", rtp_port, "1"))
    server = await UdpUas.start(core, "127.0.0.1", 0)
    _, port = server.address
    core.contact = f"sip:percl@127.0.0.1:{port}"
    scenario = _short_pcap_scenario(sipp, tmp_path)
    proc = await asyncio.create_subprocess_exec(
        sipp, "-sf", str(scenario), f"127.0.0.1:{port}", "-i", "127.0.0.1",
        "-p", str(_free_udp_port()), "-mp", str(_free_udp_port()), "-m", "1",
        "-nostdin", "-timeout", "20s", "-timeout_error",
        cwd=tmp_path, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    try:
        output, _ = await asyncio.wait_for(proc.communicate(), 30)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        await server.close()
        rtp_transport.close()
    assert proc.returncode == 0, output.decode(errors="replace")[-2000:]
    (answered,) = [e for e in core.events if isinstance(e, CallAnswered)]
    assert (answered.audio.codec, answered.audio.telephone_event) == ("PCMA", 101)

    packets = [parse_rtp(data) for data in sink.packets]
    audio = [p for p in packets if p.payload_type == 8]
    events = [p for p in packets if p.payload_type == 101]
    assert len(audio) >= 50  # ~1.5 s of 20 ms packets
    buffer = JitterBuffer(depth=3)
    played = [p for packet in audio for p in buffer.push(packet)] + buffer.flush()
    assert buffer.lost == 0 and buffer.late == 0 and len(played) == len(audio)
    pcm = np.concatenate([decode_payload(p.payload, 8) for p in played]).astype(np.float64)
    assert np.sqrt(np.mean(pcm**2)) > 100  # a real recording, not silence
    receiver = EventReceiver()
    assert [d for p in events for d in receiver.receive(p)] == ["1", "#"]


async def test_sipp_cancels_while_ringing_and_gets_487(sipp: str, tmp_path: Path) -> None:
    core = AnsweringUas(contact="sip:percl@127.0.0.1", ring_seconds=10.0,
                        media=lambda call_id: LocalMedia("127.0.0.1", 40000, "1"))
    server = await UdpUas.start(core, "127.0.0.1", 0)
    _, port = server.address
    scenario = Path(__file__).with_name("sipp_cancel.xml")
    proc = await asyncio.create_subprocess_exec(
        sipp, "-sf", str(scenario), f"127.0.0.1:{port}", "-i", "127.0.0.1",
        "-p", str(_free_udp_port()), "-mp", str(_free_udp_port()), "-m", "5", "-r", "10",
        "-nostdin", "-timeout", "20s", "-timeout_error",
        cwd=tmp_path, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    try:
        output, _ = await asyncio.wait_for(proc.communicate(), 30)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        await server.close()
    assert proc.returncode == 0, output.decode(errors="replace")[-2000:]
    assert not [e for e in core.events if isinstance(e, CallAnswered)]
    assert [e.reason for e in core.events if isinstance(e, CallEnded)] == ["cancel"] * 5


class _Inbox(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.queue: asyncio.Queue[bytes] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        self.queue.put_nowait(data)


async def _drive(txn: ClientInviteTransaction | ClientTransaction, inbox: _Inbox,
                 transport: asyncio.DatagramTransport, peer: tuple[str, int]) -> Response:
    """Run a client transaction over a real socket until the TU gets its final response."""
    loop = asyncio.get_running_loop()
    actions = txn.start(loop.time())
    while True:
        for action in actions:
            if isinstance(action, Send):
                transport.sendto(serialize(action.message), peer)
            elif isinstance(action, Deliver) and isinstance(action.message, Response):
                if action.message.status >= 200:
                    return action.message
            elif isinstance(action, TimedOut):
                raise AssertionError(f"timer {action.timer} fired: no answer from sipp")
        deadline = txn.next_deadline()
        timeout = None if deadline is None else max(0.0, deadline - loop.time())
        try:
            message = parse_message(await asyncio.wait_for(inbox.queue.get(), timeout))
        except TimeoutError:
            actions = txn.on_time(loop.time())
            continue
        assert isinstance(message, Response)
        actions = txn.receive(message, loop.time())


async def test_percl_uac_calls_sipp_uas_and_hangs_up_through_the_dialog(sipp: str,
                                                                       tmp_path: Path) -> None:
    loop = asyncio.get_running_loop()
    transport, inbox = await loop.create_datagram_endpoint(_Inbox, local_addr=("127.0.0.1", 0))
    _, local_port = transport.get_extra_info("sockname")[:2]
    sipp_port = _free_udp_port()
    proc = await asyncio.create_subprocess_exec(
        sipp, "-sn", "uas", "-i", "127.0.0.1", "-p", str(sipp_port), "-mp", str(_free_udp_port()),
        "-m", "1", "-nostdin", "-timeout", "20s", "-timeout_error",
        cwd=tmp_path, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    try:
        offer = make_offer(LocalMedia("127.0.0.1", 40002, "5"))
        via = "SIP/2.0/UDP 127.0.0.1:{port};branch={branch};rport"
        invite = Request(method="INVITE", uri=parse_uri(f"sip:service@127.0.0.1:{sipp_port}"),
                         body=serialize_sdp(offer), headers=Headers((
                             ("Via", via.format(port=local_port, branch=new_branch())),
                             ("Max-Forwards", "70"),
                             ("From", "<sip:percl@127.0.0.1>;tag=p1"),
                             ("To", f"<sip:service@127.0.0.1:{sipp_port}>"),
                             ("Call-ID", "uac-test-1@127.0.0.1"), ("CSeq", "1 INVITE"),
                             ("Contact", f"<sip:percl@127.0.0.1:{local_port}>"),
                             ("Content-Type", "application/sdp"))))
        # sipp may still be binding its socket: timer A retransmits the INVITE until it answers.
        ok = await asyncio.wait_for(_drive(ClientInviteTransaction(invite), inbox, transport,
                                           ("127.0.0.1", sipp_port)), 15)
        assert ok.status == 200
        assert read_answer(offer, parse_sdp(ok.body)).codec == "PCMU"
        dialog = Dialog.as_uac(invite, ok)
        hop = dialog.next_hop()  # sipp's Contact: no Record-Route, so the remote target
        peer = (hop.host, hop.port or 5060)
        ack = dialog.ack(1, via.format(port=local_port, branch=new_branch()))
        transport.sendto(serialize(ack), peer)
        dialog, bye = dialog.request("BYE", via.format(port=local_port, branch=new_branch()))
        bye_ok = await asyncio.wait_for(_drive(ClientTransaction(bye), inbox, transport, peer), 15)
        assert bye_ok.status == 200
        output, _ = await asyncio.wait_for(proc.communicate(), 15)
        assert proc.returncode == 0, output.decode(errors="replace")[-2000:]
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        transport.close()
