"""The Cluster (identity, heartbeat, expiry scan, forwarding) with no PostgreSQL: two workers on
in-memory leases (the contract tests/store/test_leases.py checks on every store) and the
in-process bus, driven by a FakeClock. tests/engine/workers/test_two_workers.py runs them on a
real PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import pytest

from percl.domain.json import JsonValue
from percl.engine.ports import BusUnavailable, Lease, LeaseKind
from percl.engine.workers.cluster import Cluster, WorkerSettings
from percl.engine.workers.forwarding import OwnerGone, error_from_json, error_to_json
from percl.engine.workers.local import LocalBus
from percl.errors import ApiError, BadRequest, NotFound, ServiceUnavailable, StoreBusy
from percl.store.memory_leases import MemoryLeases
from percl.testing.clock import FakeClock

SETTINGS = WorkerSettings(lease_s=15.0, forward_timeout_s=2.0)


@pytest.fixture
async def pair() -> AsyncIterator[tuple[Cluster, Cluster, FakeClock]]:
    leases, bus, clock = MemoryLeases(), LocalBus(), FakeClock()
    a = Cluster(leases, bus, clock, SETTINGS, worker_id="wka")
    b = Cluster(leases, bus, clock, SETTINGS, worker_id="wkb")
    async with a, b:
        yield a, b, clock


async def test_a_request_runs_on_the_owner_and_its_result_comes_back(
        pair: tuple[Cluster, Cluster, FakeClock]) -> None:
    a, b, _ = pair
    seen: list[Mapping[str, JsonValue]] = []

    async def echo(arguments: Mapping[str, JsonValue]) -> JsonValue:
        seen.append(arguments)
        return {"ran_on": a.worker_id, "n": arguments["n"]}

    a.serve("echo", echo)
    assert await a.own(LeaseKind.CALL, "CA1")
    assert await b.ask_owner(LeaseKind.CALL, "CA1", "echo", {"n": 7}) == {"ran_on": "wka", "n": 7}
    assert seen == [{"n": 7}]
    with pytest.raises(OwnerGone):  # nobody owns CA2
        await b.ask_owner(LeaseKind.CALL, "CA2", "echo", {"n": 1})
    with pytest.raises(OwnerGone):  # a's own lease: nothing to forward to
        await a.ask_owner(LeaseKind.CALL, "CA1", "echo", {"n": 1})


async def test_the_owners_error_is_raised_again_on_the_asker(
        pair: tuple[Cluster, Cluster, FakeClock]) -> None:
    a, b, _ = pair

    async def refuse(arguments: Mapping[str, JsonValue]) -> JsonValue:
        raise NotFound("Call CA1 not found or no longer live", details={"field": "callId"})

    async def broken(arguments: Mapping[str, JsonValue]) -> JsonValue:
        raise KeyError("a bug")

    a.serve("refuse", refuse)
    a.serve("broken", broken)
    await a.own(LeaseKind.CALL, "CA1")
    with pytest.raises(NotFound) as raised:
        await b.ask_owner(LeaseKind.CALL, "CA1", "refuse", {})
    assert raised.value.body()["details"] == {"field": "callId"} and raised.value.status == 404
    with pytest.raises(ServiceUnavailable):  # a bug on the owner is a 503, not a hang
        await b.ask_owner(LeaseKind.CALL, "CA1", "broken", {})
    with pytest.raises(BadRequest):
        await b.ask_owner(LeaseKind.CALL, "CA1", "nothing", {})


def test_errors_cross_the_bus_with_class_code_and_details() -> None:
    for error in (NotFound("gone", code=1), BadRequest("bad", code=80, details={"field": "x"}),
                  StoreBusy(), ApiError("teapot", status=418, code=99)):
        back = error_from_json(error_to_json(error))
        assert (back.status, back.code, back.message, back.details) == (
            error.status, error.code, error.message, error.details)
    assert type(error_from_json(error_to_json(StoreBusy()))) is ServiceUnavailable


async def test_an_owner_that_does_not_answer_in_time_is_gone(
        pair: tuple[Cluster, Cluster, FakeClock]) -> None:
    a, b, clock = pair
    await a.own(LeaseKind.CALL, "CA1")
    await a.forwarder.stop()  # a still holds the lease but hears nothing
    asking = asyncio.ensure_future(b.ask_owner(LeaseKind.CALL, "CA1", "echo", {}))
    async with asyncio.timeout(10):  # until its deadline is set (the heartbeats sleep 5 s)
        while clock.next_deadline() != clock.now() + SETTINGS.forward_timeout_s:
            await asyncio.sleep(0)
    assert not asking.done()
    await clock.advance(1.9)
    assert not asking.done()
    await clock.advance(0.1)  # PERCL_FORWARD_TIMEOUT_MS: 2000
    with pytest.raises(OwnerGone):
        await asking


async def test_the_heartbeat_keeps_a_live_workers_leases(pair: tuple[Cluster, Cluster, FakeClock]) -> None:
    a, b, clock = pair
    await a.own(LeaseKind.CALL, "CA1")
    await clock.advance(SETTINGS.lease_s * 4)  # renewed every 5 s all along
    assert await b.holder(LeaseKind.CALL, "CA1") == "wka"
    assert await b.holder(LeaseKind.WORKER, "wka") == "wka"
    assert not await a.alone() and b.dead_workers == []


async def test_a_silent_worker_is_found_by_the_others_scan(pair: tuple[Cluster, Cluster, FakeClock]) -> None:
    a, b, clock = pair
    gone: list[Lease] = []

    async def closed(lease: Lease) -> None:
        if await b.take_over(lease):
            gone.append(lease)
            await b.disown(lease.kind, lease.key)

    b.on_expired(LeaseKind.CALL, closed)
    await a.own(LeaseKind.CALL, "CA1")
    await a._group.close()  # a's heartbeat stops, as when its process is killed
    await clock.advance(SETTINGS.lease_s + SETTINGS.heartbeat_s)
    await b.scan()  # its heartbeat's scan may have run already: the same outcome
    assert b.dead_workers == ["wka"]
    assert [(lease.kind, lease.key, lease.owner) for lease in gone] == [(LeaseKind.CALL, "CA1", "wka")]
    assert await b.holder(LeaseKind.CALL, "CA1") is None
    assert await b.alone()


async def test_a_long_take_over_does_not_hold_up_the_workers_own_renewals(
        pair: tuple[Cluster, Cluster, FakeClock]) -> None:
    """Closing hundreds of a dead worker's calls may outlast a lease: meanwhile the worker
    doing it must go on renewing its own leases, or it looks dead to the others in turn."""
    a, b, clock = pair
    closing: list[str] = []

    async def slow(lease: Lease) -> None:
        closing.append(lease.key)
        await clock.sleep(SETTINGS.lease_s * 3)  # a take-over far longer than a lease

    b.on_expired(LeaseKind.CALL, slow)
    await b.own(LeaseKind.CALL, "CB1")
    await a.own(LeaseKind.CALL, "CA1")
    await a._group.close()  # a is killed
    await clock.advance(SETTINGS.lease_s * 2)  # b's scan found CA1 and is still closing it
    assert closing == ["CA1"]
    assert await b.holder(LeaseKind.WORKER, "wkb") == "wkb"  # renewed meanwhile
    assert await b.holder(LeaseKind.CALL, "CB1") == "wkb"
    assert await b.holder(LeaseKind.CALL, "CA1") == "wkb"  # taken, and held while closed
    await clock.advance(SETTINGS.lease_s * 2)
    assert await b.holder(LeaseKind.CALL, "CA1") is None  # let go once closed


async def test_a_dead_workers_live_call_counts_are_dropped_by_the_scan(
        pair: tuple[Cluster, Cluster, FakeClock]) -> None:
    a, b, clock = pair
    # What SqlLimits.enter_live writes: a "live" lease of the worker running the leg.
    await a.own(LeaseKind.LIVE, "AC1/CA1")
    await a._group.close()  # a is killed
    await clock.advance(SETTINGS.lease_s + SETTINGS.heartbeat_s)
    await b.scan()
    assert await b.leases.expired(clock.now(), limit=10) == []  # not left to clog the scan
    assert await b.leases.live(LeaseKind.LIVE, now=clock.now()) == []


async def test_a_dead_workers_queue_leases_are_dropped_by_the_scan(
        pair: tuple[Cluster, Cluster, FakeClock]) -> None:
    """A queue has nothing to tidy of its own (its members' legs are closed through their call
    leases); left behind, a lease nobody handles would come back in every scan."""
    a, b, clock = pair
    await a.own(LeaseKind.QUEUE, "QU1")
    await a._group.close()  # a is killed
    await clock.advance(SETTINGS.lease_s + SETTINGS.heartbeat_s)
    await b.scan()
    assert await b.leases.expired(clock.now(), limit=10) == []
    assert await b.own(LeaseKind.QUEUE, "QU1")  # the next Enqueue's worker runs the queue


class _DownBus(LocalBus):
    """A bus whose server is unreachable when sending."""

    async def publish(self, channel: str, payload: JsonValue) -> None:
        raise BusUnavailable("connection refused")


async def test_a_bus_that_cannot_send_is_a_503_not_a_crash() -> None:
    leases, bus, clock = MemoryLeases(), _DownBus(), FakeClock()
    await leases.acquire(LeaseKind.CALL, "CA1", "wka", now=clock.now(), until=clock.now() + 15)
    async with Cluster(leases, bus, clock, SETTINGS, worker_id="wkb") as b:
        with pytest.raises(ServiceUnavailable) as raised:
            await b.ask_owner(LeaseKind.CALL, "CA1", "call.update", {})
    assert raised.value.status == 503 and "connection refused" in raised.value.message


async def test_a_scan_takes_over_several_expired_leases_at_once(
        pair: tuple[Cluster, Cluster, FakeClock]) -> None:
    """Closing a dead worker's call takes a few statements and a webhook: one by one, hundreds
    of calls took minutes; the scan handles up to failover_concurrency at a time."""
    concurrency = SETTINGS.failover_concurrency
    a, b, clock = pair
    at: list[float] = []

    async def slow(lease: Lease) -> None:
        if await b.take_over(lease):
            await clock.sleep(1.0)  # the statements and the webhook of one closed call
            at.append(clock.now())
            await b.disown(lease.kind, lease.key)

    b.on_expired(LeaseKind.CALL, slow)
    for n in range(2 * concurrency):
        await a.own(LeaseKind.CALL, f"CA{n}")
    await a._group.close()
    await clock.advance(SETTINGS.lease_s + 0.5)  # expired: b's heartbeat scan takes them
    scan = asyncio.ensure_future(b.scan())
    assert await clock.run_until(scan.done, limit_s=60)
    assert len(at) == 2 * concurrency
    assert max(at) - min(at) == pytest.approx(1.0)  # two rounds, not one second per lease


@dataclass
class Stall:
    """Workers a and b on `leases`; a holds call CA1, `fenced` notes a's on_fenced, `taken`
    the call leases b's scan took over."""

    a: Cluster
    b: Cluster
    clock: FakeClock
    fenced: list[str] = field(default_factory=list)
    taken: list[str] = field(default_factory=list)


