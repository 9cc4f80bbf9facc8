"""SIP transactions (RFC 3261 section 17) as transition tables, driven by events and clock values.

A transaction never reads a clock or touches a socket. Its owner (the asyncio shell, or a test
with a fake clock) feeds it what happened -- a message from the wire, a response the TU wants
sent, or the time -- and gets back actions: `Send` this message, `Deliver` that one to the
transaction user, `TimedOut`, `Terminated`. Timers are deadlines the owner reads with
`next_deadline()` and reports with `on_time(now)`.

Each class's `_TABLE` says, for every (state, input), the next state and the effects; an input the
table does not list for the current state is absorbed (retransmissions the RFC says to ignore)
when it comes from the wire, and is a `TransactionError` when it comes from the TU: that is the TU
breaking the rules, as in h11.

One departure from RFC 3261's INVITE server transaction, taken from RFC 6026: after a 2xx the
transaction does not end but moves to ACCEPTED, where it retransmits the 2xx (T1 doubling up to
T2, the schedule of RFC 3261 13.3.1.4) until the TU hands it the ACK (`receive_ack`; the ACK of a
2xx has its own branch, so the UA core matches it by dialog and CSeq) or 64*T1 pass (`TimedOut`:
the TU should send BYE). Retransmitted INVITEs in ACCEPTED get the 2xx again.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar

from percl.telephony.sip.message import Headers, Request, Response, make_response

T1 = 0.5  # RTT estimate, seconds
T2 = 4.0  # longest retransmit interval for non-INVITE requests and INVITE responses
T4 = 5.0  # longest time a message may stay in the network
BRANCH_COOKIE = "z9hG4bK"


class TransactionError(Exception):
    """The transaction user asked for something the transaction's state does not allow."""


class Timer(StrEnum):
    A = "A"  # INVITE client: retransmit the request (unreliable transports)
    B = "B"  # INVITE client: give up waiting for any response
    D = "D"  # INVITE client: absorb retransmitted final responses
    E = "E"  # non-INVITE client: retransmit the request
    F = "F"  # non-INVITE client: give up
    G = "G"  # INVITE server: retransmit the final response
    H = "H"  # INVITE server: give up waiting for the ACK
    I = "I"  # noqa: E741  # INVITE server: absorb ACK retransmissions
    J = "J"  # non-INVITE server: absorb request retransmissions
    K = "K"  # non-INVITE client: absorb response retransmissions


class State(StrEnum):
    CALLING = "calling"
    TRYING = "trying"
    PROCEEDING = "proceeding"
    COMPLETED = "completed"
    CONFIRMED = "confirmed"
    ACCEPTED = "accepted"
    TERMINATED = "terminated"


@dataclass(frozen=True, slots=True)
class Send:
    """Put this message on the wire (to the request's next hop, or back to the response's Via)."""

    message: Request | Response


@dataclass(frozen=True, slots=True)
class Deliver:
    """Hand this message to the transaction user."""

    message: Request | Response


@dataclass(frozen=True, slots=True)
class TimedOut:
    """No answer in time (B, F: a 408 for the TU) or no ACK in time (H)."""

    timer: Timer


@dataclass(frozen=True, slots=True)
class Terminated:
    """The transaction is over: forget it."""


Action = Send | Deliver | TimedOut | Terminated


def new_branch() -> str:
    """A fresh RFC 3261 branch: the magic cookie and 64 random bits."""
    return BRANCH_COOKIE + secrets.token_hex(8)


def client_key(message: Request | Response) -> tuple[str, str]:
    """Matches a response to its client transaction (RFC 3261 17.1.3): top branch + CSeq method."""
    method = message.cseq.method
    return (message.vias[0].branch or "", "INVITE" if method == "ACK" else method)


def server_key(request: Request) -> tuple[str, str, int | None, str]:
    """Matches a request to its server transaction (RFC 3261 17.2.3): branch, sent-by, method.

    An ACK matches the INVITE it acknowledges (a non-2xx ACK shares its branch); a CANCEL has
    its own transaction, found with the INVITE's key through `cancelled_key`.
    """
    via = request.vias[0]
    method = "INVITE" if request.method == "ACK" else request.method
    return (via.branch or "", via.host.lower(), via.port, method)


