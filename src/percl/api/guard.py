"""The door of the REST and sim APIs: authenticate from the headers, then read a bounded body.

    1. A Content-Length over the limit is a 413 at once (nothing read, nobody authenticated).
    2. Too many failed authentications from this address or for this account id: 429. Else
       the attempt is counted against both now, before the key is compared.
    3. The Basic credentials are checked (api/auth.authenticate); a failure is a 401 (its count
       stays), a success gives the count back.
    4. The body is read, counting bytes as they arrive (chunked bodies too); past the limit it is
       a 413 and the rest is never read. The app then gets the body replayed as one message, and
       the authenticated account in `scope["state"]` so its routes do not look it up again.

Why authentication comes before the body: an unauthenticated client must not make percl hold
anything it sent, and an unauthenticated bad body is a 401 (who you are), never a 422 (what you
sent). Why the body is read here and not left to the app: FastAPI reads every body whole anyway,
and counting here is the one place both apps share.

Why failed authentications are limited by source address and by account id both: per address
stops one client guessing; per account id stops many addresses guessing one account's key. The
price is that a flood of wrong keys for an account id refuses its owner too; an address that
authenticated as that account within the last `RECENT_S` seconds is let through the account's
limit (not its own address's), so a client already in use keeps working during such a flood.

Errors use FreeClimb's body (api/errors.py): 413 is code 3 (FreeClimb's BadRequestBody), 401 code
50, 429 code 24 with Retry-After.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from percl.api.auth import ACCOUNT_STATE_KEY, parse_basic
from percl.api.errors import error_response
from percl.domain.clock import Clock
from percl.domain.records import Account
from percl.engine.admission import TokenBucket
from percl.errors import ApiError, RateLimited, Unauthorized

#: Past this many remembered addresses/account ids, a tenth are dropped: full buckets first, then
#: address buckets, then account ids with attempts left, and last account ids that refuse.
MAX_TRACKED = 10_000
#: How long a successful authentication lets its address past its account's failure limit.
RECENT_S = 600.0

Authenticator = Callable[[str | None], Awaitable[Account]]


class PayloadTooLarge(ApiError):
    """413 / code 3: FreeClimb's BadRequestBody for a body over the limit."""

    status = 413
    code = 3


@dataclass(frozen=True, slots=True)
class Charge:
    """One authentication attempt, charged in advance (FailureLimiter.charge): refused when
    `wait` > 0 (whole seconds; nothing charged), else `keys` names the buckets charged."""

    wait: int = 0
    keys: tuple[str, ...] = ()