@asynccontextmanager
async def stall(leases: MemoryLeases) -> AsyncIterator[Stall]:
    bus, clock = LocalBus(), FakeClock()
    a = Cluster(leases, bus, clock, SETTINGS, worker_id="wka")
    b = Cluster(leases, bus, clock, SETTINGS, worker_id="wkb")
    s = Stall(a, b, clock)

    async def close(lease: Lease) -> None:
        s.taken.append(lease.key)

    async with a, b:
        a.on_fenced(lambda: s.fenced.append("a"))
        b.on_expired(LeaseKind.CALL, close)
        assert await a.own(LeaseKind.CALL, "CA1")
        yield s


async def test_a_stalled_worker_another_declared_dead_stops() -> None:
    """Fail-stop: a worker that comes back from a stall longer than a lease, after another
    worker's scan took its calls over, calls its `on_fenced` callback (percl serve exits) and
    renews nothing it lost; the other keeps the call."""
    async with stall(MemoryLeases()) as s:
        await s.a._group.close()  # a's loop stalls: no heartbeat (as if frozen)
        await s.clock.advance(SETTINGS.lease_s * 2)  # b's scan: a is dead, CA1 taken, closed
        assert s.taken == ["CA1"] and s.b.dead_workers == ["wka"]
        await s.a.renew()  # a's loop runs again
        assert s.fenced == ["a"]
        assert await s.b.holder(LeaseKind.WORKER, "wka") is None  # not taken again
        await s.a.renew()
        assert s.fenced == ["a"]  # once


