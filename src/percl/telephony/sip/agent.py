"""A SIP user agent, sans-I/O: both ends of calls (UAS for inbound, UAC for outbound).

Why a second core beside uas.py: the answering UAS decides everything at once; a trunk cannot.
An inbound INVITE has to wait for the ACL, the number lookup and the engine's answer, and an
outbound INVITE has to be cancelled when the engine's ring timeout fires. So this agent reports
what happened as events (`Incoming`, `Progress`, `Answered`, `Failed`, `Ended`) and its owner (the
asyncio shell in line.py, or a test) acts later through `respond`, `invite` and `hang_up`. Like
every core in this package it never reads a clock or touches a socket: bytes and times in,
`Outgoing` datagrams out; `next_deadline` / `on_time` drive the transactions' timers.

Calls are keyed by their Call-ID (percl does not fork: one dialog per Call-ID). A call's life:

    inbound:  Incoming -> respond(1xx)* -> respond(2xx) -> ACK -> ... -> BYE either way -> Ended
                                        -> respond(3xx-6xx), or CANCEL (487, Ended "cancel")
    outbound: invite() -> Progress* -> Answered (ACK sent) -> ... -> BYE either way -> Ended
                                    -> Failed(status)  (408 when nobody answers at all)

`hang_up` does the right thing for the state: CANCEL a ringing outbound call (after its first
provisional response, RFC 3261 9.1), answer a ringing inbound one 480, send BYE in a dialog.
Once the owner hung up, no further event is reported for the call.

A 401/407 challenge to an outbound INVITE is passed to `authorize` (the digest module's hook:
it returns the INVITE to send again with credentials, or None to give up); without it, the call
fails with that status.
"""

from __future__ import annotations

import heapq
import itertools
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from enum import StrEnum

from percl.telephony.sip.acl import Verdict
from percl.telephony.sip.dialog import Dialog, DialogError, new_tag
from percl.telephony.sip.message import (
    Headers,
    NameAddr,
    ParseError,
    Request,
    Response,
    Uri,
    make_response,
    parse_message,
    serialize,
)
from percl.telephony.sip.session_timer import (
    MIN_SE,
    SessionTimer,
    allows_update,
    answer_request,
    from_answer,
    refresh_headers,
    too_small,
)
from percl.telephony.sip.transaction import (
    T1,
    Action,
    ClientInviteTransaction,
    ClientTransaction,
    Deliver,
    Send,
    ServerInviteTransaction,
    ServerTransaction,
    Terminated,
    TimedOut,
    cancelled_key,
    client_key,
    make_cancel,
    new_branch,
    server_key,
)
from percl.telephony.sip.uas import Outgoing, _bad_request_response, _response_address, _stamp_via

Address = tuple[str, int]
ServerKey = tuple[str, str, int | None, str]
STREAMS = frozenset({"TCP", "TLS"})
ALLOW = "INVITE, ACK, CANCEL, BYE, OPTIONS, UPDATE"
USER_AGENT = "percl"

#: The digest hook: (the request that was challenged, the 401/407) -> the request to send again.
Authorize = Callable[[Request, Response], Request | None]
#: The admission hook for dialog-creating requests (acl.Admission via the line): (the INVITE,
#: its source, now) -> a verdict; a refused INVITE is answered (or dropped) before any call exists.
Admit = Callable[[Request, Address, float], Verdict]
#: A REGISTER's answer: (request, source, now) -> (status, extra headers).
Register = Callable[[Request, Address, float], tuple[int, tuple[tuple[str, str], ...]]]


@dataclass(frozen=True, slots=True)
class Incoming:
    """A new INVITE: answer it with `respond` (a 100 Trying has been sent)."""

    call_id: str
    request: Request
    source: Address


@dataclass(frozen=True, slots=True)
class Progress:
    """A provisional response (180, 183...) to an outbound INVITE; `body` is its SDP, if any."""

    call_id: str
    status: int
    body: bytes


@dataclass(frozen=True, slots=True)
class Answered:
    """A 2xx to an outbound INVITE (the ACK is on its way); `body` is the SDP answer."""

    call_id: str
    body: bytes


@dataclass(frozen=True, slots=True)
class Failed:
    """An outbound INVITE ended with this final status (408 when nothing answered)."""

    call_id: str
    status: int


@dataclass(frozen=True, slots=True)
class Ended:
    """The far end ended a call: "bye", "cancel", "no-ack" (our 2xx was never acknowledged) or
    "session-expired" (no session refresh in time: percl sent BYE, RFC 4028)."""

    call_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class Reoffer:
    """A re-INVITE (hold, resume, new address) inside a dialog: answer it with `respond`."""

    call_id: str
    body: bytes


Event = Incoming | Progress | Answered | Failed | Ended | Reoffer


