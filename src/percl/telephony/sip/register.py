"""A REGISTER client (RFC 3261 section 10), sans-I/O: responses and clock values in, actions out.

A provider's trunk often needs percl to register its Contact before it sends calls. `Registration`
keeps one binding alive: it sends REGISTER, answers a 401/407 challenge once (a second challenge
for credentials it already answered, without `stale`, is a wrong password: it reports
`RegistrationFailed` instead of looping), reads the interval the registrar granted (our Contact's
`expires`, else Expires, else what it asked), refreshes at half of it, and after a failure tries
again with exponential backoff (`retry_base` doubling up to `retry_max`; a 503's Retry-After wins).
A 423 Interval Too Brief is answered at once with the registrar's Min-Expires.

Each REGISTER runs in a `ClientTransaction` (retransmissions on UDP, timer F), so the owner only
moves bytes and wakes the machine at `next_deadline()`; `RegistrationClient` in `register_io.py`
is that owner for UDP, TCP and TLS.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from enum import StrEnum

from percl.telephony.sip.auth import Challenge, challenge_header, with_credentials
from percl.telephony.sip.dialog import new_tag
from percl.telephony.sip.message import Headers, NameAddr, Request, Response, Uri
from percl.telephony.sip.transaction import (
    Action,
    ClientTransaction,
    Deliver,
    Send,
    TimedOut,
    client_key,
    new_branch,
)

DEFAULT_EXPIRES = 3600
DEFAULT_RETRY_BASE = 30.0
DEFAULT_RETRY_MAX = 1800.0
MIN_REFRESH = 1.0  # seconds: never refresh in a tight loop, whatever the registrar grants
MAX_AUTH_ROUNDS = 3  # challenges answered for one REGISTER attempt (stale nonces included)


@dataclass(frozen=True, slots=True)
class RegisterAccount:
    """Who registers where: the registrar's URI, the address of record, the credentials."""

    registrar: Uri  # the Request-URI, e.g. sip:provider.example
    aor: Uri  # To and From, e.g. sip:alice@provider.example
    username: str
    password: str = field(repr=False)  # never in a repr, a log line or an error
    expires: int = DEFAULT_EXPIRES
    retry_base: float = DEFAULT_RETRY_BASE
    retry_max: float = DEFAULT_RETRY_MAX


class RegState(StrEnum):
    IDLE = "idle"
    REGISTERING = "registering"
    REGISTERED = "registered"
    WAITING = "waiting"  # after a failure, until the retry
    UNREGISTERING = "unregistering"
    STOPPED = "stopped"


@dataclass(frozen=True, slots=True)
class Registered:
    expires: int  # seconds the registrar granted
    refresh_at: float


@dataclass(frozen=True, slots=True)
class RegistrationFailed:
    reason: str
    status: int | None  # the registrar's final status, None for no answer
    retry_at: float


@dataclass(frozen=True, slots=True)
class Unregistered:
    pass


RegAction = Send | Registered | RegistrationFailed | Unregistered


