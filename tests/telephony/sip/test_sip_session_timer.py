"""Session timers (RFC 4028) in the sans-I/O agent, on a FakeClock: 422 for a too short interval,
the 2xx's Session-Expires, refreshes by re-INVITE and UPDATE, and BYE when none comes in time."""

from __future__ import annotations

from percl.telephony.sip.agent import Answered, Ended, Incoming, Reoffer, SipAgent
from percl.telephony.sip.message import (
    NameAddr,
    Request,
    Response,
    make_response,
    parse_message,
    parse_name_addr,
    parse_uri,
    serialize,
)
from percl.telephony.sip.session_timer import session_expires
from percl.telephony.sip.uas import Outgoing
from percl.testing import FakeClock

PEER = ("127.0.0.1", 5090)
SDP = b"v=0\r\no=a 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\n"


def _invite(extra: str, *, cseq: int = 1, to_tag: str = "", branch: str = "z9hG4bKinv1") -> bytes:
    to = f"<sip:+15550001@127.0.0.1>{';tag=' + to_tag if to_tag else ''}"
    return (f"INVITE sip:+15550001@127.0.0.1:5060 SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:5090;branch={branch};rport\r\n"
            f"From: <sip:+15559999@127.0.0.1>;tag=peer\r\nTo: {to}\r\n"
            f"Call-ID: st-1\r\nCSeq: {cseq} INVITE\r\nContact: <sip:peer@127.0.0.1:5090>\r\n"
            f"Max-Forwards: 70\r\n{extra}Content-Type: application/sdp\r\n"
            f"Content-Length: {len(SDP)}\r\n\r\n").encode() + SDP


class Peer:
    """percl's agent on a FakeClock, and what it sends to the peer."""

    def __init__(self) -> None:
        self.clock = FakeClock(start=1000.0)
        self.agent = SipAgent("127.0.0.1", 5060)
        self.sent: list[Request | Response] = []

    def feed(self, data: bytes) -> None:
        self._keep(self.agent.receive(data, PEER, self.clock.now()))

    def _keep(self, out: list[Outgoing]) -> None:
        for item in out:
            message = parse_message(item.data)
            self.sent.append(message)

    async def advance(self, seconds: float) -> None:
        """Move the clock, firing the agent's deadlines on the way."""
        end = self.clock.now() + seconds
        while (deadline := self.agent.next_deadline()) is not None and deadline <= end:
            await self.clock.advance(max(0.0, deadline - self.clock.now()))
            self._keep(self.agent.on_time(self.clock.now()))
        await self.clock.advance(end - self.clock.now())

    def requests(self, method: str) -> list[Request]:
        return [m for m in self.sent if isinstance(m, Request) and m.method == method]

    def responses(self, status: int) -> list[Response]:
        return [m for m in self.sent if isinstance(m, Response) and m.status == status]

    def answer(self, extra: str) -> Response:
        """An inbound call with `extra` headers in its INVITE, answered 200 and acknowledged."""
        self.feed(_invite(extra))
        (incoming,) = self.agent.take_events()
        assert isinstance(incoming, Incoming)
        self._keep(self.agent.respond("st-1", 200, self.clock.now(), body=SDP))
        (ok,) = self.responses(200)
        tag = ok.to.tag
        self.feed((f"ACK sip:percl@127.0.0.1:5060 SIP/2.0\r\n"
                   f"Via: SIP/2.0/UDP 127.0.0.1:5090;branch=z9hG4bKack1;rport\r\n"
                   f"From: <sip:+15559999@127.0.0.1>;tag=peer\r\n"
                   f"To: <sip:+15550001@127.0.0.1>;tag={tag}\r\nCall-ID: st-1\r\n"
                   f"CSeq: 1 ACK\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n").encode())
        return ok


async def test_a_session_interval_below_min_se_gets_422_with_percls_min_se() -> None:
    peer = Peer()
    peer.feed(_invite("Session-Expires: 60\r\nSupported: timer\r\n"))
    (refusal,) = peer.responses(422)
    assert refusal.headers.get("Min-SE") == "90"
    assert peer.agent.take_events() == [] and peer.agent.live_calls == 0


async def test_no_timer_unless_the_peer_asks_and_timer_is_supported() -> None:
    peer = Peer()
    ok = peer.answer("")
    assert ok.headers.get("Session-Expires") is None
    assert "timer" in ok.headers.get_all("Supported") and "UPDATE" in ok.headers.get_all("Allow")
    await peer.advance(7200)
    assert peer.requests("BYE") == [] and peer.agent.take_events() == []


