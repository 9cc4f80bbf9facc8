"""percl's SIP line driven by a hand-written SIP phone on 127.0.0.1: the refusals (404, 488, 400),
early media as 183, a hold re-INVITE, and the caller's BYE (real clock, bounded waits)."""

from __future__ import annotations

import asyncio
import io
import wave
from dataclasses import dataclass, field

import numpy as np
from sip_platform import CALLER, LOOPBACK, NUMBER, SipPlatform, sip_platform

from percl.telephony.sip.message import Response, parse_message
from percl.telephony.sip.rtp import RtpPacket, parse_rtp
from percl.telephony.sip.sdp import Direction, parse_sdp

PCMU_OFFER = ("v=0\r\no=phone 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
              "m=audio {port} RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n"
              "a={direction}\r\n")


@dataclass
class Phone(asyncio.DatagramProtocol):
    """A SIP phone written by hand: it sends what the test says and keeps every response."""

    responses: list[Response] = field(default_factory=list)
    rtp: list[tuple[float, RtpPacket]] = field(default_factory=list)
    requests: list[bytes] = field(default_factory=list)

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        message = parse_message(data)
        if isinstance(message, Response):
            self.responses.append(message)
        else:
            self.requests.append(data)

    def statuses(self) -> list[int]:
        return [r.status for r in self.responses]


class RtpSink(asyncio.DatagramProtocol):
    def __init__(self, into: list[tuple[float, RtpPacket]]) -> None:
        self.into = into

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        self.into.append((asyncio.get_running_loop().time(), parse_rtp(data)))


def request(method: str, sip_port: int, phone_port: int, *, to: str = NUMBER, cseq: int = 1,
            branch: str = "z9hG4bKp1", body: str = "", to_tag: str = "",
            content_type: str = "application/sdp", call_id: str = "raw-call-1") -> bytes:
    to_header = f"<sip:{to}@{LOOPBACK}>" + (f";tag={to_tag}" if to_tag else "")
    lines = [f"{method} sip:{to}@{LOOPBACK}:{sip_port} SIP/2.0",
             f"Via: SIP/2.0/UDP {LOOPBACK}:{phone_port};branch={branch};rport",
             "Max-Forwards: 70", f"From: <sip:{CALLER}@{LOOPBACK}>;tag=ph1", f"To: {to_header}",
             f"Call-ID: {call_id}", f"CSeq: {cseq} {method}",
             f"Contact: <sip:phone@{LOOPBACK}:{phone_port}>"]
    if body:
        lines.append(f"Content-Type: {content_type}")
    return ("\r\n".join(lines) + f"\r\nContent-Length: {len(body)}\r\n\r\n" + body).encode()


async def wait(condition: object, within: float = 10.0) -> bool:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not condition():  # type: ignore[operator]
        if loop.time() > deadline:
            return False
        await asyncio.sleep(0.02)
    return True


class Rig:
    """A phone (SIP socket and RTP socket) calling the platform `sp`."""

    def __init__(self, sp: SipPlatform) -> None:
        self.sp = sp
        self.phone = Phone()
        self.sip: asyncio.DatagramTransport | None = None
        self.media: asyncio.DatagramTransport | None = None

    async def __aenter__(self) -> Rig:
        loop = asyncio.get_running_loop()
        self.sip, _ = await loop.create_datagram_endpoint(lambda: self.phone,
                                                          local_addr=(LOOPBACK, 0))
        self.media, _ = await loop.create_datagram_endpoint(lambda: RtpSink(self.phone.rtp),
                                                            local_addr=(LOOPBACK, 0))
        return self

    async def __aexit__(self, *exc: object) -> None:
        for transport in (self.sip, self.media):
            if transport is not None:
                transport.close()

    @property
    def port(self) -> int:
        assert self.sip is not None
        return int(self.sip.get_extra_info("sockname")[1])

    @property
    def rtp_port(self) -> int:
        assert self.media is not None
        return int(self.media.get_extra_info("sockname")[1])

    def send(self, data: bytes) -> None:
        assert self.sip is not None
        self.sip.sendto(data, (LOOPBACK, self.sp.sip_port))

    def offer(self, direction: str = "sendrecv") -> str:
        return PCMU_OFFER.format(port=self.rtp_port, direction=direction)

    def invite(self, **kwargs: object) -> None:
        self.send(request("INVITE", self.sp.sip_port, self.port, **kwargs))  # type: ignore[arg-type]


