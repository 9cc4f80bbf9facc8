"""Each queue runs on one worker, the holder of its `queue` lease (issue 19): an Enqueue on
another worker moves its leg there (the conferences' hand-over), so maxSize is counted and the
members are ordered by one worker, under its lock. The e2e kit's two workers on one PostgreSQL
(tests/e2e/workers_kit.py: phones' calls run on "calls", REST calls on "rest", one FakeClock)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from percl.app import Platform
from percl.domain.enums import CallEndedReason, CallStatus
from percl.engine.ports import LeaseKind
from percl.engine.queue.members import QueueMembership
from tests import postgres
from tests.e2e.conference_kit import AsyncApp, sdk_parses_all
from tests.e2e.conftest import AGENT, CALLER
from tests.e2e.test_conferences_workers import FC, B, rest_call, worker_of
from tests.e2e.workers_kit import LEASE_S, TwoWorkers


@pytest.fixture
async def kit() -> AsyncIterator[TwoWorkers]:
    async with TwoWorkers(postgres.server().new_database()) as workers:
        yield workers


class Desk:
    """A support line: phones' callers (the calls worker) and REST calls (the rest worker) are
    put in one queue, wait in a long Pause, and hang up once their actionUrl answered."""

    def __init__(self, h: TwoWorkers, queue_id: str) -> None:
        self.h, self.queue_id = h, queue_id
        self.app = app = AsyncApp(h)
        enqueue = [{"Enqueue": {"queueId": queue_id, "waitUrl": app.url("/wait/x"),
                                "actionUrl": app.url("/action/x"),
                                "notificationUrl": app.url("/notify/x")}}]
        app.on("voice", enqueue)
        app.on("connect", enqueue)
        app.on("wait", [{"Pause": {"length": 600_000}}])
        app.on("action", [{"Say": {"text": "goodbye"}}])
        for name in ("notify", "status"):
            app.on(name, [])

    async def open(self) -> None:
        await self.h.number_for_app(FC, voice_url=self.app.url("/voice"),
                                    status_callback_url=self.app.url("/status"))

    async def rest_caller(self) -> str:
        return await rest_call(self.h, B, self.app.url("/connect/x"), self.app.url("/status/x"))

    def results(self, call_id: str) -> list[str]:
        """The queueResult of every actionUrl request of `call_id`."""
        return [w.body["queueResult"] for w in self.h.webhooks(call_id=call_id, path="/action/x")]

    def added(self, call_id: str) -> int:
        return len(self.h.webhooks(call_id=call_id, request_type="addToQueueNotification"))


async def new_queue(h: TwoWorkers, **fields: Any) -> str:
    r = await h.rest.post(f"/Accounts/{h.account.account_id}/Queues", json=fields)
    assert r.status_code == 201, r.text
    queue_id: str = r.json()["queueId"]
    return queue_id


async def members(h: TwoWorkers, queue_id: str) -> list[dict[str, Any]]:
    """GET /Queues/{id}/Members (through the rest worker), head first."""
    r = await h.rest.get(f"/Accounts/{h.account.account_id}/Queues/{queue_id}/Members")
    assert r.status_code == 200, r.text
    listed: list[dict[str, Any]] = r.json()["queueMembers"]
    return listed


async def holder(h: TwoWorkers, kind: LeaseKind, key: str) -> str | None:
    assert h.rest_worker.cluster is not None
    return await h.rest_worker.cluster.holder(kind, key)


def worker_id(platform: Platform) -> str:
    assert platform.cluster is not None
    return platform.cluster.worker_id


def at_the_door(platform: Platform, call_id: str) -> bool:
    """True while `call_id`'s Enqueue on `platform` waits for the queue's lock."""
    session = platform.calls.sessions.get(call_id)
    return session is not None and isinstance(session.membership, QueueMembership)


async def held_back(h: TwoWorkers, queue_id: str) -> list[asyncio.Lock]:
    """Both workers' locks of the queue, taken: Enqueues wait at them until `let_in`."""
    locks = [worker.queues.lock(queue_id) for worker in h.workers]
    for lock in locks:
        await lock.acquire()
    return locks


