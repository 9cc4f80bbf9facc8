"""SIP dialogs (RFC 3261 section 12): the state two UAs share after a 2xx (or a tagged 1xx).

Why this module exists: a request inside a dialog (ACK for a 2xx, BYE, re-INVITE) does not go to
the URI the call was placed to. It goes to the peer's Contact (the remote target) through the
proxies that asked to stay on the path (the route set, from Record-Route). The library percl
first looked at built in-dialog requests from the original Request-URI, so behind a proxy its
ACK and BYE were lost; here `Dialog.request` and `Dialog.ack` build them from the dialog alone,
and `next_hop` says where to send them.

The route set is fixed when the dialog is created: from the 2xx's Record-Route in reverse for the
caller (UAC), from the INVITE's Record-Route in order for the callee (UAS). Loose routing (`;lr`)
is the norm; a strict router first in the set is handled as RFC 3261 12.2.1.1 says.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace

from percl.telephony.sip.message import Headers, NameAddr, Request, Response, Uri


class DialogError(Exception):
    """A message that cannot belong to (or create) this dialog."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status  # what a UAS answers the offending request with


def new_tag() -> str:
    return secrets.token_hex(6)


@dataclass(frozen=True, slots=True)
class Dialog:
    call_id: str
    local_tag: str
    remote_tag: str
    local: NameAddr  # our From in requests we send (with our tag)
    remote: NameAddr  # their To in requests we send (with their tag)
    remote_target: Uri
    route_set: tuple[NameAddr, ...]
    local_cseq: int
    remote_cseq: int | None
    early: bool = False

    @property
    def id(self) -> tuple[str, str, str]:
        return (self.call_id, self.local_tag, self.remote_tag)

    @classmethod
    def as_uac(cls, invite: Request, response: Response) -> Dialog:
        """The caller's dialog from its INVITE and a 2xx (or a 101-199 with a To tag: early)."""
        if not 101 <= response.status < 300 or response.to.tag is None:
            raise DialogError("only a 101-299 response with a To tag creates a dialog")
        if invite.from_.tag is None:
            raise DialogError("the INVITE has no From tag")
        return cls(
            call_id=invite.call_id, local_tag=invite.from_.tag, remote_tag=response.to.tag,
            local=invite.from_, remote=response.to,
            remote_target=_target(response.contacts, "response"),
            route_set=tuple(reversed(response.record_routes)),
            local_cseq=invite.cseq.number, remote_cseq=None, early=response.status < 200,
        )

    @classmethod
    def as_uas(cls, invite: Request, local_tag: str, *, early: bool = False) -> Dialog:
        """The callee's dialog from the INVITE it answers (with `local_tag` in its To)."""
        if invite.from_.tag is None:
            raise DialogError("the INVITE has no From tag")
        return cls(
            call_id=invite.call_id, local_tag=local_tag, remote_tag=invite.from_.tag,
            local=invite.to.with_param("tag", local_tag), remote=invite.from_,
            remote_target=_target(invite.contacts, "INVITE"),
            route_set=invite.record_routes, local_cseq=0, remote_cseq=invite.cseq.number,
            early=early,
        )

    def confirmed(self, response: Response) -> Dialog:
        """An early dialog confirmed by the 2xx: its Contact is now the remote target (12.1.2)."""
        if response.to.tag != self.remote_tag:
            raise DialogError("the 2xx is for another dialog")
        return replace(self, early=False, remote_target=_target(response.contacts, "response"),
                       route_set=tuple(reversed(response.record_routes)) or self.route_set)

    def matches(self, message: Request | Response) -> bool:
        """Whether an incoming request (their From tag) or response (their To tag) is ours."""
        if message.call_id != self.call_id:
            return False
        if isinstance(message, Request):
            return message.from_.tag == self.remote_tag and message.to.tag == self.local_tag
        return message.to.tag == self.remote_tag and message.from_.tag == self.local_tag

    def receive(self, request: Request) -> Dialog:
        """Account for an in-dialog request from the peer (CSeq order, target refresh).

        Raises DialogError(500) for a CSeq lower than the last one (12.2.2).
        """
        if not self.matches(request):
            raise DialogError("the request is not in this dialog", 481)
        number = request.cseq.number
        if request.method != "ACK" and self.remote_cseq is not None and number < self.remote_cseq:
            raise DialogError(f"CSeq {number} is lower than {self.remote_cseq}", 500)
        updated = self if request.method == "ACK" else replace(self, remote_cseq=number)
        if request.method in ("INVITE", "UPDATE") and request.contacts:
            updated = replace(updated, remote_target=request.contacts[0].uri)  # target refresh
        return updated

    # -- building requests inside the dialog

    def _uri_and_routes(self) -> tuple[Uri, tuple[str, ...]]:
        if not self.route_set:
            return self.remote_target, ()
        first = self.route_set[0]
        if first.uri.param("lr") is not None:
            return self.remote_target, tuple(str(r) for r in self.route_set)
        # Strict router: it goes in the Request-URI, the remote target last in Route (12.2.1.1).
        strict = replace(first.uri, params=tuple(
            p for p in first.uri.params if p[0].lower() not in ("method", "maddr", "ttl",
                                                              "transport", "lr")), headers="")
        routes = (*(str(r) for r in self.route_set[1:]), f"<{self.remote_target}>")
        return strict, routes

    def next_hop(self) -> Uri:
        """Where an in-dialog request goes: the first route, or the remote target (8.1.2)."""
        if self.route_set:
            return self.route_set[0].uri
        return self.remote_target

    def _build(self, method: str, cseq: int, via: str, body: bytes,
               extra: tuple[tuple[str, str], ...]) -> Request:
        uri, routes = self._uri_and_routes()
        headers = Headers((
            ("Via", via),
            *(("Route", route) for route in routes),
            ("Max-Forwards", "70"),
            ("From", str(self.local)),
            ("To", str(self.remote)),
            ("Call-ID", self.call_id),
            ("CSeq", f"{cseq} {method}"),
            *extra,
        ))
        return Request(method=method, uri=uri, headers=headers, body=body)

    def request(self, method: str, via: str, *, body: bytes = b"",
                extra: tuple[tuple[str, str], ...] = ()) -> tuple[Dialog, Request]:
        """A new in-dialog request (BYE, re-INVITE, INFO...) and the dialog with its CSeq used.

        `via` is the full Via value with a fresh branch (see transaction.new_branch).
        """
        if method in ("ACK", "CANCEL"):
            raise DialogError(f"{method} is not built with request(): use ack() or make_cancel")
        cseq = self.local_cseq + 1
        return replace(self, local_cseq=cseq), self._build(method, cseq, via, body, extra)

    def ack(self, invite_cseq: int, via: str, *, body: bytes = b"") -> Request:
        """The ACK of a 2xx (13.2.2.4): the INVITE's CSeq number, a branch of its own.

        Send the same ACK again for every retransmission of that 2xx.
        """
        return self._build("ACK", invite_cseq, via, body, ())


def _target(contacts: tuple[NameAddr, ...], what: str) -> Uri:
    if len(contacts) != 1:
        raise DialogError(f"the {what} must carry exactly one Contact", 400)
    return contacts[0].uri
