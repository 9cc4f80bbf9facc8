"""The sim control API over the real SimNetwork, through httpx's ASGI transport."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from percl.domain.enums import CallDirection
from percl.domain.ids import SequentialIds
from percl.domain.records import Account, Call, IncomingNumber
from percl.simapi import SimApiDeps, create_sim_api
from percl.telephony.sim.control import NetworkControl
from percl.telephony.sim.network import SimNetwork
from percl.testing.clock import FakeClock

ALICE = Account(account_id="AC" + "a" * 40, api_key="alice-key", signing_secret="s")
BOB = Account(account_id="AC" + "b" * 40, api_key="bob-key", signing_secret="s")
ALICE_NUMBER = "+13125550100"
BOB_NUMBER = "+13125550101"
PHONE = "+16175550150"


@dataclass
class FakeStore:
    """Just the Store methods the sim API reads, over dicts."""

    accounts: dict[str, Account] = field(default_factory=dict)
    numbers: dict[str, IncomingNumber] = field(default_factory=dict)
    calls: dict[str, Call] = field(default_factory=dict)

    async def get_account(self, account_id: str) -> Account | None:
        return self.accounts.get(account_id)

    async def find_number(self, phone_number: str) -> IncomingNumber | None:
        return self.numbers.get(phone_number)

    async def get_call(self, call_id: str) -> Call | None:
        return self.calls.get(call_id)

    async def owner_of(self, call_id: str) -> str | None:
        """The network's `call_owner`: whose call it is (phone programs are per account)."""
        call = self.calls.get(call_id)
        return call.account_id if call is not None else None


@dataclass
class Engine:
    """An InboundHandler standing in for the engine: records offered calls, attaches nobody."""

    offered: list[tuple[str, str, str]] = field(default_factory=list)

    async def incoming_call(
        self, call_id: str, from_: str, to: str, number: object = None, *,
        web_rtc: bool = False,
    ) -> None:
        self.offered.append((call_id, from_, to))


def auth(account: Account) -> dict[str, str]:
    token = base64.b64encode(f"{account.account_id}:{account.api_key}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


@dataclass
class Env:
    client: httpx.AsyncClient
    sim: SimNetwork
    store: FakeStore
    engine: Engine
    clock: FakeClock


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    clock = FakeClock()
    store = FakeStore(accounts={a.account_id: a for a in (ALICE, BOB)})
    for n, owner in ((ALICE_NUMBER, ALICE), (BOB_NUMBER, BOB)):
        store.numbers[n] = IncomingNumber("PN" + n[1:].rjust(40, "0"), owner.account_id, n)
    sim = SimNetwork(clock, SequentialIds("api"), call_owner=store.owner_of)
    engine = Engine()
    sim.set_inbound_handler(engine)
    control = NetworkControl(sim, store)  # type: ignore[arg-type]
    app = create_sim_api(SimApiDeps(store=store, sim=control))  # type: ignore[arg-type]
    transport = httpx.ASGITransport(app=app)
    async with sim, httpx.AsyncClient(transport=transport, base_url="http://sim") as client:
        client.headers.update(auth(ALICE))
        yield Env(client, sim, store, engine, clock)


async def test_every_route_needs_basic_auth(env: Env) -> None:
    bad = {"Authorization": "Basic " + base64.b64encode(b"ACnope:x").decode()}
    for headers in ({"Authorization": ""}, bad):
        r = await env.client.get(f"/phones/{PHONE}", headers=headers)
        assert r.status_code == 401
        assert r.json()["code"] == 50 and "WWW-Authenticate" in r.headers
        r = await env.client.post("/calls", headers=headers, json={"bad": 1})
        assert r.status_code == 401  # auth is checked before the body


async def test_put_get_delete_phone_program(env: Env) -> None:
    program = {
        "answer": "machine",
        "answerAfterMs": 2500,
        "hangupAfterMs": 9000,
        "script": [
            {"afterMs": 100, "digits": "1#"},
            {"afterMs": 200, "say": "hello"},
            {"afterMs": 300, "hangup": True},
        ],
    }
    r = await env.client.put(f"/phones/{PHONE}", json=program)
    assert r.status_code == 200 and r.json() == program
    assert (await env.client.get(f"/phones/{PHONE}")).json() == program
    assert env.sim.get_program(PHONE, account_id=ALICE.account_id).answer_after_ms == 2500
    assert env.sim.get_program(PHONE).answer_after_ms == 1000  # Alice's, not the network's
    r = await env.client.delete(f"/phones/{PHONE}")
    assert r.status_code == 204
    default = {"answer": "human", "answerAfterMs": 1000, "hangupAfterMs": None, "script": []}
    assert (await env.client.get(f"/phones/%2B{PHONE[1:]}")).json() == default


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"answer": "robot"}, "answer"),
        ({"answerAfterMs": -1}, "answerAfterMs"),
        ({"answerAfterMs": "1000"}, "answerAfterMs"),
        ({"answerAfterMs": True}, "answerAfterMs"),
        ({"hangupAfterMs": 1.5}, "hangupAfterMs"),
        ({"ringFor": 3}, "ringFor"),
        ({"script": [{"afterMs": 0, "digits": "12a"}]}, "script[0].digits"),
        ({"script": [{"afterMs": -5, "digits": "1"}]}, "script[0].afterMs"),
        ({"script": [{"afterMs": 0}]}, "script[0]"),
        ({"script": [{"afterMs": 0, "digits": "1", "hangup": True}]}, "script[0]"),
        ({"script": [{"afterMs": 0, "hangup": False}]}, "script[0]"),
        ({"script": [{"afterMs": 0, "digits": "1", "pressHard": True}]}, "script[0].pressHard"),
        ({"script": {"afterMs": 0}}, "script"),
        ([], "body"),
    ],
)
async def test_program_validation_is_strict(env: Env, body: Any, field: str) -> None:
    r = await env.client.put(f"/phones/{PHONE}", json=body)
    assert r.status_code == 400, r.text
    err = r.json()
    assert err["code"] == 3 and err["call"] == err["message"]
    assert err["details"]["errors"][0]["field"] == field
    assert field in err["message"]
    assert env.sim.get_program(PHONE).answer_after_ms == 1000  # nothing was stored