class Phase(StrEnum):
    CALLING = "calling"  # outbound: INVITE sent, nothing back yet
    RINGING = "ringing"  # a provisional response was sent (inbound) or received (outbound)
    ANSWERED = "answered"  # 2xx sent or received
    ENDED = "ended"


@dataclass
class _Call:
    call_id: str
    outbound: bool
    invite: Request
    hop: Address  # where the INVITE came from / went to
    transport: str = "UDP"  # "UDP", "TCP" or "TLS": the call's signalling goes this way
    phase: Phase = Phase.CALLING
    dialog: Dialog | None = None
    local_tag: str = field(default_factory=new_tag)
    uas: ServerInviteTransaction | None = None
    uac: ClientInviteTransaction | None = None
    ack: Request | None = None  # outbound: our ACK of the 2xx, resent for retransmitted 2xx
    cancel_wanted: bool = False  # outbound: hung up before any provisional response
    cancelled_at: float | None = None
    reinvite: ServerInviteTransaction | None = None
    authorized: bool = False
    hung_up: bool = False  # the owner ended it: report nothing more
    # Session timer (RFC 4028), when the peer asked for one: at `timer_at` percl refreshes (as
    # the refresher) or, not refreshed in time, sends BYE.
    timer: SessionTimer | None = None
    timer_at: float | None = None
    peer_update: bool = False  # the peer allows UPDATE: refresh with it, else re-INVITE
    local_sdp: bytes = b""  # our last offer or answer, for a re-INVITE refresh
    refresh_uac: ClientInviteTransaction | None = None  # our re-INVITE refresh in progress
    refresh_ack: Request | None = None  # its ACK, for a retransmitted 2xx
    refreshing: bool = False  # a refresh of ours awaits its answer


_TimerOwner = ServerTransaction | ClientTransaction | _Call


