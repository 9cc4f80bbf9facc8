"""QueueService on a whole platform (Harness, FakeClock): Enqueue, the wait loop, Dequeue, and every
way out of a queue, with the webhooks, records and transcripts each one leaves."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from freeclimb.models.webhook import Webhook

from percl.domain.enums import CallEndedReason, CallStatus
from percl.domain.records import Queue
from percl.engine.queue.service import MIN_WAIT_INTERVAL_S
from percl.telephony.sim.model import PhoneStep
from percl.testing.harness import Harness, ScriptedApp

CALLER, OTHER, THIRD = "+15550100001", "+15550100003", "+15550100004"
QU = "QU" + "7" * 40
QU2 = "QU" + "8" * 40


@pytest_asyncio.fixture
async def h() -> AsyncIterator[Harness]:
    async with Harness() as harness:
        yield harness


def _app(h: Harness, wait: Any = None, queue_id: str = QU, **enqueue: Any) -> ScriptedApp:
    app = h.scripted_app()
    app.on("/voice", [{"Enqueue": {"queueId": queue_id, "waitUrl": app.url("/wait"),
                                   "actionUrl": app.url("/action"), **enqueue}}])
    app.on("/wait", wait if wait is not None else [{"Pause": {"length": 5000}}])
    app.on("/action", [{"Say": {"text": "left the queue"}}, {"Hangup": {}}])
    app.on("/status", [])
    return app


async def _call(h: Harness, app: ScriptedApp, caller: str = CALLER,
                steps: tuple[PhoneStep, ...] = ()) -> str:
    number = "+13125550100"
    if await h.store.find_number(number) is None:
        await h.number_for_app(number, voice_url=app.url("/voice"),
                               status_callback_url=app.url("/status"))
    return await h.sim_call(caller, number, steps)


def _types(h: Harness, call_id: str) -> list[str]:
    return [w.request_type for w in h.webhooks_for(call_id)]


def _last(h: Harness, call_id: str, request_type: str) -> dict[str, Any]:
    found = h.webhooks(call_id=call_id, request_type=request_type)
    assert found, f"no {request_type} for {call_id}: {_types(h, call_id)}"
    body: dict[str, Any] = found[-1].body
    assert Webhook.from_dict(body) is not None  # the SDK parses it
    return body


async def _size(h: Harness, queue_id: str = QU) -> int:
    return len(await h.store.list_members(queue_id))


async def test_enqueue_creates_an_unknown_queue_and_holds_the_call(h: Harness) -> None:
    app = _app(h, notificationUrl="http://app.test/notify")
    app.on("/notify", [])
    call_id = await _call(h, app)
    await h.advance(1)
    queue = await h.store.get_queue(QU)
    assert queue is not None
    assert (queue.account_id, queue.alias, queue.max_size, queue.revision) == (
        h.account.account_id, None, 100, 1)
    member = await h.store.get_member(call_id)
    assert member is not None and member.queue_id == QU
    assert (member.wait_url, member.action_url) == (app.url("/wait"), app.url("/action"))
    assert (await h.call(call_id)).queue_id == QU
    assert _types(h, call_id) == ["inboundCall", "addToQueueNotification", "queueWait"]
    notify = _last(h, call_id, "addToQueueNotification")
    assert notify["queueId"] == QU and notify["callStatus"] == "inProgress"
    assert (await h.call(call_id)).status is CallStatus.IN_PROGRESS


async def test_without_notification_url_no_notification(h: Harness) -> None:
    call_id = await _call(h, _app(h))
    await h.advance(1)
    assert _types(h, call_id) == ["inboundCall", "queueWait"]


async def test_an_empty_wait_script_is_asked_again_once_a_second(h: Harness) -> None:
    call_id = await _call(h, _app(h, wait=[]))
    await h.advance(10)
    sent = [w.sent_at for w in h.webhooks(call_id=call_id, request_type="queueWait")]
    assert len(sent) == 11  # at 0, 1, ... 10 s: no hot loop, no hang-up
    assert {round(b - a, 6) for a, b in itertools.pairwise(sent)} == {MIN_WAIT_INTERVAL_S}
    assert (await h.call(call_id)).status is CallStatus.IN_PROGRESS
    times = [w.body["queueTime"] for w in h.webhooks(call_id=call_id, request_type="queueWait")]
    assert times == list(range(11))


async def test_a_long_wait_script_is_asked_again_as_soon_as_it_ends(h: Harness) -> None:
    call_id = await _call(h, _app(h, wait=[{"Pause": {"length": 3000}}]))
    await h.advance(10)
    sent = [w.sent_at for w in h.webhooks(call_id=call_id, request_type="queueWait")]
    assert {round(b - a, 6) for a, b in itertools.pairwise(sent)} == {3.0}
    assert [e.type for e in h.transcript(call_id).entries].count("pause") == 4


async def test_full_queue_refuses_and_runs_the_action_script(h: Harness) -> None:
    await h.store.put_queue(Queue(queue_id=QU, account_id=h.account.account_id, max_size=1))
    app = _app(h)
    app.on("/action", lambda body: [{"Say": {"text": body["queueResult"]}}, {"Hangup": {}}])
    first = await _call(h, app)
    second = await _call(h, app, OTHER)
    call = await h.run_until_ended(second)
    assert _types(h, second) == ["inboundCall", "removeFromQueueNotification", "callStatus"]
    refused = _last(h, second, "removeFromQueueNotification")
    assert (refused["queueResult"], refused["queueTime"], refused["queueId"]) == ("queueFull", 0, QU)
    assert [e.text for e in h.transcript(second).entries if e.type == "say"] == ["queueFull"]
    assert call.call_ended_reason is CallEndedReason.APP_HANGUP and call.queue_id is None
    assert await _size(h) == 1 and (await h.call(first)).queue_id == QU
    queue = await h.store.get_queue(QU)
    assert queue is not None and queue.removed_count == 0  # refused calls never entered


async def test_a_lowered_max_size_refuses_until_the_queue_shrinks_below_it(h: Harness) -> None:
    app = _app(h)
    first, second = await _call(h, app), await _call(h, app, OTHER)
    await h.advance(1)
    base = f"/Accounts/{h.account.account_id}/Queues/{QU}"
    r = await h.rest.post(base, json={"maxSize": 1})
    assert r.status_code == 200 and r.json()["currentSize"] == 2  # nobody is thrown out
    third = await _call(h, app, THIRD)
    await h.advance(1)
    assert _last(h, third, "removeFromQueueNotification")["queueResult"] == "queueFull"
    assert (await h.rest.post(f"{base}/Members/Front")).status_code == 202
    await h.advance(1)
    assert await _size(h) == 1  # 1 is not below maxSize 1: still refusing
    assert _last(h, first, "dequeue")["queueResult"] == "dequeued"  # the head went first
    fourth = await _call(h, app, "+15550100005")
    await h.advance(1)
    assert _last(h, fourth, "removeFromQueueNotification")["queueResult"] == "queueFull"
    assert (await h.rest.post(f"{base}/Members/{second}")).status_code == 202
    fifth = await _call(h, app, "+15550100006")
    await h.advance(1)
    assert _types(h, fifth)[-1] == "queueWait" and await _size(h) == 1


async def test_dequeue_outside_a_queue_ends_the_call(h: Harness) -> None:
    app = h.scripted_app()
    app.on("/voice", [{"Dequeue": {}}])
    number = await h.number_for_app(voice_url=app.url("/voice"))
    call = await h.run_until_ended(await h.sim_call(CALLER, number))
    assert call.call_ended_reason is CallEndedReason.PERCL_PROCESSING_ERROR
    logs = await h.logs(call.call_id)
    assert any("Dequeue is only allowed" in entry.message for entry in logs)


@pytest.mark.parametrize(
    ("wait", "reason", "result"),
    [
        ([{"Say": {"text": "hold on"}}, {"Hangup": {}}], CallEndedReason.APP_HANGUP, "hangup"),
        ([{"SendDigits": {"digits": "1"}}], CallEndedReason.PERCL_PROCESSING_ERROR, "systemError"),
        ((500, "down"), CallEndedReason.WEBHOOK_FAILED, "systemError"),
        ((200, "not json"), CallEndedReason.WEBHOOK_INVALID_RESPONSE, "systemError"),
    ],
    ids=["hangup-in-wait-script", "command-not-allowed", "wait-url-fails", "wait-url-garbage"],
)
async def test_a_queued_leg_that_ends_is_removed_and_reported(
    h: Harness, wait: Any, reason: CallEndedReason, result: str
) -> None:
    app = _app(h, wait=(lambda _body: wait) if isinstance(wait, tuple) else wait)
    call_id = await _call(h, app)
    call = await h.run_until_ended(call_id)
    assert call.call_ended_reason is reason and call.queue_id is None
    removed = _last(h, call_id, "removeFromQueueNotification")
    assert (removed["queueResult"], removed["queueId"]) == (result, QU)
    assert _types(h, call_id)[-2:] == ["removeFromQueueNotification", "callStatus"]
    assert "left the queue" not in [e.text for e in h.transcript(call_id).entries]
    assert await _size(h) == 0
    queue = await h.store.get_queue(QU)
    assert queue is not None and (queue.removed_count, queue.dequeued_count) == (1, 0)


async def test_rest_hangup_of_a_queued_call_reports_hangup(h: Harness) -> None:
    call_id = await _call(h, _app(h))
    await h.advance(2)
    r = await h.rest.post(f"/Accounts/{h.account.account_id}/Calls/{call_id}",
                          json={"status": "completed"})
    assert r.status_code == 202
    await h.run_until_ended(call_id)
    assert _last(h, call_id, "removeFromQueueNotification")["queueResult"] == "hangup"


async def test_enqueue_into_another_accounts_queue_reports_system_error(h: Harness) -> None:
    await h.store.put_queue(Queue(queue_id=QU, account_id="AC" + "9" * 40))
    app = _app(h)
    app.on("/action", lambda body: [{"Say": {"text": body["queueResult"]}}])
    call = await h.run_until_ended(await _call(h, app))
    assert _types(h, call.call_id) == ["inboundCall", "removeFromQueueNotification", "callStatus"]
    assert [e.text for e in h.transcript(call.call_id).entries if e.type == "say"] == ["systemError"]
    assert await _size(h) == 0
    assert any("belongs to another account" in e.message for e in await h.logs(call.call_id))


async def test_dequeue_then_enqueue_moves_the_call_to_another_queue(h: Harness) -> None:
    app = _app(h, wait=[{"Dequeue": {}}])
    app.on("/action", [{"Enqueue": {"queueId": QU2, "waitUrl": app.url("/wait2"),
                                    "actionUrl": app.url("/action2")}}])
    app.on("/wait2", [{"Play": {"file": "http://app.test/music.wav"}}])
    call_id = await _call(h, app)
    await h.advance(5)
    assert _types(h, call_id)[:4] == ["inboundCall", "queueWait", "dequeue", "queueWait"]
    second_wait = h.webhooks(call_id=call_id, request_type="queueWait")[1]
    assert second_wait.path == "/wait2" and second_wait.body["queueId"] == QU2
    assert (await _size(h, QU), await _size(h, QU2)) == (0, 1)
    assert (await h.call(call_id)).queue_id == QU2
    queue = await h.store.get_queue(QU)
    assert queue is not None and (queue.removed_count, queue.dequeued_count) == (1, 1)


async def test_rest_dequeue_of_a_call_that_already_left_is_404(h: Harness) -> None:
    call_id = await _call(h, _app(h), steps=(PhoneStep(after_ms=2000, hangup=True),))
    await h.run_until_ended(call_id)
    base = f"/Accounts/{h.account.account_id}/Queues/{QU}/Members"
    r = await h.rest.post(f"{base}/{call_id}")
    assert r.status_code == 404 and r.json()["code"] == 1
    assert (await h.rest.post(f"{base}/Front")).status_code == 404
    # exactly one way out was reported
    assert len(h.webhooks(call_id=call_id, request_type="removeFromQueueNotification")) == 1
    assert h.webhooks(call_id=call_id, request_type="dequeue") == []


async def test_positions_follow_arrival_order(h: Harness) -> None:
    app = _app(h)
    legs = [await _call(h, app, number) for number in (CALLER, OTHER, THIRD)]
    await h.advance(1)
    positions = [_last(h, leg, "queueWait")["queuePosition"] for leg in legs]
    sizes = [_last(h, leg, "queueWait")["currentQueueSize"] for leg in legs]
    assert positions == ["1", "2", "3"] and sizes == [1, 2, 3]
    members = await h.store.list_members(QU)
    assert [m.call_id for m in members] == legs


# ---------------------------------------------------------------- races, staged with the queue's lock


async def _held_in_queue(h: Harness) -> tuple[ScriptedApp, str]:
    app = _app(h)
    app.on("/wait", [{"GetDigits": {"actionUrl": app.url("/digits"), "maxDigits": 1,
                                    "initialTimeoutMs": 60000}}])
    app.on("/digits", [{"Dequeue": {}}])
    call_id = await _call(h, app)
    await h.advance(1)
    return app, call_id


async def test_rest_dequeue_wins_over_a_dequeue_command_it_overtook(h: Harness) -> None:
    _, call_id = await _held_in_queue(h)
    lock = h.platform.queues.lock(QU)
    await lock.acquire()
    rest = asyncio.create_task(
        h.rest.post(f"/Accounts/{h.account.account_id}/Queues/{QU}/Members/{call_id}"))
    await h.clock.settle()  # the REST dequeue waits for the lock first ...
    h.platform.sim.press(call_id, "1")
    await h.clock.settle()  # ... then the leg's Dequeue command (from /digits) does
    assert _types(h, call_id)[-1] == "getDigits"
    lock.release()
    r = await rest
    assert r.status_code == 202 and r.json()["callId"] == call_id
    call = await h.run_until_ended(call_id)
    assert call.call_ended_reason is CallEndedReason.APP_HANGUP  # /action's script ran
    assert len(h.webhooks(call_id=call_id, request_type="dequeue")) == 1
    assert h.webhooks(call_id=call_id, request_type="removeFromQueueNotification") == []
    queue = await h.store.get_queue(QU)
    assert queue is not None and (queue.removed_count, queue.dequeued_count) == (1, 1)


async def test_a_hangup_wins_over_a_rest_dequeue_that_waited(h: Harness) -> None:
    _, call_id = await _held_in_queue(h)
    lock = h.platform.queues.lock(QU)
    await lock.acquire()
    rest = asyncio.create_task(
        h.rest.post(f"/Accounts/{h.account.account_id}/Queues/{QU}/Members/Front"))
    await h.clock.settle()
    h.platform.sim.far_end_hangup(call_id)
    await h.clock.settle()  # the leg has ended; its removal waits for the lock
    lock.release()
    r = await rest
    assert r.status_code == 404  # nobody is waiting any more
    await h.run_until_ended(call_id)
    removed = _last(h, call_id, "removeFromQueueNotification")
    assert removed["queueResult"] == "hangup"
    assert h.webhooks(call_id=call_id, request_type="dequeue") == []
    assert await _size(h) == 0