def cancelled_key(cancel: Request) -> tuple[str, str, int | None, str]:
    """The server key of the INVITE a CANCEL is for (RFC 3261 9.2)."""
    via = cancel.vias[0]
    return (via.branch or "", via.host.lower(), via.port, "INVITE")


class _Transaction:
    """Table-driven core shared by the four kinds: state, deadlines, dispatch."""

    _TABLE: ClassVar[dict[tuple[State, str], tuple[State, tuple[str, ...]]]]
    _TU_INPUTS: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, request: Request, *, reliable: bool, state: State) -> None:
        self.request = request
        self.reliable = reliable
        self.state = state
        self._deadlines: dict[Timer, float] = {}
        self._intervals: dict[Timer, float] = {}
        self._last: Request | Response | None = None

    # -- for the owner
    def next_deadline(self) -> float | None:
        """When `on_time` must next be called; None when no timer runs."""
        return min(self._deadlines.values()) if self._deadlines else None

    def on_time(self, now: float) -> list[Action]:
        """Fire every timer due at `now`, earliest first."""
        actions: list[Action] = []
        while self._deadlines:
            timer, deadline = min(self._deadlines.items(), key=lambda item: item[1])
            if deadline > now:
                break
            del self._deadlines[timer]
            actions += self._input(timer.value, now, None)
        return actions

    # -- the table machinery
    def _input(self, name: str, now: float, message: Request | Response | None) -> list[Action]:
        entry = self._TABLE.get((self.state, name))
        if entry is None:
            if name in self._TU_INPUTS:
                raise TransactionError(f"cannot {name} in state {self.state.value}")
            return []  # absorbed
        next_state, effects = entry
        self.state = next_state
        actions: list[Action] = []
        for effect in effects:
            actions += getattr(self, "_" + effect)(now, message)
        if next_state is State.TERMINATED:
            self._deadlines.clear()
            actions.append(Terminated())
        elif any(deadline <= now for deadline in self._deadlines.values()):
            actions += self.on_time(now)  # zero-length timers on reliable transports
        return actions

    def _start(self, timer: Timer, now: float, interval: float) -> None:
        self._intervals[timer] = interval
        self._deadlines[timer] = now + interval

    def _stop(self, *timers: Timer) -> None:
        for timer in timers:
            self._deadlines.pop(timer, None)

    def _deliver(self, now: float, message: Request | Response | None) -> list[Action]:
        assert message is not None
        return [Deliver(message)]

    def _send(self, now: float, message: Request | Response | None) -> list[Action]:
        assert message is not None
        self._last = message
        return [Send(message)]

    def _resend_last(self, now: float, message: Request | Response | None) -> list[Action]:
        return [Send(self._last)] if self._last is not None else []

    def _timeout(self, timer: Timer) -> list[Action]:
        return [TimedOut(timer)]


def _response_input(response: Response, *, invite: bool) -> str:
    if response.status < 200:
        return "1xx"
    if invite and response.status < 300:
        return "2xx"
    return "final"


# ------------------------------------------------------------------------- INVITE client


