"""Limits several workers share (store/sql/limits.py) on a real PostgreSQL: live calls as leases
counted under a per-account lock, rates as one GCRA row per key. Several stores on one database
stand for several workers; each race is run a few rounds (it must hold every time)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from percl.engine.ports import LeaseKind, Rate
from percl.store.postgres import PostgresStore
from tests import postgres

AC = "AC" + "1" * 40
OTHER = "AC" + "2" * 40


@pytest.fixture
async def stores() -> AsyncIterator[list[PostgresStore]]:
    url = postgres.server().new_database()
    opened = [PostgresStore(url) for _ in range(4)]
    for store in opened:
        await store.open()
    try:
        yield opened
    finally:
        for store in opened:
            await store.close()


async def test_live_calls_past_the_limit_are_refused_until_one_leaves(
        stores: list[PostgresStore]) -> None:
    one, two = stores[0].limits, stores[1].limits
    enter = dict(limit=2, now=100.0, until=115.0)
    assert await one.enter_live(AC, "CA1", "wa", **enter)
    assert await two.enter_live(AC, "CA2", "wb", **enter)
    assert not await two.enter_live(AC, "CA3", "wb", **enter)
    assert await two.enter_live(OTHER, "CA4", "wb", **enter)  # another account's own count
    await one.leave_live(AC, "CA1", "wb")  # not wb's: still counted
    assert not await one.enter_live(AC, "CA3", "wa", **enter)
    await one.leave_live(AC, "CA1", "wa")
    assert await one.enter_live(AC, "CA3", "wa", **enter)


async def test_a_dead_workers_live_calls_stop_counting_when_its_leases_run_out(
        stores: list[PostgresStore]) -> None:
    limits, leases = stores[0].limits, stores[0].leases
    assert await limits.enter_live(AC, "CA1", "dead", limit=1, now=100.0, until=115.0)
    assert await limits.enter_live(AC, "CA2", "alive", limit=2, now=100.0, until=115.0)
    assert await leases.renew("alive", now=110.0, until=125.0) == 1  # the heartbeat
    assert not await limits.enter_live(AC, "CA3", "alive", limit=2, now=114.0, until=129.0)
    assert await limits.enter_live(AC, "CA3", "alive", limit=2, now=116.0, until=131.0)
    assert [lease.key for lease in await leases.live(LeaseKind.LIVE, now=116.0)] == [
        f"{AC}/CA2", f"{AC}/CA3"]


async def test_workers_entering_at_once_never_pass_the_limit(stores: list[PostgresStore]) -> None:
    for attempt in range(4):
        account = f"AC{attempt:040d}"
        entered = await asyncio.gather(*(
            s.limits.enter_live(account, f"CA{i}-{j}", f"w{i}", limit=5, now=100.0, until=115.0)
            for i, s in enumerate(stores) for j in range(3)))
        assert sum(entered) == 5


async def test_spending_allows_a_burst_then_the_rate(stores: list[PostgresStore]) -> None:
    limits = stores[0].limits
    rate = Rate(per_s=2.0, burst=3)
    assert [await limits.spend("api:x", rate, now=100.0) for _ in range(3)] == [0.0] * 3
    assert await limits.spend("api:x", rate, now=100.0) == pytest.approx(0.5)
    assert await limits.spend("api:x", rate, now=100.25) == pytest.approx(0.25)  # nothing spent
    assert await limits.spend("api:x", rate, now=100.5) == 0.0
    assert await limits.spend("api:y", rate, now=100.5) == 0.0  # a key of its own


async def test_workers_spending_at_once_spend_exactly_the_burst(
        stores: list[PostgresStore]) -> None:
    rate = Rate(per_s=1.0, burst=7)
    for attempt in range(4):
        key = f"api:race{attempt}"
        waits = await asyncio.gather(*(s.limits.spend(key, rate, now=100.0)
                                       for s in stores for _ in range(4)))
        assert waits.count(0.0) == 7


async def test_reservations_hand_out_turns_at_the_rate_in_order(
        stores: list[PostgresStore]) -> None:
    rate = Rate(per_s=2.0, burst=2)
    one, two = stores[0].limits, stores[1].limits
    turns = [await limits.reserve("cps:AC", rate, now=100.0) for limits in (one, two, one, two)]
    assert turns == pytest.approx([0.0, 0.0, 0.5, 1.0])
    assert await one.reserve("cps:AC", rate, now=101.0) == pytest.approx(0.5)
    assert await two.reserve("cps:AC", rate, now=110.0) == 0.0  # long idle: the burst is back


async def test_sweep_forgets_only_keys_back_at_their_full_allowance(
        stores: list[PostgresStore]) -> None:
    limits = stores[0].limits
    rate = Rate(per_s=1.0, burst=1)
    await limits.spend("api:a", rate, now=100.0)  # tat 101
    await limits.spend("api:b", rate, now=105.0)  # tat 106
    assert await limits.sweep(101.0) == 1
    assert await limits.spend("api:b", rate, now=105.5) == pytest.approx(0.5)  # kept


def test_a_rate_needs_a_positive_rate_and_a_burst_of_one() -> None:
    with pytest.raises(ValueError):
        Rate(per_s=0.0, burst=1)
    with pytest.raises(ValueError):
        Rate(per_s=1.0, burst=0.5)


def test_only_plain_values_are_written_into_the_locked_message() -> None:
    """PostgresStore.write_locked sends the advisory lock and the statement in one message when
    every value can be a literal (ids, keys, numbers); anything else goes as a parameter."""
    from percl.store.postgres import _inline

    sql = "INSERT INTO t VALUES ($1, $2::VARCHAR, $3, $10, $4, $5)"
    values = [f"{AC}/CA1", "wk00ff", 115.5, None, True, *[None] * 4, 7]
    assert _inline(sql, values) == (
        f"INSERT INTO t VALUES ('{AC}/CA1', 'wk00ff'::VARCHAR, 115.5, 7, NULL, TRUE)")
    for unsafe in ("it's", "back\\slash", "new\nline", float("nan"), b"bytes", ["list"]):
        assert _inline("SELECT $1", [unsafe]) is None
    assert _inline("SELECT $2", ["one"]) is None  # no second value
