"""Issue 17.6: another process holding the database's write lock. Writes fail at once instead of
standing the event loop still in SQLite's busy handler; REST writes answer 503 (FreeClimb's error
body, code 55); legs that end meanwhile retry their records with backoff on the clock, and once
the lock is gone every record converges (endTime: when the leg ended) and callStatus is sent."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from freeclimb.models.webhook import Webhook

from percl.domain.enums import CallEndedReason, CallStatus, LogLevel
from percl.domain.records import LogEntry
from percl.engine.ports import LogFilter
from percl.errors import StoreBusy
from percl.store.sqlite import SqliteStore
from percl.testing.harness import Harness
from tests.store.samples import ACCOUNT

CALLERS = ("+15550100011", "+15550100012", "+15550100013")


@contextmanager
def write_locked(db: Path, how: str = "IMMEDIATE") -> Iterator[sqlite3.Connection]:
    """A second connection (as another process would) holding the database's write lock."""
    other = sqlite3.connect(db, isolation_level=None, timeout=0)
    other.execute(f"BEGIN {how}")
    try:
        yield other
    finally:
        other.execute("ROLLBACK")
        other.close()


def status_hooks(h: Harness, call_id: str) -> list[str]:
    return [w.request_type for w in h.webhooks_for(call_id) if w.request_type == "callStatus"]


async def test_calls_ended_while_the_database_is_locked_converge(tmp_path: Path) -> None:
    db = tmp_path / "percl.db"
    async with Harness(store=SqliteStore.for_path(db)) as h:
        app = h.scripted_app()
        app.on("/voice", [{"Say": {"text": "hold on"}}, {"Pause": {"length": 600_000}}])
        app.on("/status", [])
        number = await h.number_for_app(voice_url=app.url("/voice"),
                                        status_callback_url=app.url("/status"))
        calls = [await h.sim_call(caller, number) for caller in CALLERS]
        await h.wait_for(lambda: all(h.platform.calls.sessions[c].call.status
                                     is CallStatus.IN_PROGRESS for c in calls))
        acc = h.account.account_id
        with write_locked(db):
            ended_at = h.now
            for call_id in calls[:2]:  # two REST hangups, and a caller who hangs up
                r = await h.rest.post(f"/Accounts/{acc}/Calls/{call_id}",
                                      json={"status": "completed"})
                assert r.status_code in (200, 202, 204), r.text
            await h.leg(calls[2]).hang_up()
            await h.advance(4.0)  # the other process keeps the lock for 4 s
            for call_id in calls:
                assert (await h.call(call_id)).status is CallStatus.IN_PROGRESS  # reads work
                assert status_hooks(h, call_id) == []  # nothing reported before it is stored
                assert call_id in h.platform.calls.sessions  # the leg waits, it did not crash
            # A REST write fails fast and clearly meanwhile; reads still answer.
            r = await h.rest.post(f"/Accounts/{acc}/Applications", json={"alias": "x"})
            assert r.status_code == 503, r.text
            assert r.json()["code"] == 55 and "busy" in r.json()["message"]
            assert r.headers["retry-after"] == "1"
            assert (await h.rest.get(f"/Accounts/{acc}/Calls")).status_code == 200
        await h.wait_for(lambda: all(status_hooks(h, c) for c in calls), within=10.0,
                         message="callStatus after the lock was released")
        for call_id in calls:
            call = await h.call(call_id)
            assert call.status is CallStatus.COMPLETED
            assert call.end_time == ended_at  # when the leg ended, not when the write got through
            hook = next(w for w in h.webhooks_for(call_id) if w.request_type == "callStatus")
            Webhook.from_json(hook.raw.decode())
            assert hook.body["callStatus"] == "completed"
            # the lines logged while the database was locked were kept and written afterwards
            assert any(e.message.startswith("Call ended") for e in await h.logs(call_id))
        assert (await h.call(calls[2])).call_ended_reason is CallEndedReason.FAR_END_HANGUP
        assert not h.platform.calls.sessions


async def test_a_rest_call_while_locked_is_503_and_creates_nothing(tmp_path: Path) -> None:
    db = tmp_path / "percl.db"
    async with Harness(store=SqliteStore.for_path(db)) as h:
        app = h.scripted_app()
        a = await h.create_application(call_connect_url=app.url("/connect"))
        with write_locked(db, "EXCLUSIVE"):
            r = await h.rest.post(f"/Accounts/{h.account.account_id}/Calls",
                                  json={"from": "+13125550100", "to": "+15550100002",
                                        "applicationId": a.application_id})
            assert r.status_code == 503 and r.json()["code"] == 55, r.text
        assert not h.platform.calls.sessions


async def test_log_lines_queued_while_locked_are_written_afterwards(tmp_path: Path) -> None:
    db = tmp_path / "percl.db"
    store = SqliteStore.for_path(db)
    await store.open()
    try:
        await store.put_account(ACCOUNT)
        entry = LogEntry(timestamp=1, level=LogLevel.INFO, account_id=ACCOUNT.account_id,
                         message="written late")
        with write_locked(db):
            await store.add_log(entry)
            with pytest.raises(StoreBusy):  # GET /Logs: 503; the line stays queued
                await store.flush_logs()
        await store.flush_logs()  # nothing is lost
        found = await store.list_logs(ACCOUNT.account_id, LogFilter())
        assert [e.message for e in found] == ["written late"]
    finally:
        await store.close()


async def test_the_loop_thread_writer_never_waits_for_the_lock(tmp_path: Path) -> None:
    # The loop thread's connection has no busy timeout: a locked database answers at once
    # (the old 1 s timeout stood every call, timer and request still for 1 s per write).
    store = SqliteStore.for_path(tmp_path / "percl.db")
    await store.open()
    try:
        assert store._writer is not None
        assert store._writer.execute("PRAGMA busy_timeout").fetchone() == (0,)
    finally:
        await store.close()