class ClientInviteTransaction(_Transaction):
    """RFC 3261 17.1.1 (figure 5). Create it, send what `start` returns, feed it responses."""

    _TABLE: ClassVar[dict[tuple[State, str], tuple[State, tuple[str, ...]]]] = {
        (State.CALLING, "A"): (State.CALLING, ("retransmit_a",)),
        (State.CALLING, "B"): (State.TERMINATED, ("timeout_b",)),
        (State.CALLING, "1xx"): (State.PROCEEDING, ("stop_a", "deliver")),
        (State.PROCEEDING, "1xx"): (State.PROCEEDING, ("deliver",)),
        (State.CALLING, "2xx"): (State.TERMINATED, ("deliver",)),
        (State.PROCEEDING, "2xx"): (State.TERMINATED, ("deliver",)),
        (State.CALLING, "final"): (State.COMPLETED, ("ack", "deliver", "start_d")),
        (State.PROCEEDING, "final"): (State.COMPLETED, ("ack", "deliver", "start_d")),
        (State.COMPLETED, "final"): (State.COMPLETED, ("ack",)),
        (State.COMPLETED, "D"): (State.TERMINATED, ()),
        (State.PROCEEDING, "give_up"): (State.TERMINATED, ("timeout_b",)),
    }
    _TU_INPUTS: ClassVar[frozenset[str]] = frozenset({"give_up"})

    def __init__(self, request: Request, *, reliable: bool = False) -> None:
        if request.method != "INVITE":
            raise TransactionError("an INVITE client transaction needs an INVITE")
        super().__init__(request, reliable=reliable, state=State.CALLING)

    def start(self, now: float) -> list[Action]:
        if not self.reliable:
            self._start(Timer.A, now, T1)
        self._start(Timer.B, now, 64 * T1)
        return [Send(self.request)]

    def receive(self, response: Response, now: float) -> list[Action]:
        return self._input(_response_input(response, invite=True), now, response)

    def give_up(self, now: float) -> list[Action]:
        """End a ringing INVITE that no final response answered (RFC 3261 9.1).

        After a provisional response nothing in the transaction times out: the TU rings for as
        long as it likes, then sends CANCEL; if no final response comes 64*T1 after that, it calls
        this. Raises TransactionError outside PROCEEDING.
        """
        return self._input("give_up", now, None)

    def _retransmit_a(self, now: float, _: object) -> list[Action]:
        self._start(Timer.A, now, self._intervals[Timer.A] * 2)
        return [Send(self.request)]

    def _timeout_b(self, now: float, _: object) -> list[Action]:
        return self._timeout(Timer.B)

    def _stop_a(self, now: float, _: object) -> list[Action]:
        self._stop(Timer.A)
        return []

    def _ack(self, now: float, response: Request | Response | None) -> list[Action]:
        assert isinstance(response, Response)
        self._stop(Timer.A, Timer.B)
        return [Send(make_ack(self.request, response))]

    def _start_d(self, now: float, _: object) -> list[Action]:
        self._start(Timer.D, now, 0.0 if self.reliable else 32.0)
        return []


def make_ack(invite: Request, response: Response) -> Request:
    """The ACK for a non-2xx final response (RFC 3261 17.1.1.3): part of the INVITE transaction."""
    headers = Headers((
        ("Via", invite.headers.get_all("Via")[0]),
        *(("Route", route) for route in invite.headers.get_all("Route")),
        ("Max-Forwards", "70"),
        ("From", invite.headers.get("From") or ""),
        ("To", response.headers.get("To") or ""),
        ("Call-ID", invite.call_id),
        ("CSeq", f"{invite.cseq.number} ACK"),
    ))
    return Request(method="ACK", uri=invite.uri, headers=headers)


def make_cancel(invite: Request) -> Request:
    """The CANCEL for a pending INVITE (RFC 3261 9.1): same branch, URI, tags and CSeq number."""
    headers = Headers((
        ("Via", invite.headers.get_all("Via")[0]),
        *(("Route", route) for route in invite.headers.get_all("Route")),
        ("Max-Forwards", "70"),
        ("From", invite.headers.get("From") or ""),
        ("To", invite.headers.get("To") or ""),
        ("Call-ID", invite.call_id),
        ("CSeq", f"{invite.cseq.number} CANCEL"),
    ))
    return Request(method="CANCEL", uri=invite.uri, headers=headers)


# --------------------------------------------------------------------- non-INVITE client


