"""A REST call whose `parentCallId` runs on another worker (issue 19): the parent's worker makes
it (POST /Calls forwarded over the bus, `call.make`), so the child runs beside its parent; the
answer is the same 202 and record, and the parent's worker's refusals come back as they are. The
e2e kit's two workers on one PostgreSQL (tests/e2e/workers_kit.py): phones' calls run on
"calls", REST on "rest"."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from percl.domain.enums import CallStatus
from percl.engine.ports import LeaseKind
from tests import postgres
from tests.e2e import test_conferences_workers as flows
from tests.e2e.conference_kit import AsyncApp
from tests.e2e.workers_kit import TwoWorkers

HOLD = [{"Pause": {"length": 600_000}}]


@pytest.fixture
async def kit() -> AsyncIterator[TwoWorkers]:
    async with TwoWorkers(postgres.server().new_database()) as workers:
        yield workers


async def _parent_on_the_phones_worker(h: TwoWorkers) -> tuple[AsyncApp, str]:
    app = AsyncApp(h)
    app.on("voice", HOLD)
    app.on("child", HOLD)
    app.on("status", [])
    await h.number_for_app(flows.FC, voice_url=app.url("/voice"),
                           status_callback_url=app.url("/status"))
    parent = await h.sim_call(flows.A, flows.FC)
    await h.wait_for(lambda: flows.worker_of(h, parent) == "calls", within=30)
    return app, parent  # in its Pause (an inbound call may be a parent while ringing, too)


async def _post_call(h: TwoWorkers, **body: Any) -> Any:
    return await h.rest.post(f"/Accounts/{h.account.account_id}/Calls",
                             json={"from": flows.FC, "to": flows.B, **body})


async def test_a_child_is_made_by_its_parents_worker(kit: TwoWorkers) -> None:
    h = kit
    app, parent = await _parent_on_the_phones_worker(h)
    r = await _post_call(h, parentCallId=parent, callConnectUrl=app.url("/child"))
    assert r.status_code == 202, r.text
    child = r.json()["callId"]
    assert r.json()["parentCallId"] == parent
    assert flows.worker_of(h, child) == "calls"  # beside its parent, not on the REST worker
    assert h.platform.cluster is not None
    assert await h.platform.cluster.holder(LeaseKind.CALL, child) == h.platform.cluster.worker_id
    await h.wait_for(lambda: [w for w in h.webhooks if w.body.get("callId") == child
                              and w.request_type == "outDialApiConnect"],
                     within=60)  # answered; its callConnectUrl asked by the parent's worker
    assert (await h.call(child)).status is CallStatus.IN_PROGRESS
    r = await h.rest.get(f"/Accounts/{h.account.account_id}/Calls/{child}")
    assert (r.status_code, r.json()["parentCallId"]) == (200, parent)


async def test_the_parents_worker_refusal_comes_back_as_it_is(kit: TwoWorkers) -> None:
    h = kit
    _, parent = await _parent_on_the_phones_worker(h)
    r = await _post_call(h, parentCallId=parent, applicationId="AP" + "0" * 40)
    assert r.status_code == 404, r.text  # decided on the parent's worker, forwarded back
    assert "AP" + "0" * 40 in r.json()["message"]
    assert flows.worker_of(h, parent) == "calls"
    r = await _post_call(h, parentCallId="CA" + "0" * 40, callConnectUrl="http://app.test/x")
    assert r.status_code == 404, r.text  # no live worker runs it: answered here
