"""Every call record survives a restart; calls left live by a crash are closed on start-up."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from percl.domain.enums import CallDirection, CallEndedReason, CallStatus, MessageDirection, MessageStatus
from percl.domain.records import Call, Message
from percl.engine.ports import LogFilter
from percl.store.sqlite import SqliteStore
from percl.testing.harness import Harness
from tests.e2e.conftest import CALLER, said


async def test_records_survive_restart(tmp_path: Path) -> None:
    db = tmp_path / "percl.db"
    async with Harness(store=SqliteStore.for_path(db)) as h:
        app = h.scripted_app()
        app.on("/voice", [{"Say": {"text": "persist me"}}])
        number = await h.number_for_app(voice_url=app.url("/voice"))
        call_id = await h.sim_call(CALLER, number)
        before = await h.run_until_ended(call_id)
        assert said(h.transcript(call_id)) == ["persist me"]
        account_id = h.account.account_id

    async with Harness(store=SqliteStore.for_path(db)) as h2:
        assert h2.account.account_id == account_id  # the seed account is reused
        r = await h2.rest.get(f"/Accounts/{account_id}/Calls/{call_id}")
        assert r.status_code == 200
        body = r.json()
        assert body["status"] == "completed" and body["direction"] == "inbound"
        after = await h2.call(call_id)
        assert after == before
        logs = await h2.store.list_logs(account_id, LogFilter(call_id=call_id))
        assert logs, "webhook exchanges are logged and persisted"


async def test_calls_left_live_by_a_crash_are_closed_at_startup(tmp_path: Path) -> None:
    db = tmp_path / "percl.db"
    async with Harness(store=SqliteStore.for_path(db)) as h:
        account_id = h.account.account_id
        now = h.clock.now()
        live = Call(call_id="CA" + "1" * 40, account_id=account_id, from_=CALLER,
                    to="+13125550100", direction=CallDirection.INBOUND,
                    status=CallStatus.IN_PROGRESS, start_time=now, connect_time=now,
                    date_created=now, date_updated=now)
        ringing = dataclasses.replace(live, call_id="CA" + "2" * 40, status=CallStatus.RINGING,
                                      connect_time=None)
        # Written behind the engine's back, as if the process died with these calls up.
        await h.store.put_call(live)
        await h.store.put_call(ringing)

    async with Harness(store=SqliteStore.for_path(db)) as h2:
        assert h2.platform.recovered == 2
        a = await h2.call(live.call_id)
        b = await h2.call(ringing.call_id)
        assert a.status is CallStatus.COMPLETED and b.status is CallStatus.FAILED
        assert a.call_ended_reason is b.call_ended_reason is CallEndedReason.INTERNAL_ERROR
        assert a.end_time is not None
        r = await h2.rest.get(f"/Accounts/{account_id}/Calls", params={"active": "true"})
        assert r.status_code == 200 and r.json()["calls"] == []
        logs = await h2.store.list_logs(account_id, LogFilter(call_id=live.call_id))
        assert any("internalError" in e.message for e in logs)


async def test_shutdown_ends_live_calls_with_internal_error(tmp_path: Path) -> None:
    db = tmp_path / "percl.db"
    async with Harness(store=SqliteStore.for_path(db)) as h:
        app = h.scripted_app()
        app.on("/voice", [{"Pause": {"length": 1000}}, {"Say": {"text": "long " * 100}}])
        number = await h.number_for_app(voice_url=app.url("/voice"))
        call_id = await h.sim_call(CALLER, number)
        await h.advance(5)
        assert (await h.call(call_id)).status is CallStatus.IN_PROGRESS
    async with Harness(store=SqliteStore.for_path(db)) as h2:
        call = await h2.call(call_id)
        assert call.status is CallStatus.COMPLETED
        assert call.call_ended_reason is CallEndedReason.INTERNAL_ERROR
        assert h2.platform.recovered == 0


async def test_messages_left_travelling_by_a_crash_are_failed_at_startup(tmp_path: Path) -> None:
    db = tmp_path / "percl.db"
    async with Harness(store=SqliteStore.for_path(db)) as h:
        account_id = h.account.account_id
        now = h.clock.now()
        queued = Message(message_id="SM" + "1" * 40, account_id=account_id, from_="+13125550100",
                         to=CALLER, text="on its way", direction=MessageDirection.OUTBOUND,
                         status=MessageStatus.QUEUED, date_created=now, date_updated=now)
        sending = dataclasses.replace(queued, message_id="SM" + "2" * 40, status=MessageStatus.SENDING)
        sent = dataclasses.replace(queued, message_id="SM" + "3" * 40, status=MessageStatus.SENT)
        for message in (queued, sending, sent):  # behind the engine's back, as if it had died
            await h.store.put_message(message)

    async with Harness(store=SqliteStore.for_path(db)) as h2:
        r = await h2.rest.get(f"/Accounts/{account_id}/Messages/{queued.message_id}")
        assert r.status_code == 200 and r.json()["status"] == "failed"
        statuses = [(await h2.store.get_message(m.message_id)).status  # type: ignore[union-attr]
                    for m in (queued, sending, sent)]
        assert statuses == [MessageStatus.FAILED, MessageStatus.FAILED, MessageStatus.SENT]
        logs = await h2.store.list_logs(account_id, LogFilter())
        assert sum("percl stopped before sending it" in e.message for e in logs) == 2
