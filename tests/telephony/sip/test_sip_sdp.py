"""SDP parsing and offer/answer against offers as real user agents send them."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from percl.telephony.sip.sdp import (
    Direction,
    LocalMedia,
    SdpError,
    SdpRefused,
    answer_offer,
    make_offer,
    parse_sdp,
    read_answer,
    serialize_sdp,
)

LOCAL = LocalMedia(address="127.0.0.1", port=40000, session_id="777")


def _sdp(text: str) -> bytes:
    return text.strip().replace("\n", "\r\n").encode() + b"\r\n"


SIPP_UAC = _sdp("""
v=0
o=user1 53655765 2353687637 IN IP4 127.0.1.1
s=-
c=IN IP4 127.0.1.1
t=0 0
m=audio 6000 RTP/AVP 0
a=rtpmap:0 PCMU/8000
""")

SIPP_UAC_PCAP = _sdp("""
v=0
o=user1 53655765 2353687637 IN IP4 127.0.1.1
s=-
c=IN IP4 127.0.1.1
t=0 0
m=audio 6000 RTP/AVP 8 101
a=rtpmap:8 PCMA/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-11,16
""")

BARESIP = _sdp("""
v=0
o=- 1497565468 2354011410 IN IP4 192.168.1.10
s=-
c=IN IP4 192.168.1.10
t=0 0
a=tool:baresip 3.10.1
m=audio 10102 RTP/AVP 96 9 0 8 101
b=AS:128
a=rtpmap:96 opus/48000/2
a=fmtp:96 stereo=1;sprop-stereo=1
a=rtpmap:9 G722/8000
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
a=rtcp-rsize
a=sendrecv
a=label:1
a=ssrc:4124131937 cname:sip:alice@example.com
a=ptime:20
""")

ASTERISK = _sdp("""
v=0
o=- 1650000000 1650000000 IN IP4 10.0.0.5
s=Asterisk
c=IN IP4 10.0.0.5
t=0 0
m=audio 17208 RTP/AVP 8 0 3 101
a=rtpmap:8 PCMA/8000
a=rtpmap:0 PCMU/8000
a=rtpmap:3 GSM/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-16
a=ptime:20
a=maxptime:150
a=sendrecv
""")


def test_sipp_offer_gets_pcmu_without_events() -> None:
    answer, params = answer_offer(parse_sdp(SIPP_UAC), LOCAL)
    assert (params.remote_address, params.remote_port) == ("127.0.1.1", 6000)
    assert (params.codec, params.payload_type, params.telephone_event) == ("PCMU", 0, None)
    text = serialize_sdp(answer).decode()
    assert "m=audio 40000 RTP/AVP 0\r\n" in text and "c=IN IP4 127.0.0.1\r\n" in text
    assert "a=ptime:20" in text and "telephone-event" not in text


def test_sipp_pcap_offer_gets_pcma_and_telephone_event() -> None:
    _, params = answer_offer(parse_sdp(SIPP_UAC_PCAP), LOCAL)
    assert (params.codec, params.payload_type, params.telephone_event) == ("PCMA", 8, 101)


def test_baresip_offer_skips_opus_and_g722_for_pcmu() -> None:
    offer = parse_sdp(BARESIP)
    assert offer.media[0].rtpmap()["96"] == ("OPUS", 48000)
    answer, params = answer_offer(offer, LOCAL)
    assert (params.codec, params.telephone_event, params.direction) == ("PCMU", 101, Direction.SENDRECV)
    assert answer.media[0].formats == ("0", "101")
    assert ("fmtp", "101 0-16") in answer.media[0].attributes


def test_asterisk_offer_keeps_its_preference_for_pcma() -> None:
    answer, params = answer_offer(parse_sdp(ASTERISK), LOCAL)
    assert (params.codec, params.payload_type, params.remote_port) == ("PCMA", 8, 17208)
    reparsed = parse_sdp(serialize_sdp(answer))
    assert reparsed == answer
    assert read_answer(parse_sdp(ASTERISK), reparsed).codec == "PCMA"


def test_extra_streams_are_rejected_with_port_zero() -> None:
    offer = parse_sdp(_sdp("""