def let_in(locks: list[asyncio.Lock]) -> None:
    for lock in locks:  # at one instant: every Enqueue waiting goes on together
        lock.release()


def positions(messages: list[str], queue_id: str) -> list[int]:
    prefix = f"Call added to queue {queue_id} at position "
    return [int(m.removeprefix(prefix)) for m in messages if m.startswith(prefix)]


async def test_two_workers_enqueueing_at_once_keep_max_size(kit: TwoWorkers) -> None:
    """A caller on each worker enqueues into a queue of maxSize 1 at the same instant: one is
    admitted, the other refused (queueFull to its actionUrl); both were counted by one worker."""
    h = kit
    queue_id = await new_queue(h, maxSize=1)
    desk = Desk(h, queue_id)
    await desk.open()
    locks = await held_back(h, queue_id)
    phone = await h.sim_call(CALLER, FC)
    rest = await desk.rest_caller()
    await h.wait_for(lambda: at_the_door(h.platform, phone) and at_the_door(h.rest_worker, rest),
                     within=30)
    let_in(locks)
    await h.wait_for(lambda: all(desk.added(c) or desk.results(c) for c in (phone, rest)),
                     within=30)
    listed = await members(h, queue_id)
    assert len(listed) == 1
    [admitted] = [m["callId"] for m in listed]
    [refused] = {phone, rest} - {admitted}
    assert desk.results(refused) == ["queueFull"] and desk.added(refused) == 0
    assert desk.added(admitted) == 1 and desk.results(admitted) == []
    owner = await holder(h, LeaseKind.QUEUE, queue_id)
    assert owner == await holder(h, LeaseKind.CALL, admitted)  # the member waits on its owner
    call = await h.run_until_ended(refused, limit_s=60)  # actionUrl's Say, then the end
    assert call.status is CallStatus.COMPLETED and call.queue_id is None
    assert (await h.call(admitted)).queue_id == queue_id
    sdk_parses_all(h)


async def test_a_caller_on_the_other_worker_moves_to_the_queue_and_is_dequeued_there(
        kit: TwoWorkers) -> None:
    """The first caller (calls worker) makes the queue that worker's; a REST call's Enqueue
    (rest worker) moves the leg there. REST dequeues through the rest worker reach it; once the
    queue is empty its lease is let go, and the next Enqueue's worker runs it."""
    h = kit
    queue_id = await new_queue(h)
    desk = Desk(h, queue_id)
    await desk.open()
    first = await h.sim_call(CALLER, FC)
    await h.wait_for(lambda: desk.added(first), within=30)
    calls_worker = worker_id(h.platform)
    assert await holder(h, LeaseKind.QUEUE, queue_id) == calls_worker
    moved = await desk.rest_caller()
    await h.wait_for(lambda: desk.added(moved), within=60)
    assert worker_of(h, moved) == "calls"  # it moved to the queue's worker
    assert await holder(h, LeaseKind.CALL, moved) == calls_worker
    assert [(m["callId"], m["position"]) for m in await members(h, queue_id)] == [
        (first, 1), (moved, 2)]
    assert positions([e.message for e in await h.logs(moved)], queue_id) == [2]
    assert desk.added(moved) == 1  # enqueued once, there

    base = f"/Accounts/{h.account.account_id}/Queues/{queue_id}/Members"
    r = await h.rest.post(f"{base}/{moved}")  # through the rest worker: forwarded
    assert r.status_code == 202, r.text
    assert (r.json()["callId"], r.json()["position"]) == (moved, 2)
    r = await h.rest.post(f"{base}/Front")
    assert r.status_code == 202 and r.json()["callId"] == first, r.text
    for leg in (first, moved):
        call = await h.run_until_ended(leg, limit_s=60)  # actionUrl's Say, then the end
        assert desk.results(leg) == ["dequeued"]
        assert call.status is CallStatus.COMPLETED and call.queue_id is None
    assert await holder(h, LeaseKind.QUEUE, queue_id) is None  # empty: let go

    third = await desk.rest_caller()  # now the rest worker takes the queue and stays
    await h.wait_for(lambda: desk.added(third), within=60)
    assert worker_of(h, third) == "rest"
    assert await holder(h, LeaseKind.QUEUE, queue_id) == worker_id(h.rest_worker)
    sdk_parses_all(h)


