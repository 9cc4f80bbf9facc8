"""Two percl workers in one test process sharing one real PostgreSQL and its LISTEN/NOTIFY bus:
a call runs on the worker that created it; a REST update of it sent to the other worker is
forwarded to the owner and answered with the owner's result; an owner that is gone gets the
error a dead call gets; a worker that stops renewing has its calls closed by the other."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
from freeclimb.models.webhook import Webhook

from percl.config import Settings
from percl.domain.enums import CallEndedReason, CallStatus, ConferenceStatus
from percl.engine.ports import LeaseKind
from percl.engine.workers.cluster import Cluster, WorkerSettings
from percl.store.postgres import PostgresStore
from percl.testing.harness import Harness
from percl.testing.tracked import Tracked
from tests import postgres
from tests.e2e.conference_kit import AsyncApp
from tests.e2e.conftest import AGENT, CALLER
from tests.e2e.test_conferences import A as PARTICIPANT
from tests.e2e.test_conferences import Room
from tests.e2e.test_queues import QU, _agent_desk

LEASE_S = 15.0


@pytest.fixture
async def workers() -> AsyncIterator[tuple[Harness, Harness]]:
    url = postgres.server().new_database()
    # No REST rate limit: its shared rows are timed by each worker's clock, and these two
    # FakeClocks drift apart (wait_for moves one), so one worker's spend looked like a burst from
    # the future to the other: a 429 whenever one clock had run ahead (test_shared_limits tests
    # the shared limit with one clock).
    settings = Settings(db=url, api_rate_per_s=0,
                        cluster=WorkerSettings(lease_s=LEASE_S, forward_timeout_s=2.0))
    one = Harness(settings=settings, store=PostgresStore(url))
    two = Harness(settings=settings, store=PostgresStore(url))
    two.ids._seed = "percl-two"  # two kits would otherwise make the same ids
    for h in (one, two):
        # Lease and limit statements count as work for each FakeClock (as the store's own do),
        # so a clock never runs on while one is in PostgreSQL: a room's lease is taken as a leg
        # joins it, and the clock ran past a wait_for's 30 s while it was.
        cluster_ = cluster(h)
        cluster_.leases = Tracked(cluster_.leases, h.clock.tracker)  # type: ignore[assignment]
        cluster_.limits = Tracked(cluster_.limits, h.clock.tracker)  # type: ignore[assignment]
    async with one, two:
        yield one, two


async def both_advance(workers: tuple[Harness, Harness], seconds: float) -> None:
    """Move both workers' clocks on, one after the other, by less than a lease each time (apart,
    one would see the other's leases expire; two FakeClocks cannot settle at the same time)."""
    for h in workers:
        await h.advance(seconds)


def cluster(h: Harness) -> Cluster:
    assert h.platform.cluster is not None
    return h.platform.cluster


async def live_call(h: Harness) -> str:
    """A REST call on `h` that stays up (a long Pause) once answered."""
    app = h.scripted_app()
    app.on("/connect", [{"Pause": {"length": 600_000}}])
    app.on("/status", [])
    a = await h.create_application(call_connect_url=app.url("/connect"),
                                   status_callback_url=app.url("/status"))
    r = await h.rest.post(f"/Accounts/{h.account.account_id}/Calls",
                          json={"from": "+13125550100", "to": AGENT,
                                "applicationId": a.application_id})
    assert r.status_code == 202, r.text
    call_id: str = r.json()["callId"]
    await h.wait_for(lambda: h.webhooks(path="/connect"), within=60)
    return call_id


async def test_each_worker_has_an_id_and_sees_the_other(workers: tuple[Harness, Harness]) -> None:
    one, two = workers
    assert cluster(one).worker_id != cluster(two).worker_id
    assert not await cluster(one).alone()
    for h in workers:
        health = (await h.rest.get("http://percl.test/healthz")).json()
        assert health["worker"] == cluster(h).worker_id


