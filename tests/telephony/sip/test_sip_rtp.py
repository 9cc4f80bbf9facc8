"""RTP/RTCP wire formats, RFC 4733 events, the jitter buffer, wrap-around and G.711 payloads."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from percl.telephony.sip.rtp import (
    END_REPEATS,
    PT_PCMA,
    PT_PCMU,
    EventReceiver,
    JitterBuffer,
    ReceiverStats,
    ReportBlock,
    RtcpReport,
    RtpError,
    RtpPacket,
    SenderInfo,
    TelephoneEvent,
    decode_payload,
    digit_event_packets,
    encode_payload,
    parse_event,
    parse_rtcp,
    parse_rtp,
    seq_diff,
    silence,
    ts_diff,
)


def test_header_bytes_match_rfc3550_layout() -> None:
    packet = RtpPacket(payload_type=0, sequence=0x1234, timestamp=0xDEADBEEF, ssrc=0x01020304,
                       payload=b"\xff" * 4, marker=True)
    data = packet.pack()
    assert data[:12] == bytes.fromhex("80 80 1234 deadbeef 01020304".replace(" ", ""))
    assert parse_rtp(data) == packet


def test_csrc_extension_and_padding_round_trip() -> None:
    packet = RtpPacket(payload_type=8, sequence=65535, timestamp=2**32 - 1, ssrc=7,
                       payload=b"abc", csrcs=(1, 2, 3), extension=(0xBEDE, b"\x10\x01\x00\x00"),
                       padding=5)
    data = packet.pack()
    assert data[0] == 0x80 | 0x20 | 0x10 | 3 and data[-1] == 5 and len(data) == 12 + 12 + 8 + 3 + 5
    assert parse_rtp(data) == packet


@pytest.mark.parametrize("data", [
    b"", b"\x80" * 11, bytes([0x40]) + bytes(11), bytes([0x83]) + bytes(11),
    bytes([0x90]) + bytes(13), bytes([0x90]) + bytes(11) + b"\x00\x00\x00\x05",
    bytes([0xA0]) + bytes(11) + b"\x00", bytes([0xA0]) + bytes(11) + b"ab\x09",
])
def test_bad_packets_raise_rtp_error(data: bytes) -> None:
    with pytest.raises(RtpError):
        parse_rtp(data)


def test_pack_refuses_what_the_header_cannot_hold() -> None:
    for packet in (RtpPacket(0, 0, 0, 0, csrcs=tuple(range(16))),
                   RtpPacket(0, 0, 0, 0, extension=(1, b"abc")), RtpPacket(0, 0, 0, 0, padding=300)):
        with pytest.raises(RtpError):
            packet.pack()


@given(st.binary(max_size=200))
@settings(max_examples=300, deadline=None)
def test_fuzz_parse_raises_only_rtp_error(data: bytes) -> None:
    with contextlib.suppress(RtpError):
        packet = parse_rtp(data)
        assert parse_rtp(packet.pack()) == packet
    with contextlib.suppress(RtpError):
        parse_rtcp(data)


def test_wrap_around_arithmetic() -> None:
    assert seq_diff(2, 65534) == 4 and seq_diff(65534, 2) == -4 and seq_diff(5, 5) == 0
    assert ts_diff(100, 2**32 - 60) == 160 and ts_diff(2**32 - 60, 100) == -160


def test_telephone_event_payload() -> None:
    event = TelephoneEvent(event=11, end=True, volume=10, duration=800)
    assert event.pack() == bytes([11, 0x80 | 10, 0x03, 0x20])
    assert parse_event(event.pack()) == event and event.digit == "#"
    with pytest.raises(RtpError):
        parse_event(b"\x01\x02")
    with pytest.raises(RtpError):
        TelephoneEvent(1, False, 64, 0).pack()


def test_digit_packets_updates_then_three_end_packets() -> None:
    packets = digit_event_packets("5", payload_type=101, ssrc=9, first_sequence=65534,
                                  timestamp=1000, duration_ms=100)
    events = [parse_event(p.payload) for p in packets]
    assert [e.duration for e in events] == [160, 320, 480, 640, 800, 800, 800]
    assert [e.end for e in events] == [False] * 4 + [True] * END_REPEATS
    assert [p.sequence for p in packets] == [65534, 65535, 0, 1, 2, 3, 4]
    assert {p.timestamp for p in packets} == {1000} and packets[0].marker
    assert not any(p.marker for p in packets[1:])
    with pytest.raises(RtpError):
        digit_event_packets("x", payload_type=101, ssrc=1, first_sequence=0, timestamp=0)


def test_event_receiver_reports_each_digit_once() -> None:
    receiver = EventReceiver()
    got: list[str] = []
    ts = 0
    for digit in "12#":
        for packet in digit_event_packets(digit, payload_type=101, ssrc=1, first_sequence=0,
                                          timestamp=ts):
            got += receiver.receive(packet)
        ts += 2000
    assert got == ["1", "2", "#"]
    # The end packets of "7" are all lost: the next event's first packet reports it.
    lost_end = digit_event_packets("7", payload_type=101, ssrc=1, first_sequence=0, timestamp=ts)
    got = [d for p in lost_end[:-END_REPEATS] for d in receiver.receive(p)]
    assert got == []
    nine = digit_event_packets("9", payload_type=101, ssrc=1, first_sequence=9, timestamp=ts + 2000)
    assert [d for p in nine for d in receiver.receive(p)] == ["7", "9"]


def _packets(seqs: list[int]) -> list[RtpPacket]:
    return [RtpPacket(0, s, s * 160, 1) for s in seqs]


def test_jitter_buffer_reorders_within_depth() -> None:
    buffer = JitterBuffer(depth=3)
    out: list[int] = []
    for packet in _packets([10, 12, 11, 13, 15, 14]):
        out += [p.sequence for p in buffer.push(packet)]
    assert out == [10, 11, 12, 13, 14, 15] and buffer.lost == 0


def test_jitter_buffer_declares_loss_and_drops_late_and_duplicates() -> None:
    buffer = JitterBuffer(depth=2)
    out: list[int] = []
    for packet in _packets([1, 3, 4, 5, 2, 5, 6]):
        out += [p.sequence for p in buffer.push(packet)]
    assert out == [1, 3, 4, 5, 6]
    # 2 came after 3..5 were played (late); the second 5 too (already played)
    assert (buffer.lost, buffer.late, buffer.duplicates) == (1, 2, 0)
    buffer.push(_packets([8])[0])
    assert buffer.push(_packets([8])[0]) == [] and buffer.duplicates == 1
    assert [p.sequence for p in buffer.flush()] == [8] and buffer.lost == 2


def test_jitter_buffer_across_sequence_wrap() -> None:
    buffer = JitterBuffer(depth=3)
    out = [p.sequence for pk in _packets([65534, 0, 65535, 1]) for p in buffer.push(pk)]
    assert out == [65534, 65535, 0, 1]


def test_rtcp_receiver_and_sender_reports_round_trip() -> None:
    block = ReportBlock(ssrc=0xAABBCCDD, fraction_lost=64, cumulative_lost=-3,
                        highest_sequence=(1 << 16) + 5, jitter=12, last_sr=0x12345678,
                        delay_since_last_sr=65536)
    rr = RtcpReport(ssrc=42, blocks=(block,))
    sr = RtcpReport(ssrc=43, blocks=(), sender=SenderInfo(0x0102030405060708, 160, 10, 1600))
    rr_bytes = rr.pack()
    assert rr_bytes[:4] == bytes([0x81, 201, 0, 7])
    sdes = bytes([0x81, 202, 0, 1]) + b"\x00\x00\x00\x2a"  # skipped
    assert parse_rtcp(sr.pack() + sdes + rr_bytes) == [sr, rr]
    with pytest.raises(RtpError):
        parse_rtcp(rr_bytes[:-4])
    with pytest.raises(RtpError):
        parse_rtcp(bytes([0x81, 201, 0, 1]) + bytes(4))


def test_receiver_stats_count_loss_across_wrap_and_jitter() -> None:
    stats = ReceiverStats(ssrc=5)
    seqs = [65533, 65534, 0, 1, 3]  # 65535 and 2 lost
    for i, packet in enumerate(_packets(seqs)):
        stats.receive(packet, arrival=packet.timestamp + 100 + (i % 2) * 16)
    block = stats.block()
    assert block.highest_sequence == (1 << 16) + 3
    assert block.cumulative_lost == 2 and block.fraction_lost == 2 * 256 // 7
    assert block.jitter > 0
    assert stats.block().fraction_lost == 0  # nothing new in the next interval


def test_g711_payloads_round_trip_both_laws() -> None:
    tone = (8000 * np.sin(np.arange(160) * 2 * np.pi * 440 / 8000)).astype(np.int16)
    for pt in (PT_PCMU, PT_PCMA):
        payload = encode_payload(tone, pt)
        assert len(payload) == 160
        back = decode_payload(payload, pt)
        assert np.max(np.abs(back.astype(np.int32) - tone)) < 300
    assert silence(PT_PCMU)[:1] == b"\xff" and silence(PT_PCMA)[:1] == b"\xd5"
    with pytest.raises(RtpError):
        encode_payload(tone, 18)
    with pytest.raises(RtpError):
        decode_payload(b"", 96)
