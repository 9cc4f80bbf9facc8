"""Per-account REST rate limit: a token bucket in front of /apiserver, answering FreeClimb's 429.

Over the limit a request gets HTTP 429, a `Retry-After` header (whole seconds, at least 1) and
FreeClimb's error body with code 24 "rate limit exceeded", before any route or store work is done.
FreeClimb publishes no numbers (its CLI self-throttles to 5 requests/s); percl's defaults are
generous (100/s, bursts of 200) so normal use never meets them, and a rate of 0 turns it off.

Why the bucket is keyed by the credentials and not by the account id alone: the limit runs before
authentication (so a flood costs no database lookup), and keying by the claimed account id would let
anyone who knows an id, but not its key, use up that account's allowance. Requests without Basic
credentials pass through untouched; the guard behind it (guard.py) answers them 401, and limits
wrong-key guesses by address and account id. Time comes from the injected Clock.

With several workers (`shared`: engine/ports/limits.py) the allowance is counted in the database
they share, one statement per request, so it holds for the account and not per worker; the key
stored is a digest of this middleware's key. If the database cannot answer, this worker's own
bucket decides (the limit then holds per worker until it is back).
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections.abc import Awaitable, Callable

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from percl.api.auth import parse_basic
from percl.domain.clock import Clock
from percl.engine.admission import TokenBucket
from percl.engine.ports import Rate
from percl.errors import RateLimited, Unauthorized

log = logging.getLogger("percl.api")

#: Past this many buckets, full ones (equal to fresh ones) are dropped.
MAX_BUCKETS = 10_000

#: Spends one event of a key's allowance for every worker: 0.0 when spent, else the seconds to
#: wait (engine/workers/cluster.Cluster.spend).
SharedSpender = Callable[[str, Rate], Awaitable[float]]


class RateLimitMiddleware:
    """Wraps the REST ASGI app. `rate` requests per second per credential pair, `burst` at once."""

    def __init__(self, app: ASGIApp, clock: Clock, *, rate: float, burst: int,
                 shared: SharedSpender | None = None) -> None:
        self.app = app
        self.clock = clock
        self.rate = rate
        self.burst = burst
        self.shared = shared
        self._buckets: dict[str, TokenBucket] = {}

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    def sharing(self, app: ASGIApp) -> RateLimitMiddleware:
        """The same limit in front of another app, spending the same buckets (the sim API shares
        the REST API's allowance, so adding an API does not add allowance)."""
        twin = RateLimitMiddleware(app, self.clock, rate=self.rate, burst=self.burst,
                                   shared=self.shared)
        twin._buckets = self._buckets
        return twin

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.enabled:
            await self.app(scope, receive, send)
            return
        key = _credential_key(Headers(scope=scope).get("authorization"))
        retry_after = 0 if key is None else await self._charge(key)
        if retry_after == 0:
            await self.app(scope, receive, send)
            return
        error = RateLimited(
            f"Rate limit exceeded: at most {self.rate:g} requests per second per account "
            f"(bursts of {self.burst}); retry after {retry_after} s",
            details={"retryAfter": retry_after},
            headers={"Retry-After": str(retry_after)},
        )
        response = JSONResponse(error.body(), status_code=error.status, headers=error.headers)
        await response(scope, receive, send)

    async def _charge(self, key: str) -> int:
        if self.shared is None:
            return self.check(key)
        try:
            wait = await self.shared("api:" + hashlib.sha256(key.encode()).hexdigest()[:40],
                                     Rate(self.rate, max(1, self.burst)))
        except Exception:  # the database is away: this worker's bucket (see the module doc)
            log.warning("REST rate limit: the shared count failed; this worker's own decides",
                        exc_info=True)
            return self.check(key)
        return 0 if wait <= 0 else max(1, math.ceil(wait - 1e-9))

    def check(self, key: str) -> int:
        """Spend one request of `key`'s allowance: 0 when allowed, else the whole seconds (>= 1)
        until the next request would be."""
        now = self.clock.now()
        bucket = self._buckets.get(key)
        if bucket is None:
            self._sweep(now)
            bucket = self._buckets[key] = TokenBucket(self.rate, max(1, self.burst), now)
        if bucket.take(now):
            return 0
        return max(1, math.ceil(bucket.wait_s(now) - 1e-9))

    def _sweep(self, now: float) -> None:
        if len(self._buckets) < MAX_BUCKETS:
            return
        for key in [k for k, b in self._buckets.items() if b.is_full(now)]:
            del self._buckets[key]


def _credential_key(authorization: str | None) -> str | None:
    """A digest of the Basic credentials (the key never stays in memory), or None without them."""
    try:
        user, password = parse_basic(authorization)
    except Unauthorized:
        return None
    return user + ":" + hashlib.sha256(password.encode("utf-8")).hexdigest()