async def test_bad_numbers_and_bad_json(env: Env) -> None:
    r = await env.client.put("/phones/3125550100", json={})
    assert r.status_code == 400 and "E.164" in r.json()["message"]
    r = await env.client.put(f"/phones/{PHONE}", content=b"{not json")
    assert r.status_code == 422 and r.json()["code"] == 9


async def test_place_call_to_own_number_returns_call_id(env: Env) -> None:
    body = {"from": PHONE, "to": ALICE_NUMBER, "script": [{"afterMs": 500, "digits": "9"}]}
    r = await env.client.post("/calls", json=body)
    assert r.status_code == 201
    call_id = r.json()["callId"]
    assert call_id.startswith("CA") and len(call_id) == 42
    assert env.engine.offered == [(call_id, PHONE, ALICE_NUMBER)]
    assert env.sim.is_live(call_id)
    await env.sim.answer(call_id)  # as the engine would; the script then runs
    await env.clock.advance(1)
    r = await env.client.get(f"/calls/{call_id}/transcript")
    assert r.status_code == 200
    assert r.json() == {
        "callId": call_id,
        "from": PHONE,
        "to": ALICE_NUMBER,
        "live": True,
        "createdMs": round(env.clock.now() * 1000) - 1000,
        "since": 0,
        "entries": [
            {"atMs": 0, "type": "ringing"},
            {"atMs": 0, "type": "answered"},
            {"atMs": 500, "type": "digitsPressed", "digits": "9"},
        ],
        "more": False,  # the whole transcript: nothing left for another read
    }


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"from": PHONE, "to": BOB_NUMBER}, 404),  # another account's number
        ({"from": PHONE, "to": "+13125550199"}, 404),  # nobody's number
        ({"from": "12345", "to": ALICE_NUMBER}, 400),
        ({"to": ALICE_NUMBER}, 400),
        ({"from": PHONE, "to": ALICE_NUMBER, "script": [{"afterMs": 1, "digits": "x"}]}, 400),
    ],
)
async def test_place_call_refusals(env: Env, body: dict[str, Any], status: int) -> None:
    r = await env.client.post("/calls", json=body)
    assert r.status_code == status, r.text
    assert env.engine.offered == []


async def test_digits_and_hangup_on_live_leg(env: Env) -> None:
    call_id = (await env.client.post("/calls", json={"from": PHONE, "to": ALICE_NUMBER})).json()[
        "callId"
    ]
    r = await env.client.post(f"/calls/{call_id}/digits", json={"digits": "12"})
    assert r.status_code == 400  # still ringing: nobody hears keys yet
    await env.sim.answer(call_id)
    r = await env.client.post(f"/calls/{call_id}/digits", json={"digits": "12#"})
    assert r.status_code == 204
    r = await env.client.post(f"/calls/{call_id}/digits", json={"digits": "1a"})
    assert r.status_code == 400
    await env.clock.advance(1)
    r = await env.client.post(f"/calls/{call_id}/hangup")
    assert r.status_code == 204
    assert not env.sim.is_live(call_id)
    entries = (await env.client.get(f"/calls/{call_id}/transcript")).json()["entries"]
    assert entries[-2:] == [
        {"atMs": 0, "type": "digitsPressed", "digits": "12#"},
        {"atMs": 1000, "type": "hangup", "by": "farEnd"},
    ]
    # the leg has ended: its transcript stays, controls answer 404
    assert (await env.client.post(f"/calls/{call_id}/hangup")).status_code == 404
    r = await env.client.post(f"/calls/{call_id}/digits", json={"digits": "1"})
    assert r.status_code == 404


async def test_unknown_and_foreign_calls_are_404(env: Env) -> None:
    unknown = "CA" + "0" * 40
    for r in (
        await env.client.get(f"/calls/{unknown}/transcript"),
        await env.client.post(f"/calls/{unknown}/hangup"),
        await env.client.post(f"/calls/{unknown}/digits", json={"digits": "1"}),
    ):
        assert r.status_code == 404 and r.json()["code"] == 1
    bob = env.client.headers.copy()
    bob.update(auth(BOB))
    call_id = (await env.client.post("/calls", json={"from": PHONE, "to": ALICE_NUMBER})).json()[
        "callId"
    ]
    env.store.calls[call_id] = Call(call_id, ALICE.account_id, PHONE, ALICE_NUMBER,
                                    CallDirection.INBOUND)  # fmt: skip
    r = await env.client.get(f"/calls/{call_id}/transcript", headers=bob)
    assert r.status_code == 404
    r = await env.client.post(f"/calls/{call_id}/hangup", headers=bob)
    assert r.status_code == 404 and env.sim.is_live(call_id)
    assert (await env.client.get(f"/calls/{call_id}/transcript")).status_code == 200
