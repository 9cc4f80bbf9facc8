"""SendDigits (PerCL, and make-a-call's sendDigits) on a SIP leg: RFC 4733 events when the peer
offered telephone-event (event codes, growing durations on one timestamp, the end packet three
times, in the stream's numbering), and in-band tones when it did not (real clock, percl's own RTP
receiver, bounded waits)."""

from __future__ import annotations

import asyncio
import itertools

import numpy as np
from sip_platform import sip_platform
from test_sip_line import PCMU_OFFER, Rig, RtpSink, request, wait
from test_sip_line_tcp import OFFER, _Peer

from percl.media.audio.tones import dtmf
from percl.telephony.sip import tcp
from percl.telephony.sip.message import Request, Response, make_response
from percl.telephony.sip.rtp import RtpPacket, decode_payload, parse_event


async def _call(rig: Rig, offer: str) -> list[RtpPacket]:
    rig.invite(body=offer)
    assert await wait(lambda: 200 in rig.phone.statuses(), 15), rig.phone.statuses()
    ok = next(r for r in rig.phone.responses if r.status == 200)
    rig.send(request("ACK", rig.sp.sip_port, rig.port, branch="z9hG4bKa1", to_tag=ok.to.tag or ""))
    assert await wait(lambda: any(b"BYE" in r[:3] for r in rig.phone.requests), 15)
    (call,) = await rig.sp.calls()
    assert (await rig.sp.ended(call.call_id, 5)).status.value == "completed"
    return [packet for _, packet in sorted(rig.phone.rtp, key=lambda p: p[0])]


async def test_send_digits_goes_as_rfc4733_events_when_the_peer_offered_them() -> None:
    async with sip_platform() as sp, Rig(sp) as rig:
        sp.app.on("/voice", [{"SendDigits": {"digits": "1{1}9#"}}, {"Hangup": {}}])
        packets = await _call(rig, rig.offer())
    events = [p for p in packets if p.payload_type == 101]
    by_event: dict[int, list[RtpPacket]] = {}
    for packet in events:
        by_event.setdefault(packet.timestamp, []).append(packet)
    assert len(by_event) == 3  # one timestamp per key
    keys = []
    for group in by_event.values():
        payloads = [parse_event(p.payload) for p in group]
        keys.append(payloads[0].event)
        assert group[0].marker and not any(p.marker for p in group[1:])
        assert len({p.event for p in payloads}) == 1
        durations = [p.duration for p in payloads]
        assert durations == sorted(durations) and durations[0] > 0
        ends = [p for p in payloads if p.end]
        assert len(ends) == 3 and all(e.duration == 800 for e in ends)  # 100 ms, x3
        assert all(not p.end for p in payloads[:-3])
    assert keys == [1, 9, 11]  # "1", "9", "#" (event 11)
    numbers = [p.sequence for p in packets]
    assert all((b - a) & 0xFFFF == 1 for a, b in itertools.pairwise(numbers))
    audio = [p for p in packets if p.payload_type == 0]
    tone = dtmf("1", 100)
    heard = np.concatenate([decode_payload(p.payload, 0) for p in audio])
    assert not _contains(heard, tone[:400])  # the keys are not also heard in band


def _contains(haystack: np.ndarray, needle: np.ndarray) -> bool:
    if len(haystack) < len(needle):
        return False
    corr = np.correlate(haystack.astype(np.float64), needle.astype(np.float64), "valid")
    norm = float(np.sqrt((needle.astype(np.float64) ** 2).sum()
                         * (haystack.astype(np.float64) ** 2).sum()))
    return bool(norm) and float(corr.max()) / norm > 0.3


async def test_send_digits_are_tones_when_the_peer_offered_no_telephone_event() -> None:
    async with sip_platform() as sp, Rig(sp) as rig:
        sp.app.on("/voice", [{"SendDigits": {"digits": "1"}}, {"Hangup": {}}])
        offer = PCMU_OFFER.replace(" 0 101", " 0").replace(
            "a=rtpmap:101 telephone-event/8000\r\n", "").format(port=rig.rtp_port,
                                                               direction="sendrecv")
        packets = await _call(rig, offer)
    assert packets and all(p.payload_type == 0 for p in packets)
    heard = np.concatenate([decode_payload(p.payload, 0) for p in packets])
    assert _contains(heard, dtmf("1", 100)[:400])  # the key's dual tone, in band


async def test_make_a_call_send_digits_reach_an_answering_sip_phone_as_events() -> None:
    loop = asyncio.get_running_loop()
    heard: list[tuple[float, RtpPacket]] = []
    media, _ = await loop.create_datagram_endpoint(lambda: RtpSink(heard),
                                                   local_addr=("127.0.0.1", 0))
    rtp_port = int(media.get_extra_info("sockname")[1])
    peer = _Peer()

    def far_phone(message: Request | Response, connection: tcp.Connection) -> None:
        peer(message, connection)
        if isinstance(message, Request) and message.method == "INVITE":
            connection.send(make_response(message, 200, "OK", to_tag="far1", extra=(
                ("Contact", f"<sip:far@127.0.0.1:{server.address[1]};transport=tcp>"),
                ("Content-Type", "application/sdp")),
                body=OFFER.replace(b"{port}", str(rtp_port).encode())))

    server = await tcp.StreamServer.start(far_phone, "127.0.0.1", 0)
    try:
        async with sip_platform(trunk_port=server.address[1], transport="tcp") as sp:
            sp.app.on("/connect", [{"Pause": {"length": 300}}, {"Hangup": {}}])
            made = await sp.make_call("+15550001111", sendDigits="42")
            assert await peer.next("BYE", 20)
            assert (await sp.ended(made["callId"], 10)).status.value == "completed"
    finally:
        await server.close()
        media.close()
    events = [parse_event(p.payload) for _, p in heard if p.payload_type == 101]
    assert [e.event for e in events if e.end][::3] == [4, 2]  # each end packet sent 3 times