async def test_a_rest_hangup_sent_to_the_other_worker_is_carried_out_by_the_owner(
        workers: tuple[Harness, Harness]) -> None:
    one, two = workers
    assert one.account.account_id == two.account.account_id  # one database, one account
    call_id = await live_call(one)
    assert await cluster(two).holder(LeaseKind.CALL, call_id) == cluster(one).worker_id
    assert call_id not in two.platform.calls.sessions
    r = await two.rest.post(f"/Accounts/{two.account.account_id}/Calls/{call_id}",
                            json={"status": "completed"})
    assert r.status_code == 202, r.text
    call = await one.run_until_ended(call_id)
    assert call.status is CallStatus.COMPLETED
    assert call.call_ended_reason is CallEndedReason.APP_HANGUP
    assert [w.path for w in one.webhooks_for(call_id)] == ["/connect", "/status"]
    await one.clock.settle()
    await asyncio.wait_for(_released(two, call_id), 10)
    # Now the call is over: the same request gets FreeClimb's answer for a dead call.
    again = await two.rest.post(f"/Accounts/{two.account.account_id}/Calls/{call_id}",
                                json={"status": "completed"})
    assert again.status_code == 404 and again.json()["code"] == 1


async def _released(h: Harness, call_id: str) -> None:
    while await cluster(h).holder(LeaseKind.CALL, call_id) is not None:
        await asyncio.sleep(0.01)  # the owner releases the lease in a task of its own


async def test_the_owners_error_comes_back_to_the_asking_worker(
        workers: tuple[Harness, Harness]) -> None:
    one, two = workers
    call_id = await live_call(one)
    # The owner's own view: the leg's account differs from the one the request names.
    cluster_two = cluster(two)
    with pytest.raises(Exception) as raised:
        await cluster_two.ask_owner(LeaseKind.CALL, call_id, "call.update", {
            "account_id": "AC" + "0" * 40, "call_id": call_id, "status": "completed"})
    assert type(raised.value).__name__ == "NotFound" and "no longer live" in str(raised.value)
    with pytest.raises(Exception) as unknown:
        await cluster_two.ask_owner(LeaseKind.CALL, call_id, "call.nothing", {})
    assert type(unknown.value).__name__ == "BadRequest"
    assert (await one.call(call_id)).status is CallStatus.IN_PROGRESS  # neither touched it


async def test_an_owner_that_does_not_answer_is_a_dead_call(workers: tuple[Harness, Harness]) -> None:
    one, two = workers
    call_id = await live_call(one)
    await cluster(one).forwarder.stop()  # the owner stops listening (as if its loop stalled)
    request = asyncio.ensure_future(two.rest.post(
        f"/Accounts/{two.account.account_id}/Calls/{call_id}", json={"status": "completed"}))
    deadline = two.clock.now() + 2.0  # PERCL_FORWARD_TIMEOUT_MS here: 2000
    async with asyncio.timeout(10):  # the request travels through PostgreSQL: real I/O
        while deadline not in [when for when, _, _ in two.clock._timers]:
            await asyncio.sleep(0.01)
    await two.advance(2.0)
    r = await request
    assert r.status_code == 404 and r.json()["code"] == 1
    assert (await one.call(call_id)).status is CallStatus.IN_PROGRESS


async def test_a_worker_that_stops_renewing_has_its_calls_closed_by_the_other(
        workers: tuple[Harness, Harness]) -> None:
    one, two = workers
    call_id = await live_call(one)
    dead = cluster(one).worker_id
    survivor_app = two.scripted_app()  # the customer's app, as the other worker reaches it
    survivor_app.on("/status", [])
    # The owner's heartbeat stops (its process stalled or was killed): only time moves on.
    await cluster(one)._group.close()
    answered = (await one.call(call_id)).connect_time
    await two.advance(LEASE_S + 1)  # the other worker's clock: the dead one's leases ran out
    await cluster(two).scan()  # what its heartbeat does (it may have done it already)
    call = await two.call(call_id)
    assert call.status is CallStatus.COMPLETED
    assert call.call_ended_reason is CallEndedReason.INTERNAL_ERROR
    assert answered is not None and call.end_time is not None and call.end_time >= answered
    assert cluster(two).dead_workers == [dead]
    assert await cluster(two).holder(LeaseKind.CALL, call_id) is None
    logs = await two.logs(call_id)
    assert any("worker that stopped" in line.message for line in logs)
    # The final webhook FreeClimb sends when a leg ends: its statusCallbackUrl, from the survivor.
    await two.wait_for(lambda: two.webhooks(path="/status"), within=30)
    [status] = two.webhooks(path="/status")
    assert status.body["callId"] == call_id and status.body["callStatus"] == "completed"
    assert status.body["callEndedReason"] == "internalError"
    Webhook.from_json(status.raw.decode())  # the official SDK reads it