class ClientTransaction(_Transaction):
    """RFC 3261 17.1.2 (figure 6): BYE, CANCEL, OPTIONS, REGISTER and the rest."""

    _TABLE: ClassVar[dict[tuple[State, str], tuple[State, tuple[str, ...]]]] = {
        (State.TRYING, "E"): (State.TRYING, ("retransmit_e",)),
        (State.PROCEEDING, "E"): (State.PROCEEDING, ("retransmit_e",)),
        (State.TRYING, "F"): (State.TERMINATED, ("timeout_f",)),
        (State.PROCEEDING, "F"): (State.TERMINATED, ("timeout_f",)),
        (State.TRYING, "1xx"): (State.PROCEEDING, ("deliver",)),
        (State.PROCEEDING, "1xx"): (State.PROCEEDING, ("deliver",)),
        (State.TRYING, "final"): (State.COMPLETED, ("deliver", "start_k")),
        (State.PROCEEDING, "final"): (State.COMPLETED, ("deliver", "start_k")),
        (State.COMPLETED, "K"): (State.TERMINATED, ()),
    }

    def __init__(self, request: Request, *, reliable: bool = False) -> None:
        if request.method in ("INVITE", "ACK"):
            raise TransactionError(f"{request.method} does not use a non-INVITE transaction")
        super().__init__(request, reliable=reliable, state=State.TRYING)

    def start(self, now: float) -> list[Action]:
        if not self.reliable:
            self._start(Timer.E, now, T1)
        self._start(Timer.F, now, 64 * T1)
        return [Send(self.request)]

    def receive(self, response: Response, now: float) -> list[Action]:
        return self._input(_response_input(response, invite=False), now, response)

    def _retransmit_e(self, now: float, _: object) -> list[Action]:
        # In PROCEEDING the request is resent every T2 (17.1.2.2).
        interval = T2 if self.state is State.PROCEEDING else min(self._intervals[Timer.E] * 2, T2)
        self._start(Timer.E, now, interval)
        return [Send(self.request)]

    def _timeout_f(self, now: float, _: object) -> list[Action]:
        return self._timeout(Timer.F)

    def _start_k(self, now: float, _: object) -> list[Action]:
        self._stop(Timer.E, Timer.F)
        self._start(Timer.K, now, 0.0 if self.reliable else T4)
        return []


# ------------------------------------------------------------------------- INVITE server


class ServerInviteTransaction(_Transaction):
    """RFC 3261 17.2.1 (figure 7) with RFC 6026's ACCEPTED state (see the module docstring)."""

    _TU_INPUTS: ClassVar[frozenset[str]] = frozenset({"send_1xx", "send_2xx", "send_final"})
    _TABLE: ClassVar[dict[tuple[State, str], tuple[State, tuple[str, ...]]]] = {
        (State.PROCEEDING, "request"): (State.PROCEEDING, ("resend_last",)),
        (State.PROCEEDING, "send_1xx"): (State.PROCEEDING, ("send",)),
        (State.PROCEEDING, "send_2xx"): (State.ACCEPTED, ("send", "start_g", "start_h")),
        (State.PROCEEDING, "send_final"): (State.COMPLETED, ("send", "start_g", "start_h")),
        (State.COMPLETED, "request"): (State.COMPLETED, ("resend_last",)),
        (State.COMPLETED, "G"): (State.COMPLETED, ("retransmit_g",)),
        (State.COMPLETED, "H"): (State.TERMINATED, ("timeout_h",)),
        (State.COMPLETED, "ack"): (State.CONFIRMED, ("stop_g_h", "start_i")),
        (State.CONFIRMED, "I"): (State.TERMINATED, ()),
        (State.ACCEPTED, "request"): (State.ACCEPTED, ("resend_last",)),
        (State.ACCEPTED, "G"): (State.ACCEPTED, ("retransmit_g",)),
        (State.ACCEPTED, "H"): (State.TERMINATED, ("timeout_h",)),
        (State.ACCEPTED, "ack"): (State.TERMINATED, ("deliver",)),
    }

    def __init__(self, request: Request, *, reliable: bool = False) -> None:
        if request.method != "INVITE":
            raise TransactionError("an INVITE server transaction needs an INVITE")
        super().__init__(request, reliable=reliable, state=State.PROCEEDING)

    def start(self, now: float, *, trying: bool = True) -> list[Action]:
        """Deliver the INVITE to the TU and (by default) answer 100 Trying at once (17.2.1)."""
        actions: list[Action] = [Deliver(self.request)]
        if trying:
            actions += self._input("send_1xx", now, make_response(self.request, 100, "Trying"))
        return actions

    def receive(self, request: Request, now: float) -> list[Action]:
        """A request from the wire that matched this transaction: a retransmission or an ACK."""
        return self._input("ack" if request.method == "ACK" else "request", now, request)

    def receive_ack(self, ack: Request, now: float) -> list[Action]:
        """The ACK of a 2xx (matched by dialog and CSeq, as it has its own branch)."""
        return self._input("ack", now, ack)

    def respond(self, response: Response, now: float) -> list[Action]:
        """The TU's response; raises TransactionError once a final response was sent."""
        name = "send_1xx" if response.status < 200 else (
            "send_2xx" if response.status < 300 else "send_final")
        return self._input(name, now, response)

    def cancel(self, now: float) -> list[Action]:
        """A matching CANCEL arrived (RFC 3261 9.2): answer the INVITE 487 if still pending.

        Returns no actions when a final response was already sent (the CANCEL has no effect);
        either way the UAS answers the CANCEL itself with 200.
        """
        if self.state is not State.PROCEEDING:
            return []
        # Same To tag as the provisional responses sent, if any: a final response needs one.
        tag = _to_tag(self._last) or secrets.token_hex(6)
        return self.respond(make_response(self.request, 487, "Request Terminated", to_tag=tag),
                            now)

    def _start_g(self, now: float, _: object) -> list[Action]:
        if not self.reliable or self.state is State.ACCEPTED:
            # A 2xx is retransmitted end to end even over TCP (13.3.1.4 leaves it to the UAS
            # core; percl only stops when the ACK comes), a non-2xx only over UDP.
            self._start(Timer.G, now, T1)
        return []

    def _start_h(self, now: float, _: object) -> list[Action]:
        self._start(Timer.H, now, 64 * T1)
        return []

    def _retransmit_g(self, now: float, _: object) -> list[Action]:
        self._start(Timer.G, now, min(self._intervals[Timer.G] * 2, T2))
        return self._resend_last(now, None)

    def _timeout_h(self, now: float, _: object) -> list[Action]:
        return self._timeout(Timer.H)

    def _stop_g_h(self, now: float, _: object) -> list[Action]:
        self._stop(Timer.G, Timer.H)
        return []

    def _start_i(self, now: float, _: object) -> list[Action]:
        self._start(Timer.I, now, 0.0 if self.reliable else T4)
        return []


