"""Conferences whose legs start on different workers (issue 19).

With `--pg-workers` (tests/e2e/workers_kit.py) the phones' calls run on one worker ("calls") and
the calls made by REST on the other ("rest"); a leg that joins a conference whose room runs on the
other worker is handed over to it (docs/WORKERS.md), so every flow here spans both workers and
ends with all its participants in one room. With one percl the same flows are ordinary conference
flows, and must behave the same: the assertions are the same in both modes, plus, with two
workers, where each leg runs.
"""

from __future__ import annotations

from typing import Any

from percl.domain.enums import CallStatus, ConferenceStatus
from percl.telephony.sim.model import PhoneStep
from percl.testing.harness import Harness
from tests.e2e.conference_kit import AsyncApp, heard, sdk_parses_all, statuses
from tests.e2e.conftest import AGENT, CALLER

FC = "+13125550100"
A, B = "+15550100031", "+15550100032"
QUEUE = "QU" + "7" * 40


def worker_of(h: Harness, call_id: str) -> str | None:
    """"calls" or "rest": the worker whose session runs `call_id` (None once it ended); one
    percl is "calls"."""
    workers = getattr(h, "workers", (h.platform,))
    for name, platform in zip(("calls", "rest"), workers, strict=False):
        session = platform.calls.sessions.get(call_id)
        if session is not None and not session.done:
            return name
    return None


def two_workers(h: Harness) -> bool:
    return hasattr(h, "rest_worker")


async def rest_call(h: Harness, to: str, connect_url: str, status_url: str) -> str:
    """POST /Calls to `to` (an application of its own gives the leg its statusCallbackUrl)."""
    app = await h.create_application(call_connect_url=connect_url, status_callback_url=status_url)
    r = await h.rest.post(f"/Accounts/{h.account.account_id}/Calls", json={
        "from": FC, "to": to, "applicationId": app.application_id})
    assert r.status_code == 202, r.text
    call_id: str = r.json()["callId"]
    return call_id


async def participants(h: Harness, conference_id: str) -> list[str]:
    r = await h.rest.get(f"/Accounts/{h.account.account_id}/Conferences/{conference_id}"
                         "/Participants")
    assert r.status_code == 200, r.text
    return sorted(p["callId"] for p in r.json()["participants"])


def call_statuses(h: Harness, call_id: str) -> list[str]:
    return [w.body["callStatus"] for w in h.webhooks
            if w.request_type == "callStatus" and w.body["callId"] == call_id]


async def terminate(h: Harness, conference_id: str) -> None:
    r = await h.rest.post(f"/Accounts/{h.account.account_id}/Conferences/{conference_id}",
                          json={"status": "terminated"})
    assert r.status_code == 204, r.text


async def test_a_rest_call_joins_a_conference_a_phone_started(h: Harness) -> None:
    """The room runs where the phone's call runs; the REST call moves there and the two hear
    each other; terminating it ends both once."""
    app = AsyncApp(h)
    rooms: list[str] = []

    async def created(body: dict[str, Any], _: str) -> Any:
        rooms.append(body["conferenceId"])
        return [{"AddToConference": {"conferenceId": body["conferenceId"]}}]

    app.on("voice", [{"CreateConference": {"actionUrl": app.url("/created/a"), "playBeep": "never",
                                           "statusCallbackUrl": app.url("/confStatus/x")}}])
    app.on("created", created)
    app.on("join", lambda _b, _a: _join(rooms[0]))
    for name in ("confStatus", "status"):
        app.on(name, [])
    await h.number_for_app(FC, voice_url=app.url("/voice"), status_callback_url=app.url("/status"))
    h.phone(B).program(script=[PhoneStep(3000, say="hello from b")])
    a = await h.sim_call(A, FC, [PhoneStep(8000, say="hello from a")])
    await h.wait_for(lambda: rooms, within=30)
    b = await rest_call(h, B, app.url("/join/b"), app.url("/status/b"))
    await h.advance(10)
    conference_id = rooms[0]
    assert await participants(h, conference_id) == sorted([a, b])
    assert (A, "hello from a", None) in heard(h.transcript(b))
    assert (B, "hello from b", None) in heard(h.transcript(a))
    assert (await h.call(b)).conference_id == conference_id
    assert worker_of(h, a) == worker_of(h, b) == "calls"  # b moved to the room's worker
    await terminate(h, conference_id)
    for leg in (a, b):
        call = await h.run_until_ended(leg, limit_s=60)
        assert call.status is CallStatus.COMPLETED
        assert call_statuses(h, leg) == ["completed"]  # one final webhook, from one worker
    assert (await h.store.get_conference(conference_id)).status is ConferenceStatus.TERMINATED
    assert statuses(h, "/confStatus/x")[-1] == ("conferenceStatus", "terminated")
    sdk_parses_all(h)


def _join(conference_id: str) -> Any:
    async def script() -> Any:
        return [{"AddToConference": {"conferenceId": conference_id}}]
    return script()


