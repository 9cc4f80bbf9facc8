"""Issue 17.14: wrong-key guesses are limited per source address and per account id."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import freeclimb
import httpx
import pytest
import pytest_asyncio
from starlette.types import Receive, Scope, Send

from percl.api import guard
from percl.api.guard import FailureLimiter, RequestGuard
from percl.config import GuardSettings, Settings
from percl.domain.records import Account
from percl.errors import Unauthorized
from percl.testing import FakeClock
from percl.testing.harness import Harness
from tests.security._accounts import REST, SIM, auth_of, basic, client, second_account

BURST = 5


@pytest_asyncio.fixture
async def h() -> AsyncIterator[Harness]:
    guard = GuardSettings(auth_fail_rate=0.5, auth_fail_burst=BURST)
    async with Harness(settings=Settings(db="memory://", guard=guard)) as harness:
        yield harness


async def guesses(h: Harness, account_id: str, n: int, *, address: str,
                  base: str = REST) -> list[int]:
    statuses = []
    async with client(h, base, address=address) as c:
        for i in range(n):
            headers = basic(account_id, f"guess-{i}")
            statuses.append((await c.get(f"/Accounts/{account_id}", headers=headers)).status_code)
    return statuses


async def test_one_address_guessing_gets_429_after_the_burst(h: Harness) -> None:
    statuses = await guesses(h, h.account.account_id, 50, address="10.0.0.1")
    assert statuses == [401] * BURST + [429] * (50 - BURST)
    async with client(h, REST, address="10.0.0.1") as c:
        refused = await c.get(f"/Accounts/{h.account.account_id}", headers=auth_of(h.account))
    assert refused.status_code == 429  # even the right key: no more answers to this address
    assert int(refused.headers["Retry-After"]) >= 1
    error = freeclimb.PlatformError.from_json(refused.text)
    assert error is not None and error.code == 24
    await h.advance(2)  # one failure forgiven per 2 s
    assert await guesses(h, h.account.account_id, 2, address="10.0.0.1") == [401, 429]


async def test_the_address_limit_spans_account_ids_and_both_apis(h: Harness) -> None:
    other = await second_account(h)
    assert await guesses(h, h.account.account_id, BURST, address="10.0.0.2") == [401] * BURST
    assert await guesses(h, other.account_id, 1, address="10.0.0.2", base=SIM) == [429]


async def test_many_addresses_guessing_one_account_are_limited_per_account(h: Harness) -> None:
    target = h.account.account_id
    statuses = [(await guesses(h, target, 1, address=f"10.1.0.{i}"))[0] for i in range(20)]
    assert statuses == [401] * BURST + [429] * (20 - BURST)
    # another account is not affected
    other = await second_account(h)
    async with client(h, REST, address="10.1.0.99") as c:
        ok = await c.get(f"/Accounts/{other.account_id}", headers=auth_of(other))
    assert ok.status_code == 200


async def test_a_client_already_in_use_keeps_working_during_a_flood(h: Harness) -> None:
    target = h.account
    async with client(h, REST, address="192.168.1.5", headers=auth_of(target)) as owner:
        assert (await owner.get(f"/Accounts/{target.account_id}")).status_code == 200
        for i in range(10):
            await guesses(h, target.account_id, 1, address=f"10.2.0.{i}")
        assert (await owner.get(f"/Accounts/{target.account_id}")).status_code == 200
    # a new address is refused for that account until the flood's failures are forgiven
    async with client(h, REST, address="192.168.1.6", headers=auth_of(target)) as fresh:
        assert (await fresh.get(f"/Accounts/{target.account_id}")).status_code == 429


async def test_requests_without_credentials_are_401_and_not_counted(h: Harness) -> None:
    async with client(h, REST, address="10.3.0.1") as c:
        statuses = {(await c.get(f"/Accounts/{h.account.account_id}")).status_code
                    for _ in range(20)}
        assert statuses == {401}
        ok = await c.get(f"/Accounts/{h.account.account_id}", headers=auth_of(h.account))
    assert ok.status_code == 200


async def test_concurrent_guesses_are_counted_before_their_keys_are_compared() -> None:
    # The account lookup may suspend (a database read): guesses arriving meanwhile must not all
    # pass the limit before the first of them has failed.
    async def lookup_then_refuse(authorization: str | None) -> Account:
        await asyncio.sleep(0)
        raise Unauthorized("Invalid accountId or apiKey")

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        raise AssertionError("no guess gets in")

    limiter = FailureLimiter(FakeClock(), rate=0.5, burst=BURST)
    guard = RequestGuard(app, lookup_then_refuse, limiter, max_body=1024)
    transport = httpx.ASGITransport(app=guard, client=("10.9.0.1", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://percl.test") as c:
        answers = await asyncio.gather(*(c.get("/x", headers=basic("AC" + "1" * 40, f"g{i}"))
                                         for i in range(20)))
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [401] * BURST + [429] * (20 - BURST)


async def test_successful_requests_give_their_charge_back(h: Harness) -> None:
    async with client(h, REST, address="10.4.0.1", headers=auth_of(h.account)) as c:
        statuses = {(await c.get(f"/Accounts/{h.account.account_id}")).status_code
                    for _ in range(3 * BURST)}
    assert statuses == {200}
    assert await guesses(h, h.account.account_id, BURST + 1, address="10.4.0.1") == (
        [401] * BURST + [429])


def test_many_addresses_cannot_push_a_guessed_accounts_bucket_out(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # Guessing one account from many addresses (or at many other ids) makes bucket after bucket;
    # past the cap the account's refusing bucket must not be the one dropped (its count reset).
    monkeypatch.setattr(guard, "MAX_TRACKED", 20)
    limiter = FailureLimiter(FakeClock(), rate=0.5, burst=BURST)
    target = "AC" + "7" * 40
    for i in range(BURST):
        assert limiter.charge(f"10.7.0.{i}", target).wait == 0
    assert limiter.charge("10.7.1.1", target).wait > 0
    for i in range(200):  # no time passes: nothing refills
        assert limiter.charge(f"10.8.{i // 250}.{i % 250}", f"AC{i:040d}").wait == 0
    assert len(limiter._buckets) <= 20
    assert limiter.charge("10.9.0.1", target).wait > 0
