"""The user agent core, both ends in memory: a percl caller calls a percl callee on a fake clock."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from percl.telephony.sip.agent import (
    Answered,
    Ended,
    Failed,
    Incoming,
    Phase,
    Progress,
    Reoffer,
    SipAgent,
)
from percl.telephony.sip.message import (
    NameAddr,
    Request,
    Response,
    parse_message,
    parse_name_addr,
    parse_uri,
)
from percl.telephony.sip.transaction import T1, Action, ServerTransaction
from percl.telephony.sip.uas import Outgoing

A = ("127.0.0.1", 5070)
B = ("127.0.0.1", 5080)
OFFER = (b"v=0\r\no=a 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
         b"m=audio 6000 RTP/AVP 0\r\n")


@dataclass
class Wire:
    """Two agents and the datagrams between them; `drop` swallows what one side sends."""

    caller: SipAgent = field(default_factory=lambda: SipAgent("127.0.0.1", A[1]))
    callee: SipAgent = field(default_factory=lambda: SipAgent("127.0.0.1", B[1]))
    now: float = 0.0
    log: list[Request | Response] = field(default_factory=list)
    drop_to: set[tuple[str, int]] = field(default_factory=set)

    def deliver(self, out: list[Outgoing]) -> None:
        queue = [(item, src) for item, src in ((o, self._sender(o)) for o in out)]
        while queue:
            item, source = queue.pop(0)
            self.log.append(parse_message(item.data))
            if item.address in self.drop_to:
                continue
            target = self.callee if item.address == B else self.caller
            more = target.receive(item.data, source, self.now)
            queue += [(o, item.address) for o in more]

    def _sender(self, item: Outgoing) -> tuple[str, int]:
        return A if item.address == B else B

    def advance(self, seconds: float) -> None:
        end = self.now + seconds
        while True:
            due = [d for d in (self.caller.next_deadline(), self.callee.next_deadline())
                   if d is not None and d <= end]
            if not due:
                break
            self.now = max(self.now, min(due))
            self.deliver(self.caller.on_time(self.now))
            self.deliver(self.callee.on_time(self.now))
        self.now = end

    def call(self) -> str:
        call_id, out = self.caller.invite(
            request_uri=parse_uri("sip:+15550001@127.0.0.1:5080"),
            from_=NameAddr(parse_uri("sip:+15559999@127.0.0.1")),
            to=parse_name_addr("<sip:+15550001@127.0.0.1>"), hop=B, body=OFFER, now=self.now)
        self.deliver(out)
        return call_id

    def sent(self, method: str) -> list[Request]:
        return [m for m in self.log if isinstance(m, Request) and m.method == method]

    def responses(self, status: int) -> list[Response]:
        return [m for m in self.log if isinstance(m, Response) and m.status == status]


def test_a_call_rings_is_answered_acknowledged_and_hung_up_by_the_callee() -> None:
    wire = Wire()
    call_id = wire.call()
    (incoming,) = wire.callee.take_events()
    assert isinstance(incoming, Incoming) and incoming.request.uri.user == "+15550001"
    assert incoming.source == A and wire.responses(100)
    wire.deliver(wire.callee.respond(call_id, 180, wire.now))
    assert wire.caller.take_events() == [Progress(call_id, 180, b"")]
    wire.deliver(wire.callee.respond(call_id, 200, wire.now, body=b"v=0 answer"))
    assert wire.caller.take_events() == [Answered(call_id, b"v=0 answer")]
    assert len(wire.sent("ACK")) == 1
    wire.advance(10)  # the ACK stopped the 2xx retransmissions
    assert len(wire.responses(200)) == 1
    wire.deliver(wire.callee.hang_up(call_id, wire.now))
    assert wire.caller.take_events() == [Ended(call_id, "bye")]
    assert wire.callee.take_events() == []  # the callee hung up itself: no event
    assert wire.sent("BYE")[0].uri == parse_uri("sip:percl@127.0.0.1:5070")  # the Contact
    wire.advance(40)
    assert wire.caller.live_calls == 0 and wire.callee.live_calls == 0


def test_the_caller_hangs_up_with_bye() -> None:
    wire = Wire()
    call_id = wire.call()
    wire.deliver(wire.callee.respond(call_id, 200, wire.now, body=b"sdp"))
    wire.deliver(wire.caller.hang_up(call_id, wire.now))
    assert [e for e in wire.callee.take_events() if isinstance(e, Ended)] == [
        Ended(call_id, "bye")]
    assert wire.caller.take_events() == [Answered(call_id, b"sdp")]
    assert wire.caller.hang_up(call_id, wire.now) == []  # idempotent


def test_busy_and_other_failures_reach_the_caller_with_their_status() -> None:
    for status in (486, 600, 480, 404):
        wire = Wire()
        call_id = wire.call()
        wire.deliver(wire.callee.respond(call_id, status, wire.now))
        assert wire.caller.take_events() == [Failed(call_id, status)]
        assert len(wire.sent("ACK")) == 1  # the transaction acknowledged the failure
        assert wire.callee.phase(call_id) is Phase.ENDED


def test_cancel_while_ringing_ends_the_callee_and_the_caller_hears_nothing_more() -> None:
    wire = Wire()
    call_id = wire.call()
    wire.deliver(wire.callee.respond(call_id, 180, wire.now))
    wire.caller.take_events()
    wire.deliver(wire.caller.hang_up(call_id, wire.now))
    assert len(wire.sent("CANCEL")) == 1 and wire.responses(487)
    assert [e for e in wire.callee.take_events() if isinstance(e, Ended)] == [
        Ended(call_id, "cancel")]
    assert wire.caller.take_events() == []
    wire.advance(40)
    assert wire.caller.live_calls == 0 and wire.callee.live_calls == 0


def test_hang_up_before_any_provisional_waits_for_one_to_cancel() -> None:
    wire = Wire()
    wire.drop_to.add(B)  # the INVITE is lost for now
    call_id = wire.call()
    assert wire.caller.hang_up(call_id, wire.now) == []  # RFC 3261 9.1: not yet
    wire.drop_to.clear()
    wire.advance(0.6)  # timer A resends the INVITE; the callee answers 100 Trying
    assert wire.responses(100) and len(wire.sent("CANCEL")) == 1
    assert [e for e in wire.callee.take_events() if isinstance(e, Ended)] == [
        Ended(call_id, "cancel")]


def test_nobody_answering_at_all_is_a_408_after_64_t1() -> None:
    wire = Wire()
    wire.drop_to.add(B)
    call_id = wire.call()
    wire.advance(31.9)
    assert wire.caller.take_events() == []
    wire.advance(0.2)
    assert wire.caller.take_events() == [Failed(call_id, 408)]
    assert len(wire.sent("INVITE")) == 7  # 0, 0.5, 1.5, 3.5, 7.5, 15.5, 31.5


def test_a_2xx_never_acknowledged_ends_the_call_with_bye() -> None:
    wire = Wire()
    call_id = wire.call()
    wire.drop_to.add(B)  # the callee hears nothing more from the caller (the ACK is lost)
    wire.deliver(wire.callee.respond(call_id, 200, wire.now, body=b"sdp"))
    wire.advance(33)
    assert [e for e in wire.callee.take_events() if isinstance(e, Ended)] == [
        Ended(call_id, "no-ack")]
    assert len(wire.sent("BYE")) >= 1


def test_options_is_answered_with_what_percl_allows() -> None:
    wire = Wire()
    data = (b"OPTIONS sip:percl@127.0.0.1:5080 SIP/2.0\r\n"
            b"Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKopt\r\nMax-Forwards: 70\r\n"
            b"From: <sip:x@127.0.0.1>;tag=1\r\nTo: <sip:percl@127.0.0.1>\r\nCall-ID: o1\r\n"
            b"CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n")
    (out,) = wire.callee.receive(data, A, 0.0)
    response = parse_message(out.data)
    assert isinstance(response, Response) and response.status == 200
    assert "INVITE" in (response.headers.get("Allow") or "")


def test_a_reinvite_is_offered_to_the_owner_and_answered() -> None:
    wire = Wire()
    call_id = wire.call()
    wire.deliver(wire.callee.respond(call_id, 200, wire.now, body=b"sdp"))
    wire.callee.take_events()
    # The caller's side puts the call on hold: a re-INVITE built from its dialog.
    caller_call = wire.caller._calls[call_id]
    assert caller_call.dialog is not None
    caller_call.dialog, reinvite = caller_call.dialog.request(
        "INVITE", wire.caller._via(), body=b"hold sdp",
        extra=(("Contact", wire.caller.contact),))
    from percl.telephony.sip.message import serialize
    wire.deliver([Outgoing(serialize(reinvite), B)])
    assert wire.callee.take_events() == [Reoffer(call_id, b"hold sdp")]
    wire.deliver(wire.callee.respond(call_id, 200, wire.now, body=b"held"))
    oks = [r for r in wire.responses(200) if r.cseq.number == reinvite.cseq.number]
    assert oks and oks[0].body == b"held"


def test_a_challenge_goes_to_the_authorize_hook_and_the_invite_is_sent_again() -> None:
    seen: list[int] = []

    def authorize(request: Request, challenge: Response) -> Request | None:
        seen.append(challenge.status)
        return Request(method=request.method, uri=request.uri, body=request.body,
                       headers=request.headers.add("Proxy-Authorization", "Digest x"))

    wire = Wire(caller=SipAgent("127.0.0.1", A[1], authorize=authorize))
    call_id = wire.call()
    wire.deliver(wire.callee.respond(call_id, 407, wire.now))
    assert seen == [407]
    invites = wire.sent("INVITE")
    assert len(invites) == 2 and invites[1].cseq.number == 2
    assert invites[1].headers.get("Proxy-Authorization") == "Digest x"
    assert invites[1].vias[0].branch != invites[0].vias[0].branch
    # The callee sees the second INVITE as a new transaction of the same call; it already
    # answered 407, so a second challenge fails the call (no loop).
    wire.callee._calls.pop(call_id)
    wire.deliver(wire.caller.on_time(wire.now))
    wire.deliver(wire.callee.respond(call_id, 407, wire.now))


def test_garbage_gets_a_400_when_it_can_be_answered_and_nothing_otherwise() -> None:
    agent = SipAgent("127.0.0.1", 5080)
    assert agent.receive(b"\x00\x01 noise", A, 0.0) == []
    bad = (b"INVITE sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKb\r\n"
           b"From: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:x@127.0.0.1>\r\nCall-ID: g\r\n"
           b"CSeq: 1 INVITE\r\nContent-Length: 99999\r\n\r\n")
    out = agent.receive(bad, A, 0.0)
    assert len(out) == 1 and out[0].data.startswith(b"SIP/2.0 400")


def test_timers_touch_only_the_transactions_due(monkeypatch: pytest.MonkeyPatch) -> None:
    # A UDP non-INVITE server transaction lingers 64*T1 (32 s) to absorb repeats; at 100 calls/s
    # thousands do. Each send and each timer must not visit them all (issue 15's call rate).
    agent = SipAgent("127.0.0.1", 5080)
    visits: list[object] = []
    original = ServerTransaction.on_time

    def counting(self: ServerTransaction, now: float) -> list[Action]:
        visits.append(self)
        return original(self, now)

    monkeypatch.setattr(ServerTransaction, "on_time", counting)
    for n in range(200):
        data = (f"OPTIONS sip:percl@127.0.0.1:5080 SIP/2.0\r\n"
                f"Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKopt{n}\r\nMax-Forwards: 70\r\n"
                f"From: <sip:x@127.0.0.1>;tag=1\r\nTo: <sip:percl@127.0.0.1>\r\nCall-ID: o{n}\r\n"
                f"CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n").encode()
        assert len(agent.receive(data, A, n * 0.1)) == 1  # one each 100 ms: 200 over 20 s
    assert agent.next_deadline() == 64 * T1  # the first one's timer J
    for now in (1.0, 10.0, 20.0, 31.9):
        assert agent.on_time(now) == []
    assert visits == []  # nothing was due: no transaction was visited
    agent.on_time(64 * T1 + 5.0)  # the first 51 expire (t = 0.0 .. 5.0), once each
    assert len(visits) == len(set(map(id, visits))) == 51
    assert agent.next_deadline() == pytest.approx(5.1 + 64 * T1)
    agent.on_time(100.0)
    assert len(visits) == 200 and agent.next_deadline() is None