def _to_tag(response: Request | Response | None) -> str | None:
    if isinstance(response, Response):
        return response.to.tag
    return None


# --------------------------------------------------------------------- non-INVITE server


class ServerTransaction(_Transaction):
    """RFC 3261 17.2.2 (figure 8)."""

    _TU_INPUTS: ClassVar[frozenset[str]] = frozenset({"send_1xx", "send_final"})
    _TABLE: ClassVar[dict[tuple[State, str], tuple[State, tuple[str, ...]]]] = {
        (State.TRYING, "send_1xx"): (State.PROCEEDING, ("send",)),
        (State.TRYING, "send_final"): (State.COMPLETED, ("send", "start_j")),
        (State.PROCEEDING, "send_1xx"): (State.PROCEEDING, ("send",)),
        (State.PROCEEDING, "send_final"): (State.COMPLETED, ("send", "start_j")),
        (State.PROCEEDING, "request"): (State.PROCEEDING, ("resend_last",)),
        (State.COMPLETED, "request"): (State.COMPLETED, ("resend_last",)),
        (State.COMPLETED, "J"): (State.TERMINATED, ()),
    }

    def __init__(self, request: Request, *, reliable: bool = False) -> None:
        if request.method in ("INVITE", "ACK"):
            raise TransactionError(f"{request.method} does not use a non-INVITE transaction")
        super().__init__(request, reliable=reliable, state=State.TRYING)

    def start(self, now: float) -> list[Action]:
        return [Deliver(self.request)]

    def receive(self, request: Request, now: float) -> list[Action]:
        return self._input("request", now, request)

    def respond(self, response: Response, now: float) -> list[Action]:
        return self._input("send_1xx" if response.status < 200 else "send_final", now, response)

    def _start_j(self, now: float, _: object) -> list[Action]:
        self._start(Timer.J, now, 0.0 if self.reliable else 64 * T1)
        return []
