"""Limits that hold across workers: two workers on one real PostgreSQL share an account's
live-call limit, its calls-per-second pacing and its REST rate limit (counted in the database:
store/sql/limits.py), and a request past one gets FreeClimb's error on either worker."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace

import pytest

from percl.config import Settings
from percl.domain.enums import CallEndedReason, CallStatus
from percl.engine.context import EngineSettings
from percl.engine.ports import LeaseKind
from percl.engine.workers.cluster import WorkerSettings
from percl.store.postgres import PostgresStore
from percl.testing.harness import Harness
from tests import postgres
from tests.e2e.conftest import AGENT, CALLER
from tests.engine.workers.test_two_workers import cluster, live_call

Pair = tuple[Harness, Harness]
Workers = Callable[..., Awaitable[Pair]]


@pytest.fixture
async def make_workers() -> AsyncIterator[Workers]:
    """Two workers on one new database, with the settings given (engine=..., api_rate_per_s=...)."""
    opened: list[Harness] = []

    async def make(**changes: object) -> Pair:
        url = postgres.server().new_database()
        settings = replace(Settings(db=url, cluster=WorkerSettings(lease_s=15.0,
                                                                   forward_timeout_s=2.0)),
                           **changes)  # type: ignore[arg-type]
        one = Harness(settings=settings, store=PostgresStore(url))
        two = Harness(settings=settings, store=PostgresStore(url))
        two.ids._seed = "percl-two"  # two kits would otherwise make the same ids
        for h in (one, two):
            await h.__aenter__()
            opened.append(h)
        return one, two

    yield make
    for h in reversed(opened):
        await h.__aexit__(None, None, None)


async def _live_count(h: Harness) -> int:
    return len(await cluster(h).leases.live(LeaseKind.LIVE, now=h.clock.now()))


async def _make_call(h: Harness) -> tuple[int, dict[str, object]]:
    app = h.scripted_app()
    app.on("/connect", [{"Pause": {"length": 600_000}}])
    r = await h.rest.post(f"/Accounts/{h.account.account_id}/Calls",
                          json={"from": "+13125550100", "to": AGENT,
                                "callConnectUrl": app.url("/connect")})
    return r.status_code, r.json()


async def test_the_live_call_limit_holds_across_workers(make_workers: Workers) -> None:
    one, two = await make_workers(engine=EngineSettings(max_live_calls_per_account=2))
    first = await live_call(one)
    await live_call(two)
    for h in (two, one):  # each worker runs one call: only the sum is at the limit
        status, body = await _make_call(h)
        assert status == 429 and body["code"] == 16, body
        assert "2 live calls" in str(body["message"])
    # An inbound call past the limit is refused on the other worker too (failed, never answered).
    desk = two.scripted_app()
    desk.on("/voice", [{"Pause": {"length": 600_000}}])
    number = await two.number_for_app(voice_url=desk.url("/voice"))
    inbound = await two.sim_call(CALLER, number)
    refused = await two.run_until_ended(inbound, limit_s=60)
    assert refused.status is CallStatus.FAILED
    assert refused.call_ended_reason is CallEndedReason.FAILED
    # One call ends: the other worker may start one again.
    hung_up = await one.rest.post(f"/Accounts/{one.account.account_id}/Calls/{first}",
                                  json={"status": "completed"})
    assert hung_up.status_code == 202, hung_up.text
    await one.run_until_ended(first)
    async with asyncio.timeout(10):  # the leases are given back in a task (real I/O)
        while await _live_count(one) != 1:
            await asyncio.sleep(0.01)
    status, body = await _make_call(two)
    assert status == 202, body


async def test_the_rest_rate_limit_holds_across_workers(make_workers: Workers) -> None:
    one, two = await make_workers(api_rate_per_s=1.0, api_burst=3)
    path = f"/Accounts/{one.account.account_id}/Applications"
    answers = [await h.rest.get(path) for h in (one, two, one, two, one)]
    assert [r.status_code for r in answers] == [200, 200, 200, 429, 429]
    refused = answers[3]
    assert refused.json()["code"] == 24 and refused.headers["Retry-After"] == "1"
    for h in (one, two):
        await h.advance(1.0)
    assert (await two.rest.get(path)).status_code == 200  # one more per second, on either
    assert (await one.rest.get(path)).status_code == 429


async def _pacing_timer(h: Harness, at: float) -> None:
    """Wait (real time: the turn is booked in PostgreSQL) until `h`'s clock has a timer at `at`."""
    async with asyncio.timeout(10):
        while not any(abs(when - at) < 1e-6 for when, _, _ in h.clock._timers):
            await asyncio.sleep(0.01)


async def test_dial_pacing_holds_across_workers(make_workers: Workers) -> None:
    one, two = await make_workers(engine=EngineSettings(calls_per_second=1.0))
    started = two.clock.now()
    calls = []
    for h in (one, two):  # the same second, one call on each worker
        status, body = await _make_call(h)
        assert status == 202, body
        calls.append(str(body["callId"]))
    await _pacing_timer(two, started + 1.0)  # the second's turn: a second after the first's
    assert (await two.call(calls[1])).status is CallStatus.QUEUED
    answered = []
    for h, call_id in zip((one, two), calls, strict=True):
        await h.wait_for(lambda h=h, c=call_id: h.webhooks(call_id=c, path="/connect"), within=30)
        answered.append(h.clock.now() - started)
    assert answered[1] - answered[0] == pytest.approx(1.0)  # the same ringing, a turn later
