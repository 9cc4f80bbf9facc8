"""The answering UAS core on a fake clock: INVITE/200/ACK/BYE, 2xx retransmission, refusals."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from torture import INVALID, wire

from percl.telephony.sip.message import Request, Response, parse_message, serialize
from percl.telephony.sip.sdp import LocalMedia, parse_sdp
from percl.telephony.sip.uas import AnsweringUas, CallAnswered, CallEnded, Outgoing

PEER = ("127.0.0.1", 5071)
OFFER = (b"v=0\r\no=user1 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
         b"m=audio 6000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n")


def _uas() -> AnsweringUas:
    return AnsweringUas(contact="sip:percl@127.0.0.1:5060",
                        media=lambda call_id: LocalMedia("127.0.0.1", 40000, "42"))


def _request(method: str, *, cseq: int = 1, branch: str = "z9hG4bK1", to_tag: str = "",
             body: bytes = b"", call_id: str = "c1") -> bytes:
    to = "<sip:+15550001@127.0.0.1>" + (f";tag={to_tag}" if to_tag else "")
    lines = [f"{method} sip:+15550001@127.0.0.1 SIP/2.0",
             f"Via: SIP/2.0/UDP 127.0.0.1:5070;branch={branch};rport", "Max-Forwards: 70",
             "From: <sip:alice@127.0.0.1>;tag=a1", f"To: {to}", f"Call-ID: {call_id}",
             f"CSeq: {cseq} {method}", "Contact: <sip:alice@127.0.0.1:5070>"]
    if body:
        lines.append("Content-Type: application/sdp")
    return ("\r\n".join(lines) + f"\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body


def _responses(out: list[Outgoing]) -> list[Response]:
    parsed = [parse_message(item.data) for item in out]
    assert all(isinstance(m, Response) for m in parsed)
    return parsed  # type: ignore[return-value]


def test_invite_is_answered_with_sdp_and_bye_ends_the_call() -> None:
    uas = _uas()
    out = uas.receive(_request("INVITE", body=OFFER), PEER, 0.0)
    trying, ok = _responses(out)
    assert (trying.status, ok.status) == (100, 200)
    assert {item.address for item in out} == {PEER}  # rport: back to the source port
    assert ok.vias[0].received == "127.0.0.1" and ok.vias[0].rport == "5071"
    assert ok.headers.get("Content-Type") == "application/sdp"
    answer = parse_sdp(ok.body)
    assert answer.media[0].port == 40000 and answer.media[0].formats == ("0",)
    assert str(ok.contacts[0].uri) == "sip:percl@127.0.0.1:5060"
    tag = ok.to.tag
    assert tag and uas.events == [CallAnswered("c1", uas.events[0].audio)]  # type: ignore[union-attr]
    assert uas.receive(_request("ACK", branch="z9hG4bK2", to_tag=tag), PEER, 0.1) == []
    assert uas.on_time(5.0) == []  # no 200 retransmission after the ACK
    (bye_ok,) = _responses(uas.receive(_request("BYE", cseq=2, branch="z9hG4bK3", to_tag=tag),
                                       PEER, 1.0))
    assert bye_ok.status == 200 and bye_ok.to.tag == tag
    assert uas.events[-1] == CallEnded("c1", "bye")
    (again,) = _responses(uas.receive(_request("BYE", cseq=3, branch="z9hG4bK4", to_tag=tag),
                                      PEER, 1.1))
    assert again.status == 481


def test_200_is_retransmitted_until_ack_and_the_call_ends_without_one() -> None:
    uas = _uas()
    uas.receive(_request("INVITE", body=OFFER), PEER, 0.0)
    sent = []
    now = 0.0
    while (deadline := uas.next_deadline()) is not None and deadline < 40:
        now = deadline
        sent += [(now, r.status) for r in _responses(uas.on_time(now))]
    assert sent[:4] == [(0.5, 200), (1.5, 200), (3.5, 200), (7.5, 200)]
    assert uas.events[-1] == CallEnded("c1", "no-ack")


def test_retransmitted_invite_gets_the_same_200() -> None:
    uas = _uas()
    first = _responses(uas.receive(_request("INVITE", body=OFFER), PEER, 0.0))[-1]
    (second,) = _responses(uas.receive(_request("INVITE", body=OFFER), PEER, 0.3))
    assert serialize(second) == serialize(first)
    assert len([e for e in uas.events if isinstance(e, CallAnswered)]) == 1


def test_offer_without_g711_gets_488_and_its_ack_is_absorbed() -> None:
    uas = _uas()
    opus = OFFER.replace(b"RTP/AVP 0\r\na=rtpmap:0 PCMU/8000", b"RTP/AVP 96\r\na=rtpmap:96 opus/48000/2")
    _, refused = _responses(uas.receive(_request("INVITE", body=opus), PEER, 0.0))
    assert refused.status == 488 and uas.events == []
    assert uas.receive(_request("ACK", to_tag=refused.to.tag or ""), PEER, 0.1) == []
    assert uas.on_time(1.0) == []  # the ACK stopped timer G


def test_cancel_after_the_200_is_answered_and_the_call_stays() -> None:
    uas = _uas()
    uas.receive(_request("INVITE", body=OFFER), PEER, 0.0)
    (ok,) = _responses(uas.receive(_request("CANCEL"), PEER, 0.2))
    assert ok.status == 200 and not any(isinstance(e, CallEnded) for e in uas.events)
    (unknown,) = _responses(uas.receive(_request("CANCEL", branch="z9hG4bKother"), PEER, 0.2))
    assert unknown.status == 481


def test_options_unknown_methods_and_garbage() -> None:
    uas = _uas()
    (options,) = _responses(uas.receive(_request("OPTIONS"), PEER, 0.0))
    assert options.status == 200 and "INVITE" in (options.headers.get("Allow") or "")
    (info,) = _responses(uas.receive(_request("MESSAGE", branch="z9hG4bK9"), PEER, 0.0))
    assert info.status == 501
    assert uas.receive(b"\x00\x01garbage", PEER, 0.0) == []
    out = uas.receive(wire(INVALID["clerr"]), PEER, 0.0)  # Content-Length beyond the datagram
    (bad,) = _responses(out)
    assert bad.status == 400 and bad.reason.startswith("Bad Request (Content-Length 9999")
    # Its Via names host5.example.com without rport: the answer goes to the source address
    # on the Via's (default) port, as RFC 3261 18.2.2 says.
    assert out[0].address == ("127.0.0.1", 5060) and bad.vias[0].received == "127.0.0.1"


def test_request_helper_is_valid_sip() -> None:
    assert isinstance(parse_message(_request("INVITE", body=OFFER)), Request)


def test_responses_go_to_the_source_even_when_the_via_says_otherwise() -> None:
    uas = _uas()
    lying = _request("OPTIONS").replace(b";rport", b";received=10.9.9.9")
    (out,) = uas.receive(lying, PEER, 0.0)
    assert out.address == ("127.0.0.1", 5070)  # the source host, the Via's port


@given(st.sampled_from(["INVITE", "BYE", "CANCEL", "OPTIONS", "ACK"]), st.data())
@settings(max_examples=200, deadline=None)
def test_fuzz_the_uas_never_raises(method: str, data: st.DataObject) -> None:
    uas = _uas()
    raw = bytearray(_request(method, body=OFFER if method == "INVITE" else b""))
    for _ in range(data.draw(st.integers(0, 6))):
        pos = data.draw(st.integers(0, len(raw) - 1))
        raw[pos:pos + 1] = data.draw(st.sampled_from([b"", b";", b",", b"<", b"9", b"\x00", b" ",
                                                      b"rport=99999", b"received=x"]))
    out = uas.receive(bytes(raw), PEER, 0.0) + uas.on_time(100.0)
    for item in out:
        assert 0 < item.address[1] <= 65535
        assert isinstance(parse_message(item.data), Response)


def test_ringing_then_answer_at_the_deadline() -> None:
    uas = AnsweringUas(contact="sip:percl@127.0.0.1:5060", ring_seconds=2.0,
                       media=lambda call_id: LocalMedia("127.0.0.1", 40000, "42"))
    trying, ringing = _responses(uas.receive(_request("INVITE", body=OFFER), PEER, 0.0))
    assert (trying.status, ringing.status) == (100, 180) and uas.events == []
    assert uas.next_deadline() == 2.0
    (ok,) = _responses(uas.on_time(2.0))
    assert ok.status == 200 and ok.to.tag == ringing.to.tag
    assert isinstance(uas.events[0], CallAnswered)


def test_cancel_while_ringing_ends_the_call_with_487() -> None:
    uas = AnsweringUas(contact="sip:percl@127.0.0.1:5060", ring_seconds=5.0,
                       media=lambda call_id: LocalMedia("127.0.0.1", 40000, "42"))
    _, ringing = _responses(uas.receive(_request("INVITE", body=OFFER), PEER, 0.0))
    cancel_ok, terminated = _responses(uas.receive(_request("CANCEL"), PEER, 1.0))
    assert (cancel_ok.status, terminated.status) == (200, 487)
    assert terminated.to.tag == ringing.to.tag and terminated.cseq.method == "INVITE"
    assert uas.events == [CallEnded("c1", "cancel")]
    assert all(r.status == 487 for r in _responses(uas.on_time(6.0)))  # no 200 ever
    ack = _request("ACK", to_tag=terminated.to.tag or "")
    assert uas.receive(ack, PEER, 6.1) == []
    assert _responses(uas.on_time(60.0)) == [] and uas.next_deadline() is None
