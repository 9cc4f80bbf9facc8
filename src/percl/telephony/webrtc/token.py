"""The browser's credential: FreeClimb's WebRTC JWT (api/webrtc.py mints it), checked here.

The token is HS256 over `{"exp", "custom": {"to", "from", "uses"}}`, signed with the signing secret
of the account that owns `from`. It names no account, so the gate reads `custom.from` from the
unverified payload, finds the number's owner in the store, and only then verifies the signature
with that account's secret: a token signed by anyone else, or for a number nobody owns, is refused
before anything of its content is trusted.

`uses` is how many calls the token may place. The gate counts spent uses per token (by its
SHA-256) in memory: a restart forgets them, which matches the token's short life (an hour) and
needs no schema. Registering a page to be called spends nothing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import jwt

from percl.domain.clock import Clock
from percl.domain.phone import is_e164
from percl.engine.ports import Store


class TokenRefused(Exception):
    """The token cannot be used; the message says why (shown to the page)."""


@dataclass(frozen=True, slots=True)
class Claims:
    """What a verified token allows: calls from `from_` (one of `account_id`'s numbers) to `to`."""

    account_id: str
    from_: str
    to: str
    uses: int
    expires: float
    digest: str  # names the token in the gate's count of spent uses


class TokenGate:
    """Verifies tokens and counts the calls each one places."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock
        self._spent: dict[str, tuple[int, float]] = {}  # digest -> (uses spent, expiry)

    async def check(self, token: str) -> Claims:
        """The claims of a valid, unexpired `token`. Raises TokenRefused saying what is wrong."""
        custom = _custom(_unverified(token))
        number = await self._store.find_number(custom["from"])
        account = None if number is None else await self._store.get_account(number.account_id)
        if account is None:
            raise TokenRefused(f"from {custom['from']} is not a number of any account")
        try:
            payload = jwt.decode(token, account.signing_secret, algorithms=["HS256"],
                                 options={"verify_exp": False, "require": ["exp"]})
        except jwt.PyJWTError as exc:
            raise TokenRefused(f"the token's signature does not verify: {exc}") from None
        expires = payload["exp"]
        if not isinstance(expires, int | float) or expires <= self._clock.now():
            raise TokenRefused("the token has expired: make a new one "
                               "(POST /Accounts/{accountId}/Calls/WebRTC/Token)")
        digest = hashlib.sha256(token.encode()).hexdigest()
        return Claims(account.account_id, custom["from"], custom["to"], custom["uses"],
                      float(expires), digest)

    def left(self, claims: Claims) -> int:
        """How many calls the token may still place."""
        spent, _ = self._spent.get(claims.digest, (0, claims.expires))
        return max(0, claims.uses - spent)

    def usable(self, claims: Claims) -> None:
        """Raises TokenRefused when the token expired since it was checked or has no use left."""
        if claims.expires <= self._clock.now():
            raise TokenRefused("the token has expired: make a new one")
        if self.left(claims) == 0:
            raise TokenRefused(f"the token's {claims.uses} use(s) are spent: make a new one")

    def spend(self, claims: Claims) -> None:
        """Count one call placed with the token. Raises TokenRefused like `usable`."""
        self.usable(claims)
        spent, _ = self._spent.get(claims.digest, (0, claims.expires))
        self._spent[claims.digest] = (spent + 1, claims.expires)
        self._forget_expired()

    def _forget_expired(self) -> None:
        now = self._clock.now()
        for digest in [d for d, (_, expires) in self._spent.items() if expires <= now]:
            del self._spent[digest]


def _unverified(token: str) -> dict[str, Any]:
    try:
        payload: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise TokenRefused(f"not a WebRTC token (a JWT): {exc}") from None
    return payload


def _custom(payload: dict[str, Any]) -> dict[str, Any]:
    """`custom` with E.164 `to` and `from` and a positive whole `uses`."""
    custom = payload.get("custom")
    if not isinstance(custom, dict):
        raise TokenRefused("the token has no `custom` claim: it is not a FreeClimb WebRTC token")
    for name in ("to", "from"):
        if not is_e164(custom.get(name)):
            raise TokenRefused(f"the token's custom.{name} is not an E.164 number")
    uses = custom.get("uses")
    if not isinstance(uses, int) or isinstance(uses, bool) or uses < 1:
        raise TokenRefused("the token's custom.uses is not a whole number >= 1")
    return custom
