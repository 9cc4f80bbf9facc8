"""The leases contract (engine/ports/leases.py) on every SQL store kind, and the race it exists
for: two workers taking one lease on one PostgreSQL, exactly one wins."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from percl.engine.ports import Lease, LeaseKind, Leases
from percl.store.memory_leases import MemoryLeases
from percl.store.postgres import PostgresStore
from percl.store.sql.store import SqlStore
from tests import postgres
from tests.store.conftest import new_store

CALL = LeaseKind.CALL
A, B = "wka", "wkb"


@pytest.fixture(params=["memory", "sqlite", "sqlite-file", "sql-generic", "postgresql"])
async def leases(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Leases]:
    if request.param == "memory":
        yield MemoryLeases()
        return
    store = new_store(request.param, tmp_path)
    assert isinstance(store, SqlStore)
    await store.open()
    yield store.leases
    await store.close()


async def test_a_free_lease_is_taken_and_a_held_one_is_not(leases: Leases) -> None:
    assert await leases.acquire(CALL, "CA1", A, now=100.0, until=115.0)
    assert not await leases.acquire(CALL, "CA1", B, now=101.0, until=116.0)
    assert await leases.holder(CALL, "CA1", now=101.0) == A
    assert await leases.acquire(CALL, "CA1", A, now=102.0, until=117.0)  # the owner again: kept
    assert await leases.holder(CALL, "CA1", now=116.5) == A
    assert await leases.holder(CALL, "CA2", now=101.0) is None
    assert await leases.holder(LeaseKind.WORKER, "CA1", now=101.0) is None  # kinds are apart


async def test_an_expired_lease_is_free_to_take_and_listed_until_taken(leases: Leases) -> None:
    await leases.acquire(LeaseKind.WORKER, A, A, now=100.0, until=115.0)
    await leases.acquire(CALL, "CA1", A, now=100.0, until=110.0)
    assert await leases.holder(CALL, "CA1", now=110.0) is None  # expires_at <= now: ran out
    assert await leases.expired(110.0, limit=10) == [Lease(CALL, "CA1", A, 110.0)]
    assert await leases.expired(120.0, limit=10) == [
        Lease(CALL, "CA1", A, 110.0), Lease(LeaseKind.WORKER, A, A, 115.0)]
    assert await leases.expired(120.0, limit=1) == [Lease(CALL, "CA1", A, 110.0)]
    assert await leases.acquire(CALL, "CA1", B, now=110.0, until=125.0)
    assert await leases.holder(CALL, "CA1", now=111.0) == B
    assert await leases.expired(112.0, limit=10) == []


async def test_renew_moves_only_the_owners_leases(leases: Leases) -> None:
    await leases.acquire(CALL, "CA1", A, now=100.0, until=115.0)
    await leases.acquire(CALL, "CA2", A, now=100.0, until=105.0)
    await leases.acquire(CALL, "CA3", B, now=100.0, until=115.0)
    await leases.acquire(CALL, "CA4", A, now=100.0, until=105.0)
    assert await leases.acquire(CALL, "CA4", B, now=106.0, until=121.0)  # ran out: B took it
    assert await leases.renew(A, now=110.0, until=125.0) == 2
    assert await leases.holder(CALL, "CA1", now=120.0) == A
    assert await leases.holder(CALL, "CA2", now=120.0) == A  # ran out, nobody took it: still A's
    assert await leases.holder(CALL, "CA3", now=120.0) is None  # B did not renew
    assert await leases.holder(CALL, "CA4", now=120.0) == B  # taken: not A's to renew


async def test_release_gives_up_only_the_owners_lease(leases: Leases) -> None:
    await leases.acquire(CALL, "CA1", A, now=100.0, until=115.0)
    await leases.release(CALL, "CA1", B)  # not B's: nothing happens
    assert await leases.holder(CALL, "CA1", now=101.0) == A
    await leases.release(CALL, "CA1", A)
    assert await leases.holder(CALL, "CA1", now=101.0) is None
    assert await leases.acquire(CALL, "CA1", B, now=101.0, until=116.0)


async def test_of_many_workers_racing_for_one_expired_lease_exactly_one_wins() -> None:
    url = postgres.server().new_database()
    stores = [PostgresStore(url) for _ in range(4)]
    for store in stores:
        await store.open()
    try:
        await stores[0].leases.acquire(CALL, "CA1", "dead", now=100.0, until=110.0)
        for attempt in range(5):  # several rounds: the race must hold every time
            now = 120.0 + 20 * attempt
            won = await asyncio.gather(*(s.leases.acquire(CALL, "CA1", f"w{i}-{attempt}", now=now,
                                                          until=now + 10)
                                         for i, s in enumerate(stores)))
            assert sum(won) == 1
            winner = f"w{won.index(True)}-{attempt}"
            assert await stores[1].leases.holder(CALL, "CA1", now=now + 1) == winner
    finally:
        for store in stores:
            await store.close()


async def test_live_lists_the_unexpired_leases_of_a_kind(leases: Leases) -> None:
    await leases.acquire(LeaseKind.WORKER, A, A, now=100.0, until=115.0)
    await leases.acquire(LeaseKind.WORKER, B, B, now=100.0, until=105.0)
    await leases.acquire(CALL, "CA1", A, now=100.0, until=115.0)
    assert await leases.live(LeaseKind.WORKER, now=101.0) == [
        Lease(LeaseKind.WORKER, A, A, 115.0), Lease(LeaseKind.WORKER, B, B, 105.0)]
    assert await leases.live(LeaseKind.WORKER, now=105.0) == [Lease(LeaseKind.WORKER, A, A, 115.0)]


async def test_a_lease_is_transferred_only_by_its_live_owner(leases: Leases) -> None:
    await leases.acquire(CALL, "CA1", A, now=100.0, until=115.0)
    assert not await leases.transfer(CALL, "CA1", B, A, now=101.0, until=116.0)  # not B's
    assert await leases.transfer(CALL, "CA1", A, B, now=101.0, until=120.0)
    assert await leases.holder(CALL, "CA1", now=119.0) == B  # B's, with B's expiry
    assert not await leases.transfer(CALL, "CA1", A, B, now=102.0, until=130.0)  # A's no more
    assert not await leases.transfer(CALL, "CA1", B, A, now=120.0, until=130.0)  # ran out
    assert not await leases.transfer(CALL, "CA2", A, B, now=101.0, until=116.0)  # unknown
    await leases.acquire(LeaseKind.CONFERENCE, "CA1", A, now=100.0, until=115.0)
    assert await leases.transfer(LeaseKind.CONFERENCE, "CA1", A, B, now=101.0, until=116.0)
    assert await leases.holder(CALL, "CA1", now=110.0) == B  # kinds are apart


async def test_expired_leases_are_taken_dropped_and_released_several_at_once(
        leases: Leases) -> None:
    for key in ("CA1", "CA2", "CA3"):
        await leases.acquire(CALL, key, A, now=100.0, until=110.0)
    await leases.acquire(CALL, "CA4", A, now=100.0, until=130.0)  # still live
    await leases.acquire(CALL, "CA3", B, now=111.0, until=140.0)  # B was first to CA3
    for key in ("AC1/CA1", "AC1/CA2"):
        await leases.acquire(LeaseKind.LIVE, key, A, now=100.0, until=110.0)
    taken = await leases.take_expired(CALL, ["CA1", "CA2", "CA3", "CA4", "CA9"], "wkc",
                                      now=120.0, until=135.0)
    assert sorted(taken) == ["CA1", "CA2"]
    assert [await leases.holder(CALL, k, now=121.0) for k in ("CA1", "CA2", "CA3", "CA4")] == [
        "wkc", "wkc", B, A]
    assert await leases.take_expired(CALL, [], "wkc", now=120.0, until=135.0) == []
    assert await leases.drop_expired(LeaseKind.LIVE, ["AC1/CA1", "AC1/CA2"], now=120.0) == 2
    assert await leases.expired(121.0, limit=10) == []
    await leases.release_all(CALL, ["CA1", "CA2", "CA4"], "wkc")  # CA4 is A's: kept
    assert [await leases.holder(CALL, k, now=121.0) for k in ("CA1", "CA2", "CA4")] == [
        None, None, A]
