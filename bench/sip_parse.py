"""Micro-benchmark of the SIP core (percl.telephony.sip): what one message or one packet costs.

  a. parse_message and serialize of a typical INVITE with SDP (11 headers, 2 Vias behind a
     proxy), its 200 OK, and a BYE -- parsing includes every core header (Via, From, To, CSeq,
     Contact, Route, Record-Route...), as a UAS does at the door;
  b. SDP parse plus offer/answer of that INVITE's body;
  c. RTP header pack and parse of a 20 ms PCMU packet, and of an RFC 4733 event packet.

Each figure is the best of several repeats of CPU time (time.process_time) per call: on a shared
machine wall time mostly measures the neighbours.

    .venv/bin/python bench/sip_parse.py [--quick]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import best_seconds, machine_banner
from percl.telephony.sip.message import Request, make_response, parse_message, serialize
from percl.telephony.sip.rtp import RtpPacket, TelephoneEvent, parse_rtp
from percl.telephony.sip.sdp import LocalMedia, answer_offer, parse_sdp

SDP = (b"v=0\r\no=- 1650000000 1650000000 IN IP4 10.0.0.5\r\ns=Asterisk\r\nc=IN IP4 10.0.0.5\r\n"
       b"t=0 0\r\nm=audio 17208 RTP/AVP 8 0 3 101\r\na=rtpmap:8 PCMA/8000\r\n"
       b"a=rtpmap:0 PCMU/8000\r\na=rtpmap:3 GSM/8000\r\na=rtpmap:101 telephone-event/8000\r\n"
       b"a=fmtp:101 0-16\r\na=ptime:20\r\na=maxptime:150\r\na=sendrecv\r\n")
INVITE = (
    b"INVITE sip:+15550001@percl.example.com SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP proxy.example.net:5060;branch=z9hG4bK-p-1a2b3c;rport\r\n"
    b"Via: SIP/2.0/UDP 10.0.0.5:5060;received=192.0.2.5;branch=z9hG4bK-a-77d0;rport=5060\r\n"
    b"Record-Route: <sip:proxy.example.net;lr>\r\n"
    b"Max-Forwards: 69\r\n"
    b'From: "Alice" <sip:+15550100@example.net>;tag=as5f2c1e01\r\n'
    b"To: <sip:+15550001@percl.example.com>\r\n"
    b"Contact: <sip:+15550100@10.0.0.5:5060>\r\n"
    b"Call-ID: 3c26700b1bf58e4c0b3f1e2b2a6a6e4b@10.0.0.5\r\n"
    b"CSeq: 102 INVITE\r\n"
    b"User-Agent: Asterisk PBX 20.5.0\r\n"
    b"Allow: INVITE, ACK, CANCEL, OPTIONS, BYE, REFER, SUBSCRIBE, NOTIFY, INFO\r\n"
    b"Content-Type: application/sdp\r\n"
    b"Content-Length: " + str(len(SDP)).encode() + b"\r\n\r\n" + SDP
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer loops (a smoke run)")
    args = parser.parse_args()
    loops, repeats = (500, 3) if args.quick else (5_000, 7)
    print(machine_banner("SIP core (bench/sip_parse.py)"))

    invite = parse_message(INVITE)
    assert isinstance(invite, Request)
    ok = parse_message(serialize(make_response(invite, 200, "OK", to_tag="s1", body=SDP, extra=(
        ("Contact", "<sip:percl@198.51.100.1:5060>"), ("Content-Type", "application/sdp")))))
    bye = parse_message(serialize(Request(method="BYE", uri=invite.uri, headers=invite.headers.set(
        "CSeq", "103 BYE").remove("Content-Type"))))
    print("\nSIP messages, microseconds per message (parse checks every core header):")
    for name, message in [("INVITE + SDP", invite), ("200 OK + SDP", ok), ("BYE", bye)]:
        data = serialize(message)
        parse = best_seconds(lambda data=data: parse_message(data), loops, repeats)
        write = best_seconds(lambda message=message: serialize(message), loops, repeats)
        print(f"  {name:<14} {len(data):>5} bytes   parse {parse * 1e6:7.1f}   "
              f"serialise {write * 1e6:6.1f}")

    local = LocalMedia("198.51.100.1", 40000, "1")
    sdp = best_seconds(lambda: answer_offer(parse_sdp(SDP), local), loops, repeats)
    print(f"\nSDP parse + offer/answer of that INVITE's body: {sdp * 1e6:.1f} us")

    packet = RtpPacket(payload_type=0, sequence=65535, timestamp=123456, ssrc=0xCAFEBABE,
                       payload=b"\xff" * 160)
    event = RtpPacket(payload_type=101, sequence=1, timestamp=123456, ssrc=0xCAFEBABE,
                      payload=TelephoneEvent(5, True, 10, 800).pack())
    rtp_loops = loops * 10
    print("\nRTP, microseconds per packet:")
    for name, pkt in [("PCMU 20 ms", packet), ("RFC 4733 event", event)]:
        raw = pkt.pack()
        pack = best_seconds(pkt.pack, rtp_loops, repeats)
        parse = best_seconds(lambda raw=raw: parse_rtp(raw), rtp_loops, repeats)
        print(f"  {name:<14} pack {pack * 1e6:6.2f}   parse {parse * 1e6:6.2f}")


if __name__ == "__main__":
    main()
