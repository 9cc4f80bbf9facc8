"""Limits: live calls per account (REST 429 / code 16, inbound and OutDial refused) and the
calls-per-second queue of REST calls (queued, FIFO, cancellable), on the FakeClock."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from freeclimb.models.webhook import Webhook

from percl.config import Settings
from percl.domain.enums import CallEndedReason, CallStatus, LogLevel
from percl.domain.records import Account
from percl.engine.context import EngineSettings
from percl.engine.ports import LogFilter
from percl.testing.harness import Harness, ScriptedApp
from tests.e2e.conftest import AGENT, CALLER

FROM = "+13125550100"
APP = "http://app.test"


def harness(**engine: Any) -> Harness:
    return Harness(settings=Settings(db=":memory:", engine=EngineSettings(**engine)))


@pytest_asyncio.fixture
async def two_live() -> AsyncIterator[Harness]:
    async with harness(max_live_calls_per_account=2) as h:
        yield h


async def rest_app(h: Harness) -> tuple[ScriptedApp, str]:
    """An app whose REST calls stay up for a minute; returns it and its application id."""
    app = h.scripted_app()
    app.on("/connect", [{"Pause": {"length": 60_000}}])
    app.on("/voice", [{"Say": {"text": "hello"}}])
    app.on("/status", [])
    created = await h.create_application(call_connect_url=app.url("/connect"),
                                         voice_url=app.url("/voice"),
                                         status_callback_url=app.url("/status"))
    return app, created.application_id


async def make_call(h: Harness, application_id: str, to: str = AGENT) -> Any:
    return await h.rest.post(f"/Accounts/{h.account.account_id}/Calls",
                             json={"from": FROM, "to": to, "applicationId": application_id})


async def calls_with_status(h: Harness, status: str) -> list[str]:
    listed = await h.rest.get(f"/Accounts/{h.account.account_id}/Calls", params={"status": status})
    return [c["callId"] for c in listed.json()["calls"]]


# --------------------------------------------------------------------------- live calls


async def test_rest_call_past_the_live_limit_is_429_code_16(two_live: Harness) -> None:
    h = two_live
    _, app_id = await rest_app(h)
    first, second = [(await make_call(h, app_id)).json()["callId"] for _ in range(2)]
    refused = await make_call(h, app_id)
    assert refused.status_code == 429
    body = refused.json()
    assert body["code"] == 16 and "already has 2 live calls" in body["message"]
    assert body["details"] == {"limit": 2} and body["url"].endswith("#16")
    listed = await h.rest.get(f"/Accounts/{h.account.account_id}/Calls")
    assert len(listed.json()["calls"]) == 2  # nothing was created

    await h.rest.post(f"/Accounts/{h.account.account_id}/Calls/{first}", json={"status": "completed"})
    await h.run_until_ended(first)
    assert (await make_call(h, app_id)).status_code == 202
    assert (await h.call(second)).status is not CallStatus.FAILED


async def test_inbound_call_past_the_limit_is_refused(two_live: Harness) -> None:
    h = two_live
    app, app_id = await rest_app(h)
    for _ in range(2):
        await make_call(h, app_id)
    number = await h.number_for_app(voice_url=app.url("/voice"), status_callback_url=app.url("/status"))
    call_id = await h.sim_call(CALLER, number)
    call = await h.run_until_ended(call_id)

    assert call.status is CallStatus.FAILED and call.call_ended_reason is CallEndedReason.FAILED
    assert call.connect_time is None
    mine = [w for w in h.webhooks if w.body.get("callId") == call_id]
    assert [w.request_type for w in mine] == ["callStatus"]  # no inboundCall: the app is not asked
    assert mine[0].body["callEndedReason"] == "failed" and mine[0].body["callStatus"] == "failed"
    Webhook.from_json(mine[0].raw.decode())
    logs = await h.store.list_logs(h.account.account_id, LogFilter(call_id=call_id))
    refusal = [e for e in logs if e.message.startswith("Call refused")]
    assert refusal and refusal[0].level is LogLevel.ERROR and refusal[0].metadata == {"limit": 2}


async def test_outdial_child_past_the_limit_fails_and_the_parent_goes_on() -> None:
    async with harness(max_live_calls_per_account=1) as h:
        app = h.scripted_app()
        app.on("/voice", [{"OutDial": {"destination": AGENT, "callingNumber": FROM,
                                       "actionUrl": app.url("/dialed"),
                                       "callConnectUrl": app.url("/connect")}}])
        app.on("/dialed", [{"Say": {"text": "Please hold"}}, {"Pause": {"length": 10_000}}])
        app.on("/connect", [{"Say": {"text": "never"}}])
        number = await h.number_for_app(voice_url=app.url("/voice"))
        parent = await h.sim_call(CALLER, number)
        await h.advance(1)
        start = next(w for w in h.webhooks if w.request_type == "outDialStart")
        child_id = start.body["dialCallId"]
        child = await h.run_until_ended(child_id)
        assert child.status is CallStatus.FAILED and child.call_ended_reason is CallEndedReason.FAILED
        connect = [w for w in h.webhooks if w.request_type == "outDialConnect"]
        assert [w.body["callStatus"] for w in connect] == ["failed"]
        assert h.transcript(child_id) is None  # the network never dialed it
        assert (await h.call(parent)).status is CallStatus.IN_PROGRESS


async def test_live_limit_is_per_account(two_live: Harness) -> None:
    h = two_live
    _, app_id = await rest_app(h)
    for _ in range(2):
        await make_call(h, app_id)
    other = Account(account_id="AC" + "0" * 40, api_key="other-key-123", signing_secret="s" * 10)
    await h.store.put_account(other)
    other_app = dataclasses.replace(await h.create_application(call_connect_url=APP + "/connect"),
                                    account_id=other.account_id)
    await h.store.put_application(other_app)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=h.platform.asgi),
                                 base_url="http://percl.test/apiserver",
                                 auth=(other.account_id, other.api_key)) as rest:
        made = await rest.post(f"/Accounts/{other.account_id}/Calls",
                               json={"from": FROM, "to": AGENT,
                                     "applicationId": other_app.application_id})
    assert made.status_code == 202, made.text
    assert (await make_call(h, app_id)).status_code == 429  # the first account is still full


# --------------------------------------------------------------------------- calls per second


@pytest_asyncio.fixture
async def one_cps() -> AsyncIterator[Harness]:
    async with harness(calls_per_second=1) as h:
        yield h


async def test_rest_calls_past_the_rate_stay_queued_and_dial_in_order(one_cps: Harness) -> None:
    h = one_cps
    _, app_id = await rest_app(h)
    t0 = h.clock.now()
    ids = [(await make_call(h, app_id, to=f"+1555010000{n}")).json()["callId"] for n in range(3)]
    await h.clock.settle()
    assert await calls_with_status(h, "queued") == ids[:0:-1]  # newest first
    assert await calls_with_status(h, "ringing") == ids[:1]
    assert h.platform.calls.admission.waiting(h.account.account_id) == ids[1:]

    await h.advance(1)
    assert (await h.call(ids[1])).status is not CallStatus.QUEUED
    assert await calls_with_status(h, "queued") == ids[2:]
    await h.advance(1)
    assert await calls_with_status(h, "queued") == []
    starts = [(await h.call(i)).start_time for i in ids]
    assert starts == [pytest.approx(t0), pytest.approx(t0 + 1), pytest.approx(t0 + 2)]
    await h.advance(1)  # each phone answers 1 s after it starts ringing
    connects = [(await h.call(i)).connect_time for i in ids]
    assert connects == [pytest.approx(t0 + 1), pytest.approx(t0 + 2), pytest.approx(t0 + 3)]


async def test_cancelling_a_queued_call_never_dials_it(one_cps: Harness) -> None:
    h = one_cps
    _, app_id = await rest_app(h)
    ids = [(await make_call(h, app_id, to=f"+1555010000{n}")).json()["callId"] for n in range(3)]
    cancel = await h.rest.post(f"/Accounts/{h.account.account_id}/Calls/{ids[1]}",
                               json={"status": "canceled"})
    assert cancel.status_code == 202
    canceled = await h.run_until_ended(ids[1])
    assert canceled.status is CallStatus.CANCELED
    assert canceled.call_ended_reason is CallEndedReason.CALL_CANCELED
    assert canceled.start_time is None and h.transcript(ids[1]) is None
    statuses = [w.body["callStatus"] for w in h.webhooks if w.body.get("callId") == ids[1]]
    assert statuses == ["canceled", "canceled"]  # outDialApiConnect, then callStatus
    await h.advance(1)
    third = await h.call(ids[2])
    assert third.start_time == pytest.approx(h.clock.now() - 1)  # it took the freed turn


async def test_accounts_calls_per_second_default_is_off() -> None:
    assert EngineSettings().calls_per_second == 0
    async with Harness() as h:
        _, app_id = await rest_app(h)
        ids = [(await make_call(h, app_id, to=f"+1555010000{n}")).json()["callId"] for n in range(5)]
        await h.clock.settle()
        assert await calls_with_status(h, "queued") == []
        assert sorted(await calls_with_status(h, "ringing")) == sorted(ids)