class FailureLimiter:
    """Token buckets of failed authentications, keyed by address and by claimed account id.

    `rate` failures per second are forgiven, `burst` may happen at once; rate 0 turns it off.
    """

    def __init__(self, clock: Clock, *, rate: float, burst: int) -> None:
        self.clock = clock
        self.rate = rate
        self.burst = max(1, burst)
        self._buckets: dict[str, TokenBucket] = {}
        self._recent: dict[tuple[str, str], float] = {}  # (address, account id) -> until

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    def charge(self, address: str, account_id: str) -> Charge:
        """Charge one authentication attempt to this address and (unless the address used the
        account recently) `account_id`, before the key is compared; refused (`wait` > 0, nothing
        charged) when either is out of attempts.

        Why in advance: checking and counting only after the comparison let every request that
        arrived while another was being looked up (the store may suspend) pass the check, so a
        burst of concurrent guesses was never limited. `succeeded` (or `refund`) gives it back.
        """
        if not self.enabled:
            return Charge()
        now = self.clock.now()
        keys: tuple[str, ...] = ("addr:" + address,)
        if self._recent.get((address, account_id), -math.inf) < now:
            keys += ("acct:" + account_id,)
        longest = 0.0
        for key in keys:  # a loop, not max() over a generator: this runs on every request
            longest = max(longest, self._wait(key, now))
        if longest > 0:
            return Charge(wait=max(1, math.ceil(longest - 1e-9)))
        for key in keys:
            bucket = self._buckets.get(key)
            if bucket is None:
                self._sweep_buckets(now)
                bucket = self._buckets[key] = TokenBucket(self.rate, self.burst, now)
            bucket.take(now)
        return Charge(keys=keys)

    def refund(self, charge: Charge) -> None:
        """Give back what `charge` took (the attempt did not fail authentication)."""
        now = self.clock.now()
        for key in charge.keys:
            bucket = self._buckets.get(key)
            if bucket is not None:
                bucket.refund(now)

    def succeeded(self, charge: Charge, address: str, account_id: str) -> None:
        """The attempt authenticated: its charge is given back and the address may pass the
        account's limit for RECENT_S."""
        if not self.enabled:
            return
        self.refund(charge)
        now = self.clock.now()
        if (address, account_id) not in self._recent:
            self._sweep_recent(now)
        self._recent[(address, account_id)] = now + RECENT_S

    def _wait(self, key: str, now: float) -> float:
        bucket = self._buckets.get(key)
        return 0.0 if bucket is None else bucket.wait_s(now)

    def _sweep_buckets(self, now: float) -> None:
        """Past MAX_TRACKED: drop full buckets (equal to fresh ones), then, oldest first within
        each kind, address buckets, account-id buckets that still allow an attempt, and only
        last account-id buckets that refuse, down to 90% of MAX_TRACKED.

        Why this order: guesses at one account from many addresses make one bucket per address;
        dropping buckets oldest first would drop the account's (its count reset, the guessing
        free again). An address that stopped guessing and an account id guessed at once or twice
        lose little when forgotten. Why a tenth at once: the sort runs once per MAX_TRACKED/10
        new buckets, not on every request of a flood.
        """
        if len(self._buckets) < MAX_TRACKED:
            return
        for key in [k for k, b in self._buckets.items() if b.is_full(now)]:
            del self._buckets[key]
        keep = MAX_TRACKED - max(1, MAX_TRACKED // 10)
        if len(self._buckets) <= keep:
            return
        # sorted() is stable: within a rank, the dict's order (oldest first) stays.
        ranked = sorted(self._buckets, key=lambda k: (
            k.startswith("acct:"), self._buckets[k].wait_s(now) > 0))
        for key in ranked[:len(self._buckets) - keep]:
            del self._buckets[key]

    def _sweep_recent(self, now: float) -> None:
        if len(self._recent) < MAX_TRACKED:
            return
        for pair in [p for p, until in self._recent.items() if until < now]:
            del self._recent[pair]
        while len(self._recent) >= MAX_TRACKED:
            del self._recent[next(iter(self._recent))]


class RequestGuard:
    """ASGI middleware in front of the REST app or the sim app (see the module docstring).

    `public` paths (relative to the mount, e.g. `/docs`) skip authentication, not the body limit.
    """

    def __init__(self, app: ASGIApp, authenticator: Authenticator, failures: FailureLimiter, *,
                 max_body: int, public: Collection[str] = ()) -> None:
        self.app = app
        self.authenticator = authenticator
        self.failures = failures
        self.max_body = max_body
        self.public = frozenset(public)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            door = _DoorHeaders.of(scope)
            self._check_length(door)
            if _relative_path(scope) not in self.public:
                account = await self._authenticate(scope, door.authorization)
                scope.setdefault("state", {})[ACCOUNT_STATE_KEY] = account
            body_messages = await self._read_body(door, receive)
        except ApiError as exc:
            await error_response(exc)(scope, _no_more_body, send)
            return
        if body_messages is None:  # the client went away mid-body: nobody to answer
            return
        await self.app(scope, _replay(body_messages, receive), send)

    def _check_length(self, door: _DoorHeaders) -> None:
        raw = door.content_length
        if raw is not None and raw.strip().isdigit() and int(raw) > self.max_body:
            raise self._too_large()

    async def _authenticate(self, scope: Scope, authorization: str | None) -> Account:
        try:
            claimed, _ = parse_basic(authorization)
        except Unauthorized:
            raise  # no credentials at all: nothing was guessed
        address = _address(scope)
        charge = self.failures.charge(address, claimed)
        if charge.wait:
            raise RateLimited(
                f"Too many failed authentications from this address or for this account; "
                f"retry after {charge.wait} s",
                details={"retryAfter": charge.wait}, headers={"Retry-After": str(charge.wait)},
            )
        try:
            account = await self.authenticator(authorization)
        except Unauthorized:
            raise  # the charge stays: one failed authentication
        except BaseException:
            self.failures.refund(charge)  # e.g. a busy database: nothing was guessed
            raise
        self.failures.succeeded(charge, address, account.account_id)
        return account

    async def _read_body(self, door: _DoorHeaders, receive: Receive) -> list[Message] | None:
        """The body as one replayable message ([] when no body was announced), or None when the
        client disconnected. Raises PayloadTooLarge past `max_body` bytes."""
        if not door.transfer_encoding and (door.content_length or "0") == "0":
            return []
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return None
            chunk: bytes = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                raise self._too_large()
            chunks.append(chunk)
            if not message.get("more_body", False):
                return [{"type": "http.request", "body": b"".join(chunks), "more_body": False}]

    def _too_large(self) -> PayloadTooLarge:
        return PayloadTooLarge(
            f"Request body too large: at most {self.max_body} bytes",
            details={"maxBytes": self.max_body},
        )


@dataclass(frozen=True, slots=True)
class _DoorHeaders:
    """The three request headers the guard reads (the first of each, as Starlette's Headers.get
    gives it), found in one pass: reading them through Headers decoded every header name three
    times per request."""

    content_length: str | None = None
    authorization: str | None = None
    transfer_encoding: bool = False

    @classmethod
    def of(cls, scope: Scope) -> _DoorHeaders:
        found: dict[bytes, bytes] = {}
        for key, value in scope["headers"]:  # ASGI header names are lower case
            if key in _DOOR_NAMES and key not in found:
                found[key] = value
        length, authorization = found.get(b"content-length"), found.get(b"authorization")
        return cls(None if length is None else length.decode("latin-1"),
                   None if authorization is None else authorization.decode("latin-1"),
                   b"transfer-encoding" in found)


_DOOR_NAMES = frozenset({b"content-length", b"authorization", b"transfer-encoding"})


def _relative_path(scope: Scope) -> str:
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    return path[len(root):] if root and path.startswith(root) else path


def _address(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


async def _no_more_body() -> Message:
    return {"type": "http.disconnect"}


def _replay(messages: list[Message], receive: Receive) -> Receive:
    """A receive that hands out `messages`, then defers to the real one (for disconnects)."""
    pending = list(messages)

    async def replayed() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replayed