def test_workers_settings_come_from_the_environment() -> None:
    from percl.config import ConfigError, from_sources

    s = from_sources({"PERCL_LEASE_SECONDS": "30", "PERCL_FORWARD_TIMEOUT_MS": "750",
                      "PERCL_WORKERS": "3", "PERCL_FAILOVER_CONCURRENCY": "40"})
    assert s.cluster == WorkerSettings(lease_s=30.0, forward_timeout_s=0.75,
                                       failover_concurrency=40) and s.workers == 3
    with pytest.raises(ConfigError, match="PERCL_FAILOVER_CONCURRENCY"):
        from_sources({"PERCL_FAILOVER_CONCURRENCY": "0"})
    assert replace(s, workers=1).cluster.heartbeat_s == 10.0


async def test_a_change_to_a_cached_record_on_one_worker_reaches_the_others_cache(
        workers: tuple[Harness, Harness]) -> None:
    one, two = workers
    app = await one.create_application(voice_url="http://app.test/old")
    cached = await two.store.get_application(app.application_id)  # now in two's cache
    assert cached.voice_url == "http://app.test/old"
    r = await one.rest.post(f"/Accounts/{one.account.account_id}/Applications/{app.application_id}",
                            json={"voiceUrl": "http://app.test/new"})
    assert r.status_code == 200, r.text
    async with asyncio.timeout(10):  # one bus message away (real I/O through PostgreSQL)
        while (await two.store.get_application(app.application_id)).voice_url != "http://app.test/new":
            await asyncio.sleep(0.01)
    # A worker's own change is not sent back to it: its cache was exact already.
    assert (await one.store.get_application(app.application_id)).voice_url == "http://app.test/new"


def in_room(h: Harness, conference_id: str, call_id: str) -> bool:
    """Whether `call_id` is a live member of the conference's room on worker `h`."""
    room = h.platform.conferences.rooms.get(conference_id)
    member = room.members.get(call_id) if room is not None else None
    return member is not None and member.live


async def test_a_participant_update_sent_to_the_other_worker_reaches_the_room(
        workers: tuple[Harness, Harness]) -> None:
    one, two = workers
    room = Room(one, AsyncApp(one))
    conference_id = await room.create(playBeep="never")
    leg = await room.call(PARTICIPANT)
    await one.wait_for(lambda: in_room(one, conference_id, leg), within=30)
    base = f"/Accounts/{two.account.account_id}/Conferences/{conference_id}/Participants"
    muted = await two.rest.post(f"{base}/{leg}", json={"talk": False})
    assert muted.status_code == 200, muted.text
    assert muted.json()["talk"] is False and muted.json()["callId"] == leg
    here = await one.rest.get(f"{base}/{leg}")
    assert here.json()["talk"] is False  # the owner's room changed it
    assert (await two.rest.delete(f"{base}/{leg}")).status_code == 204
    await one.wait_for(lambda: not in_room(one, conference_id, leg), within=30)
    gone = await two.rest.post(f"{base}/{leg}", json={"talk": True})
    assert gone.status_code == 404 and gone.json()["code"] == 66


async def test_a_dequeue_sent_to_the_other_worker_releases_the_member_where_the_queue_runs(
        workers: tuple[Harness, Harness]) -> None:
    """Every member waits on the worker running the queue (its lease: here worker one, the first
    to enqueue); dequeues through worker two are forwarded there. (A caller enqueueing on worker
    two would move to worker one: tests/engine/workers/test_queue_owner.py, on one clock.)"""
    one, two = workers
    desk_one = _agent_desk(one)
    _agent_desk(two)  # the same app, as the other worker reaches it
    number = await one.number_for_app(voice_url=desk_one.url("/voice"),
                                      status_callback_url=desk_one.url("/status"))
    first = await one.sim_call(CALLER, number)
    await one.wait_for(lambda: one.webhooks(call_id=first, request_type="addToQueueNotification"),
                       within=30)
    await both_advance(workers, 5)  # the clocks of two machines move together
    second = await one.sim_call(AGENT, number)
    await one.wait_for(lambda: one.webhooks(call_id=second, request_type="addToQueueNotification"),
                       within=30)
    assert await cluster(two).holder(LeaseKind.QUEUE, QU) == cluster(one).worker_id
    members = (await two.rest.get(f"/Accounts/{two.account.account_id}/Queues/{QU}/Members")).json()
    assert [m["callId"] for m in members["queueMembers"]] == [first, second]
    front = await two.rest.post(f"/Accounts/{two.account.account_id}/Queues/{QU}/Members/Front")
    assert front.status_code == 202, front.text
    assert front.json()["callId"] == first and front.json()["position"] == 1
    await one.wait_for(lambda: one.webhooks(call_id=first, path="/action"), within=30)
    assert not two.webhooks(path="/action")  # released where it waited
    named = await two.rest.post(f"/Accounts/{two.account.account_id}/Queues/{QU}/Members/{second}")
    assert named.status_code == 202, named.text
    assert named.json()["callId"] == second
    await one.wait_for(lambda: one.webhooks(call_id=second, path="/action"), within=30)
    empty = await one.rest.post(f"/Accounts/{one.account.account_id}/Queues/{QU}/Members/Front")
    assert empty.status_code == 404