async def test_a_dequeued_caller_joins_the_agents_conference(h: Harness) -> None:
    """FreeClimb's call-centre flow: a caller waits in a queue (a phone: the calls worker); an
    agent called by REST (the rest worker) opens a conference, and the caller, dequeued, joins
    it there."""
    app = AsyncApp(h)
    rooms: list[str] = []

    async def agent_room(body: dict[str, Any], _: str) -> Any:
        rooms.append(body["conferenceId"])
        return [{"AddToConference": {"conferenceId": body["conferenceId"]}}]

    async def dequeued(body: dict[str, Any], _: str) -> Any:
        assert body["queueResult"] == "dequeued"
        return [{"AddToConference": {"conferenceId": rooms[0]}}]

    app.on("voice", [{"Say": {"text": "Please hold"}}, {"Enqueue": {
        "queueId": QUEUE, "waitUrl": app.url("/wait/x"), "actionUrl": app.url("/dequeued/x")}}])
    app.on("wait", [{"Pause": {"length": 60000}}])
    app.on("dequeued", dequeued)
    app.on("agent", [{"CreateConference": {"actionUrl": app.url("/room/x"), "playBeep": "never"}}])
    app.on("room", agent_room)
    app.on("status", [])
    await h.number_for_app(FC, voice_url=app.url("/voice"), status_callback_url=app.url("/status"))
    caller = await h.sim_call(CALLER, FC, [PhoneStep(12000, say="i need help")])
    await h.advance(4)
    h.phone(AGENT).program(script=[PhoneStep(9000, say="how can i help")])
    agent = await rest_call(h, AGENT, app.url("/agent/x"), app.url("/status/agent"))
    await h.wait_for(lambda: rooms, within=30)
    await h.advance(2)
    r = await h.rest.post(f"/Accounts/{h.account.account_id}/Queues/{QUEUE}/Members/Front")
    assert r.status_code == 202, r.text
    assert r.json()["callId"] == caller
    await h.advance(10)
    assert await participants(h, rooms[0]) == sorted([caller, agent])
    assert (AGENT, "how can i help", None) in heard(h.transcript(caller))
    assert (CALLER, "i need help", None) in heard(h.transcript(agent))
    expected = "rest" if two_workers(h) else "calls"
    assert worker_of(h, caller) == worker_of(h, agent) == expected
    await terminate(h, rooms[0])
    for leg in (caller, agent):
        call = await h.run_until_ended(leg, limit_s=60)
        assert call.status is CallStatus.COMPLETED and call_statuses(h, leg) == ["completed"]
    sdk_parses_all(h)


async def test_an_outdial_child_and_its_parent_join_a_conference_running_elsewhere(
        h: Harness) -> None:
    """A REST call (the rest worker) opens the conference; a phone's call (the calls worker)
    dials an OutDial child; both the child and, after it, the parent join the room where it
    runs; each hangs up on its own and the host stays."""
    app = AsyncApp(h)
    rooms: list[str] = []

    async def opened(body: dict[str, Any], _: str) -> Any:
        rooms.append(body["conferenceId"])
        return [{"AddToConference": {"conferenceId": body["conferenceId"]}}]

    app.on("host", [{"CreateConference": {"actionUrl": app.url("/opened/x"), "playBeep": "never"}}])
    app.on("opened", opened)
    app.on("voice", lambda _b, _a: _outdial(app))
    app.on("dialed", lambda _b, _a: _join(rooms[0]))
    app.on("child", lambda _b, _a: _join(rooms[0]))
    app.on("status", [])
    await h.number_for_app(FC, voice_url=app.url("/voice"), status_callback_url=app.url("/status"))
    host = await rest_call(h, B, app.url("/host/x"), app.url("/status/host"))
    await h.wait_for(lambda: rooms, within=30)
    h.phone(AGENT).program(script=[PhoneStep(4000, say="child here"), PhoneStep(9000, hangup=True)])
    parent = await h.sim_call(A, FC, [PhoneStep(6000, say="parent here"),
                                      PhoneStep(12000, hangup=True)])
    await h.advance(5)
    [child] = [w.body["dialCallId"] for w in h.webhooks if w.request_type == "outDialStart"]
    assert await participants(h, rooms[0]) == sorted([host, parent, child])
    expected = "rest" if two_workers(h) else "calls"
    assert worker_of(h, parent) == worker_of(h, child) == worker_of(h, host) == expected
    await h.advance(3)
    assert (A, "parent here", None) in heard(h.transcript(child))
    assert (AGENT, "child here", None) in heard(h.transcript(host))
    for leg in (child, parent):
        call = await h.run_until_ended(leg, limit_s=60)
        assert call.status is CallStatus.COMPLETED and call_statuses(h, leg) == ["completed"]
    assert await participants(h, rooms[0]) == [host]
    await terminate(h, rooms[0])
    await h.run_until_ended(host, limit_s=60)
    sdk_parses_all(h)


def _outdial(app: AsyncApp) -> Any:
    async def script() -> Any:
        return [{"OutDial": {"destination": AGENT, "callingNumber": FC,
                             "actionUrl": app.url("/dialed/x"), "callConnectUrl": app.url("/child/x"),
                             "statusCallbackUrl": app.url("/status/child")}}]
    return script()