async def test_members_tied_on_time_keep_the_order_they_arrived_in(kit: TwoWorkers) -> None:
    """Three callers (two phones, one REST call on the other worker) enqueue at one instant:
    each is told a different position, and the queue lists them in that order."""
    h = kit
    queue_id = await new_queue(h)
    desk = Desk(h, queue_id)
    await desk.open()
    locks = await held_back(h, queue_id)
    phones = [await h.sim_call(number, FC) for number in (CALLER, AGENT)]
    rest = await desk.rest_caller()
    await h.wait_for(lambda: all(at_the_door(h.platform, c) for c in phones)
                     and at_the_door(h.rest_worker, rest), within=30)
    let_in(locks)
    callers = [*phones, rest]
    await h.wait_for(lambda: all(desk.added(c) for c in callers), within=60)
    told = {c: positions([e.message for e in await h.logs(c)], queue_id) for c in callers}
    assert sorted(p for [p] in told.values()) == [1, 2, 3], told
    listed = await members(h, queue_id)
    assert len({m["dateEnqueued"] for m in listed}) == 1  # tied on time
    assert [m["callId"] for m in listed] == sorted(callers, key=lambda c: told[c][0])
    assert [m["position"] for m in listed] == [1, 2, 3]
    assert {worker_of(h, c) for c in callers} == {"calls" if await holder(
        h, LeaseKind.QUEUE, queue_id) == worker_id(h.platform) else "rest"}


async def test_a_caller_the_queues_worker_cannot_take_ends_with_a_reason(kit: TwoWorkers) -> None:
    """A leg whose media is tied to its worker (a SIP or browser phone: `park` refuses it)
    cannot join a queue another worker runs: it ends with perclProcessingError and log lines
    saying why; the queue is as it was."""
    h = kit
    h.rest_worker.sim.park = lambda _call_id: False  # type: ignore[method-assign]
    queue_id = await new_queue(h)
    desk = Desk(h, queue_id)
    await desk.open()
    first = await h.sim_call(CALLER, FC)
    await h.wait_for(lambda: desk.added(first), within=30)
    tied = await desk.rest_caller()
    call = await h.run_until_ended(tied, limit_s=60)
    assert (call.status, call.call_ended_reason) == (
        CallStatus.COMPLETED, CallEndedReason.PERCL_PROCESSING_ERROR)
    assert call.queue_id is None and desk.added(tied) == 0 and desk.results(tied) == []
    messages = [e.message for e in await h.logs(tied)]
    assert any("cannot move to percl worker" in m for m in messages), messages
    assert any(m.startswith(f"Enqueue: queue {queue_id} runs on percl worker") for m in messages)
    assert [m["callId"] for m in await members(h, queue_id)] == [first]
    assert await holder(h, LeaseKind.QUEUE, queue_id) == worker_id(h.platform)


async def test_a_dead_owners_queue_goes_to_the_next_worker_that_enqueues(kit: TwoWorkers) -> None:
    """The queue's worker dies (stops renewing): the other closes its member's call, the
    queue's lease runs out and is dropped, and the next Enqueue runs the queue where it is."""
    h = kit
    queue_id = await new_queue(h)
    desk = Desk(h, queue_id)
    await desk.open()
    first = await h.sim_call(CALLER, FC)
    await h.wait_for(lambda: desk.added(first), within=30)
    assert h.platform.cluster is not None
    await h.platform.cluster._group.close()  # the calls worker is killed
    await h.advance(LEASE_S * 4 / 3 + 1)
    assert (await h.call(first)).call_ended_reason is CallEndedReason.INTERNAL_ERROR
    assert await members(h, queue_id) == []
    assert await holder(h, LeaseKind.QUEUE, queue_id) is None
    later = await desk.rest_caller()
    await h.wait_for(lambda: desk.added(later), within=60)
    assert worker_of(h, later) == "rest"  # not sent to the dead worker
    assert [m["callId"] for m in await members(h, queue_id)] == [later]
    assert await holder(h, LeaseKind.QUEUE, queue_id) == worker_id(h.rest_worker)
