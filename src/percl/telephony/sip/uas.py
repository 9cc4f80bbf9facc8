"""A small answering UAS, sans-I/O: INVITE -> 100, 200 with an SDP answer; BYE ends the call.

This is the first user of the transaction and dialog layers and the piece the sipp test drives
through `udp.py`. It answers every INVITE it can, at once or after `ring_seconds` of 180 Ringing
(during which a CANCEL ends the call with 487); it has no engine, numbers or ACL yet (that is the
engine integration still to come). It refuses SDP it cannot do with 488, answers CANCEL, OPTIONS and
BYE, and reports `CallAnswered` / `CallEnded` events for its owner. It does not open RTP sockets:
the answer names the port `LocalMedia` gives it, which the owner is expected to listen on.

Responses go where RFC 3261 18.2.2 and RFC 3581 say: to the top Via's `received` address and
`rport` port when the client asked for rport, else to the source address and the Via's port.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from percl.telephony.sip.dialog import Dialog, DialogError, new_tag
from percl.telephony.sip.message import (
    ParseError,
    Request,
    Response,
    make_response,
    parse_head,
    parse_message,
    serialize,
)
from percl.telephony.sip.sdp import (
    AudioParams,
    LocalMedia,
    SdpError,
    SdpRefused,
    answer_offer,
    parse_sdp,
    serialize_sdp,
)
from percl.telephony.sip.transaction import (
    Action,
    Send,
    ServerInviteTransaction,
    ServerTransaction,
    Terminated,
    TimedOut,
    cancelled_key,
    server_key,
)

Address = tuple[str, int]
ALLOW = "INVITE, ACK, CANCEL, BYE, OPTIONS"


@dataclass(frozen=True, slots=True)
class Outgoing:
    data: bytes
    address: Address
    transport: str = "UDP"  # "TCP" or "TLS": the owner sends it on a stream (agent.py)


@dataclass(frozen=True, slots=True)
class CallAnswered:
    call_id: str
    audio: AudioParams


@dataclass(frozen=True, slots=True)
class CallEnded:
    call_id: str
    reason: str  # "bye", "cancel", "no-ack"


Event = CallAnswered | CallEnded
ServerKey = tuple[str, str, int | None, str]


@dataclass
class _Call:
    dialog: Dialog
    invite: ServerInviteTransaction
    audio: AudioParams
    source: Address


@dataclass
class AnsweringUas:
    """Feed it datagrams (`receive`) and the time (`on_time`); send what it returns."""

    contact: str  # our Contact URI, e.g. "sip:percl@127.0.0.1:5060"
    media: Callable[[str], LocalMedia]  # call id -> where this call's RTP would be received
    ring_seconds: float = 0.0  # > 0: answer 180 Ringing first and 200 that much later
    events: list[Event] = field(default_factory=list)
    _invites: dict[ServerKey, tuple[ServerInviteTransaction, Address]] = field(default_factory=dict)
    _others: dict[ServerKey, tuple[ServerTransaction, Address]] = field(default_factory=dict)
    _calls: dict[str, _Call] = field(default_factory=dict)
    _ringing: dict[ServerKey, tuple[float, Response, _Call]] = field(default_factory=dict)

    def next_deadline(self) -> float | None:
        deadlines = [t.next_deadline() for t, _ in (*self._invites.values(), *self._others.values())]
        deadlines += [at for at, _, _ in self._ringing.values()]
        return min((d for d in deadlines if d is not None), default=None)

    def on_time(self, now: float) -> list[Outgoing]:
        out: list[Outgoing] = []
        for key, (at, ok, call) in list(self._ringing.items()):
            if at <= now:
                del self._ringing[key]
                out += self._answer_call(key, ok, call, now)
        for key, (txn, source) in list(self._invites.items()):
            out += self._run(key, txn, source, txn.on_time(now))
        for key, (other, source) in list(self._others.items()):
            out += self._run(key, other, source, other.on_time(now))
        return out

    def receive(self, data: bytes, source: Address, now: float) -> list[Outgoing]:
        """One datagram from `source`. Garbage requests get a 400 when they can be answered."""
        try:
            message = parse_message(data)
        except ParseError as error:
            return self._bad_request(data, source, str(error))
        if isinstance(message, Response):
            return []  # this UAS sends no requests of its own yet
        return self._request(message, source, now)

    def _bad_request(self, data: bytes, source: Address, reason: str) -> list[Outgoing]:
        response = _bad_request_response(data, source, reason)
        return [] if response is None else [response]

    def _request(self, request: Request, source: Address, now: float) -> list[Outgoing]:
        request = _stamp_via(request, source)
        key = server_key(request)
        if request.method in ("INVITE", "ACK") and key in self._invites:
            txn, _ = self._invites[key]
            return self._run(key, txn, source, txn.receive(request, now))
        if key in self._others:
            other, _ = self._others[key]
            return self._run(key, other, source, other.receive(request, now))
        if request.method == "ACK":
            return self._ack(request, source, now)
        if request.method == "INVITE":
            return self._invite(request, key, source, now)
        return self._non_invite(request, key, source, now)

    def _invite(self, invite: Request, key: ServerKey, source: Address,
                now: float) -> list[Outgoing]:
        txn = ServerInviteTransaction(invite)
        self._invites[key] = (txn, source)
        out = self._run(key, txn, source, txn.start(now))
        tag = new_tag()
        try:
            if invite.to.tag is not None:
                raise DialogError("re-INVITE is not supported yet", 488)
            local = self.media(invite.call_id)
            answer, audio = answer_offer(parse_sdp(invite.body), local)
            dialog = Dialog.as_uas(invite, tag)
        except (SdpRefused, SdpError, DialogError) as error:
            status = getattr(error, "status", 400)
            reason = "Not Acceptable Here" if status == 488 else "Bad Request"
            return out + self._run(key, txn, source, txn.respond(
                make_response(invite, status, reason, to_tag=tag), now))
        call = _Call(dialog, txn, audio, source)
        ok = make_response(invite, 200, "OK", to_tag=tag, body=serialize_sdp(answer), extra=(
            ("Contact", f"<{self.contact}>"), ("Allow", ALLOW),
            ("Content-Type", "application/sdp")))
        if self.ring_seconds <= 0:
            return out + self._answer_call(key, ok, call, now)
        self._ringing[key] = (now + self.ring_seconds, ok, call)
        ringing = make_response(invite, 180, "Ringing", to_tag=tag,
                                extra=(("Contact", f"<{self.contact}>"),))
        return out + self._run(key, txn, source, txn.respond(ringing, now))

    def _answer_call(self, key: ServerKey, ok: Response, call: _Call,
                     now: float) -> list[Outgoing]:
        self._calls[call.dialog.call_id] = call
        self.events.append(CallAnswered(call.dialog.call_id, call.audio))
        return self._run(key, call.invite, call.source, call.invite.respond(ok, now))

    def _ack(self, ack: Request, source: Address, now: float) -> list[Outgoing]:
        call = self._calls.get(ack.call_id)
        if call is None or not call.dialog.matches(ack):
            return []
        key = server_key(call.invite.request)
        return self._run(key, call.invite, source, call.invite.receive_ack(ack, now))

    def _non_invite(self, request: Request, key: ServerKey, source: Address,
                    now: float) -> list[Outgoing]:
        txn = ServerTransaction(request)
        self._others[key] = (txn, source)
        out = self._run(key, txn, source, txn.start(now))
        status, reason = self._answer(request)
        extra = (("Allow", ALLOW),) if request.method == "OPTIONS" else ()
        response = make_response(request, status, reason, to_tag=request.to.tag or new_tag(),
                                 extra=extra)
        out += self._run(key, txn, source, txn.respond(response, now))
        if request.method == "CANCEL" and status == 200:
            out += self._cancel_invite(request, now)
        return out

    def _answer(self, request: Request) -> tuple[int, str]:
        if request.method == "OPTIONS":
            return 200, "OK"
        if request.method == "BYE":
            call = self._calls.get(request.call_id)
            if call is None or not call.dialog.matches(request):
                return 481, "Call/Transaction Does Not Exist"
            del self._calls[request.call_id]
            self.events.append(CallEnded(request.call_id, "bye"))
            return 200, "OK"
        if request.method == "CANCEL":
            if cancelled_key(request) not in self._invites:
                return 481, "Call/Transaction Does Not Exist"
            return 200, "OK"
        return 501, "Not Implemented"

    def _cancel_invite(self, cancel: Request, now: float) -> list[Outgoing]:
        """The INVITE a CANCEL matched gets 487 if it is still pending (RFC 3261 9.2)."""
        key = cancelled_key(cancel)
        invite_txn, source = self._invites[key]
        actions = invite_txn.cancel(now)
        if actions and self._ringing.pop(key, None) is not None:
            self.events.append(CallEnded(cancel.call_id, "cancel"))
        return self._run(key, invite_txn, source, actions)

    def _run(self, key: ServerKey, txn: ServerInviteTransaction | ServerTransaction,
             source: Address, actions: list[Action]) -> list[Outgoing]:
        out: list[Outgoing] = []
        for action in actions:
            if isinstance(action, Send) and isinstance(action.message, Response):
                out.append(Outgoing(serialize(action.message),
                                    _response_address(txn.request, source)))
            elif isinstance(action, TimedOut) and isinstance(txn, ServerInviteTransaction):
                if self._calls.pop(txn.request.call_id, None) is not None:
                    self.events.append(CallEnded(txn.request.call_id, "no-ack"))
            elif isinstance(action, Terminated):
                self._invites.pop(key, None)
                self._others.pop(key, None)
            # Deliver: this UAS decides at once, in _invite and _answer.
        return out


def _bad_request_response(data: bytes, source: Address, reason: str) -> Outgoing | None:
    """The 400 for a request percl could not parse, or None for what cannot be answered."""
    # Answer 400 only when the headers a response needs could be read (RFC 3261 8.2.x);
    # a datagram of noise gets nothing.
    try:
        request = parse_head(data.split(b"\r\n\r\n", 1)[0])
    except ParseError:
        return None
    if not isinstance(request, Request) or request.method == "ACK":
        return None
    request = _stamp_via(request, source)
    response = make_response(request, 400, f"Bad Request ({reason[:80]})", to_tag=new_tag())
    return Outgoing(serialize(response), _response_address(request, source))


def _stamp_via(request: Request, source: Address) -> Request:
    """Add received= and rport= to the top Via (RFC 3261 18.2.1, RFC 3581 4)."""
    via = request.vias[0]
    stamped = via
    # Also when the client put a received= of its own: responses go only to where it sent from.
    if via.host != source[0] or via.rport is not None or via.received is not None:
        stamped = stamped.with_param("received", source[0])
    if via.rport is not None:
        stamped = stamped.with_param("rport", str(source[1]))
    if stamped == via:
        return request
    values = [str(stamped), *request.headers.get_all("Via")[1:]]
    headers = request.headers.remove("Via")
    for value in reversed(values):
        headers = headers.add("Via", value, first=True)
    return Request(method=request.method, uri=request.uri, headers=headers, body=request.body)


def _response_address(request: Request, source: Address) -> Address:
    """Where a response to `request` goes (RFC 3261 18.2.2, RFC 3581 4).

    `_stamp_via` has already put the source address in `received` whenever the Via's host is not
    it, so the Via alone decides.
    """
    via = request.vias[0]
    host = via.received or via.host
    if via.rport:
        return host, int(via.rport)
    return host, via.port if via.port is not None else 5060
