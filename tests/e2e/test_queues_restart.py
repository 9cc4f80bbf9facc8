"""Queues across restarts: records persist; a shutdown reports systemError for every queued caller;
members a crash left behind are removed at start-up, silently, and the queue is consistent again."""

from __future__ import annotations

from pathlib import Path

from freeclimb.models.webhook import Webhook

from percl.domain.enums import CallDirection, CallEndedReason, CallStatus
from percl.domain.records import Call, Queue, QueueMember
from percl.store.sqlite import SqliteStore
from percl.testing.harness import Harness
from tests.e2e.conftest import CALLER

QU = "QU" + "3" * 40


async def test_queue_records_survive_a_restart(tmp_path: Path) -> None:
    db = tmp_path / "percl.db"
    async with Harness(store=SqliteStore.for_path(db)) as h:
        base = f"/Accounts/{h.account.account_id}/Queues"
        created = (await h.rest.post(base, json={"alias": "support", "maxSize": 7})).json()
        await h.rest.post(f"{base}/{created['queueId']}", json={"alias": "sales"})
        before = (await h.rest.get(f"{base}/{created['queueId']}")).json()
    async with Harness(store=SqliteStore.for_path(db)) as h2:
        after = await h2.rest.get(f"{base}/{created['queueId']}")
        assert after.status_code == 200 and after.json() == before
        assert (before["alias"], before["maxSize"], before["revision"]) == ("sales", 7, 2)


async def test_shutdown_removes_queued_callers_with_system_error(tmp_path: Path) -> None:
    db = tmp_path / "percl.db"
    async with Harness(store=SqliteStore.for_path(db)) as h:
        app = h.scripted_app()
        app.on("/voice", [{"Enqueue": {"queueId": QU, "waitUrl": app.url("/wait"),
                                       "actionUrl": app.url("/action")}}])
        app.on("/wait", [{"Play": {"file": "http://app.test/music.wav", "loop": 0}}])
        app.on("/action", [{"Say": {"text": "never heard"}}])
        number = await h.number_for_app(voice_url=app.url("/voice"))
        call_id = await h.sim_call(CALLER, number)
        await h.advance(6)
        assert len(await h.store.list_members(QU)) == 1
    # The platform has stopped: the caller was told, after its final record was stored.
    removed = h.webhooks(call_id=call_id, request_type="removeFromQueueNotification")
    assert len(removed) == 1
    body = removed[0].body
    assert (body["queueResult"], body["queueTime"], body["queueId"]) == ("systemError", 6, QU)
    assert body["callStatus"] == "completed"
    assert Webhook.from_dict(body) is not None

    async with Harness(store=SqliteStore.for_path(db)) as h2:
        call = await h2.call(call_id)
        assert call.call_ended_reason is CallEndedReason.INTERNAL_ERROR and call.queue_id is None
        queue = (await h2.rest.get(f"/Accounts/{h2.account.account_id}/Queues/{QU}")).json()
        assert (queue["currentSize"], queue["averageQueueRemovalTime"]) == (0, 6)
        assert h2.webhooks(call_id=call_id) == []


async def test_members_left_by_a_crash_are_removed_at_startup(tmp_path: Path) -> None:
    db = tmp_path / "percl.db"
    async with Harness(store=SqliteStore.for_path(db)) as h:
        account_id = h.account.account_id
        now = h.clock.now()
        await h.store.put_queue(Queue(queue_id=QU, account_id=account_id, alias="q",
                                      date_created=now, date_updated=now))
        # Written behind the engine's back, as if the process died with this caller waiting.
        live = Call(call_id="CA" + "4" * 40, account_id=account_id, from_=CALLER,
                    to="+13125550100", direction=CallDirection.INBOUND,
                    status=CallStatus.IN_PROGRESS, queue_id=QU, start_time=now,
                    connect_time=now, date_created=now, date_updated=now)
        await h.store.put_call(live)
        await h.store.put_member(QueueMember(queue_id=QU, call_id=live.call_id,
                                             account_id=account_id, date_enqueued=now,
                                             action_url="http://app.test/action"))

    async with Harness(store=SqliteStore.for_path(db)) as h2:
        assert h2.platform.recovered == 1
        assert await h2.store.list_members(QU) == []
        base = f"/Accounts/{account_id}/Queues/{QU}"
        queue = (await h2.rest.get(base)).json()
        assert (queue["currentSize"], queue["alias"]) == (0, "q")
        assert queue["averageQueueRemovalTime"] == 0  # a wait cut by a crash is not averaged
        assert (await h2.rest.get(f"{base}/Members")).json()["queueMembers"] == []
        closed = await h2.call(live.call_id)
        assert closed.status is CallStatus.COMPLETED and closed.queue_id is None
        assert len(h2.webhooks) == 0  # start-up does not call customers' apps
        logs = await h2.logs(live.call_id)
        assert any(f"waiting in queue {QU}" in entry.message for entry in logs)
