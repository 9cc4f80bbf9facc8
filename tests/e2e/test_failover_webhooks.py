"""A dead worker's callers leave their conferences and queues with the webhooks FreeClimb sends
when a caller disappears (issue 19, engine/workers/failover.py).

The e2e kit's two workers on one PostgreSQL (tests/e2e/workers_kit.py): the phones' calls run on
worker "calls", which is then killed (its heartbeat and expiry scan stop: its leases run out, as
after kill -9); worker "rest" closes its legs and sends, about each closed leg, its
leaveConference, the conference's conferenceStatus `empty`, the queue's
removeFromQueueNotification, then its callStatus. Each body is read by the official SDK.
The dead worker's own sessions are never ended here (they would be by a real kill -9): what is
asserted was sent before the kit closes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from freeclimb.models.conference_status_webhook import ConferenceStatusWebhook
from freeclimb.models.leave_conference_webhook import LeaveConferenceWebhook
from freeclimb.models.remove_from_queue_notification_webhook import (
    RemoveFromQueueNotificationWebhook,
)
from freeclimb.models.webhook import Webhook

from percl.domain.enums import CallStatus, ConferenceStatus
from percl.engine.workers.cluster import Cluster
from percl.testing.capture import CapturedWebhook
from tests import postgres
from tests.e2e.conference_kit import AsyncApp
from tests.e2e.conftest import CALLER
from tests.e2e.test_conferences import A, B, Room
from tests.e2e.workers_kit import LEASE_S, TwoWorkers

QU = "QU" + "9" * 40


@pytest.fixture
async def kit() -> AsyncIterator[TwoWorkers]:
    async with TwoWorkers(postgres.server().new_database()) as workers:
        yield workers


def cluster_of(kit: TwoWorkers, name: str) -> Cluster:
    platform = kit.platform if name == "calls" else kit.rest_worker
    assert platform.cluster is not None
    return platform.cluster


async def kill_calls_worker(kit: TwoWorkers) -> float:
    """Worker "calls" stops renewing its leases (killed); the other closes what it owned.
    Returns the time it was killed."""
    killed_at = kit.clock.now()
    dying = cluster_of(kit, "calls")
    await dying.renew()  # its last heartbeat: all its leases run out at once, found by one scan
    await dying._group.close()
    await kit.advance(LEASE_S + 1)  # its leases ran out
    await cluster_of(kit, "rest").scan()  # what the survivor's heartbeat does (maybe it did)
    await kit.clock.settle()
    return killed_at


def sent(kit: TwoWorkers, call_id: str, request_type: str) -> list[CapturedWebhook]:
    return list(kit.webhooks(call_id=call_id, request_type=request_type))


def empty_notices(kit: TwoWorkers, conference_id: str) -> list[CapturedWebhook]:
    return [w for w in kit.webhooks(request_type="conferenceStatus")
            if w.body["conferenceId"] == conference_id and w.body["status"] == "empty"]


def in_room(kit: TwoWorkers, conference_id: str, call_id: str) -> bool:
    room = kit.platform.conferences.rooms.get(conference_id)
    member = room.members.get(call_id) if room is not None else None
    return member is not None and member.live


async def test_a_participant_of_a_killed_worker_leaves_with_its_webhooks(kit: TwoWorkers) -> None:
    room = Room(kit, AsyncApp(kit))
    conference_id = await room.create(playBeep="never")
    caller = await room.call(A, leaveConferenceUrl=room.app.url("/left"))
    await kit.wait_for(lambda: in_room(kit, conference_id, caller), within=30)
    assert not empty_notices(kit, conference_id)

    await kill_calls_worker(kit)
    await kit.wait_for(lambda: sent(kit, caller, "callStatus"), within=30)

    conference = await kit.rest_worker.store.get_conference(conference_id)
    assert conference is not None and conference.status is ConferenceStatus.EMPTY
    [left] = sent(kit, caller, "leaveConference")
    assert left.url == room.app.url("/left")
    parsed = Webhook.from_json(left.raw.decode())
    assert isinstance(parsed, LeaveConferenceWebhook)
    assert parsed.conference_id == conference_id and parsed.call_id == caller
    [empty] = empty_notices(kit, conference_id)
    assert empty.url == room.app.url("/confStatus")
    status = Webhook.from_json(empty.raw.decode())
    assert isinstance(status, ConferenceStatusWebhook)
    assert status.status == "empty" and status.recording_id is None
    [final] = sent(kit, caller, "callStatus")
    assert final.body["callStatus"] == "completed"
    assert final.body["callEndedReason"] == "internalError"
    # The order a live room and leg keep: leaveConference, the conference empty, callStatus.
    order = [w for w in kit.webhooks if w in (left, empty, final)]
    assert order == [left, empty, final]
    assert left.sent_at >= (await kit.call(caller)).end_time  # type: ignore[operator]


async def test_two_participants_of_a_killed_worker_empty_their_conference_once(
        kit: TwoWorkers) -> None:
    room = Room(kit, AsyncApp(kit))
    conference_id = await room.create(playBeep="never")
    first = await room.call(A, leaveConferenceUrl=room.app.url("/left"))
    second = await room.call(B, leaveConferenceUrl=room.app.url("/left"))
    await kit.wait_for(lambda: in_room(kit, conference_id, first)
                       and in_room(kit, conference_id, second), within=30)

    await kill_calls_worker(kit)
    await kit.wait_for(lambda: sent(kit, first, "callStatus") and sent(kit, second, "callStatus"),
                       within=30)

    for call_id in (first, second):
        assert len(sent(kit, call_id, "leaveConference")) == 1
        assert (await kit.call(call_id)).status is CallStatus.COMPLETED
    [empty] = empty_notices(kit, conference_id)  # the last to leave found it empty, only it
    assert empty.body["callId"] in (first, second)
    listed = await kit.rest.get(f"{room.base}/{conference_id}/Participants")
    assert listed.status_code == 200 and listed.json()["participants"] == []


async def test_a_failing_leave_conference_url_does_not_hold_up_the_rest(kit: TwoWorkers) -> None:
    room = Room(kit, AsyncApp(kit))
    conference_id = await room.create(playBeep="never")
    caller = await room.call(A, leaveConferenceUrl=room.app.url("/left"))
    await kit.wait_for(lambda: in_room(kit, conference_id, caller), within=30)
    kit.fault(room.app.url("/left"), "error", status=500)

    await kill_calls_worker(kit)
    await kit.wait_for(lambda: sent(kit, caller, "callStatus"), within=30)

    [left] = sent(kit, caller, "leaveConference")
    assert left.status == 500
    assert len(empty_notices(kit, conference_id)) == 1
    logs = await kit.logs(caller)
    assert any("leaveConference" in line.message and "500" in line.message for line in logs)


def _queue_app(kit: TwoWorkers) -> Any:
    app = kit.scripted_app()
    app.on("/voice", [{"Enqueue": {"queueId": QU, "waitUrl": app.url("/wait"),
                                   "actionUrl": app.url("/action"),
                                   "notificationUrl": app.url("/notify")}}])
    app.on("/wait", [{"Pause": {"length": 600_000}}])  # no queueWait while the worker is dead
    for path in ("/notify", "/action", "/status"):
        app.on(path, [])
    return app


async def test_a_queued_caller_of_a_killed_worker_leaves_its_queue_with_its_webhook(
        kit: TwoWorkers) -> None:
    app = _queue_app(kit)
    number = await kit.number_for_app("+13125550111", voice_url=app.url("/voice"),
                                      status_callback_url=app.url("/status"))
    caller = await kit.sim_call(CALLER, number)
    await kit.wait_for(lambda: sent(kit, caller, "addToQueueNotification"), within=30)
    enqueued = sent(kit, caller, "addToQueueNotification")[0].sent_at
    await kit.advance(7)

    await kill_calls_worker(kit)
    await kit.wait_for(lambda: sent(kit, caller, "callStatus"), within=30)

    assert await kit.rest_worker.store.get_member(caller) is None
    [removed] = sent(kit, caller, "removeFromQueueNotification")
    assert removed.url == app.url("/action")
    parsed = Webhook.from_json(removed.raw.decode())
    assert isinstance(parsed, RemoveFromQueueNotificationWebhook)
    # The platform ended the leg (its worker died): what the live queue reports for that.
    assert parsed.queue_id == QU and parsed.queue_result == "systemError"
    call = await kit.call(caller)
    assert call.end_time is not None
    # It waited until its worker's last renewal (the leg's endTime), a heartbeat before the kill.
    assert parsed.queue_time == round(call.end_time - enqueued) and parsed.queue_time > 0
    [final] = sent(kit, caller, "callStatus")
    assert kit.webhooks.index(removed) < kit.webhooks.index(final)


async def test_an_app_that_never_answers_does_not_hold_up_the_take_over(kit: TwoWorkers) -> None:
    room = Room(kit, AsyncApp(kit))
    conference_id = await room.create(playBeep="never")
    caller = await room.call(A, leaveConferenceUrl=room.app.url("/left"))
    await kit.wait_for(lambda: in_room(kit, conference_id, caller), within=30)
    kit.fault(room.app.url("/left"), "timeout")

    await kill_calls_worker(kit)

    # The records are closed while leaveConference still waits for its answer.
    assert (await kit.call(caller)).status is CallStatus.COMPLETED
    conference = await kit.rest_worker.store.get_conference(conference_id)
    assert conference is not None and conference.status is ConferenceStatus.EMPTY
    assert not sent(kit, caller, "callStatus")
    await kit.wait_for(lambda: sent(kit, caller, "callStatus"), within=60)
    [left] = sent(kit, caller, "leaveConference")
    assert left.status is None and left.error is not None