async def test_the_caller_refreshes_and_a_missing_refresh_ends_the_call_with_bye() -> None:
    peer = Peer()
    ok = peer.answer("Session-Expires: 120;refresher=uac\r\nSupported: timer\r\n")
    assert session_expires(ok) is not None
    assert ok.headers.get("Session-Expires") == "120;refresher=uac"
    assert ok.headers.get("Require") == "timer"
    await peer.advance(60)  # the caller's re-INVITE refresh restarts the timer
    tag = ok.to.tag or ""
    peer.feed(_invite("Session-Expires: 120;refresher=uac\r\nSupported: timer\r\n", cseq=2,
                      to_tag=tag, branch="z9hG4bKre2"))
    (reoffer,) = peer.agent.take_events()
    assert isinstance(reoffer, Reoffer)
    peer._keep(peer.agent.respond("st-1", 200, peer.clock.now(), body=SDP))
    assert peer.responses(200)[-1].headers.get("Session-Expires") == "120;refresher=uac"
    await peer.advance(87)  # 60 + 87 < 60 + 88: not yet expired
    assert peer.requests("BYE") == []
    await peer.advance(2)  # 120 - min(32, 40) = 88 s after the refresh: percl gives up on it
    assert {bye.vias[0].branch for bye in peer.requests("BYE")} != set()  # (retransmitted)
    assert peer.agent.take_events() == [Ended("st-1", "session-expired")]


async def test_as_refresher_percl_sends_update_when_allowed_and_byes_when_it_fails() -> None:
    peer = Peer()
    ok = peer.answer("Session-Expires: 100\r\nAllow: INVITE, ACK, BYE, UPDATE\r\n")
    assert ok.headers.get("Session-Expires") == "100;refresher=uas"  # the peer cannot: percl
    assert ok.headers.get("Require") is None
    await peer.advance(49)
    assert peer.requests("UPDATE") == []
    await peer.advance(1)
    (update,) = peer.requests("UPDATE")
    assert update.headers.get("Session-Expires") == "100;refresher=uac"
    assert update.body == b""
    peer.feed(serialize(make_response(update, 200, "OK", extra=(
        ("Session-Expires", "100;refresher=uac"),))))
    await peer.advance(50)  # the 200 restarted the timer: the next refresh 50 s later
    assert len(peer.requests("UPDATE")) == 2
    await peer.advance(40)  # the peer is gone: no answer, the UPDATE times out (32 s): BYE
    assert peer.agent.take_events() == [Ended("st-1", "session-expired")]
    assert len(peer.requests("BYE")) >= 1


async def test_as_refresher_percl_sends_a_reinvite_with_its_sdp_when_update_is_not_allowed() -> None:
    peer = Peer()
    peer.answer("Session-Expires: 90;refresher=uas\r\nSupported: timer\r\n")
    await peer.advance(45)
    reinvites = peer.requests("INVITE")
    assert len(reinvites) == 1 and reinvites[0].body == SDP
    assert reinvites[0].cseq.number == 1  # percl's first request in the dialog
    peer.feed(_invite("", cseq=2, to_tag=reinvites[0].from_.tag or "", branch="z9hG4bKglare"))
    assert peer.responses(491) and peer.agent.take_events() == []  # glare with percl's refresh
    reply = make_response(reinvites[0], 200, "OK", extra=(
        ("Contact", "<sip:peer@127.0.0.1:5090>"), ("Session-Expires", "90;refresher=uac")))
    peer.feed(serialize(reply))
    assert len(peer.requests("ACK")) == 1  # the refresh's 2xx is acknowledged
    await peer.advance(44)
    assert len(peer.requests("INVITE")) == 1 and peer.requests("BYE") == []
    await peer.advance(1)
    assert len(peer.requests("INVITE")) == 2


async def test_an_outbound_call_follows_the_answers_session_timer() -> None:
    clock = FakeClock(start=0.0)
    agent = SipAgent("127.0.0.1", 5060)
    call_id, out = agent.invite(request_uri=parse_uri("sip:+15550001@127.0.0.1:5090"),
                                from_=NameAddr(parse_uri("sip:+15559999@127.0.0.1")),
                                to=parse_name_addr("<sip:+15550001@127.0.0.1>"), hop=PEER,
                                body=SDP, now=clock.now())
    invite = parse_message(out[0].data)
    assert isinstance(invite, Request) and "timer" in invite.headers.get_all("Supported")
    ok = make_response(invite, 200, "OK", to_tag="far", extra=(
        ("Contact", "<sip:peer@127.0.0.1:5090>"), ("Session-Expires", "120;refresher=uas")),
        body=SDP)
    agent.receive(serialize(ok), PEER, clock.now())
    assert agent.take_events() == [Answered(call_id, SDP)]
    await clock.advance(120 - 32)
    sent = [parse_message(o.data) for o in agent.on_time(clock.now())]
    assert [m.method for m in sent if isinstance(m, Request)] == ["BYE"]
    assert agent.take_events() == [Ended(call_id, "session-expired")]
