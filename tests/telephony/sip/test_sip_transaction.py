"""Transactions and dialogs on a fake clock: retransmissions, timeouts, 2xx until ACK, CANCEL."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from percl.telephony.sip.dialog import Dialog, DialogError
from percl.telephony.sip.message import (
    Headers,
    Request,
    Response,
    make_response,
    parse_message,
    parse_uri,
    serialize,
)
from percl.telephony.sip.transaction import (
    T1,
    T2,
    Action,
    ClientInviteTransaction,
    ClientTransaction,
    Deliver,
    Send,
    ServerInviteTransaction,
    ServerTransaction,
    State,
    Terminated,
    TimedOut,
    Timer,
    TransactionError,
    cancelled_key,
    client_key,
    make_cancel,
    server_key,
)

Txn = ClientInviteTransaction | ClientTransaction | ServerInviteTransaction | ServerTransaction


def _invite(branch: str = "z9hG4bKinv1", method: str = "INVITE") -> Request:
    return Request(method=method, uri=parse_uri("sip:+15550001@percl.example.com"),
                   headers=Headers((
                       ("Via", f"SIP/2.0/UDP 192.0.2.10:5060;branch={branch};rport"),
                       ("Max-Forwards", "70"),
                       ("From", "<sip:alice@example.com>;tag=a1"),
                       ("To", "<sip:+15550001@percl.example.com>"),
                       ("Call-ID", "call-1@192.0.2.10"),
                       ("CSeq", f"1 {method}"),
                       ("Contact", "<sip:alice@192.0.2.10:5060>"),
                   )))


def _run(txn: Txn, until: float) -> list[tuple[float, Action]]:
    """Advance a fake clock from deadline to deadline up to `until`, recording actions."""
    log: list[tuple[float, Action]] = []
    while (deadline := txn.next_deadline()) is not None and deadline <= until:
        log += [(deadline, action) for action in txn.on_time(deadline)]
    return log


def _sent_at(log: list[tuple[float, Action]]) -> list[float]:
    return [t for t, action in log if isinstance(action, Send)]


def _wire(message: Request | Response) -> Request | Response:
    return parse_message(serialize(message))


# ------------------------------------------------------------------------- INVITE client


def test_invite_client_retransmits_with_doubling_and_times_out_at_64_t1() -> None:
    txn = ClientInviteTransaction(_invite())
    assert txn.start(0.0) == [Send(txn.request)]
    log = _run(txn, 100.0)
    assert _sent_at(log) == [0.5, 1.5, 3.5, 7.5, 15.5, 31.5]  # timer A: T1, 2T1, 4T1...
    assert log[-2:] == [(32.0, TimedOut(Timer.B)), (32.0, Terminated())]
    assert txn.state is State.TERMINATED and txn.next_deadline() is None


def test_invite_client_stops_retransmitting_on_provisional() -> None:
    txn = ClientInviteTransaction(_invite())
    txn.start(0.0)
    ringing = make_response(txn.request, 180, "Ringing", to_tag="b1")
    assert txn.receive(ringing, 0.2) == [Deliver(ringing)]
    assert txn.state is State.PROCEEDING
    assert _run(txn, 31.9) == []  # no timer A any more; B still runs (RFC 17.1.1.2)


def test_invite_client_acks_non_2xx_and_absorbs_retransmissions_for_timer_d() -> None:
    txn = ClientInviteTransaction(_invite())
    txn.start(0.0)
    busy = make_response(txn.request, 486, "Busy Here", to_tag="b1")
    actions = txn.receive(busy, 1.0)
    ack = actions[0]
    assert isinstance(ack, Send) and isinstance(ack.message, Request)
    assert ack.message.method == "ACK" and ack.message.cseq.number == 1
    assert ack.message.vias[0].branch == "z9hG4bKinv1" and ack.message.to.tag == "b1"
    assert actions[1:] == [Deliver(busy)] and txn.state is State.COMPLETED
    assert txn.receive(busy, 2.0) == [ack]  # a retransmitted 486: the ACK again, not delivered
    assert _run(txn, 40.0) == [(33.0, Terminated())]  # timer D: 32 s


def test_invite_client_over_tcp_has_no_timer_a_and_d_is_zero() -> None:
    txn = ClientInviteTransaction(_invite(), reliable=True)
    txn.start(0.0)
    assert txn.next_deadline() == 64 * T1
    actions = txn.receive(make_response(txn.request, 603, "Decline", to_tag="x"), 1.0)
    assert actions[-1] == Terminated()


def test_a_ringing_invite_waits_for_the_tu_to_give_up() -> None:
    txn = ClientInviteTransaction(_invite())
    txn.start(0.0)
    with pytest.raises(TransactionError):
        txn.give_up(0.1)  # still CALLING: timer B decides
    txn.receive(make_response(txn.request, 180, "Ringing", to_tag="b1"), 0.2)
    assert txn.on_time(500.0) == [] and txn.state is State.PROCEEDING
    assert txn.give_up(500.0) == [TimedOut(Timer.B), Terminated()]


def test_invite_client_2xx_ends_the_transaction() -> None:
    txn = ClientInviteTransaction(_invite())
    txn.start(0.0)
    ok = make_response(txn.request, 200, "OK", to_tag="b1")
    assert txn.receive(ok, 0.3) == [Deliver(ok), Terminated()]


# --------------------------------------------------------------------- non-INVITE client


def test_non_invite_client_timer_e_caps_at_t2_and_f_times_out() -> None:
    bye = _invite(method="BYE")
    txn = ClientTransaction(bye)
    txn.start(0.0)
    log = _run(txn, 40.0)
    assert _sent_at(log) == [0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5]
    assert log[-2:] == [(32.0, TimedOut(Timer.F)), (32.0, Terminated())]


def test_non_invite_client_proceeding_resends_every_t2_then_completes_with_timer_k() -> None:
    txn = ClientTransaction(_invite(method="OPTIONS"))
    txn.start(0.0)
    trying = make_response(txn.request, 100, "Trying")
    assert txn.receive(trying, 0.1) == [Deliver(trying)]
    log = _run(txn, 4.6)
    assert _sent_at(log) == [0.5, 0.5 + T2]
    ok = make_response(txn.request, 200, "OK", to_tag="t")
    assert txn.receive(ok, 5.0) == [Deliver(ok)]
    assert txn.receive(ok, 5.1) == []  # absorbed in COMPLETED
    assert _run(txn, 20.0) == [(10.0, Terminated())]  # timer K: T4


# ------------------------------------------------------------------------- INVITE server


def test_invite_server_sends_trying_and_resends_last_provisional() -> None:
    invite = _invite()
    txn = ServerInviteTransaction(invite)
    actions = txn.start(0.0)
    assert actions[0] == Deliver(invite)
    assert isinstance(actions[1], Send) and actions[1].message.status == 100  # type: ignore[union-attr]
    ringing = make_response(invite, 180, "Ringing", to_tag="s1")
    assert txn.respond(ringing, 0.1) == [Send(ringing)]
    assert txn.receive(invite, 0.6) == [Send(ringing)]  # a retransmitted INVITE


def test_invite_server_retransmits_200_until_ack() -> None:
    invite = _invite()
    txn = ServerInviteTransaction(invite)
    txn.start(0.0)
    ok = make_response(invite, 200, "OK", to_tag="s1")
    assert txn.respond(ok, 1.0) == [Send(ok)] and txn.state is State.ACCEPTED
    log = _run(txn, 9.0)
    assert _sent_at(log) == [1.5, 2.5, 4.5, 8.5]  # T1, 2T1, 4T1, then capped at T2
    assert all(action == Send(ok) for _, action in log)
    assert txn.receive(invite, 9.1) == [Send(ok)]
    ack = Request(method="ACK", uri=invite.uri, headers=invite.headers.set("CSeq", "1 ACK"))
    assert txn.receive_ack(ack, 9.2) == [Deliver(ack), Terminated()]
    assert txn.next_deadline() is None


def test_invite_server_gives_up_on_200_without_ack_after_64_t1() -> None:
    invite = _invite()
    txn = ServerInviteTransaction(invite, reliable=True)
    txn.start(0.0)
    txn.respond(make_response(invite, 200, "OK", to_tag="s1"), 0.0)
    log = _run(txn, 60.0)
    assert len(_sent_at(log)) > 5  # 2xx retransmitted end to end even over TCP
    assert log[-2:] == [(32.0, TimedOut(Timer.H)), (32.0, Terminated())]


def test_invite_server_error_response_timers_g_h_and_i() -> None:
    invite = _invite()
    txn = ServerInviteTransaction(invite)
    txn.start(0.0)
    busy = make_response(invite, 486, "Busy Here", to_tag="s1")
    txn.respond(busy, 0.0)
    assert _sent_at(_run(txn, 8.0)) == [0.5, 1.5, 3.5, 7.5]
    ack = Request(method="ACK", uri=invite.uri, headers=invite.headers.set("CSeq", "1 ACK"))
    assert server_key(ack) == server_key(invite)
    assert txn.receive(ack, 8.0) == [] and txn.state is State.CONFIRMED
    assert txn.receive(ack, 9.0) == []  # absorbed
    assert _run(txn, 20.0) == [(13.0, Terminated())]  # timer I: T4
    with pytest.raises(TransactionError):
        txn.respond(make_response(invite, 200, "OK", to_tag="s1"), 21.0)


def test_invite_server_without_ack_times_out_with_h() -> None:
    invite = _invite()
    txn = ServerInviteTransaction(invite)
    txn.start(0.0)
    txn.respond(make_response(invite, 404, "Not Found", to_tag="s1"), 0.0)
    assert _run(txn, 40.0)[-2:] == [(32.0, TimedOut(Timer.H)), (32.0, Terminated())]


def test_tu_cannot_send_two_final_responses() -> None:
    invite = _invite()
    txn = ServerInviteTransaction(invite)
    txn.start(0.0)
    txn.respond(make_response(invite, 200, "OK", to_tag="s1"), 0.0)
    with pytest.raises(TransactionError, match="send_final in state accepted"):
        txn.respond(make_response(invite, 500, "Oops", to_tag="s1"), 0.1)


# --------------------------------------------------------------------- non-INVITE server


def test_non_invite_server_resends_final_response_until_timer_j() -> None:
    bye = _invite(method="BYE")
    txn = ServerTransaction(bye)
    assert txn.start(0.0) == [Deliver(bye)]
    assert txn.receive(bye, 0.1) == []  # TRYING: absorbed, nothing to resend yet
    ok = make_response(bye, 200, "OK")
    assert txn.respond(ok, 0.2) == [Send(ok)]
    assert txn.receive(bye, 0.7) == [Send(ok)]
    assert _run(txn, 40.0) == [(32.2, Terminated())]
    reliable = ServerTransaction(bye, reliable=True)
    reliable.start(0.0)
    assert reliable.respond(ok, 0.0) == [Send(ok), Terminated()]


# ---------------------------------------------------------------------------------- CANCEL


def _pipe(actions: list[Action]) -> list[Request | Response]:
    return [_wire(a.message) for a in actions if isinstance(a, Send)]


def test_cancel_before_200_ends_the_invite_with_487() -> None:
    uac = ClientInviteTransaction(_invite())
    (invite,) = _pipe(uac.start(0.0))
    assert isinstance(invite, Request)
    uas = ServerInviteTransaction(invite)
    for response in _pipe(uas.start(0.0) + uas.respond(make_response(invite, 180, "Ringing",
                                                                     to_tag="s1"), 0.1)):
        assert isinstance(response, Response)
        uac.receive(response, 0.1)
    cancel = make_cancel(uac.request)
    assert cancel.vias[0].branch == invite.vias[0].branch and cancel.uri == invite.uri
    assert cancel.cseq.number == invite.cseq.number and cancel.cseq.method == "CANCEL"
    cancel_client = ClientTransaction(cancel)
    (wire_cancel,) = _pipe(cancel_client.start(1.0))
    assert isinstance(wire_cancel, Request)
    assert cancelled_key(wire_cancel) == server_key(invite)
    cancel_server = ServerTransaction(wire_cancel)
    cancel_server.start(1.0)
    (cancel_ok,) = _pipe(cancel_server.respond(make_response(wire_cancel, 200, "OK",
                                                             to_tag="s1"), 1.0))
    (terminated,) = _pipe(uas.cancel(1.0))
    assert isinstance(terminated, Response) and terminated.status == 487
    assert terminated.to.tag == "s1"  # the tag of the provisional response
    assert isinstance(cancel_ok, Response)
    assert client_key(cancel_ok) == (cancel.vias[0].branch, "CANCEL")
    assert cancel_client.receive(cancel_ok, 1.1) == [Deliver(cancel_ok)]
    actions = uac.receive(terminated, 1.1)
    (ack,) = _pipe(actions)
    assert isinstance(ack, Request) and ack.method == "ACK"
    assert Deliver(terminated) in actions and uac.state is State.COMPLETED
    assert uas.receive(ack, 1.2) == [] and uas.state is State.CONFIRMED


def test_cancel_after_200_has_no_effect_on_the_invite() -> None:
    uac = ClientInviteTransaction(_invite())
    (invite,) = _pipe(uac.start(0.0))
    assert isinstance(invite, Request)
    uas = ServerInviteTransaction(invite)
    uas.start(0.0)
    ok = make_response(invite, 200, "OK", to_tag="s1",
                       extra=(("Contact", "<sip:percl@198.51.100.1:5060>"),))
    uas.respond(ok, 0.5)
    assert uas.cancel(0.6) == [] and uas.state is State.ACCEPTED  # CANCEL itself gets a 200
    assert uac.receive(ok, 0.7) == [Deliver(ok), Terminated()]
    # The caller must now ACK the 200 and send BYE: the call was answered.
    dialog = Dialog.as_uac(uac.request, ok)
    dialog, bye = dialog.request("BYE", "SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKbye")
    assert bye.uri.host == "198.51.100.1" and bye.cseq.number == 2


# --------------------------------------------------------------------------------- dialogs


def _ok_through_proxies() -> tuple[Request, Response]:
    invite = _invite()
    invite = Request(method="INVITE", uri=invite.uri, headers=invite.headers.add(
        "Route", "<sip:outbound.example.net;lr>", first=False))
    ok = make_response(invite, 200, "OK", to_tag="b9", extra=(
        ("Record-Route", "<sip:p2.example.net;lr>"),
        ("Record-Route", "<sip:p1.example.net;lr>"),
        ("Contact", "<sip:bob@203.0.113.7:5070;transport=udp>"),
    ))
    return invite, ok


def test_uac_in_dialog_ack_and_bye_follow_contact_and_record_route() -> None:
    invite, ok = _ok_through_proxies()
    dialog = Dialog.as_uac(invite, _wire(ok))  # type: ignore[arg-type]
    assert [str(r.uri) for r in dialog.route_set] == ["sip:p1.example.net;lr",
                                                      "sip:p2.example.net;lr"]
    ack = _wire(dialog.ack(1, "SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKack"))
    assert isinstance(ack, Request)
    assert str(ack.uri) == "sip:bob@203.0.113.7:5070;transport=udp"  # not the original R-URI
    assert [str(r.uri) for r in ack.routes] == ["sip:p1.example.net;lr", "sip:p2.example.net;lr"]
    assert ack.cseq.number == 1 and ack.cseq.method == "ACK" and ack.to.tag == "b9"
    assert str(dialog.next_hop()) == "sip:p1.example.net;lr"
    dialog, bye = dialog.request("BYE", "SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKbye")
    assert bye.uri == ack.uri and bye.routes == ack.routes and bye.cseq.number == 2
    assert bye.from_.tag == "a1" and bye.to.tag == "b9"
    assert dialog.request("INFO", "SIP/2.0/UDP h;branch=z9hG4bKx")[1].cseq.number == 3


def test_uas_dialog_keeps_record_route_order_and_checks_cseq() -> None:
    invite, _ = _ok_through_proxies()
    invite = Request(method="INVITE", uri=invite.uri, headers=invite.headers.add(
        "Record-Route", "<sip:p1.example.net;lr>, <sip:p2.example.net;lr>"))
    dialog = Dialog.as_uas(_wire(invite), "s7")  # type: ignore[arg-type]
    assert [r.uri.host for r in dialog.route_set] == ["p1.example.net", "p2.example.net"]
    dialog, bye = dialog.request("BYE", "SIP/2.0/UDP 198.51.100.1;branch=z9hG4bKb2")
    assert str(bye.uri) == "sip:alice@192.0.2.10:5060" and bye.from_.tag == "s7"
    assert bye.to.tag == "a1" and bye.cseq.number == 1
    their_bye = Request(method="BYE", uri=bye.uri, headers=Headers((
        ("Via", "SIP/2.0/UDP 192.0.2.10;branch=z9hG4bKtheirs"),
        ("From", "<sip:alice@example.com>;tag=a1"), ("To", "<sip:x@y>;tag=s7"),
        ("Call-ID", "call-1@192.0.2.10"), ("CSeq", "2 BYE"))))
    assert dialog.receive(their_bye).remote_cseq == 2
    stale = Request(method="BYE", uri=bye.uri, headers=their_bye.headers.set("CSeq", "0 BYE"))
    with pytest.raises(DialogError) as error:
        dialog.receive(stale)
    assert error.value.status == 500
    other = Request(method="BYE", uri=bye.uri, headers=their_bye.headers.set("Call-ID", "zz"))
    with pytest.raises(DialogError) as error:
        dialog.receive(other)
    assert error.value.status == 481


def test_strict_router_goes_in_the_request_uri() -> None:
    invite, ok = _ok_through_proxies()
    ok = Response(status=200, reason="OK", headers=ok.headers.remove("Record-Route").add(
        "Record-Route", "<sip:strict.example.net;transport=udp>"))
    dialog = Dialog.as_uac(invite, ok)
    _, bye = dialog.request("BYE", "SIP/2.0/UDP h;branch=z9hG4bKs")
    assert str(bye.uri) == "sip:strict.example.net"
    assert [str(r.uri) for r in bye.routes] == ["sip:bob@203.0.113.7:5070;transport=udp"]


def test_dialog_creation_needs_tags_and_one_contact() -> None:
    invite, ok = _ok_through_proxies()
    with pytest.raises(DialogError):
        Dialog.as_uac(invite, make_response(invite, 200, "OK"))  # no To tag
    with pytest.raises(DialogError):
        Dialog.as_uac(invite, Response(200, "OK", ok.headers.remove("Contact")))
    early = Dialog.as_uac(invite, make_response(invite, 183, "Session Progress", to_tag="b9",
                                                extra=(("Contact", "<sip:early@203.0.113.7>"),)))
    assert early.early and early.remote_target.user == "early"
    confirmed = early.confirmed(ok)
    assert not confirmed.early and confirmed.remote_target.user == "bob"
    with pytest.raises(DialogError):
        dialog = Dialog.as_uac(invite, ok)
        dialog.request("ACK", "SIP/2.0/UDP h;branch=z9hG4bKa")


def test_cancel_before_any_provisional_with_a_tag_still_tags_the_487() -> None:
    invite = _invite()
    uas = ServerInviteTransaction(invite)
    uas.start(0.0)  # only 100 Trying so far, which has no To tag
    (send, *_) = uas.cancel(0.5)
    assert isinstance(send, Send) and isinstance(send.message, Response)
    assert send.message.status == 487 and send.message.to.tag


_STATUSES = st.sampled_from([100, 180, 183, 200, 202, 302, 404, 486, 487, 500, 603])


@given(st.booleans(), st.booleans(), st.lists(st.tuples(st.floats(0, 60), _STATUSES), max_size=12))
@settings(max_examples=200, deadline=None)
def test_client_transactions_always_end_and_deliver_one_final(invite: bool, reliable: bool,
                                                              responses: list[tuple[float, int]]) -> None:
    request = _invite(method="INVITE" if invite else "OPTIONS")
    txn: ClientInviteTransaction | ClientTransaction = (
        ClientInviteTransaction(request, reliable=reliable) if invite
        else ClientTransaction(request, reliable=reliable))
    actions = txn.start(0.0)
    for at, status in sorted(responses):
        actions += txn.on_time(at)
        actions += txn.receive(make_response(request, status, "X", to_tag="t"), at)
    actions += txn.on_time(1000.0)
    if isinstance(txn, ClientInviteTransaction) and txn.state is State.PROCEEDING:
        actions += txn.give_up(1000.0)  # ringing never times out by itself: the TU ends it
    assert txn.state is State.TERMINATED and txn.next_deadline() is None
    finals = [a for a in actions if isinstance(a, Deliver) and a.message.status >= 200]  # type: ignore[union-attr]
    timeouts = [a for a in actions if isinstance(a, TimedOut)]
    assert len(finals) + len(timeouts) == 1  # the TU hears exactly one outcome
    assert actions.count(Terminated()) == 1


@given(st.booleans(), st.booleans(), _STATUSES.filter(lambda s: s >= 200),
       st.lists(st.tuples(st.floats(0, 60), st.sampled_from(["request", "ack"])), max_size=12))
@settings(max_examples=200, deadline=None)
def test_server_transactions_end_after_a_final_response(invite: bool, reliable: bool, status: int,
                                                        inputs: list[tuple[float, str]]) -> None:
    request = _invite(method="INVITE" if invite else "OPTIONS")
    txn: ServerInviteTransaction | ServerTransaction = (
        ServerInviteTransaction(request, reliable=reliable) if invite
        else ServerTransaction(request, reliable=reliable))
    txn.start(0.0)
    txn.respond(make_response(request, status, "X", to_tag="t"), 0.0)
    ack = Request(method="ACK", uri=request.uri, headers=request.headers.set("CSeq", "1 ACK"))
    for at, kind in sorted(inputs):
        txn.on_time(at)
        if kind == "request":
            txn.receive(request, at)
        elif isinstance(txn, ServerInviteTransaction):
            (txn.receive_ack if status < 300 else txn.receive)(ack, at)
    txn.on_time(1000.0)
    assert txn.state is State.TERMINATED and txn.next_deadline() is None