class Registration:
    """One registration binding `contact` for `account`, driven by `start`/`receive`/`on_time`.

    `via` is the sent-by of our Via ("host:port"), `transport` its transport (UDP, TCP, TLS).
    """

    def __init__(self, account: RegisterAccount, contact: Uri, *, via: str,
                 transport: str = "UDP") -> None:
        self.account = account
        self.contact = contact
        self.state = RegState.IDLE
        self.expires = account.expires  # what we ask for (a 423 raises it)
        self.granted: int | None = None
        self._via = via
        self._transport = transport.upper()
        self._call_id = secrets.token_hex(12)
        self._from_tag = new_tag()
        self._cseq = 0
        self._tx: ClientTransaction | None = None
        self._auth_rounds = 0
        self._deadline: float | None = None
        self._failures = 0

    # -- the owner's side

    def next_deadline(self) -> float | None:
        times = [t for t in (self._deadline, self._tx.next_deadline() if self._tx else None)
                 if t is not None]
        return min(times) if times else None

    def rebind(self, contact: Uri, *, via: str) -> None:
        """A new local address (a stream transport reconnected): used from the next REGISTER."""
        self.contact = contact
        self._via = via

    def start(self, now: float) -> list[RegAction]:
        """Register now (again, when already registered)."""
        self.state = RegState.REGISTERING
        return self._send_register(now, self.expires)

    def stop(self, now: float) -> list[RegAction]:
        """Remove the binding (REGISTER with Expires: 0); `Unregistered` when done."""
        if self.state in (RegState.IDLE, RegState.WAITING, RegState.STOPPED):
            self.state = RegState.STOPPED
            self._deadline = None
            self._tx = None
            return [Unregistered()]
        self.state = RegState.UNREGISTERING
        return self._send_register(now, 0)

    def receive(self, response: Response, now: float) -> list[RegAction]:
        """A response from the registrar (ignored unless it answers our current REGISTER)."""
        if self._tx is None or client_key(response) != client_key(self._tx.request):
            return []
        return self._run(self._tx.receive(response, now), now)

    def on_time(self, now: float) -> list[RegAction]:
        actions: list[RegAction] = []
        if self._tx is not None:
            actions += self._run(self._tx.on_time(now), now)
        if self._deadline is not None and self._deadline <= now:
            self._deadline = None
            if self.state in (RegState.REGISTERED, RegState.WAITING):
                actions += self.start(now)
        return actions

    # -- inside

    def _request(self, expires: int) -> Request:
        self._cseq += 1
        aor = NameAddr(self.account.aor)
        headers = Headers((
            ("Via", f"SIP/2.0/{self._transport} {self._via};rport;branch={new_branch()}"),
            ("Max-Forwards", "70"),
            ("From", str(aor.with_param("tag", self._from_tag))),
            ("To", str(aor)),
            ("Call-ID", self._call_id),
            ("CSeq", f"{self._cseq} REGISTER"),
            ("Contact", f"<{self.contact}>"),
            ("Expires", str(expires)),
            ("User-Agent", "percl"),
        ))
        return Request(method="REGISTER", uri=self.account.registrar, headers=headers)

    def _send_register(self, now: float, expires: int) -> list[RegAction]:
        self._auth_rounds = 0
        self._deadline = None
        return self._transact(self._request(expires), now)

    def _transact(self, request: Request, now: float) -> list[RegAction]:
        self._cseq = request.cseq.number
        self._tx = ClientTransaction(request, reliable=self._transport != "UDP")
        return self._run(self._tx.start(now), now)

    def _run(self, actions: list[Action], now: float) -> list[RegAction]:
        out: list[RegAction] = []
        for action in actions:
            if isinstance(action, Send):
                out.append(action)
            elif isinstance(action, Deliver) and isinstance(action.message, Response):
                if action.message.status >= 200:
                    out += self._final(action.message, now)
            elif isinstance(action, TimedOut):
                self._tx = None
                out += self._failed(now, "no response from the registrar", None)
        return out

    def _final(self, response: Response, now: float) -> list[RegAction]:
        assert self._tx is not None
        request = self._tx.request
        self._tx = None
        status = response.status
        if 200 <= status < 300:
            return self._success(response, now)
        if status in (401, 407):
            return self._challenged(request, response, now)
        if status == 423:
            minimum = response.headers.get("Min-Expires")
            if minimum is not None and minimum.strip().isdigit() and int(minimum) > self.expires:
                self.expires = int(minimum)
                return self._send_register(now, self.expires)
        retry_after = response.headers.get("Retry-After")
        wait = None
        if status == 503 and retry_after is not None:
            head = retry_after.split("(")[0].split(";")[0].strip()
            wait = float(head) if head.isdigit() else None
        return self._failed(now, f"{status} {response.reason}".strip(), status, wait)

    def _challenged(self, request: Request, response: Response,
                    now: float) -> list[RegAction]:
        header = challenge_header(status := response.status)
        try:
            challenge = Challenge.best(response.headers.get_all(header))
        except ValueError as exc:
            return self._failed(now, f"{status}: cannot answer the challenge ({exc})", status)
        answered = request.headers.get("Authorization" if status == 401 else
                                       "Proxy-Authorization") is not None
        self._auth_rounds += 1
        if (answered and not challenge.stale) or self._auth_rounds > MAX_AUTH_ROUNDS:
            return self._failed(
                now, f"authentication failed: {status} for user {self.account.username!r} in "
                f"realm {challenge.realm!r} (wrong username or password?)", status)
        retry = with_credentials(request, response, self.account.username,
                                 self.account.password)
        return self._transact(retry, now)

    def _success(self, response: Response, now: float) -> list[RegAction]:
        self._failures = 0
        if self.state is RegState.UNREGISTERING:
            self.state = RegState.STOPPED
            self.granted = None
            return [Unregistered()]
        granted = self._granted(response)
        if granted <= 0:
            return self._failed(now, "the registrar kept no binding for our Contact", None)
        self.state = RegState.REGISTERED
        self.granted = granted
        refresh_at = now + max(MIN_REFRESH, granted / 2)
        self._deadline = refresh_at
        return [Registered(granted, refresh_at)]

    def _granted(self, response: Response) -> int:
        for contact in response.contacts:
            if _same_binding(contact.uri, self.contact) and contact.param("expires"):
                return int(contact.param("expires") or 0)
        if response.expires is not None:
            return response.expires
        return self.expires

    def _failed(self, now: float, reason: str, status: int | None,
                wait: float | None = None) -> list[RegAction]:
        if self.state is RegState.UNREGISTERING:
            self.state = RegState.STOPPED
            return [RegistrationFailed(reason, status, now), Unregistered()]
        self._failures += 1
        if wait is None:
            wait = min(self.account.retry_max,
                       self.account.retry_base * 2 ** (self._failures - 1))
        self.state = RegState.WAITING
        self.granted = None
        self._deadline = now + wait
        return [RegistrationFailed(reason, status, self._deadline)]


def _same_binding(a: Uri, b: Uri) -> bool:
    """Contact URIs compare by user, host and port (registrars add or drop parameters)."""
    return (a.user == b.user and a.host.lower() == b.host.lower()
            and (a.port or 5060) == (b.port or 5060))
