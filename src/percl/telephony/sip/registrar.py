"""percl as the registrar of its own softphones (RFC 3261 10.3), sans-I/O and clock-driven.

A REGISTER from a configured user is challenged (401 with a digest challenge from
`DigestVerifier`), then its Contacts are bound until their Expires runs out; a REGISTER with
Expires 0 (or `Contact: *`) removes them. An unknown user or a wrong password gets 403. Bindings
live in memory only: a restarted percl asks its phones to register again by refusing calls to
them (480) until they do, which they do within their refresh interval.

The address a binding is reached at is where its REGISTER came from (`source`), not only the
Contact it names: a phone behind NAT names its private address (the usual rport reasoning).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from percl.telephony.sip.auth import DigestVerifier
from percl.telephony.sip.message import (
    NameAddr,
    ParseError,
    Request,
    parse_name_addr,
    split_list,
)

DEFAULT_EXPIRES = 3600
"""Seconds a binding lasts when the REGISTER names no Expires."""
MAX_EXPIRES = 3600
"""The longest binding granted; a phone asking for more gets this (and refreshes sooner)."""
MIN_EXPIRES = 60
"""The shortest binding accepted (RFC 3261 10.3 step 7: 423 Interval Too Brief below it)."""

Address = tuple[str, int]
Headers = tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class Binding:
    """Where a registered user's phone answers: its Contact, reached at `source`."""

    user: str
    contact: NameAddr
    source: Address
    transport: str  # the transport the REGISTER came on ("UDP", "TCP", "TLS")
    expires_at: float


class Registrar:
    """Bindings of `users` (their names) authenticated by `verifier` (its realm and passwords)."""

    def __init__(self, verifier: DigestVerifier, users: Iterable[str]) -> None:
        self.verifier = verifier
        self.users = frozenset(users)
        self._bindings: dict[str, dict[str, Binding]] = {}  # user -> contact URI -> binding

    def register(self, request: Request, source: Address, now: float, *,
                 transport: str = "UDP") -> tuple[int, Headers]:
        """The status and headers answering a REGISTER (401 challenge, 403, 400, 423 or 200)."""
        credentials = request.headers.get("Authorization")
        if credentials is None:
            return 401, (("WWW-Authenticate", self.verifier.challenge()),)
        found = self.verifier.verify(credentials, method="REGISTER", uri=str(request.uri))
        if found.stale:
            return 401, (("WWW-Authenticate", self.verifier.challenge(stale=True)),)
        if found.user is None or found.user not in self.users:
            return 403, ()
        if (request.to.uri.user or "") != found.user:
            return 403, ()  # one may register only one's own address of record
        try:
            contacts = _contacts(request)
        except ParseError:
            return 400, ()
        return self._update(found.user, request, contacts, source, transport, now)

    def _update(self, user: str, request: Request, contacts: list[NameAddr] | None,
                source: Address, transport: str, now: float) -> tuple[int, Headers]:
        bindings = self._live(user, now)
        default = _int(request.headers.get("Expires"), DEFAULT_EXPIRES)
        if contacts is None:  # Contact: * removes every binding (it must say Expires: 0)
            if default != 0:
                return 400, ()
            bindings.clear()
        for contact in contacts or ():
            expires = _int(contact.param("expires"), default)
            key = str(contact.uri)
            if expires == 0:
                bindings.pop(key, None)
            elif expires < MIN_EXPIRES:
                return 423, (("Min-Expires", str(MIN_EXPIRES)),)
            else:
                bindings[key] = Binding(user, NameAddr(contact.uri), source, transport,
                                        now + min(expires, MAX_EXPIRES))
        if not bindings:
            self._bindings.pop(user, None)
        return 200, tuple(("Contact", f"<{b.contact.uri}>;expires={max(0, int(b.expires_at - now))}")
                          for b in bindings.values())

    def _live(self, user: str, now: float) -> dict[str, Binding]:
        bindings = self._bindings.setdefault(user, {})
        for key in [k for k, b in bindings.items() if b.expires_at <= now]:
            del bindings[key]
        return bindings

    def binding(self, user: str, now: float) -> Binding | None:
        """The user's most recently refreshed live binding, or None when it is not registered."""
        live = self._live(user, now)
        if not live:
            self._bindings.pop(user, None)
            return None
        return max(live.values(), key=lambda b: b.expires_at)


def _contacts(request: Request) -> list[NameAddr] | None:
    """The REGISTER's Contacts ([] for a query), None for `Contact: *`."""
    values = [part.strip() for value in request.headers.get_all("Contact")
              for part in split_list(value) if part.strip()]
    if values == ["*"]:
        return None
    return [parse_name_addr(value) for value in values]


def _int(text: str | None, default: int) -> int:
    if text is None or not text.strip().isdigit():
        return default
    return int(text.strip())
