"""RTP and RTCP on the wire (RFC 3550), RFC 4733 telephone-events, a jitter buffer, G.711 payloads.

Pure functions and small state holders over bytes: the asyncio shell owns the sockets and the
20 ms clock. Sequence numbers (16 bits) and timestamps (32 bits) wrap; every comparison here goes
through `seq_diff` / `ts_diff`, which read the shorter way round the circle (RFC 3550 A.1), so a
stream that crosses 65535 -> 0 is not mistaken for a jump back in time.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from percl.media.audio import g711
from percl.media.audio.pcm import Pcm

RTP_VERSION = 2
PT_PCMU = 0
PT_PCMA = 8
SAMPLE_RATE = 8000
SAMPLES_PER_PACKET = 160  # 20 ms at 8 kHz


class RtpError(ValueError):
    """Bytes that are not a valid RTP or RTCP packet (the packet is dropped)."""


def seq_diff(a: int, b: int) -> int:
    """a - b for 16-bit sequence numbers, in -32768..32767."""
    return ((a - b + 0x8000) & 0xFFFF) - 0x8000


def ts_diff(a: int, b: int) -> int:
    """a - b for 32-bit RTP timestamps, in -2**31..2**31-1."""
    return ((a - b + 0x80000000) & 0xFFFFFFFF) - 0x80000000


class RtpPacket(NamedTuple):
    """One RTP packet. Why a NamedTuple (immutable like the frozen dataclasses elsewhere): every
    leg parses 50 a second, and a frozen dataclass's nine `object.__setattr__` calls cost more
    than the parse itself."""

    payload_type: int
    sequence: int
    timestamp: int
    ssrc: int
    payload: bytes = b""
    marker: bool = False
    csrcs: tuple[int, ...] = ()
    extension: tuple[int, bytes] | None = None  # (profile-defined id, data: a multiple of 4 bytes)
    padding: int = 0  # padding octets to add (pack) or that were removed (parse)

    def pack(self) -> bytes:
        if len(self.csrcs) > 15:
            raise RtpError("at most 15 CSRCs")
        if self.extension is not None and len(self.extension[1]) % 4:
            raise RtpError("an RTP header extension is a whole number of 32-bit words")
        if not 0 <= self.padding <= 255:
            raise RtpError("padding is 0..255 octets")
        first = (RTP_VERSION << 6) | (0x20 if self.padding else 0) | (
            0x10 if self.extension is not None else 0) | len(self.csrcs)
        second = (0x80 if self.marker else 0) | (self.payload_type & 0x7F)
        out = [struct.pack("!BBHII", first, second, self.sequence & 0xFFFF,
                           self.timestamp & 0xFFFFFFFF, self.ssrc & 0xFFFFFFFF)]
        out.extend(struct.pack("!I", c) for c in self.csrcs)
        if self.extension is not None:
            profile, data = self.extension
            out.append(struct.pack("!HH", profile, len(data) // 4) + data)
        out.append(self.payload)
        if self.padding:
            out.append(bytes(self.padding - 1) + bytes([self.padding]))
        return b"".join(out)


_FIXED = struct.Struct("!BHII")  # the header after its first byte: M/PT, sequence, timestamp, SSRC


def parse_rtp(data: bytes) -> RtpPacket:
    """Parse one RTP packet. Raises RtpError."""
    if len(data) < 12:
        raise RtpError("shorter than an RTP header")
    if data[0] == RTP_VERSION << 6:  # the usual packet: no padding, extension or CSRC
        second, sequence, timestamp, ssrc = _FIXED.unpack_from(data, 1)
        return RtpPacket(second & 0x7F, sequence, timestamp, ssrc, bytes(data[12:]),
                         bool(second & 0x80))
    first, second, sequence, timestamp, ssrc = struct.unpack_from("!BBHII", data)
    if first >> 6 != RTP_VERSION:
        raise RtpError(f"RTP version {first >> 6}, not 2")
    offset = 12 + 4 * (first & 0x0F)
    if len(data) < offset:
        raise RtpError("truncated CSRC list")
    csrcs = struct.unpack_from(f"!{first & 0x0F}I", data, 12)
    extension = None
    if first & 0x10:
        if len(data) < offset + 4:
            raise RtpError("truncated header extension")
        profile, words = struct.unpack_from("!HH", data, offset)
        end = offset + 4 + 4 * words
        if len(data) < end:
            raise RtpError("truncated header extension")
        extension = (profile, bytes(data[offset + 4: end]))
        offset = end
    end = len(data)
    padding = 0
    if first & 0x20:
        padding = data[-1]
        if padding == 0 or offset + padding > end:
            raise RtpError("bad padding length")
        end -= padding
    return RtpPacket(payload_type=second & 0x7F, sequence=sequence, timestamp=timestamp,
                     ssrc=ssrc, payload=bytes(data[offset:end]), marker=bool(second & 0x80),
                     csrcs=tuple(csrcs), extension=extension, padding=padding)


# -------------------------------------------------------------------------------------- G.711


def encode_payload(pcm: Pcm, payload_type: int) -> bytes:
    """16-bit 8 kHz samples to a PCMU (0) or PCMA (8) payload."""
    if payload_type == PT_PCMU:
        return g711.ulaw_encode(pcm).tobytes()
    if payload_type == PT_PCMA:
        return g711.alaw_encode(pcm).tobytes()
    raise RtpError(f"payload type {payload_type} is not G.711")


def decode_payload(payload: bytes, payload_type: int) -> Pcm:
    if payload_type == PT_PCMU:
        return g711.ulaw_decode(payload)
    if payload_type == PT_PCMA:
        return g711.alaw_decode(payload)
    raise RtpError(f"payload type {payload_type} is not G.711")


def silence(payload_type: int, samples: int = SAMPLES_PER_PACKET) -> bytes:
    return encode_payload(np.zeros(samples, dtype=np.int16), payload_type)


# ------------------------------------------------------------------------- RFC 4733 events

DTMF_EVENTS = "0123456789*#ABCD"
END_REPEATS = 3  # the end packet is sent three times (RFC 4733 2.5.1.4)


@dataclass(frozen=True, slots=True)
class TelephoneEvent:
    """The 4-byte payload of an RFC 4733 event packet."""

    event: int
    end: bool
    volume: int  # 0..63, -dBm0
    duration: int  # in timestamp units since the event's timestamp

    def pack(self) -> bytes:
        if not (0 <= self.event <= 255 and 0 <= self.volume <= 63 and 0 <= self.duration <= 0xFFFF):
            raise RtpError("telephone-event field out of range")
        return struct.pack("!BBH", self.event, (0x80 if self.end else 0) | self.volume,
                           self.duration)

    @property
    def digit(self) -> str | None:
        return DTMF_EVENTS[self.event] if self.event < len(DTMF_EVENTS) else None


def parse_event(payload: bytes) -> TelephoneEvent:
    if len(payload) < 4:
        raise RtpError("telephone-event payload shorter than 4 bytes")
    event, flags, duration = struct.unpack_from("!BBH", payload)
    return TelephoneEvent(event=event, end=bool(flags & 0x80), volume=flags & 0x3F,
                          duration=duration)


def digit_event_packets(digit: str, *, payload_type: int, ssrc: int, first_sequence: int,
                        timestamp: int, duration_ms: int = 100, volume: int = 10,
                        interval_ms: int = 20) -> list[RtpPacket]:
    """The packets that send one digit: updates every `interval_ms`, then the end packet x3.

    All share the event's start `timestamp`; the first has the marker bit. A duration that does
    not fit 16 bits is capped (RFC 4733 2.5.1.3 would split it; digits are never that long).
    """
    if len(digit) != 1 or digit.upper() not in DTMF_EVENTS:
        raise RtpError(f"{digit!r} is not a DTMF digit")
    event = DTMF_EVENTS.index(digit.upper())
    total = min(duration_ms * SAMPLE_RATE // 1000, 0xFFFF)
    step = interval_ms * SAMPLE_RATE // 1000
    durations = list(range(step, total, step))
    payloads = [TelephoneEvent(event, False, volume, d) for d in durations]
    payloads += [TelephoneEvent(event, True, volume, total)] * END_REPEATS
    return [RtpPacket(payload_type=payload_type, sequence=(first_sequence + i) & 0xFFFF,
                      timestamp=timestamp, ssrc=ssrc, payload=p.pack(), marker=i == 0)
            for i, p in enumerate(payloads)]


@dataclass(slots=True)
class EventReceiver:
    """Turns a stream of event packets into digits, once each despite the repeated end packets.

    A digit is reported when its first end packet arrives, or when a new event timestamp shows
    that the previous event's end packets were all lost.
    """

    _current: int | None = None  # timestamp of the event being received, until reported
    _current_event: int = 0
    _recent: list[int] = field(default_factory=list)  # timestamps of the last events reported

    def receive(self, packet: RtpPacket) -> list[str]:
        """The digits this event packet completes (usually none, or one)."""
        event = parse_event(packet.payload)
        if packet.timestamp in self._recent:
            return []  # a repeated end packet, or a late update, of an event already reported
        digits: list[str] = []
        if self._current is not None and packet.timestamp != self._current:
            digits += self._finish(self._current, self._current_event)  # its ends were lost
        self._current, self._current_event = packet.timestamp, event.event
        if event.end:
            digits += self._finish(packet.timestamp, event.event)
        return digits

    def _finish(self, timestamp: int, event: int) -> list[str]:
        self._recent = [*self._recent[-7:], timestamp]
        self._current = None
        return [DTMF_EVENTS[event]] if event < len(DTMF_EVENTS) else []


# ----------------------------------------------------------------------------- jitter buffer


@dataclass(slots=True)
class JitterBuffer:
    """Puts packets back in sequence order, waiting for at most `depth` packets behind a gap.

    `push` returns the packets that are now ready, in order. A packet older than the last one
    released (late) or already held (duplicate) is dropped and counted; when more than `depth`
    packets wait behind a gap, the gap is declared lost and counted, and playout moves on.
    """

    depth: int = 3
    lost: int = 0
    late: int = 0
    duplicates: int = 0
    _next: int | None = None
    _held: dict[int, RtpPacket] = field(default_factory=dict)

    def push(self, packet: RtpPacket) -> list[RtpPacket]:
        if packet.sequence == self._next and not self._held:  # in order, no gap: the usual case
            self._next = (packet.sequence + 1) & 0xFFFF
            return [packet]
        if self._next is None:
            self._next = packet.sequence
        if seq_diff(packet.sequence, self._next) < 0:
            self.late += 1
            return []
        if packet.sequence in self._held:
            self.duplicates += 1
            return []
        self._held[packet.sequence] = packet
        return self._release()

    def _release(self) -> list[RtpPacket]:
        assert self._next is not None
        ready: list[RtpPacket] = []
        while True:
            packet = self._held.pop(self._next, None)
            if packet is not None:
                ready.append(packet)
                self._next = (self._next + 1) & 0xFFFF
                continue
            if len(self._held) <= self.depth:
                return ready
            # Too many waiting behind the gap: skip to the oldest held packet.
            oldest = min(self._held, key=lambda s: seq_diff(s, self._next or 0))
            self.lost += seq_diff(oldest, self._next)
            self._next = oldest

    def flush(self) -> list[RtpPacket]:
        """Everything still held, in order (gaps counted as lost), e.g. when the call ends."""
        out: list[RtpPacket] = []
        while self._held:
            assert self._next is not None
            oldest = min(self._held, key=lambda s: seq_diff(s, self._next or 0))
            self.lost += seq_diff(oldest, self._next)
            self._next = oldest
            out += self._release()
        return out


# ---------------------------------------------------------------------------------- RTCP


RTCP_SR = 200
RTCP_RR = 201


@dataclass(frozen=True, slots=True)
class ReportBlock:
    ssrc: int
    fraction_lost: int  # 0..255, lost / expected * 256 since the last report
    cumulative_lost: int  # signed 24 bits
    highest_sequence: int  # extended: cycles << 16 | highest sequence number
    jitter: int  # interarrival jitter, timestamp units
    last_sr: int = 0  # middle 32 bits of the last SR's NTP timestamp
    delay_since_last_sr: int = 0  # 1/65536 s

    def pack(self) -> bytes:
        lost = self.cumulative_lost & 0xFFFFFF
        return struct.pack("!IIIIII", self.ssrc, (self.fraction_lost & 0xFF) << 24 | lost,
                           self.highest_sequence & 0xFFFFFFFF, self.jitter & 0xFFFFFFFF,
                           self.last_sr & 0xFFFFFFFF, self.delay_since_last_sr & 0xFFFFFFFF)


def _parse_block(data: bytes, offset: int) -> ReportBlock:
    ssrc, lost_word, highest, jitter, lsr, dlsr = struct.unpack_from("!IIIIII", data, offset)
    cumulative = lost_word & 0xFFFFFF
    if cumulative & 0x800000:
        cumulative -= 0x1000000
    return ReportBlock(ssrc, lost_word >> 24, cumulative, highest, jitter, lsr, dlsr)


@dataclass(frozen=True, slots=True)
class SenderInfo:
    ntp_timestamp: int  # 64-bit NTP time
    rtp_timestamp: int
    packets: int
    octets: int


@dataclass(frozen=True, slots=True)
class RtcpReport:
    """A sender report (sender is not None) or a receiver report."""

    ssrc: int
    blocks: tuple[ReportBlock, ...] = ()
    sender: SenderInfo | None = None

    def pack(self) -> bytes:
        if len(self.blocks) > 31:
            raise RtcpError("at most 31 report blocks")
        body = struct.pack("!I", self.ssrc)
        if self.sender is not None:
            s = self.sender
            body += struct.pack("!QIII", s.ntp_timestamp, s.rtp_timestamp, s.packets, s.octets)
        body += b"".join(block.pack() for block in self.blocks)
        kind = RTCP_SR if self.sender is not None else RTCP_RR
        header = struct.pack("!BBH", (RTP_VERSION << 6) | len(self.blocks), kind, len(body) // 4)
        return header + body


class RtcpError(RtpError):
    """Bytes that are not a valid RTCP packet."""


def parse_rtcp(data: bytes) -> list[RtcpReport]:
    """The SR and RR packets of a compound RTCP packet (other types such as SDES are skipped)."""
    reports: list[RtcpReport] = []
    offset = 0
    while offset < len(data):
        if len(data) - offset < 4:
            raise RtcpError("truncated RTCP header")
        first, kind, words = struct.unpack_from("!BBH", data, offset)
        if first >> 6 != RTP_VERSION:
            raise RtcpError("RTCP version is not 2")
        end = offset + 4 + 4 * words
        if end > len(data):
            raise RtcpError("RTCP length beyond the packet")
        if kind in (RTCP_SR, RTCP_RR):
            reports.append(_parse_report(data[offset:end], kind, first & 0x1F))
        offset = end
    return reports


def _parse_report(packet: bytes, kind: int, count: int) -> RtcpReport:
    sender = None
    offset = 8
    if kind == RTCP_SR:
        offset = 28
    if len(packet) < offset + 24 * count:
        raise RtcpError("RTCP report shorter than its blocks")
    (ssrc,) = struct.unpack_from("!I", packet, 4)
    if kind == RTCP_SR:
        sender = SenderInfo(*struct.unpack_from("!QIII", packet, 8))
    blocks = tuple(_parse_block(packet, offset + 24 * i) for i in range(count))
    return RtcpReport(ssrc=ssrc, blocks=blocks, sender=sender)


@dataclass(slots=True)
class ReceiverStats:
    """What a receiver counts to fill a report block (RFC 3550 6.4.1 and appendix A.3, A.8).

    `arrival` is the arrival time in timestamp units (seconds x 8000) from the caller's clock.
    """

    ssrc: int
    _base: int | None = None
    _max: int = 0
    _cycles: int = 0
    _received: int = 0
    _expected_prior: int = 0
    _received_prior: int = 0
    _transit: int | None = None
    _jitter: float = 0.0

    def receive(self, packet: RtpPacket, arrival: int) -> None:
        seq = packet.sequence
        if self._base is None:
            self._base, self._max = seq, seq
        elif seq_diff(seq, self._max) > 0:
            if seq < self._max:
                self._cycles += 1 << 16
            self._max = seq
        self._received += 1
        transit = ts_diff(arrival, packet.timestamp)
        if self._transit is not None:
            self._jitter += (abs(transit - self._transit) - self._jitter) / 16
        self._transit = transit

    @property
    def jitter(self) -> float:
        """The interarrival jitter estimate so far, in timestamp units (1/8000 s)."""
        return self._jitter

    @property
    def extended_highest(self) -> int:
        return self._cycles + self._max

    def block(self) -> ReportBlock:
        """A report block for the interval since the previous call, and start a new interval."""
        base = self._base if self._base is not None else 0
        expected = self.extended_highest - base + 1 if self._base is not None else 0
        lost = expected - self._received
        expected_interval = expected - self._expected_prior
        lost_interval = expected_interval - (self._received - self._received_prior)
        self._expected_prior, self._received_prior = expected, self._received
        fraction = 0
        if expected_interval > 0 and lost_interval > 0:
            fraction = (lost_interval << 8) // expected_interval
        lost = max(-0x800000, min(0x7FFFFF, lost))
        return ReportBlock(ssrc=self.ssrc, fraction_lost=min(fraction, 255), cumulative_lost=lost,
                           highest_sequence=self.extended_highest, jitter=int(self._jitter))