@dataclass
class SipAgent:
    """Feed it datagrams and the time; send the `Outgoing` it returns; read `events`."""

    host: str  # the advertised address, for Via and Contact
    port: int
    authorize: Authorize | None = None
    admit: Admit | None = None
    #: Answers a REGISTER (registrar.py via the line); without it REGISTER gets 501.
    register: Register | None = None
    #: The port percl listens on for each stream transport ("TCP", "TLS"), for Via and Contact.
    stream_ports: dict[str, int] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    _calls: dict[str, _Call] = field(default_factory=dict)
    _servers: dict[ServerKey, tuple[ServerTransaction, Address]] = field(default_factory=dict)
    _clients: dict[tuple[str, str], tuple[ClientTransaction, Address]] = field(default_factory=dict)
    _refreshes: dict[tuple[str, str], str] = field(default_factory=dict)  # UPDATE key -> Call-ID
    # Timer heap: (deadline, order, owner), pushed whenever an owner's timers may have changed
    # (`_watch`); an entry whose owner's deadline is no longer that one is stale and skipped.
    # Why: thousands of transactions linger (a UDP BYE's server transaction absorbs repeats
    # for 32 s), and scanning them all at every send and every timer cost more than the calls.
    _timers: list[tuple[float, int, _TimerOwner]] = field(default_factory=list)
    _order: itertools.count[int] = field(default_factory=itertools.count)

    @property
    def contact(self) -> str:
        return self._contact("UDP")

    def _contact(self, transport: str) -> str:
        if transport == "UDP":
            return f"<sip:percl@{self._hostport(transport)}>"
        return f"<sip:percl@{self._hostport(transport)};transport={transport.lower()}>"

    def _hostport(self, transport: str = "UDP") -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.stream_ports.get(transport, self.port)}"

    def _via(self, transport: str = "UDP") -> str:
        return f"SIP/2.0/{transport} {self._hostport(transport)};branch={new_branch()};rport"

    def phase(self, call_id: str) -> Phase | None:
        call = self._calls.get(call_id)
        return None if call is None else call.phase

    def take_events(self) -> list[Event]:
        events, self.events = self.events, []
        return events

    # ------------------------------------------------------------------ timers

    def next_deadline(self) -> float | None:
        timers = self._timers
        while timers and timers[0][0] != self._deadline_of(timers[0][2]):
            heapq.heappop(timers)  # stale: the owner's timers changed or ended since
        return timers[0][0] if timers else None

    def on_time(self, now: float) -> list[Outgoing]:
        owners: list[_TimerOwner] = []
        while self._timers and self._timers[0][0] <= now:
            owners.append(heapq.heappop(self._timers)[2])
        if not owners:
            return []
        due = {id(owner) for owner in owners}  # (`owners` keeps them alive: no id is reused)
        # The owners due run in the order a full scan would run them: servers, clients, calls.
        out: list[Outgoing] = []
        for key, (server, source) in list(self._servers.items()):
            if id(server) in due:
                out += self._run_server(key, server, source, server.on_time(now))
        for ckey, (client, hop) in list(self._clients.items()):
            if id(client) in due:
                out += self._run_client(ckey, client, hop, client.on_time(now), now)
        for call in list(self._calls.values()):
            if id(call) in due:
                out += self._call_timers(call, now)
        return out

    def _watch(self, owner: _TimerOwner) -> None:
        """Note `owner`'s next deadline: called after anything that may start its timers."""
        deadline = self._deadline_of(owner)
        if deadline is not None:
            heapq.heappush(self._timers, (deadline, next(self._order), owner))

    @staticmethod
    def _deadline_of(owner: _TimerOwner) -> float | None:
        if not isinstance(owner, _Call):
            return owner.next_deadline()
        deadlines = [t.next_deadline() for t in (owner.uas, owner.uac, owner.reinvite,
                                                 owner.refresh_uac) if t is not None]
        if owner.timer_at is not None and owner.phase is Phase.ANSWERED:
            deadlines.append(owner.timer_at)
        if owner.cancelled_at is not None and owner.uac is not None:
            deadlines.append(owner.cancelled_at + 64 * T1)
        return min((d for d in deadlines if d is not None), default=None)

    def _call_timers(self, call: _Call, now: float) -> list[Outgoing]:
        out: list[Outgoing] = []
        if call.refresh_uac is not None:
            out += self._run_refresh(call, call.refresh_uac.on_time(now), now)
        if (call.timer is not None and call.timer_at is not None and now >= call.timer_at
                and call.phase is Phase.ANSWERED):
            out += self._session_timer(call, call.timer, now)
        if call.uas is not None:
            out += self._run_uas(call, call.uas, call.uas.on_time(now), now)
        if call.reinvite is not None:
            out += self._run_uas(call, call.reinvite, call.reinvite.on_time(now), now)
        if call.uac is not None:
            if call.cancelled_at is not None and now >= call.cancelled_at + 64 * T1:
                call.cancelled_at = None
                out += self._run_uac(call, call.uac.give_up(now), now)
            elif call.uac is not None:
                out += self._run_uac(call, call.uac.on_time(now), now)
        self._watch(call)
        return out

    # ------------------------------------------------------------------ receiving

    def receive(self, data: bytes, source: Address, now: float) -> list[Outgoing]:
        """One datagram from `source`. A request percl cannot read gets a 400 where possible."""
        try:
            message = parse_message(data)
        except ParseError as error:
            response = _bad_request_response(data, source, str(error))
            return [] if response is None else [response]
        return self.receive_message(message, source, now)

    def receive_message(self, message: Request | Response, source: Address, now: float, *,
                        transport: str = "UDP") -> list[Outgoing]:
        """One parsed message from `source` that came over `transport` (a stream's framing
        parsed it: tcp.py). A request whose top Via names another transport than the one it
        came on is dropped: its responses would have nowhere to go (RFC 3261 18.2.2)."""
        if isinstance(message, Response):
            return self._response(message, now)
        if message.vias[0].transport.upper() != transport:
            return []
        return self._request(_stamp_via(message, source), source, now)

    def _request(self, request: Request, source: Address, now: float) -> list[Outgoing]:
        key = server_key(request)
        if key in self._servers:
            server, _ = self._servers[key]
            return self._run_server(key, server, source, server.receive(request, now))
        call = self._calls.get(request.call_id)
        if request.method in ("INVITE", "ACK") and call is not None:
            return self._in_call(call, request, key, source, now)
        if request.method == "ACK":
            return []  # an ACK for nothing we know
        if request.method == "INVITE":
            return self._new_invite(request, source, now)
        return self._non_invite(request, key, source, now)

    def _in_call(self, call: _Call, request: Request, key: ServerKey, source: Address,
                 now: float) -> list[Outgoing]:
        """An INVITE or ACK for a call we know: retransmission, ACK of our 2xx, or re-INVITE."""
        for txn in (call.uas, call.reinvite):
            if txn is not None and server_key(txn.request) == key:
                return self._run_uas(call, txn, txn.receive(request, now), now)
        if request.method == "ACK":
            for txn in (call.uas, call.reinvite):
                if txn is not None and txn.request.cseq.number == request.cseq.number:
                    return self._run_uas(call, txn, txn.receive_ack(request, now), now)
            return []
        return self._reinvite(call, request, source, now)

    def _new_invite(self, invite: Request, source: Address, now: float) -> list[Outgoing]:
        if invite.to.tag is not None:
            txn = ServerInviteTransaction(invite, reliable=_reliable(invite))
            response = make_response(invite, 481, "Call/Transaction Does Not Exist")
            return self._send_responses(txn.request, source, txn.start(now, trying=False)
                                        + txn.respond(response, now))
        if self.admit is not None:
            verdict = self.admit(invite, source, now)
            if not verdict.admitted:
                return self._refuse_new(invite, source, verdict, now)
        if too_small(invite):
            return self._refuse_new(invite, source, Verdict(422, "session interval too small"),
                                    now)
        call = _Call(invite.call_id, outbound=False, invite=invite, hop=source,
                     transport=invite.vias[0].transport.upper(), peer_update=allows_update(invite))
        call.uas = ServerInviteTransaction(invite, reliable=_reliable(invite))
        self._calls[call.call_id] = call
        self.events.append(Incoming(call.call_id, invite, source))
        return self._run_uas(call, call.uas, call.uas.start(now), now)

    def _refuse_new(self, invite: Request, source: Address, verdict: Verdict,
                    now: float) -> list[Outgoing]:
        """A refused new INVITE: its final answer at once (no call, no 100), or nothing when the
        verdict is silent (answering a flood from a stranger amplifies it)."""
        if verdict.silent:
            return []
        extra: list[tuple[str, str]] = [("Server", USER_AGENT)]
        if verdict.retry_after is not None:
            extra.append(("Retry-After", str(verdict.retry_after)))
        if verdict.challenge is not None:
            extra.append(("Proxy-Authenticate", verdict.challenge))
        if verdict.status == 422:
            extra.append(("Min-SE", str(MIN_SE)))
        txn = ServerInviteTransaction(invite, reliable=_reliable(invite))
        response = make_response(invite, verdict.status, _reason(verdict.status),
                                 to_tag=new_tag(), extra=tuple(extra))
        return self._send_responses(txn.request, source, txn.start(now, trying=False)
                                    + txn.respond(response, now))

    def _reinvite(self, call: _Call, request: Request, source: Address,
                  now: float) -> list[Outgoing]:
        txn = ServerInviteTransaction(request, reliable=_reliable(request))
        out = self._send_responses(request, source, txn.start(now))
        try:
            if call.dialog is None or call.phase is not Phase.ANSWERED:
                raise DialogError("no confirmed dialog", 481)
            call.dialog = call.dialog.receive(request)
        except DialogError as error:
            response = make_response(request, error.status, _reason(error.status))
            return out + self._send_responses(request, source, txn.respond(response, now))
        pending = call.reinvite is not None and call.reinvite.state.value == "proceeding"
        if pending or call.refresh_uac is not None:  # glare with ours: 491 (RFC 3261 14.2)
            response = make_response(request, 491, "Request Pending")
            return out + self._send_responses(request, source, txn.respond(response, now))
        if too_small(request):
            response = make_response(request, 422, _reason(422), extra=(("Min-SE", str(MIN_SE)),))
            return out + self._send_responses(request, source, txn.respond(response, now))
        call.reinvite = txn
        self._watch(call)
        self.events.append(Reoffer(call.call_id, request.body))
        return out

    def _non_invite(self, request: Request, key: ServerKey, source: Address,
                    now: float) -> list[Outgoing]:
        server = ServerTransaction(request, reliable=_reliable(request))
        self._servers[key] = (server, source)
        out = self._run_server(key, server, source, server.start(now))
        status, extra = self._answer_non_invite(request, source, now)
        response = make_response(request, status, _reason(status),
                                 to_tag=request.to.tag or new_tag(), extra=extra)
        out += self._run_server(key, server, source, server.respond(response, now))
        if request.method == "CANCEL" and status == 200:
            out += self._cancel_inbound(request, now)
        return out

    def _answer_non_invite(self, request: Request, source: Address,
                           now: float) -> tuple[int, tuple[tuple[str, str], ...]]:
        if request.method == "REGISTER" and self.register is not None:
            return self.register(request, source, now)
        if request.method == "OPTIONS":
            return 200, (("Allow", ALLOW), ("Accept", "application/sdp"))
        if request.method == "CANCEL":
            found = any(c.uas is not None and server_key(c.uas.request) == cancelled_key(request)
                        for c in self._calls.values())
            return (200 if found else 481), ()
        if request.method == "BYE":
            call = self._calls.get(request.call_id)
            if call is None or call.dialog is None or not call.dialog.matches(request):
                return 481, ()
            self._end(call, "bye")
            return 200, ()
        if request.method == "UPDATE":
            return self._update(request, now)
        return 501, (("Allow", ALLOW),)

    def _update(self, request: Request, now: float) -> tuple[int, tuple[tuple[str, str], ...]]:
        """An UPDATE (RFC 3311) in an answered call: a session refresh. One with an SDP offer
        is refused 488 (percl changes media only by re-INVITE)."""
        call = self._calls.get(request.call_id)
        if call is None or call.dialog is None or call.phase is not Phase.ANSWERED:
            return 481, ()
        try:
            call.dialog = call.dialog.receive(request)
        except DialogError as error:
            return error.status, ()
        if request.body:
            return 488, ()
        if too_small(request):
            return 422, (("Min-SE", str(MIN_SE)),)
        return 200, (("Contact", self._contact(call.transport)),
                     *self._start_timer(call, request, now))

    def _start_timer(self, call: _Call, request: Request,
                     now: float) -> tuple[tuple[str, str], ...]:
        """The session timer a request from the peer asks for (or none: off), started now;
        returns the headers its 2xx carries."""
        answer = answer_request(request)
        if answer is None:
            call.timer = call.timer_at = None
            return ()
        call.timer, headers = answer
        call.timer_at = call.timer.deadline(now)
        self._watch(call)
        return tuple(headers)

    def _session_timer(self, call: _Call, timer: SessionTimer, now: float) -> list[Outgoing]:
        """The session timer's deadline: refresh (as the refresher, once), else the session
        expired: end the call with BYE."""
        if timer.we_refresh and not call.refreshing:
            call.refreshing = True
            call.timer_at = now + timer.interval / 2  # the session's end, if nothing answers
            return self._refresh(call, timer, now)
        call.timer = call.timer_at = None
        if not call.hung_up:
            self.events.append(Ended(call.call_id, "session-expired"))
        call.hung_up = True
        return self._bye(call, now)

    def _refresh(self, call: _Call, timer: SessionTimer, now: float) -> list[Outgoing]:
        """A session refresh: UPDATE when the peer allows it (no offer), else a re-INVITE with
        our last SDP."""
        assert call.dialog is not None
        via = self._via(call.transport)
        extra = (("Contact", self._contact(call.transport)), *refresh_headers(timer))
        reliable = call.transport in STREAMS
        if call.peer_update:
            call.dialog, update = call.dialog.request("UPDATE", via, extra=extra)
            self._refreshes[client_key(update)] = call.call_id
            return self._start_client(update, self._dialog_hop(call), now, reliable=reliable)
        call.dialog, invite = call.dialog.request(
            "INVITE", via, body=call.local_sdp,
            extra=(*extra, ("Content-Type", "application/sdp")) if call.local_sdp else extra)
        call.refresh_uac = ClientInviteTransaction(invite, reliable=reliable)
        return self._run_refresh(call, call.refresh_uac.start(now), now)

    def _run_refresh(self, call: _Call, actions: list[Action], now: float) -> list[Outgoing]:
        out: list[Outgoing] = []
        txn = call.refresh_uac
        for action in actions:
            if isinstance(action, Send):
                out.append(_out(action.message, self._dialog_hop(call)))
            elif isinstance(action, Deliver) and isinstance(action.message, Response):
                response = action.message
                if 200 <= response.status < 300 and call.dialog is not None and txn is not None:
                    call.refresh_ack = call.dialog.ack(txn.request.cseq.number,
                                                       self._via(call.transport))
                    out.append(_out(call.refresh_ack, self._dialog_hop(call)))
                if response.status >= 200:
                    out += self._refreshed(call, response.status, response, now)
            elif isinstance(action, TimedOut):
                out += self._refreshed(call, 408, None, now)
            elif isinstance(action, Terminated):
                call.refresh_uac = None
        self._watch(call)
        return out

    def _refreshed(self, call: _Call, status: int, response: Response | None,
                   now: float) -> list[Outgoing]:
        """Our refresh's final answer: a 2xx restarts the timer (as the answer sets it); 408
        or 481 mean the dialog is gone (BYE, RFC 4028 10); other refusals leave the session
        to expire."""
        call.refreshing = False
        if call.phase is not Phase.ANSWERED:
            return []
        if 200 <= status < 300 and response is not None:
            call.timer = from_answer(response)
            call.timer_at = None if call.timer is None else call.timer.deadline(now)
            self._watch(call)
            return []
        if status in (408, 481):
            call.timer = call.timer_at = None
            if not call.hung_up:
                self.events.append(Ended(call.call_id, "session-expired"))
            call.hung_up = True
            return self._bye(call, now)
        return []

    def _cancel_inbound(self, cancel: Request, now: float) -> list[Outgoing]:
        key = cancelled_key(cancel)
        call = next(c for c in self._calls.values()
                    if c.uas is not None and server_key(c.uas.request) == key)
        assert call.uas is not None
        actions = call.uas.cancel(now)
        if actions:
            self._end(call, "cancel")
        return self._run_uas(call, call.uas, actions, now)

    def _response(self, response: Response, now: float) -> list[Outgoing]:
        key = client_key(response)
        if key in self._clients:
            client, hop = self._clients[key]
            return self._run_client(key, client, hop, client.receive(response, now), now)
        call = self._calls.get(response.call_id)
        if call is not None and call.refresh_uac is not None and client_key(
                call.refresh_uac.request) == key:
            return self._run_refresh(call, call.refresh_uac.receive(response, now), now)
        if (call is not None and call.refresh_ack is not None and 200 <= response.status < 300
                and response.cseq.number == call.refresh_ack.cseq.number):
            return [_out(call.refresh_ack, self._dialog_hop(call))]  # our refresh's 2xx again
        if call is None or not call.outbound:
            return []
        if call.uac is not None and client_key(call.uac.request) == key:
            return self._run_uac(call, call.uac.receive(response, now), now)
        if 200 <= response.status < 300 and response.cseq.method == "INVITE" and call.ack:
            return [_out(call.ack, self._dialog_hop(call))]  # a 2xx again
        return []

    # ------------------------------------------------------------------ inbound: answering

    def respond(self, call_id: str, status: int, now: float, *, body: bytes = b"",
                reason: str | None = None) -> list[Outgoing]:
        """Answer the pending INVITE (or re-INVITE) of an inbound call. A 2xx needs the SDP
        answer as `body`. Unknown or finished calls are ignored (the caller may have gone)."""
        call = self._calls.get(call_id)
        if call is None or call.phase is Phase.ENDED:
            return []
        txn = call.reinvite if call.reinvite is not None else call.uas
        if txn is None or txn.state.value != "proceeding":
            return []
        timer: tuple[tuple[str, str], ...] = ()
        if 200 <= status < 300:
            timer = self._start_timer(call, txn.request, now)
            call.local_sdp = body or call.local_sdp
        response = self._response_for(call, txn.request, status, reason or _reason(status), body,
                                      timer)
        if txn is call.uas:
            if 100 < status < 200:
                call.phase = Phase.RINGING
            elif 200 <= status < 300:
                call.phase = Phase.ANSWERED
                call.dialog = Dialog.as_uas(txn.request, call.local_tag)
            elif status >= 300:
                call.phase = Phase.ENDED
                call.hung_up = True
        return self._run_uas(call, txn, txn.respond(response, now), now)

    def _response_for(self, call: _Call, request: Request, status: int, reason: str,
                      body: bytes, timer: tuple[tuple[str, str], ...] = ()) -> Response:
        extra: list[tuple[str, str]] = [("Server", USER_AGENT)]
        if 100 < status < 300:
            extra += [("Contact", self._contact(call.transport)), ("Allow", ALLOW),
                      ("Supported", "timer"), *timer]
        if body:
            extra.append(("Content-Type", "application/sdp"))
        return make_response(request, status, reason, to_tag=call.local_tag,
                             extra=tuple(extra), body=body)

    # ------------------------------------------------------------------ outbound: calling

    def invite(self, *, request_uri: Uri, from_: NameAddr, to: NameAddr, hop: Address,
               body: bytes, now: float, extra: tuple[tuple[str, str], ...] = (),
               transport: str = "UDP") -> tuple[str, list[Outgoing]]:
        """Place a call: an INVITE with SDP offer `body` to `request_uri`, sent to `hop` (the
        trunk's proxy) over `transport`. Returns the new Call-ID and what to send."""
        call_id = f"{secrets.token_hex(12)}@percl"
        tag = new_tag()
        headers = Headers((
            ("Via", self._via(transport)), ("Max-Forwards", "70"),
            ("From", str(from_.with_param("tag", tag))), ("To", str(to)),
            ("Call-ID", call_id), ("CSeq", "1 INVITE"), ("Contact", self._contact(transport)),
            ("Allow", ALLOW), ("Supported", "timer"), ("User-Agent", USER_AGENT), *extra,
            ("Content-Type", "application/sdp"),
        ))
        invite = Request(method="INVITE", uri=request_uri, headers=headers, body=body)
        call = _Call(call_id, outbound=True, invite=invite, hop=hop, local_tag=tag,
                     transport=transport, local_sdp=body)
        call.uac = ClientInviteTransaction(invite, reliable=transport in STREAMS)
        self._calls[call_id] = call
        return call_id, self._run_uac(call, call.uac.start(now), now)

    def _run_uac(self, call: _Call, actions: list[Action], now: float) -> list[Outgoing]:
        out: list[Outgoing] = []
        for action in actions:
            if isinstance(action, Send):
                out.append(_out(action.message, call.hop))
            elif isinstance(action, Deliver) and isinstance(action.message, Response):
                out += self._uac_response(call, action.message, now)
            elif isinstance(action, TimedOut):
                out += self._uac_failed(call, 408)
            elif isinstance(action, Terminated):
                call.uac = None
                call.cancelled_at = None
                if call.phase is Phase.ENDED:
                    self._calls.pop(call.call_id, None)
        self._watch(call)
        return out

    def _uac_response(self, call: _Call, response: Response, now: float) -> list[Outgoing]:
        if response.status >= 200:
            call.cancelled_at = None  # the INVITE got its final answer: nothing to give up
        if response.status < 200:
            return self._uac_provisional(call, response, now)
        if response.status < 300:
            return self._uac_answered(call, response, now)
        if response.status in (401, 407) and not call.authorized and not call.hung_up:
            retry = self.authorize(call.invite, response) if self.authorize else None
            if retry is not None:
                return self._uac_retry(call, retry, now)
        return self._uac_failed(call, response.status)

    def _uac_provisional(self, call: _Call, response: Response, now: float) -> list[Outgoing]:
        if call.phase is Phase.CALLING:
            call.phase = Phase.RINGING
        if call.cancel_wanted:
            call.cancel_wanted = False
            return self._send_cancel(call, now)
        if response.status > 100 and not call.hung_up:
            self.events.append(Progress(call.call_id, response.status, response.body))
        return []

    def _uac_answered(self, call: _Call, response: Response, now: float) -> list[Outgoing]:
        try:
            dialog = Dialog.as_uac(call.invite, response)
        except DialogError:
            return self._uac_failed(call, 502)  # a 2xx we cannot follow (no Contact)
        ack = dialog.ack(call.invite.cseq.number, self._via(call.transport))
        call.dialog, call.ack, call.phase = dialog, ack, Phase.ANSWERED
        call.peer_update = allows_update(response)
        call.timer = from_answer(response)  # the peer's session timer, when it asked for one
        call.timer_at = None if call.timer is None else call.timer.deadline(now)
        out = [_out(ack, self._dialog_hop(call))]
        if call.hung_up:
            return out + self._bye(call, now)  # hung up while the 2xx was on its way
        self.events.append(Answered(call.call_id, response.body))
        return out

    def _uac_retry(self, call: _Call, retry: Request, now: float) -> list[Outgoing]:
        """The challenged INVITE again with credentials: a new transaction, CSeq + 1."""
        headers = retry.headers.set("Via", self._via(call.transport)).set(
            "CSeq", f"{call.invite.cseq.number + 1} INVITE")
        call.invite = replace(retry, headers=headers)
        call.authorized = True
        call.uac = ClientInviteTransaction(call.invite, reliable=call.transport in STREAMS)
        return self._run_uac(call, call.uac.start(now), now)

    def _uac_failed(self, call: _Call, status: int) -> list[Outgoing]:
        if call.phase is not Phase.ENDED:
            call.phase = Phase.ENDED
            if not call.hung_up:
                self.events.append(Failed(call.call_id, status))
        if call.uac is None:
            self._calls.pop(call.call_id, None)
        return []

    # ------------------------------------------------------------------ hanging up

    def hang_up(self, call_id: str, now: float) -> list[Outgoing]:
        """The platform ends the call, whatever its state. Idempotent."""
        call = self._calls.get(call_id)
        if call is None or call.hung_up:
            return []
        call.hung_up = True
        if call.phase is Phase.ANSWERED:
            return self._bye(call, now)
        if not call.outbound:
            return self.respond(call_id, 480, now)
        if call.phase is Phase.CALLING:
            call.cancel_wanted = True  # CANCEL once a provisional response arrives (9.1)
            return []
        return self._send_cancel(call, now)

    def _send_cancel(self, call: _Call, now: float) -> list[Outgoing]:
        if call.uac is None:
            return []
        call.cancelled_at = now
        self._watch(call)
        return self._start_client(make_cancel(call.uac.request), call.hop, now,
                                  reliable=call.transport in STREAMS)

    def _bye(self, call: _Call, now: float) -> list[Outgoing]:
        assert call.dialog is not None
        call.dialog, bye = call.dialog.request("BYE", self._via(call.transport))
        call.phase = Phase.ENDED
        hop = self._dialog_hop(call)
        self._forget_later(call)
        return self._start_client(bye, hop, now, reliable=call.transport in STREAMS)

    def _forget_later(self, call: _Call) -> None:
        if call.uas is None and call.uac is None and call.reinvite is None:
            self._calls.pop(call.call_id, None)

    def _dialog_hop(self, call: _Call) -> Address:
        """Where in-dialog requests go: the first route or the remote target (RFC 3261 12.2.1.1).

        An inbound call's peer may sit behind a NAT that rewrote its Contact's address, so with
        no route set the requests go to where its INVITE came from (the symmetric choice)."""
        assert call.dialog is not None
        if not call.outbound and not call.dialog.route_set:
            return call.hop
        uri = call.dialog.next_hop()
        return uri.host.strip("[]"), uri.port or (5061 if call.transport == "TLS" else 5060)

    def _start_client(self, request: Request, hop: Address, now: float, *,
                      reliable: bool = False) -> list[Outgoing]:
        client = ClientTransaction(request, reliable=reliable)
        key = client_key(request)
        self._clients[key] = (client, hop)
        return self._run_client(key, client, hop, client.start(now), now)

    def _run_client(self, key: tuple[str, str], client: ClientTransaction, hop: Address,
                    actions: list[Action], now: float) -> list[Outgoing]:
        out: list[Outgoing] = []
        for action in actions:
            if isinstance(action, Send):
                out.append(_out(action.message, hop))
            elif isinstance(action, Terminated):
                self._clients.pop(key, None)
                self._refreshes.pop(key, None)
            elif key in self._refreshes and isinstance(action, Deliver | TimedOut):
                out += self._update_answered(key, action, now)
        self._watch(client)
        return out

    def _update_answered(self, key: tuple[str, str], action: Deliver | TimedOut,
                         now: float) -> list[Outgoing]:
        """A response to our UPDATE refresh (provisional ones are ignored)."""
        call = self._calls.get(self._refreshes[key])
        if call is None:
            return []
        if isinstance(action, TimedOut):
            return self._refreshed(call, 408, None, now)
        response = action.message
        if not isinstance(response, Response) or response.status < 200:
            return []
        return self._refreshed(call, response.status, response, now)

    # ------------------------------------------------------------------ server plumbing

    def _end(self, call: _Call, reason: str) -> None:
        if call.phase is not Phase.ENDED:
            call.phase = Phase.ENDED
            if not call.hung_up:
                self.events.append(Ended(call.call_id, reason))
        call.hung_up = True
        self._forget_later(call)

    def _run_uas(self, call: _Call, txn: ServerInviteTransaction, actions: list[Action],
                 now: float) -> list[Outgoing]:
        out = self._send_responses(txn.request, call.hop, actions)
        for action in actions:
            if isinstance(action, TimedOut) and call.phase is Phase.ANSWERED and txn is call.uas:
                # Never acknowledged: the dialog is dead; end it with BYE (13.3.1.4).
                if not call.hung_up:
                    self.events.append(Ended(call.call_id, "no-ack"))
                call.hung_up = True
                out += self._bye(call, now)
            elif isinstance(action, Terminated):
                if txn is call.uas:
                    call.uas = None
                if txn is call.reinvite:
                    call.reinvite = None
                if call.phase is Phase.ENDED:
                    self._forget_later(call)
        self._watch(call)
        return out

    def _run_server(self, key: ServerKey, server: ServerTransaction, source: Address,
                    actions: list[Action]) -> list[Outgoing]:
        out = self._send_responses(server.request, source, actions)
        if any(isinstance(action, Terminated) for action in actions):
            self._servers.pop(key, None)
        self._watch(server)
        return out

    def _send_responses(self, request: Request, source: Address,
                        actions: list[Action]) -> list[Outgoing]:
        # Over a stream the response goes back on the request's connection, whose far end is
        # `source` (RFC 3261 18.2.2); over UDP to the Via's received/rport.
        address = source if _reliable(request) else _response_address(request, source)
        return [_out(a.message, address) for a in actions
                if isinstance(a, Send) and isinstance(a.message, Response)]

    @property
    def live_calls(self) -> int:
        return len(self._calls)


_REASONS = {
    100: "Trying", 180: "Ringing", 183: "Session Progress", 200: "OK", 400: "Bad Request",
    401: "Unauthorized", 423: "Interval Too Brief",
    403: "Forbidden", 404: "Not Found", 407: "Proxy Authentication Required",
    408: "Request Timeout", 480: "Temporarily Unavailable",
    481: "Call/Transaction Does Not Exist", 486: "Busy Here", 487: "Request Terminated",
    488: "Not Acceptable Here", 491: "Request Pending", 422: "Session Interval Too Small",
    500: "Server Internal Error",
    501: "Not Implemented", 503: "Service Unavailable", 603: "Decline",
}


def _reason(status: int) -> str:
    return _REASONS.get(status, "Unknown")


def _reliable(request: Request) -> bool:
    """Whether `request` came (or goes) over a stream: no retransmissions (RFC 3261 17)."""
    return request.vias[0].transport.upper() in STREAMS


def _out(message: Request | Response, address: Address) -> Outgoing:
    """`message` for the wire, on the transport its top Via names (ours for a request we send,
    the peer's for a response: the one its request came on)."""
    return Outgoing(serialize(message), address, message.vias[0].transport.upper())
