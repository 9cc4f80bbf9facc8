"""The sim API routes a terminal softphone needs: speech, answer/decline, a number's legs and
transcripts read incrementally (`since`)."""

from __future__ import annotations

from typing import Any

import pytest
from test_simapi_app import ALICE, ALICE_NUMBER, BOB, BOB_NUMBER, PHONE, Env, auth
from test_simapi_app import env as env  # the fixture, re-exported for this module

from percl.domain.enums import CallDirection
from percl.domain.records import Call
from percl.engine.ports import DialResult

AGENT = "+16175550177"
DIALED = "CA" + "d" * 40


class Listener:
    """Notes what the platform hears from a leg it dialled."""

    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []

    def on_ringing(self) -> None:
        self.events.append(("ringing", None))

    def on_answered(self, answered_by: Any, *, web_rtc: bool = False) -> None:
        self.events.append(("answered", str(answered_by)))

    def on_dial_failed(self, result: DialResult) -> None:
        self.events.append(("failed", str(result)))

    def on_machine_detected(self, machine_type: Any) -> None:
        self.events.append(("machine", machine_type))

    def on_digits(self, digits: str) -> None:
        self.events.append(("digits", digits))

    def on_speech(self, text: str) -> None:
        self.events.append(("speech", text))

    def on_far_end_hangup(self) -> None:
        self.events.append(("hangup", None))


async def placed(env: Env) -> str:
    r = await env.client.post("/calls", json={"from": PHONE, "to": ALICE_NUMBER})
    call_id: str = r.json()["callId"]
    return call_id


async def test_speech_reaches_the_leg_and_the_transcript(env: Env) -> None:
    call_id = await placed(env)
    r = await env.client.post(f"/calls/{call_id}/speech", json={"text": "hello"})
    assert r.status_code == 400 and "not answered" in r.json()["message"]  # still ringing
    await env.sim.answer(call_id)
    r = await env.client.post(f"/calls/{call_id}/speech", json={"text": "I need sales"})
    assert r.status_code == 204
    await env.clock.settle()
    entries = (await env.client.get(f"/calls/{call_id}/transcript")).json()["entries"]
    assert entries[-1] == {"atMs": 0, "type": "said", "text": "I need sales"}


@pytest.mark.parametrize(
    ("body", "status"),
    [({"text": ""}, 400), ({"text": "  "}, 400), ({"text": 5}, 400), ({}, 400), ({"x": "y"}, 400)],
)
async def test_speech_refusals(env: Env, body: dict[str, Any], status: int) -> None:
    call_id = await placed(env)
    await env.sim.answer(call_id)
    r = await env.client.post(f"/calls/{call_id}/speech", json=body)
    assert r.status_code == status, r.text


async def test_speech_to_unknown_or_ended_leg_is_404(env: Env) -> None:
    r = await env.client.post(f"/calls/CA{'0' * 40}/speech", json={"text": "hi"})
    assert r.status_code == 404
    call_id = await placed(env)
    await env.client.post(f"/calls/{call_id}/hangup")
    r = await env.client.post(f"/calls/{call_id}/speech", json={"text": "hi"})
    assert r.status_code == 404


async def test_manual_phone_answer_and_decline(env: Env) -> None:
    r = await env.client.put(f"/phones/{AGENT}", json={"answer": "manual"})
    assert r.status_code == 200 and r.json()["answer"] == "manual"
    first, second = Listener(), Listener()
    for call_id in (DIALED, DIALED[:-1] + "e"):  # Alice's calls: her program applies
        env.store.calls[call_id] = Call(call_id, ALICE.account_id, ALICE_NUMBER, AGENT,
                                        CallDirection.OUTBOUND_API)
    await env.sim.dial(DIALED, ALICE_NUMBER, AGENT, first, detect_machine=False)
    await env.sim.dial(DIALED[:-1] + "e", ALICE_NUMBER, AGENT, second, detect_machine=False)
    await env.clock.advance(60)
    assert first.events == [("ringing", None)]  # a manual phone waits for a person
    assert (await env.client.post(f"/calls/{DIALED}/answer")).status_code == 204
    assert (await env.client.post(f"/calls/{DIALED[:-1]}e/decline")).status_code == 204
    await env.clock.settle()
    assert first.events[-1] == ("answered", "human")
    assert second.events[-1] == ("failed", "busy")
    again = await env.client.post(f"/calls/{DIALED}/answer")
    assert again.status_code == 400 and "not ringing" in again.json()["message"]
    ended = await env.client.post(f"/calls/{DIALED[:-1]}e/answer")
    assert ended.status_code == 404


async def test_answering_a_call_the_phone_made_is_400(env: Env) -> None:
    call_id = await placed(env)
    r = await env.client.post(f"/calls/{call_id}/answer")
    assert r.status_code == 400 and "placed by the phone" in r.json()["message"]


async def test_phone_calls_lists_legs_newest_first(env: Env) -> None:
    first = await placed(env)
    await env.client.post(f"/calls/{first}/hangup")
    await env.clock.advance(1)
    await env.sim.dial(DIALED, ALICE_NUMBER, PHONE, Listener(), detect_machine=False)
    r = await env.client.get(f"/phones/{PHONE}/calls")
    assert r.status_code == 200
    body = r.json()
    assert body["number"] == PHONE
    created = round(env.clock.now() * 1000)
    assert body["calls"] == [
        {"callId": DIALED, "from": ALICE_NUMBER, "to": PHONE, "direction": "outbound",
         "state": "ringing", "live": True, "createdMs": created},
        {"callId": first, "from": PHONE, "to": ALICE_NUMBER, "direction": "inbound",
         "state": "ended", "live": False, "createdMs": created - 1000},
    ]
    assert (await env.client.get(f"/phones/{AGENT}/calls")).json()["calls"] == []
    assert (await env.client.get("/phones/12345/calls")).status_code == 400


async def test_phone_calls_hide_other_accounts_legs(env: Env) -> None:
    call_id = await placed(env)
    env.store.calls[call_id] = Call(call_id, ALICE.account_id, PHONE, ALICE_NUMBER,
                                    CallDirection.INBOUND)  # fmt: skip
    r = await env.client.get(f"/phones/{PHONE}/calls", headers=auth(BOB))
    assert r.json()["calls"] == []
    assert BOB_NUMBER not in r.text
    r = await env.client.get(f"/phones/{PHONE}/calls")
    assert [c["callId"] for c in r.json()["calls"]] == [call_id]


async def test_transcript_since_returns_the_rest(env: Env) -> None:
    call_id = await placed(env)
    await env.sim.answer(call_id)
    await env.client.post(f"/calls/{call_id}/digits", json={"digits": "7"})
    await env.clock.settle()
    whole = (await env.client.get(f"/calls/{call_id}/transcript")).json()
    assert [e["type"] for e in whole["entries"]] == ["ringing", "answered", "digitsPressed"]
    rest = (await env.client.get(f"/calls/{call_id}/transcript", params={"since": 2})).json()
    assert (rest["since"], rest["live"], rest["entries"]) == (2, True, whole["entries"][2:])
    past = (await env.client.get(f"/calls/{call_id}/transcript", params={"since": 99})).json()
    assert past["entries"] == []
    for bad in ("-1", "x", "1.5"):
        r = await env.client.get(f"/calls/{call_id}/transcript", params={"since": bad})
        assert r.status_code == 400 and r.json()["details"]["field"] == "since"