v=0
o=- 1 1 IN IP4 192.0.2.1
s=-
t=0 0
m=video 5000 RTP/AVP 31
c=IN IP4 192.0.2.1
m=audio 5002 RTP/SAVP 0
c=IN IP4 192.0.2.1
m=audio 5004 RTP/AVP 0
c=IN IP4 192.0.2.9
a=sendonly
m=audio 5006 RTP/AVP 8
c=IN IP4 192.0.2.1
"""))
    answer, params = answer_offer(offer, LOCAL)
    assert [m.port for m in answer.media] == [0, 0, 40000, 0]
    assert (params.remote_address, params.direction) == ("192.0.2.9", Direction.SENDONLY)
    assert ("recvonly", None) in answer.media[2].attributes


@pytest.mark.parametrize("body", [
    _sdp("v=0\no=- 1 1 IN IP4 h\ns=-\nc=IN IP4 192.0.2.1\nt=0 0\nm=audio 5000 RTP/AVP 96\n"
         "a=rtpmap:96 opus/48000/2"),
    _sdp("v=0\no=- 1 1 IN IP4 h\ns=-\nc=IN IP4 192.0.2.1\nt=0 0\nm=audio 5000 RTP/SAVP 0"),
    _sdp("v=0\no=- 1 1 IN IP4 h\ns=-\nc=IN IP4 192.0.2.1\nt=0 0\nm=video 5000 RTP/AVP 31"),
    _sdp("v=0\no=- 1 1 IN IP4 h\ns=-\nt=0 0\nm=audio 5000 RTP/AVP 0"),
    _sdp("v=0\no=- 1 1 IN IP4 h\ns=-\nc=IN IP4 192.0.2.1\nt=0 0\nm=audio 0 RTP/AVP 0"),
    _sdp("v=0\no=- 1 1 IN IP4 h\ns=-\nc=IN IP4 192.0.2.1\nt=0 0\nm=audio 5000 RTP/AVP 0\n"
         "a=rtpmap:0 PCMU/16000"),
], ids=["opus-only", "srtp-only", "video-only", "no-address", "disabled", "wrong-rate"])
def test_offers_percl_cannot_do_are_refused_with_488(body: bytes) -> None:
    with pytest.raises(SdpRefused) as refused:
        answer_offer(parse_sdp(body), LOCAL)
    assert refused.value.status == 488


@pytest.mark.parametrize("body", [b"", b"hello", b"v=1\r\n", b"v=0\r\ns=-\r\n",
                                  b"v=0\r\no=- 1 1 IN IP4 h\r\nc=IN IP9 x\r\n",
                                  b"v=0\r\no=- 1 1 IN IP4 h\r\nm=audio x RTP/AVP 0\r\n",
                                  b"v=0\r\no=x\r\n", b"v=0\r\nbad\r\n",
                                  "v=0\r\no=- 1 1 IN IP4 h\r\nm=audio \u00b2 RTP/AVP 0\r\n".encode()])
def test_garbage_is_an_sdp_error(body: bytes) -> None:
    with pytest.raises(SdpError):
        parse_sdp(body)


def test_own_offer_and_peer_answer() -> None:
    offer = make_offer(LOCAL)
    assert parse_sdp(serialize_sdp(offer)) == offer
    assert offer.media[0].formats == ("0", "8", "101")
    peer_answer, _ = answer_offer(offer, LocalMedia("192.0.2.50", 30000, "9"))
    params = read_answer(offer, peer_answer)
    assert (params.remote_address, params.remote_port, params.codec) == ("192.0.2.50", 30000, "PCMU")
    assert params.telephone_event == 101
    with pytest.raises(SdpRefused):
        read_answer(offer, parse_sdp(SIPP_UAC).__class__(origin=offer.origin, media=()))


@given(st.binary(max_size=512))
@settings(max_examples=200, deadline=None)
def test_fuzz_only_sdp_errors_or_refusals(data: bytes) -> None:
    with contextlib.suppress(SdpError, SdpRefused):
        answer_offer(parse_sdp(b"v=0\r\no=- 1 1 IN IP4 h\r\n" + data), LOCAL)
