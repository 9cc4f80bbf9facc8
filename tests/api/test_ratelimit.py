"""The per-account REST rate limit: 429 + Retry-After + code 24, on the FakeClock."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator

import freeclimb
import httpx
import pytest
import pytest_asyncio
from starlette.responses import PlainTextResponse
from starlette.types import Receive, Scope, Send

from percl.api import ratelimit
from percl.api.ratelimit import RateLimitMiddleware
from percl.config import Settings
from percl.testing.clock import FakeClock
from percl.testing.harness import Harness


def basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


ALICE = basic("AC" + "a" * 40, "alice-key")
MALLORY = basic("AC" + "a" * 40, "guessed-key")  # Alice's id, the wrong key


async def ok_app(scope: Scope, receive: Receive, send: Send) -> None:
    await PlainTextResponse("ok")(scope, receive, send)


def client(middleware: RateLimitMiddleware) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=middleware), base_url="http://t")


async def statuses(c: httpx.AsyncClient, n: int, headers: dict[str, str]) -> list[int]:
    return [(await c.get("/x", headers=headers)).status_code for _ in range(n)]


async def test_burst_then_rate_then_429_with_retry_after() -> None:
    clock = FakeClock()
    async with client(RateLimitMiddleware(ok_app, clock, rate=2, burst=3)) as c:
        assert await statuses(c, 3, ALICE) == [200, 200, 200]
        refused = await c.get("/x", headers=ALICE)
        assert refused.status_code == 429 and refused.headers["Retry-After"] == "1"
        await clock.advance(0.5)  # one token back
        assert await statuses(c, 2, ALICE) == [200, 429]


async def test_retry_after_is_whole_seconds_rounded_up() -> None:
    clock = FakeClock()
    async with client(RateLimitMiddleware(ok_app, clock, rate=0.25, burst=1)) as c:
        await c.get("/x", headers=ALICE)
        assert (await c.get("/x", headers=ALICE)).headers["Retry-After"] == "4"
        await clock.advance(2.5)
        assert (await c.get("/x", headers=ALICE)).headers["Retry-After"] == "2"


async def test_wrong_keys_do_not_use_up_the_accounts_allowance() -> None:
    clock = FakeClock()
    async with client(RateLimitMiddleware(ok_app, clock, rate=1, burst=1)) as c:
        assert await statuses(c, 2, MALLORY) == [200, 429]
        assert await statuses(c, 1, ALICE) == [200]


async def test_requests_without_credentials_pass_to_the_app() -> None:
    clock = FakeClock()
    async with client(RateLimitMiddleware(ok_app, clock, rate=1, burst=1)) as c:
        assert await statuses(c, 3, {}) == [200, 200, 200]
        assert await statuses(c, 2, {"Authorization": "Bearer x"}) == [200, 200]


async def test_rate_zero_turns_the_limit_off() -> None:
    middleware = RateLimitMiddleware(ok_app, FakeClock(), rate=0, burst=1)
    assert not middleware.enabled
    async with client(middleware) as c:
        assert set(await statuses(c, 50, ALICE)) == {200}


async def test_full_buckets_are_swept_past_the_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ratelimit, "MAX_BUCKETS", 3)
    clock = FakeClock()
    limiter = RateLimitMiddleware(ok_app, clock, rate=1, burst=2)
    for key in ("a", "b", "c"):
        assert limiter.check(key) == 0
    limiter.check("c")  # c is now empty; a and b refill while time passes
    await clock.advance(1)
    assert limiter.check("d") == 0
    assert set(limiter._buckets) == {"c", "d"}
    assert limiter.check("c") == 0  # kept, and it refilled one token meanwhile
    assert limiter.check("c") == 1


# --------------------------------------------------------------------------- through the Platform


@pytest_asyncio.fixture
async def h() -> AsyncIterator[Harness]:
    async with Harness(settings=Settings(db=":memory:", api_rate_per_s=1, api_burst=2)) as harness:
        yield harness


async def test_rest_api_answers_freeclimbs_429(h: Harness) -> None:
    rest = h.rest
    url = f"/Accounts/{h.account.account_id}"
    assert [(await rest.get(url)).status_code for _ in range(2)] == [200, 200]
    refused = await rest.get(url)
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "1"
    assert refused.headers["content-type"] == "application/json"
    body = refused.json()
    assert body["code"] == 24 and body["message"].startswith("Rate limit exceeded")
    assert body["url"].endswith("#24") and body["details"] == {"retryAfter": 1}
    error = freeclimb.PlatformError.from_json(refused.text)  # the SDK's error model parses it
    assert error is not None and error.code == 24
    await h.advance(1)
    assert (await rest.get(url)).status_code == 200


async def test_post_is_limited_before_any_work(h: Harness) -> None:
    rest = h.rest
    url = f"/Accounts/{h.account.account_id}/Applications"
    for _ in range(2):
        await rest.get(f"/Accounts/{h.account.account_id}")
    refused = await rest.post(url, json={"alias": "never made"})
    assert refused.status_code == 429
    await h.advance(1)
    listed = (await rest.get(url)).json()
    assert listed["applications"] == []


async def test_sim_api_shares_the_rest_allowance(h: Harness) -> None:
    """Issue 17.8: the sim API is limited too, from the same bucket as the REST API."""
    assert (await h.rest.get(f"/Accounts/{h.account.account_id}")).status_code == 200
    sim = h.sim_rest
    codes = [(await sim.get("/phones/+15550100001")).status_code for _ in range(2)]
    assert codes == [200, 429]
    refused = (await sim.get("/phones/+15550100001")).json()
    assert refused["code"] == 24
    await h.advance(1)
    assert (await sim.get("/phones/+15550100001")).status_code == 200


async def test_default_limit_is_generous() -> None:
    settings = Settings()
    assert (settings.api_rate_per_s, settings.api_burst) == (100.0, 200)
    async with Harness() as h:
        rest = h.rest
        codes = {(await rest.get(f"/Accounts/{h.account.account_id}")).status_code
                 for _ in range(200)}
        assert codes == {200}
        assert (await rest.get(f"/Accounts/{h.account.account_id}")).status_code == 429


async def test_a_shared_count_decides_and_its_keys_hold_no_password() -> None:
    """With workers the database's count decides (engine/ports/limits.py); when it cannot
    answer, this worker's own bucket does."""
    from percl.engine.ports import Rate

    asked: list[tuple[str, Rate]] = []
    waits = iter([0.0, 2.5])

    async def spend(key: str, rate: Rate) -> float:
        asked.append((key, rate))
        return next(waits)

    async def down(key: str, rate: Rate) -> float:
        raise ConnectionError("database away")

    clock = FakeClock()
    async with client(RateLimitMiddleware(ok_app, clock, rate=2, burst=3, shared=spend)) as c:
        assert await statuses(c, 1, ALICE) == [200]
        refused = await c.get("/x", headers=ALICE)
        assert refused.status_code == 429 and refused.headers["Retry-After"] == "3"
        assert refused.json()["code"] == 24
    assert [rate for _, rate in asked] == [Rate(2, 3)] * 2
    assert all(key.startswith("api:") and "alice" not in key for key, _ in asked)
    async with client(RateLimitMiddleware(ok_app, clock, rate=2, burst=1, shared=down)) as c:
        assert await statuses(c, 2, ALICE) == [200, 429]
