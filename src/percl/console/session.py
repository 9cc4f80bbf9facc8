"""The console's sign-in sessions: kept on the server, named by a signed cookie.

A session is a random id the server remembers (with its account, its CSRF token and the last
action's message); the cookie carries the id and an HMAC of it under a per-process key, so a
forged or altered cookie is refused before any lookup. The cookie is HttpOnly (no script reads
it) and SameSite=Strict (no other site's page sends it). Every state-changing console request
must also carry the session's CSRF token (a form field or the X-CSRF-Token header), compared in
constant time.

Sessions live in this process's memory: a restart signs everyone out, and with several workers
a session is known only by the worker that made it (docs/DECISIONS.md). An idle session expires
after `idle_s`; at most `max_sessions` are kept (the least recently used goes first).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections import OrderedDict
from dataclasses import dataclass, field

from percl.domain.clock import Clock

COOKIE = "percl_console"
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"


@dataclass(slots=True)
class Session:
    """One signed-in browser. `flash`: the outcome of its last action, shown once."""

    sid: str
    account_id: str
    key_digest: str  # of the API key signed in with: a new key ends the session
    csrf: str
    last_seen: float
    flash: list[tuple[str, str]] = field(default_factory=list)  # (kind ok|error, text)

    def csrf_ok(self, token: str | None) -> bool:
        return token is not None and hmac.compare_digest(token.encode(), self.csrf.encode())


class Sessions:
    """The live sessions of this process (see the module's docstring)."""

    def __init__(self, clock: Clock, *, idle_s: float, max_sessions: int,
                 key: bytes | None = None) -> None:
        self._clock = clock
        self._idle_s = idle_s
        self._max = max_sessions
        self._key = key or secrets.token_bytes(32)
        self._live: OrderedDict[str, Session] = OrderedDict()

    def open(self, account_id: str, api_key: str) -> tuple[Session, str]:
        """A new session for `account_id` (signed in with `api_key`) and the cookie value that
        names it."""
        sid = secrets.token_urlsafe(24)
        session = Session(sid, account_id, key_digest(api_key), secrets.token_urlsafe(24),
                          self._clock.now())
        self._live[sid] = session
        while len(self._live) > self._max:
            self._live.popitem(last=False)
        return session, f"{sid}.{self._sign(sid)}"

    def find(self, cookie: str | None) -> Session | None:
        """The live session `cookie` names, or None (absent, forged, expired, signed out)."""
        if not cookie or "." not in cookie:
            return None
        sid, _, mac = cookie.rpartition(".")
        if not hmac.compare_digest(mac.encode(), self._sign(sid).encode()):
            return None
        session = self._live.get(sid)
        now = self._clock.now()
        if session is None or now - session.last_seen > self._idle_s:
            self._live.pop(sid, None)
            return None
        session.last_seen = now
        self._live.move_to_end(sid)
        return session

    def close(self, session: Session) -> None:
        self._live.pop(session.sid, None)

    def _sign(self, sid: str) -> str:
        return hmac.new(self._key, sid.encode(), hashlib.sha256).hexdigest()


def key_digest(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()
