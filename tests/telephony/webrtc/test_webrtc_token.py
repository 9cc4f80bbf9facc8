"""The WebRTC JWT gate: FreeClimb's token (as api/webrtc.py mints it) is verified with the secret of
the account owning `from`, its expiry is the platform clock's, and its uses are counted."""

from __future__ import annotations

import jwt
import pytest

from percl.domain.records import Account, IncomingNumber
from percl.store.memory import MemoryStore
from percl.telephony.webrtc.token import TokenGate, TokenRefused
from percl.testing.clock import FakeClock

ACCOUNT = "AC" + "a" * 40
SECRET = "sigsec_" + "s" * 40
NUMBER = "+13125550100"
TO = "+13125550199"


@pytest.fixture
async def gate() -> tuple[TokenGate, FakeClock]:
    store = MemoryStore()
    await store.open()
    await store.put_account(Account(account_id=ACCOUNT, api_key="k" * 40, signing_secret=SECRET))
    await store.put_number(IncomingNumber(phone_number_id="PN" + "1" * 40, account_id=ACCOUNT,
                                          phone_number=NUMBER))
    clock = FakeClock()
    return TokenGate(store, clock), clock


def token(clock: FakeClock, *, secret: str = SECRET, ttl: float = 3600, **custom: object) -> str:
    claims = {"to": TO, "from": NUMBER, "uses": 2, **custom}
    return jwt.encode({"exp": int(clock.now() + ttl), "custom": claims}, secret, algorithm="HS256")


async def test_a_good_token_names_the_account_of_its_from_number(gate: tuple[TokenGate, FakeClock]) -> None:
    g, clock = gate
    claims = await g.check(token(clock))
    assert (claims.account_id, claims.from_, claims.to, claims.uses) == (ACCOUNT, NUMBER, TO, 2)
    assert g.left(claims) == 2


async def test_uses_are_counted_per_token(gate: tuple[TokenGate, FakeClock]) -> None:
    g, clock = gate
    claims = await g.check(token(clock))
    g.spend(claims)
    again = await g.check(token(clock))  # the same token checked again: same count
    assert g.left(again) == 1
    g.spend(again)
    with pytest.raises(TokenRefused, match="spent"):
        g.spend(claims)
    other = await g.check(token(clock, uses=1, to="+13125550198"))
    assert g.left(other) == 1


async def test_expiry_follows_the_platform_clock(gate: tuple[TokenGate, FakeClock]) -> None:
    g, clock = gate
    claims = await g.check(token(clock, ttl=60))
    await clock.advance(61)
    with pytest.raises(TokenRefused, match="expired"):
        g.usable(claims)
    with pytest.raises(TokenRefused, match="expired"):
        await g.check(token(clock, ttl=-1))


@pytest.mark.parametrize(("make", "why"), [
    (lambda c: token(c, secret="sigsec_" + "x" * 40), "signature"),
    (lambda c: token(c, **{"from": "+13125550111"}), "not a number of any account"),
    (lambda c: token(c, uses=0), "uses"),
    (lambda c: token(c, uses=True), "uses"),
    (lambda c: token(c, to="sip:bob@example.com"), "custom.to"),
    (lambda c: jwt.encode({"exp": 9e9}, SECRET, algorithm="HS256"), "custom"),
    (lambda c: jwt.encode({"custom": {"to": TO, "from": NUMBER, "uses": 1}}, SECRET,
                          algorithm="HS256"), "exp"),
    (lambda c: "not.a.jwt", "not a WebRTC token"),
])
async def test_bad_tokens_are_refused_saying_why(gate: tuple[TokenGate, FakeClock], make: object,
                                                 why: str) -> None:
    g, clock = gate
    with pytest.raises(TokenRefused, match=why):
        await g.check(make(clock))  # type: ignore[operator]
