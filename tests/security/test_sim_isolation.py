"""Issue 17.7: sim phone programs and fault rules belong to the account that made them."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest_asyncio

from percl.domain import ids as idmod
from percl.domain.enums import CallStatus
from percl.domain.records import Account, Application, IncomingNumber
from percl.testing.harness import Harness
from tests.e2e.conftest import CALLER, said
from tests.security._accounts import REST, SIM, auth_of, client, second_account


@pytest_asyncio.fixture
async def h() -> AsyncIterator[Harness]:
    async with Harness() as harness:
        yield harness


PHONE = "+15550109999"
A_APP, B_APP = "http://alice.test", "http://bob.test"
A_NUMBER, B_NUMBER = "+13125550100", "+13125550101"


async def wire(h: Harness, account: Account, base: str, number: str) -> str:
    """An application on `base` (saying who it is) and `number` for `account`; its id."""
    app = h.scripted_app(base)
    for path in ("/voice", "/connect"):
        app.on(path, [{"Say": {"text": f"{base} speaking"}}, {"Hangup": {}}])
    now = h.clock.now()
    application = dataclasses.replace(
        Application(application_id=h.ids.new(idmod.APPLICATION), account_id=account.account_id,
                    date_created=now, date_updated=now),
        voice_url=base + "/voice", call_connect_url=base + "/connect")
    await h.store.put_application(application)
    await h.store.put_number(IncomingNumber(
        phone_number_id=h.ids.new(idmod.PHONE_NUMBER), account_id=account.account_id,
        phone_number=number, application_id=application.application_id, region="IL",
        country="US", date_created=now, date_updated=now))
    return application.application_id


async def call_out(h: Harness, account: Account, app_id: str, from_: str) -> Any:
    async with client(h, REST, headers=auth_of(account)) as c:
        made = await c.post(f"/Accounts/{account.account_id}/Calls",
                            json={"from": from_, "to": PHONE, "applicationId": app_id})
    assert made.status_code == 202, made.text
    return await h.run_until_ended(made.json()["callId"])


def sim_of(h: Harness, account: Account) -> httpx.AsyncClient:
    return client(h, SIM, headers=auth_of(account))


async def test_a_phone_program_applies_to_its_accounts_calls_only(h: Harness) -> None:
    bob = await second_account(h)
    a_app = await wire(h, h.account, A_APP, A_NUMBER)
    b_app = await wire(h, bob, B_APP, B_NUMBER)
    async with sim_of(h, bob) as b:
        assert (await b.put(f"/phones/{PHONE}", json={"answer": "busy"})).status_code == 200
    alices = await call_out(h, h.account, a_app, A_NUMBER)
    assert alices.status is CallStatus.COMPLETED  # Bob's program did not make it busy
    assert said(h.transcript(alices.call_id)) == [f"{A_APP} speaking"]
    bobs = await call_out(h, bob, b_app, B_NUMBER)
    assert bobs.status is CallStatus.BUSY


async def test_an_account_cannot_read_or_reset_anothers_program(h: Harness) -> None:
    bob = await second_account(h)
    secret = {"answer": "human", "answerAfterMs": 10, "hangupAfterMs": None,
              "script": [{"afterMs": 5, "say": "my PIN is 4321"}]}
    async with sim_of(h, h.account) as a, sim_of(h, bob) as b:
        assert (await a.put(f"/phones/{PHONE}", json=secret)).json() == secret
        seen = (await b.get(f"/phones/{PHONE}")).json()
        assert seen["script"] == [] and seen["answerAfterMs"] == 1000
        assert (await b.delete(f"/phones/{PHONE}")).status_code == 204
        assert (await a.get(f"/phones/{PHONE}")).json() == secret


async def test_an_account_wide_fault_breaks_only_its_own_calls(h: Harness) -> None:
    bob = await second_account(h)
    await wire(h, h.account, A_APP, A_NUMBER)
    await wire(h, bob, B_APP, B_NUMBER)
    async with sim_of(h, bob) as b:
        assert (await b.put("/faults", json={"kind": "error", "status": 503})).status_code == 204
        assert (await b.get("/faults")).json() == [
            {"urlPrefix": None, "kind": "error", "status": 503, "times": None}]
    alices = await h.run_until_ended(await h.sim_call(CALLER, A_NUMBER))
    assert said(h.transcript(alices.call_id)) == [f"{A_APP} speaking"]
    bobs = await h.run_until_ended(await h.sim_call(CALLER, B_NUMBER))
    assert said(h.transcript(bobs.call_id)) == []


async def test_rules_are_listed_and_deleted_per_account(h: Harness) -> None:
    bob = await second_account(h)
    await wire(h, h.account, A_APP, A_NUMBER)
    await wire(h, bob, B_APP, B_NUMBER)
    async with sim_of(h, h.account) as a, sim_of(h, bob) as b:
        private = {"urlPrefix": A_APP + "/private/", "kind": "timeout"}
        assert (await a.put("/faults", json=private)).status_code == 204
        assert (await b.get("/faults")).json() == []  # Alice's prefixes stay hers
        assert (await b.delete("/faults")).status_code == 204
        assert [r["urlPrefix"] for r in (await a.get("/faults")).json()] == [A_APP + "/private/"]
        # naming Alice's server is refused to Bob, whose applications live elsewhere
        refused = await b.put("/faults", json={"urlPrefix": A_APP + "/", "kind": "refuse"})
        assert refused.status_code == 400 and refused.json()["details"]["field"] == "urlPrefix"
        # a rule of Bob's on his own host never touches Alice's calls
        assert (await b.put("/faults", json={"urlPrefix": B_APP + "/", "kind": "refuse"})).status_code == 204
    alices = await h.run_until_ended(await h.sim_call(CALLER, A_NUMBER))
    assert said(h.transcript(alices.call_id)) == [f"{A_APP} speaking"]
