"""The RTP endpoint of a SIP leg (FarAudio) on 127.0.0.1: frames both ways, re-framing, reordering,
symmetric RTP, RFC 4733 digits, the early-media gate, hold, and RTCP receiver reports."""

from __future__ import annotations

import asyncio
import random

import numpy as np

from percl.media.audio.pcm import SILENT_FRAME
from percl.telephony.sip.media import PortPool, RtpEndpoint
from percl.telephony.sip.rtp import (
    RtpPacket,
    digit_event_packets,
    encode_payload,
    parse_rtcp,
    parse_rtp,
)
from percl.telephony.sip.sdp import AudioParams, Direction

LOOPBACK = "127.0.0.1"


def _pool() -> PortPool:
    low = random.randrange(30000, 59000, 2)
    return PortPool(low, low + 200)


class Peer(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.got: list[tuple[bytes, tuple[str, int]]] = []

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        self.got.append((data, (str(addr[0]), int(addr[1]))))


async def _peer() -> tuple[asyncio.DatagramTransport, Peer, int]:
    transport, peer = await asyncio.get_running_loop().create_datagram_endpoint(
        Peer, local_addr=(LOOPBACK, 0))
    return transport, peer, int(transport.get_extra_info("sockname")[1])


def _params(port: int, direction: Direction = Direction.SENDRECV) -> AudioParams:
    return AudioParams(remote_address=LOOPBACK, remote_port=port, codec="PCMU", payload_type=0,
                       telephone_event=101, direction=direction)


async def _until(condition: object, within: float = 2.0) -> bool:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not condition():  # type: ignore[operator]
        if loop.time() > deadline:
            return False
        await asyncio.sleep(0.01)
    return True


def _ramp(samples: int, start: int = 0) -> np.ndarray:
    return ((np.arange(start, start + samples) % 200) * 40 - 4000).astype(np.int16)


async def test_two_endpoints_carry_frames_both_ways() -> None:
    pool = _pool()
    a, b = await RtpEndpoint.open(LOOPBACK, pool), await RtpEndpoint.open(LOOPBACK, pool)
    try:
        a.start(_params(b.port))
        b.start(_params(a.port))
        frame = _ramp(160)
        for _ in range(5):
            a.give(frame)
            b.give(None)  # silence still goes out: the peer's jitter buffer stays fed
        assert await _until(lambda: b.counters.received == 5 and a.counters.received == 5)
        got = b.take()
        assert got is not None and len(got) == 160
        # G.711 is lossy: the decoded frame is close to the original, not equal
        assert np.max(np.abs(got.astype(int) - frame.astype(int))) < 200
        silent = a.take()
        assert silent is not None and np.max(np.abs(silent)) < 10
    finally:
        a.close()
        b.close()
    assert a.closed and b.closed


async def test_a_silent_pcmu_packet_is_the_shared_silent_frame() -> None:
    # The audio plane treats that one object as silence (no decoding, no ear): issue 15's load.
    pool = _pool()
    a, b = await RtpEndpoint.open(LOOPBACK, pool), await RtpEndpoint.open(LOOPBACK, pool)
    try:
        a.start(_params(b.port))
        b.start(_params(a.port))
        a.give(None)
        a.give(np.zeros(160, dtype=np.int16))
        a.give(_ramp(160))
        assert await _until(lambda: b.counters.received == 3)
        assert b.take() is SILENT_FRAME and b.take() is SILENT_FRAME
        sound = b.take()
        assert sound is not None and sound is not SILENT_FRAME and sound.any()
    finally:
        a.close()
        b.close()


async def test_thirty_ms_packets_out_of_order_come_out_as_twenty_ms_frames_in_order() -> None:
    transport, _, port = await _peer()
    endpoint = await RtpEndpoint.open(LOOPBACK, _pool())
    try:
        endpoint.start(_params(port))
        audio = _ramp(240 * 4)
        packets = [RtpPacket(0, 100 + i, 1000 + 240 * i, 7,
                             encode_payload(audio[240 * i: 240 * (i + 1)], 0)).pack()
                   for i in range(4)]
        for index in (0, 2, 1, 3):  # one swap: the jitter buffer restores the order
            transport.sendto(packets[index], (LOOPBACK, endpoint.port))
        assert await _until(lambda: endpoint.counters.received == 4)
        frames = [endpoint.take() for _ in range(6)]
        assert all(f is not None and len(f) == 160 for f in frames)
        assert endpoint.take() is None
        joined = np.concatenate(frames)  # type: ignore[arg-type]
        assert np.max(np.abs(joined.astype(int) - audio.astype(int))) < 200
    finally:
        endpoint.close()
        transport.close()


async def test_rtp_goes_back_to_where_the_peer_sends_from_and_digits_are_reported() -> None:
    transport, peer, port = await _peer()
    endpoint = await RtpEndpoint.open(LOOPBACK, _pool())
    digits: list[str] = []
    endpoint.on_digits = digits.append
    try:
        endpoint.start(_params(port + 1 if port < 65535 else port - 1))  # the SDP lies (NAT)
        for packet in digit_event_packets("7", payload_type=101, ssrc=9, first_sequence=1,
                                          timestamp=800):
            transport.sendto(packet.pack(), (LOOPBACK, endpoint.port))
        assert await _until(lambda: digits == ["7"])
        assert endpoint.remote == (LOOPBACK, port)  # latched to the real source
        endpoint.give(_ramp(160))
        assert await _until(lambda: len(peer.got) == 1)
        assert parse_rtp(peer.got[0][0]).payload_type == 0
    finally:
        endpoint.close()
        transport.close()


async def test_nothing_is_sent_before_early_audio_or_while_the_peer_holds() -> None:
    transport, peer, port = await _peer()
    endpoint = await RtpEndpoint.open(LOOPBACK, _pool())
    early: list[bool] = []
    endpoint.on_early_audio = lambda: early.append(True)
    try:
        endpoint.start(_params(port))
        endpoint.held = True
        endpoint.give(None)
        await asyncio.sleep(0.05)
        assert peer.got == [] and early == []
        endpoint.give(_ramp(160))  # the platform plays something: early media
        assert early == [True] and await _until(lambda: len(peer.got) == 1)
        endpoint.start(_params(port, Direction.SENDONLY))  # the peer holds the call
        endpoint.give(_ramp(160))
        await asyncio.sleep(0.05)
        assert len(peer.got) == 1
    finally:
        endpoint.close()
        transport.close()


async def _socket_pair() -> tuple[asyncio.DatagramTransport, asyncio.DatagramTransport, Peer,
                                  int]:
    """An RTP sender on an even port and an RTCP listener on the odd port above it."""
    loop = asyncio.get_running_loop()
    for port in _pool().candidates():
        try:
            rtp, _ = await loop.create_datagram_endpoint(Peer, local_addr=(LOOPBACK, port))
        except OSError:
            continue
        try:
            rtcp, peer = await loop.create_datagram_endpoint(Peer,
                                                             local_addr=(LOOPBACK, port + 1))
        except OSError:
            rtp.close()
            continue
        return rtp, rtcp, peer, port
    raise OSError("no free port pair")


async def test_a_receiver_report_about_the_peers_stream_goes_to_its_rtcp_port() -> None:
    rtp, rtcp, peer, port = await _socket_pair()
    endpoint = await RtpEndpoint.open(LOOPBACK, _pool(), rtcp_interval_s=0.1)
    try:
        endpoint.start(_params(port))
        for i in (0, 1, 3):  # sequence 2 is lost
            rtp.sendto(RtpPacket(0, i, 160 * i, 4242, bytes(160)).pack(),
                       (LOOPBACK, endpoint.port))
        assert await _until(lambda: endpoint.counters.received == 3)
        peer.got.clear()  # reports sent before all three arrived
        assert await _until(lambda: bool(peer.got), 2.0)
        (report,) = parse_rtcp(peer.got[0][0])
        assert report.sender is None and report.blocks[0].ssrc == 4242
        assert report.blocks[0].cumulative_lost == 1
        assert report.blocks[0].highest_sequence == 3
    finally:
        endpoint.close()
        rtcp.close()
        rtp.close()