def _final(phone: Phone) -> int | None:
    return next((s for s in phone.statuses() if s >= 200), None)


async def test_an_invite_for_a_number_no_account_has_gets_404() -> None:
    async with sip_platform() as sp, Rig(sp) as rig:
        rig.invite(to="+13125550111", body=rig.offer())
        assert await wait(lambda: _final(rig.phone) is not None)
        assert _final(rig.phone) == 404 and await sp.calls() == []


async def test_an_offer_without_g711_gets_488_and_garbage_sdp_400() -> None:
    g729 = ("v=0\r\no=p 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
            "m=audio 4000 RTP/AVP 18\r\na=rtpmap:18 G729/8000\r\n")
    async with sip_platform() as sp, Rig(sp) as rig:
        rig.invite(body=g729)
        assert await wait(lambda: _final(rig.phone) is not None)
        assert _final(rig.phone) == 488
        rig.phone.responses.clear()
        rig.invite(body="not sdp", branch="z9hG4bKp2", call_id="raw-call-2")
        assert await wait(lambda: _final(rig.phone) is not None)
        assert _final(rig.phone) == 400
        assert await sp.calls() == []


def _wav(seconds: float) -> bytes:
    t = np.arange(int(8000 * seconds)) / 8000
    pcm = (np.sin(2 * np.pi * 500 * t) * 8000).astype(np.int16)
    out = io.BytesIO()
    with wave.open(out, "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(8000)
        handle.writeframes(pcm.tobytes())
    return out.getvalue()


async def test_early_media_is_a_183_with_sdp_and_rtp_before_the_200() -> None:
    async with sip_platform() as sp, Rig(sp) as rig:
        sp.app.on("/tone.wav", lambda body: (200, _wav(1.0)))
        sp.app.on("/voice", [{"PlayEarlyMedia": {"file": sp.app.url("/tone.wav")}},
                             {"Say": {"text": "answered now"}}, {"Hangup": {}}])
        rig.invite(body=rig.offer())
        assert await wait(lambda: 200 in rig.phone.statuses(), 15), rig.phone.statuses()
        statuses = rig.phone.statuses()
        assert 180 in statuses and 183 in statuses
        assert statuses.index(183) < statuses.index(200)
        progress = next(r for r in rig.phone.responses if r.status == 183)
        assert parse_sdp(progress.body).media[0].formats[0] == "0"
        ok_at = asyncio.get_running_loop().time()
        assert rig.phone.rtp and rig.phone.rtp[0][0] < ok_at  # audio flowed before the answer


async def test_a_hold_reinvite_is_answered_recvonly_and_percl_stops_sending() -> None:
    async with sip_platform() as sp, Rig(sp) as rig:
        sp.app.on("/voice", [{"Say": {"text": "please hold " * 20}}, {"Hangup": {}}])
        rig.invite(body=rig.offer())
        assert await wait(lambda: 200 in rig.phone.statuses())
        ok = next(r for r in rig.phone.responses if r.status == 200)
        tag = ok.to.tag or ""
        rig.send(request("ACK", sp.sip_port, rig.port, branch="z9hG4bKa1", to_tag=tag))
        assert await wait(lambda: len(rig.phone.rtp) > 10)
        rig.phone.responses.clear()
        rig.send(request("INVITE", sp.sip_port, rig.port, cseq=2, branch="z9hG4bKh1",
                         to_tag=tag, body=rig.offer("sendonly")))
        assert await wait(lambda: 200 in rig.phone.statuses())
        held = next(r for r in rig.phone.responses if r.status == 200)
        assert parse_sdp(held.body).media[0].direction is Direction.RECVONLY
        rig.send(request("ACK", sp.sip_port, rig.port, cseq=2, branch="z9hG4bKa2", to_tag=tag))
        await asyncio.sleep(0.2)
        count = len(rig.phone.rtp)
        await asyncio.sleep(0.5)
        assert len(rig.phone.rtp) == count  # nothing sent while held
        rig.phone.responses.clear()
        rig.send(request("BYE", sp.sip_port, rig.port, cseq=3, branch="z9hG4bKb1", to_tag=tag))
        assert await wait(lambda: 200 in rig.phone.statuses())
        (call,) = await sp.calls()
        assert await wait(lambda: sp.platform.sip_line is not None
                          and sp.platform.sip_line.live_legs == 0)
        final = await sp.ended(call.call_id, 5)
        assert final.status.value == "completed"
