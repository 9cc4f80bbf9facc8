"""One SIP call's RTP: a UDP socket pair (RTP, RTCP) that is the far end's audio for the engine.

`RtpEndpoint` is the `FarAudio` of a SIP leg: the media clock calls `take()` once per 20 ms tick
for what the far end sent (decoded G.711, back in sequence order through the jitter buffer) and
`give(frame)` for what the far end hears (encoded and sent as one RTP packet; silence when the
platform plays nothing, so the peer's jitter buffer and any NAT binding stay fed).

Why the received audio is re-framed: a peer may packetise at 10, 30 or 40 ms even when asked for
20; the samples are queued and handed out 160 at a time. The queue holds at most `MAX_QUEUED`
frames (200 ms): a peer that sends faster than the clock takes loses its oldest audio instead of
building up delay.

NAT (RFC 4961 symmetric RTP): RTP is sent from the port that receives it, and the first packet
received from another address than the SDP named moves the destination there (the peer is behind
a NAT that rewrote its port). RFC 4733 events become digits for `on_digits`; an RTCP receiver
report about the peer's stream goes out every `RTCP_INTERVAL_S`.

Why plain non-blocking sockets read by `loop.add_reader` rather than asyncio datagram transports:
every leg sends and receives 50 packets a second, so the layers a transport adds per datagram
(its read callback, the protocol's, the send buffer's checks) are a real share of a 500-leg
load. A packet the kernel cannot take at once (its send buffer full) is dropped, not queued:
late audio is worse than lost audio, and the peer's jitter buffer covers a lost packet.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import secrets
import socket
import struct
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from percl.media.audio.pcm import FRAME_SAMPLES, SILENT_FRAME, Pcm
from percl.telephony.sip.rtp import (
    EventReceiver,
    JitterBuffer,
    ReceiverStats,
    RtcpReport,
    RtpError,
    RtpPacket,
    decode_payload,
    digit_event_packets,
    encode_payload,
    parse_rtp,
)
from percl.telephony.sip.sdp import AudioParams, Direction

log = logging.getLogger(__name__)

Address = tuple[str, int]
MAX_QUEUED = 10  # received frames waiting for take(): 200 ms
RTCP_INTERVAL_S = 5.0
MAX_DATAGRAM = 2048  # larger than any RTP packet of a 20-40 ms G.711 stream

# Version 2, no padding, extension or CSRC; marker off; then PT, sequence, timestamp, SSRC.
_HEADER = struct.Struct("!BBHII")


class PortPool:
    """Even RTP ports in [low, high) handed out round robin; RTCP takes the odd one above."""

    def __init__(self, low: int, high: int) -> None:
        self._ports = list(range(low + (low % 2), high - 1, 2))
        if not self._ports:
            raise ValueError(f"no even port pair in {low}-{high}")
        self._next = 0

    def candidates(self) -> list[int]:
        """Every port once, starting after the last one handed out."""
        start = self._next
        self._next = (self._next + 1) % len(self._ports)
        return self._ports[start:] + self._ports[:start]


@dataclass
class MediaCounters:
    """What an endpoint sent and received, for tests, logs and the bench."""

    sent: int = 0
    received: int = 0
    dropped: int = 0  # frames discarded because the queue was full
    bad: int = 0  # datagrams that were not RTP
    digits: str = ""


class RtpEndpoint:
    """A call's RTP and RTCP sockets. Open with `await RtpEndpoint.open(...)`; `start` once the
    remote side is known (the SDP answer or offer); `close` when the leg ends."""

    def __init__(self, loop: asyncio.AbstractEventLoop, host: str, port: int, *,
                 rtcp_interval_s: float = RTCP_INTERVAL_S) -> None:
        self._loop = loop
        self._rtcp_interval = rtcp_interval_s
        self.host = host
        self.port = port
        self.params: AudioParams | None = None
        self.counters = MediaCounters()
        self.on_digits: Callable[[str], None] = lambda digits: None
        # Until released, nothing is sent; the first real frame calls `on_early_audio` (the line
        # sends 183 Session Progress) and opens the gate. The line releases it at the answer.
        self.held = False
        self.on_early_audio: Callable[[], None] = lambda: None
        self._rtp: socket.socket | None = None
        self._rtcp: socket.socket | None = None
        self._sending = False  # the agreed direction lets percl send
        self._silence_out = b""  # the payload of a silent packet in the agreed codec
        self._silence_in: bytes | None = None  # a received payload that decodes to all zeros
        self._remote: Address | None = None
        self._latched = False
        self._ssrc = secrets.randbits(32)
        self._sequence = secrets.randbits(16)
        self._timestamp = secrets.randbits(32)
        self._jitter = JitterBuffer(depth=3)
        self._events = EventReceiver()
        self._stats: ReceiverStats | None = None
        self._pending = np.zeros(0, dtype=np.int16)
        self._frames: deque[Pcm] = deque()
        self._report: asyncio.TimerHandle | None = None
        self._events_out: deque[RtpPacket] = deque()  # keys to send, one packet per tick
        self._event_timestamp = 0

    @classmethod
    async def open(cls, host: str, ports: PortPool, *,
                   rtcp_interval_s: float = RTCP_INTERVAL_S) -> RtpEndpoint:
        """Bind an RTP port and the RTCP port above it on `host`. Raises OSError when every
        port of the pool is taken."""
        loop = asyncio.get_running_loop()
        for port in ports.candidates():
            endpoint = cls(loop, host, port, rtcp_interval_s=rtcp_interval_s)
            try:
                await endpoint._bind()
            except OSError:
                endpoint.close()
                continue
            except BaseException:  # cancelled half way: no socket may stay open
                endpoint.close()
                raise
            return endpoint
        raise OSError(f"no free RTP port pair on {host}")

    async def _bind(self) -> None:
        family, address = await _resolve(self._loop, self.host, self.port)
        self._rtp = self._socket(family, address, self._rtp_ready)
        self._rtcp = self._socket(family, (address[0], self.port + 1, *address[2:]),
                                  self._rtcp_ready)

    def _socket(self, family: int, address: tuple[object, ...],
                ready: Callable[[], None]) -> socket.socket:
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            sock.setblocking(False)
            sock.bind(address)
        except BaseException:
            sock.close()
            raise
        self._loop.add_reader(sock.fileno(), ready)
        return sock

    # ------------------------------------------------------------------ set-up

    def start(self, params: AudioParams) -> None:
        """Send to and accept from the peer `params` describe (an answer, or a re-INVITE's new
        offer: the address, codec or direction may change)."""
        self.params = params
        self._sending = params.direction not in (Direction.SENDONLY, Direction.INACTIVE)
        self._silence_out = encode_payload(np.zeros(FRAME_SAMPLES, dtype=np.int16),
                                           params.payload_type)
        self._silence_in = self._silence_out if not decode_payload(
            self._silence_out, params.payload_type).any() else None  # A-law has no zero code
        if not self._latched:
            self._remote = (params.remote_address, params.remote_port)
        if self._report is None and self._rtcp is not None:
            self._report = self._loop.call_later(self._rtcp_interval, self._send_report)

    @property
    def remote(self) -> Address | None:
        return self._remote

    # ------------------------------------------------------------------ FarAudio

    def take(self) -> Pcm | None:
        """What the far end sent for this tick, or None when nothing arrived in time."""
        return self._frames.popleft() if self._frames else None

    def give(self, frame: Pcm | None) -> None:
        """Send what the far end hears this tick (None: silence) as one 20 ms packet."""
        params, remote, sock = self.params, self._remote, self._rtp
        if params is None or remote is None or sock is None:
            return
        if not self._sending:
            return  # the peer holds the call (it only sends, or nothing flows)
        if self.held:
            if frame is None:
                return
            self.held = False  # audio before the answer: early media
            self.on_early_audio()
        if self._events_out:
            self._send_event()
            return
        if frame is None:
            payload, samples = self._silence_out, FRAME_SAMPLES
        else:
            payload, samples = encode_payload(frame, params.payload_type), len(frame)
        header = _HEADER.pack(0x80, params.payload_type & 0x7F, self._sequence, self._timestamp,
                              self._ssrc)
        self._sequence = (self._sequence + 1) & 0xFFFF
        self._timestamp = (self._timestamp + samples) & 0xFFFFFFFF
        with contextlib.suppress(OSError):  # unreachable, or the send buffer full: dropped
            sock.sendto(header + payload, remote)
        self.counters.sent += 1

    # ------------------------------------------------------------------ RFC 4733 keys out

    @property
    def sends_events(self) -> bool:
        """Whether the peer agreed to telephone-event (SendDigits sends events, not tones)."""
        return self.params is not None and self.params.telephone_event is not None

    def send_digit_event(self, key: str, tone_ms: int) -> int:
        """Queue `key` as RFC 4733 packets sent in place of audio, one per 20 ms tick: updates
        every 20 ms, then the end packet three times. Returns the milliseconds that takes."""
        assert self.params is not None and self.params.telephone_event is not None
        packets = digit_event_packets(key, payload_type=self.params.telephone_event,
                                      ssrc=self._ssrc, first_sequence=0, timestamp=0,
                                      duration_ms=tone_ms)
        self._events_out.extend(packets)
        return len(packets) * FRAME_SAMPLES // 8

    def _send_event(self) -> None:
        """The next event packet, numbered in the stream now; the event's timestamp is the
        tick it started on, and the stream's clock runs on underneath it."""
        assert self._rtp is not None and self._remote is not None
        packet = self._events_out.popleft()
        if packet.marker:
            self._event_timestamp = self._timestamp
        sent = RtpPacket(payload_type=packet.payload_type, sequence=self._sequence,
                         timestamp=self._event_timestamp, ssrc=self._ssrc,
                         payload=packet.payload, marker=packet.marker)
        self._sequence = (self._sequence + 1) & 0xFFFF
        self._timestamp = (self._timestamp + FRAME_SAMPLES) & 0xFFFFFFFF
        with contextlib.suppress(OSError):
            self._rtp.sendto(sent.pack(), self._remote)
        self.counters.sent += 1

    def close(self) -> None:
        if self._report is not None:
            self._report.cancel()
            self._report = None
        for sock in (self._rtp, self._rtcp):
            if sock is not None:
                if not self._loop.is_closed():
                    self._loop.remove_reader(sock.fileno())
                sock.close()
        self._rtp = self._rtcp = None

    @property
    def closed(self) -> bool:
        return self._rtp is None

    # ------------------------------------------------------------------ receiving

    def _rtp_ready(self) -> None:
        if self._rtp is None:
            return
        try:
            data, addr = self._rtp.recvfrom(MAX_DATAGRAM)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:  # ICMP port unreachable and the like
            log.debug("RTP socket error: %s", exc)
            return
        self._received(data, (str(addr[0]), int(addr[1])))

    def _rtcp_ready(self) -> None:
        if self._rtcp is None:
            return
        with contextlib.suppress(OSError):  # BlockingIOError included: nothing to read
            data, addr = self._rtcp.recvfrom(MAX_DATAGRAM)
            self._rtcp_received(data, (str(addr[0]), int(addr[1])))

    def _received(self, data: bytes, source: Address) -> None:
        params = self.params
        try:
            packet = parse_rtp(data)
        except RtpError:
            self.counters.bad += 1
            return
        if params is None:
            return  # no agreed format yet (an early packet before the answer)
        self._latch(source)
        if params.telephone_event is not None and packet.payload_type == params.telephone_event:
            self._digits(packet)
            return
        if packet.payload_type != params.payload_type:
            return  # comfort noise and the like: not audio percl decodes
        self._receive_audio(packet)

    def _latch(self, source: Address) -> None:
        if not self._latched:
            self._latched = True
            self._remote = source

    def _digits(self, packet: RtpPacket) -> None:
        try:
            digits = "".join(self._events.receive(packet))
        except RtpError:
            self.counters.bad += 1
            return
        if digits:
            self.counters.digits += digits
            self.on_digits(digits)

    def _receive_audio(self, packet: RtpPacket) -> None:
        assert self.params is not None
        self.counters.received += 1
        if self._stats is None or self._stats.ssrc != packet.ssrc:
            self._stats = ReceiverStats(packet.ssrc)
        self._stats.receive(packet, int(self._loop.time() * 8000))
        for ready in self._jitter.push(packet):
            self._queue(self._decode(ready.payload))

    def _decode(self, payload: bytes) -> Pcm:
        """The samples of a payload; a silent 20 ms payload is the shared SILENT_FRAME (the
        audio plane then skips it as silence, and nothing is decoded)."""
        if payload == self._silence_in:
            return SILENT_FRAME
        assert self.params is not None
        return decode_payload(payload, self.params.payload_type)

    def _queue(self, pcm: Pcm) -> None:
        if not len(self._pending) and len(pcm) == FRAME_SAMPLES:
            self._frames.append(pcm)  # the usual 20 ms packet: a whole frame, nothing to copy
        else:
            self._pending = np.concatenate((self._pending, pcm))
            while len(self._pending) >= FRAME_SAMPLES:
                self._frames.append(self._pending[:FRAME_SAMPLES])
                self._pending = self._pending[FRAME_SAMPLES:]
                if len(self._frames) > MAX_QUEUED:
                    self._frames.popleft()
                    self.counters.dropped += 1
            return
        if len(self._frames) > MAX_QUEUED:
            self._frames.popleft()
            self.counters.dropped += 1

    # ------------------------------------------------------------------ RTCP

    def _rtcp_received(self, data: bytes, source: Address) -> None:
        pass  # the peer's reports are not used (yet): percl adapts nothing to them

    def _send_report(self) -> None:
        self._report = self._loop.call_later(self._rtcp_interval, self._send_report)
        if self._rtcp is None or self._remote is None:
            return
        blocks = (self._stats.block(),) if self._stats is not None else ()
        report = RtcpReport(ssrc=self._ssrc, blocks=blocks)
        with contextlib.suppress(OSError):
            self._rtcp.sendto(report.pack(), (self._remote[0], self._remote[1] + 1))

    def jitter_ms(self) -> float:
        """The RFC 3550 interarrival jitter of the peer's stream, in milliseconds."""
        return 0.0 if self._stats is None else self._stats.jitter / 8.0


async def _resolve(loop: asyncio.AbstractEventLoop, host: str,
                   port: int) -> tuple[int, tuple[object, ...]]:
    """The socket family and bind address of `host`: an IP literal at once (no resolver thread
    per call), a name through the loop's getaddrinfo."""
    try:
        version = ipaddress.ip_address(host).version
    except ValueError:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_DGRAM)
        return int(infos[0][0]), tuple(infos[0][4])
    return (socket.AF_INET6, (host, port, 0, 0)) if version == 6 else (socket.AF_INET, (host, port))