async def test_a_dead_workers_queue_members_and_participants_are_removed(
        workers: tuple[Harness, Harness]) -> None:
    one, two = workers
    room = Room(one, AsyncApp(one))
    conference_id = await room.create(playBeep="never")
    in_conference = await room.call(PARTICIPANT)
    await one.wait_for(lambda: in_room(one, conference_id, in_conference), within=30)
    desk = _agent_desk(one)
    queue_number = await one.number_for_app("+13125550111", voice_url=desk.url("/voice"),
                                            status_callback_url=desk.url("/status"))
    waiting = await one.sim_call(CALLER, queue_number)
    await one.wait_for(lambda: one.webhooks(call_id=waiting, request_type="addToQueueNotification"),
                       within=30)
    assert await two.store.get_member(waiting) is not None
    await cluster(one)._group.close()  # worker one stops renewing (killed)
    await two.advance(LEASE_S + 1)
    await cluster(two).scan()
    assert await two.store.get_member(waiting) is None
    assert await two.store.get_participant(conference_id, in_conference) is None
    conference = await two.store.get_conference(conference_id)
    assert conference.status is ConferenceStatus.EMPTY
    for call_id in (in_conference, waiting):
        call = await two.call(call_id)
        assert call.status is CallStatus.COMPLETED and call.queue_id is None
        assert call.conference_id is None
        assert call.call_ended_reason is CallEndedReason.INTERNAL_ERROR
    listed = await two.rest.get(f"/Accounts/{two.account.account_id}/Queues/{QU}/Members")
    assert listed.json()["queueMembers"] == []


async def test_a_conference_terminated_through_the_other_worker_ends_where_its_room_is(
        workers: tuple[Harness, Harness]) -> None:
    one, two = workers
    room = Room(one, AsyncApp(one))
    conference_id = await room.create(playBeep="never")
    leg = await room.call(PARTICIPANT)
    await one.wait_for(lambda: in_room(one, conference_id, leg), within=30)
    r = await two.rest.post(f"/Accounts/{two.account.account_id}/Conferences/{conference_id}",
                            json={"status": "terminated", "alias": "done"})
    assert r.status_code == 204, r.text
    assert conference_id not in two.platform.conferences.rooms  # no second room was opened
    call = await one.run_until_ended(leg, limit_s=60)
    assert call.status is CallStatus.COMPLETED
    conference = await one.store.get_conference(conference_id)
    assert conference.status is ConferenceStatus.TERMINATED and conference.alias == "done"


async def test_a_conference_emptied_through_the_worker_that_created_it_reaches_its_legs(
        workers: tuple[Harness, Harness]) -> None:
    one, two = workers
    created = Room(two, AsyncApp(two))  # POST /Conferences reached worker two: a room there
    conference_id = await created.create(playBeep="never")
    room = Room(one, AsyncApp(one))  # the leg joins on worker one
    room.cf = conference_id
    leg = await room.call(PARTICIPANT)
    await one.wait_for(lambda: in_room(one, conference_id, leg), within=30)
    r = await two.rest.post(f"/Accounts/{two.account.account_id}/Conferences/{conference_id}",
                            json={"status": "empty"})
    assert r.status_code == 204, r.text
    call = await one.run_until_ended(leg, limit_s=60)
    assert call.call_ended_reason is CallEndedReason.REMOVED_FROM_CONFERENCE