async def test_a_worker_that_stalled_alone_keeps_its_leases() -> None:
    """Nobody declared it dead (no other worker): its leases that ran out are still its own and
    the next renewal revives them; it goes on."""
    leases, bus, clock = MemoryLeases(), LocalBus(), FakeClock()
    a = Cluster(leases, bus, clock, SETTINGS, worker_id="wka")
    fenced: list[str] = []
    async with a:
        a.on_fenced(lambda: fenced.append("a"))
        assert await a.own(LeaseKind.CALL, "CA1")
        await a._group.close()  # stalls
        await clock.advance(SETTINGS.lease_s * 2)
        assert await a.holder(LeaseKind.CALL, "CA1") is None  # ran out
        await a.renew()
        assert fenced == []
        assert await a.holder(LeaseKind.CALL, "CA1") == "wka"
        assert await a.holder(LeaseKind.WORKER, "wka") == "wka"


async def test_a_worker_that_renews_during_another_workers_take_over_is_fenced_or_whole() -> None:
    """The stalled worker renews in the middle of the other's take-over (after its first
    take): it must either find itself declared dead (fenced) or have lost none of its calls.
    The scan takes a worker's own lease before its calls, and none of a worker that is alive
    again; taking a call first let the worker renew its own lease and go on without that call,
    unfenced."""
    clock = FakeClock()
    stalled: list[Cluster] = []

    class RenewsMidTakeOver(MemoryLeases):
        async def take_expired(self, kind: LeaseKind, keys: Sequence[str], owner: str, *,
                               now: float, until: float) -> Sequence[str]:
            won = await super().take_expired(kind, keys, owner, now=now, until=until)
            for worker in stalled:  # its loop runs again right after the first take
                await worker.renew()
            stalled.clear()
            return won

    async with stall(RenewsMidTakeOver()) as s:
        a, b, clock = s.a, s.b, s.clock
        await b._group.close()  # b scans only when the test says
        await a._group.close()  # a stalls
        await clock.advance(SETTINGS.lease_s * 2)
        stalled.append(a)
        await b.scan()
        assert s.fenced == ["a"]  # b took a's own lease first: a knows it is dead
        assert s.taken == []  # and a's call, renewed meanwhile, is not taken now...
        await clock.advance(SETTINGS.lease_s * 2)
        await b.scan()
        assert s.taken == ["CA1"]  # ...but once it runs out (a stopped)
