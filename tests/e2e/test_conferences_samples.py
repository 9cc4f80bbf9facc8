"""The official FreeClimb conference sample flows (FREECLIMB.md §5.2, §6), end to end on the FakeClock.

Each test plays the sample app's webhooks (FreeClimbAPI Node-Another-Party-Tutorial,
Node-Click-To-Call-How-To-Guide, the conference-room tutorial) against percl with virtual phones, and
asserts the webhook sequence and payloads, the conference record, what each phone heard, and how
every leg ended.
"""

from __future__ import annotations

from typing import Any

import pytest

from percl.domain.enums import CallEndedReason, CallStatus, ConferenceStatus, PhoneAnswer
from percl.telephony.sim.model import PhoneProgram, PhoneStep, TranscriptEvent
from percl.testing.harness import Harness
from tests.e2e.conference_kit import AsyncApp, count, heard, sdk_parses_all, statuses
from tests.e2e.conftest import AGENT, CALLER, said

FC_NUMBER = "+13125550100"
WAIT_TEXT = "Please wait while we attempt to connect you."


def another_party(h: Harness) -> tuple[AsyncApp, dict[str, Any]]:
    """Node-Another-Party-Tutorial, plus a statusCallbackUrl on the conference to watch it."""
    app = AsyncApp(h)
    seen: dict[str, Any] = {"terminates": []}
    app.on("incomingCall", [{"CreateConference": {
        "actionUrl": app.url("/conferenceCreated"), "statusCallbackUrl": app.url("/confStatus")}}])

    async def created(body: dict[str, Any], _: str) -> Any:
        cf = body["conferenceId"]
        seen["cf"] = cf
        return [{"Say": {"text": WAIT_TEXT}}, {"OutDial": {
            "destination": AGENT, "callingNumber": body["from"],
            "actionUrl": app.url(f"/outboundCallMade/{cf}"),
            "callConnectUrl": app.url(f"/callConnected/{cf}"), "ifMachine": "hangup",
            "timeout": 20}}]

    async def outbound_made(body: dict[str, Any], cf: str) -> Any:
        return [{"AddToConference": {"conferenceId": cf, "callId": body["callId"],
                                     "leaveConferenceUrl": app.url("/leftConference")}}]

    async def connected(body: dict[str, Any], cf: str) -> Any:
        if body["callStatus"] != "inProgress":
            seen["terminates"].append(await app.terminate(cf))
            return []
        return [{"AddToConference": {"conferenceId": cf, "callId": body["callId"]}}]

    async def left(body: dict[str, Any], _: str) -> Any:
        seen["terminates"].append(await app.terminate(body["conferenceId"]))
        return []

    app.on("conferenceCreated", created)
    app.on("outboundCallMade", outbound_made)
    app.on("callConnected", connected)
    app.on("leftConference", left)
    app.on("confStatus", [])
    app.on("status", [])
    return app, seen


async def _number(h: Harness, app: AsyncApp) -> str:
    return await h.number_for_app(FC_NUMBER, voice_url=app.url("/incomingCall"),
                                  status_callback_url=app.url("/status"))


def _agent_leg(h: Harness, caller: str) -> str:
    start = [w for w in h.webhooks_for(caller) if w.request_type == "outDialStart"]
    assert start, [w.request_type for w in h.webhooks_for(caller)]
    return str(start[0].body["dialCallId"])


async def test_inbound_caller_bridged_to_agent_who_answers(h: Harness) -> None:
    app, seen = another_party(h)
    h.platform.sim.program(AGENT, PhoneProgram(script=(PhoneStep(3000, say="Agent here"),)))
    caller = await h.sim_call(CALLER, await _number(h, app), [
        PhoneStep(6000, say="I need help"), PhoneStep(7000, digits="12"),
        PhoneStep(12_000, hangup=True)])
    await h.advance(8)
    cf, agent = seen["cf"], _agent_leg(h, caller)

    # the conference, its participants and the bridge, while both talk
    r = await h.rest.get(f"/Accounts/{h.account.account_id}/Conferences/{cf}")
    assert r.status_code == 200 and r.json()["status"] == "inProgress"
    r = await h.rest.get(f"/Accounts/{h.account.account_id}/Conferences/{cf}/Participants")
    assert [p["callId"] for p in r.json()["participants"]] == [caller, agent]
    assert heard(h.transcript(agent)) == [(CALLER, "I need help", None), (CALLER, None, "12")]
    assert heard(h.transcript(caller)) == [(AGENT, "Agent here", None)]

    # the caller hangs up: leaveConference -> the app terminates over REST from that webhook
    agent_call = await h.run_until_ended(agent)
    caller_call = await h.call(caller)
    assert (caller_call.status, caller_call.call_ended_reason) == (
        CallStatus.COMPLETED, CallEndedReason.FAR_END_HANGUP)
    assert (agent_call.status, agent_call.call_ended_reason) == (
        CallStatus.COMPLETED, CallEndedReason.CONFERENCE_TERMINATED)
    assert seen["terminates"] == [204]
    conference = await h.store.get_conference(cf)
    assert conference.status is ConferenceStatus.TERMINATED
    assert statuses(h, "/confStatus") == [
        ("createConference", "empty"), ("conferenceStatus", "populated"),
        ("conferenceStatus", "inProgress"), ("conferenceStatus", "empty"),
        ("conferenceStatus", "terminated")]

    # the caller's webhooks, in order, with their conference fields
    caller_hooks = [(w.path.split("/")[1], w.request_type) for w in h.webhooks_for(caller)
                    if w.path != "/confStatus"]
    assert caller_hooks[:3] == [("incomingCall", "inboundCall"),
                                ("conferenceCreated", "createConference"),
                                ("outboundCallMade", "outDialStart")]
    # (the capture logs an exchange when it is answered: leaveConference waits for the REST call)
    assert sorted(caller_hooks[3:]) == [("leftConference", "leaveConference"),
                                        ("status", "callStatus")]
    left = next(w for w in h.webhooks_for(caller) if w.request_type == "leaveConference")
    assert left.body["conferenceId"] == cf and left.body["callStatus"] == "completed"
    created = next(w for w in h.webhooks if w.path == "/conferenceCreated")
    assert created.body["conferenceId"] == cf and "status" not in created.body
    connect = next(w for w in h.webhooks_for(agent) if w.request_type == "outDialConnect")
    assert connect.body["callStatus"] == "inProgress" and connect.body["conferenceId"] is None
    # what each phone heard: the wait message, beeps as each joined, then each other
    assert said(h.transcript(caller)) == [WAIT_TEXT]
    assert count(h.transcript(caller), TranscriptEvent.BEEP) == 2  # own entry, the agent's
    assert count(h.transcript(agent), TranscriptEvent.BEEP) == 2  # own entry, the caller's exit
    assert h.transcript(agent).entries[-1].by == "platform"
    r = await h.rest.get(f"/Accounts/{h.account.account_id}/Conferences/{cf}/Participants")
    assert r.json()["participants"] == []
    sdk_parses_all(h)


@pytest.mark.parametrize(("answer", "status"), [
    (PhoneAnswer.BUSY, "busy"), (PhoneAnswer.NO_ANSWER, "noAnswer"), (PhoneAnswer.FAILED, "failed")])
async def test_agent_not_reached_app_terminates_conference(
    h: Harness, answer: PhoneAnswer, status: str
) -> None:
    app, seen = another_party(h)
    h.platform.sim.program(AGENT, PhoneProgram(answer=answer))
    # The sim fails a dial at once (busy, failed); the agent's outDialConnect still waits for the
    # caller's outDialStart to be answered, as on FreeClimb, so the caller joins before the app
    # terminates the conference from callConnectUrl (no made-up delay needed).
    caller = await h.sim_call(CALLER, await _number(h, app))
    caller_call = await h.run_until_ended(caller, limit_s=120)
    agent = _agent_leg(h, caller)
    agent_call = await h.call(agent)

    connect = next(w for w in h.webhooks_for(agent) if w.request_type == "outDialConnect")
    assert connect.body["callStatus"] == connect.body["dialCallStatus"] == status
    assert seen["terminates"] == [204]
    assert agent_call.status.value == status and agent_call.connect_time is None
    # the caller waited alone in the conference, then was hung up by the termination
    assert (caller_call.status, caller_call.call_ended_reason) == (
        CallStatus.COMPLETED, CallEndedReason.CONFERENCE_TERMINATED)
    caller_status = h.webhooks_for(caller)[-1]
    assert caller_status.request_type == "callStatus"
    assert caller_status.body["callEndedReason"] == "conferenceTerminated"
    assert caller_status.body["conferenceId"] == seen["cf"]
    assert "leaveConference" not in [w.request_type for w in h.webhooks]  # hung up, not left
    assert statuses(h, "/confStatus") == [
        ("createConference", "empty"), ("conferenceStatus", "populated"),
        ("conferenceStatus", "inProgress"), ("conferenceStatus", "empty"),
        ("conferenceStatus", "terminated")]
    assert (await h.store.get_conference(seen["cf"])).status is ConferenceStatus.TERMINATED
    assert said(h.transcript(caller)) == [WAIT_TEXT] and heard(h.transcript(caller)) == []
    sdk_parses_all(h)


async def test_click_to_call_over_rest(h: Harness) -> None:
    """Node-Click-To-Call: POST /Calls to the agent, who creates the conference and dials the
    customer; either leaving terminates the conference."""
    app = AsyncApp(h)
    seen: dict[str, Any] = {"terminates": []}

    async def agent_pickup(_body: dict[str, Any], customer: str) -> Any:
        return [{"CreateConference": {"actionUrl": app.url(f"/conferenceCreated/{customer}"),
                                      "statusCallbackUrl": app.url("/confStatus")}}]

    async def created(body: dict[str, Any], customer: str) -> Any:
        cf = seen["cf"] = body["conferenceId"]
        return [{"OutDial": {"callingNumber": FC_NUMBER, "destination": customer,
                             "actionUrl": app.url(f"/userCalled/{cf}"),
                             "callConnectUrl": app.url(f"/userConnected/{cf}"),
                             "ifMachine": "hangup"}}]

    async def user_called(body: dict[str, Any], cf: str) -> Any:
        return [{"Say": {"text": "Please wait while we attempt to add your client to the call"}},
                {"AddToConference": {"conferenceId": cf, "callId": body["callId"],
                                     "leaveConferenceUrl": app.url("/leftConference")}}]

    async def user_connected(body: dict[str, Any], cf: str) -> Any:
        if body["dialCallStatus"] != "inProgress":
            seen["terminates"].append(await app.terminate(cf))
            return 500, []
        return [{"AddToConference": {"conferenceId": cf, "callId": body["callId"],
                                     "leaveConferenceUrl": app.url("/leftConference")}}]

    async def left(body: dict[str, Any], _: str) -> Any:
        seen["terminates"].append(await app.terminate(body["conferenceId"]))
        return []

    for name, handler in [("agentPickup", agent_pickup), ("conferenceCreated", created),
                          ("userCalled", user_called), ("userConnected", user_connected),
                          ("leftConference", left)]:
        app.on(name, handler)
    app.on("confStatus", [])
    app.on("status", [])
    application = await h.create_application(status_callback_url=app.url("/status"))
    await h.number_for_app(FC_NUMBER)
    h.platform.sim.program(AGENT, PhoneProgram(script=(
        PhoneStep(9000, say="Hello, this is your agent"), PhoneStep(20_000, hangup=True))))
    h.platform.sim.program(CALLER, PhoneProgram(answer_after_ms=4000, script=(
        # a person's short "hello": with ifMachine, audio's answering machine detection (app_amd)
        # takes a greeting over 1.5 s for a machine's and hangs up on it
        PhoneStep(2000, say="Hello"),)))

    r = await h.rest.post(f"/Accounts/{h.account.account_id}/Calls", json={
        "from": FC_NUMBER, "to": AGENT, "applicationId": application.application_id,
        "callConnectUrl": app.url(f"/agentPickup/{CALLER}"), "ifMachine": "hangup"})
    assert r.status_code == 202
    agent = r.json()["callId"]
    agent_call = await h.run_until_ended(agent, limit_s=60)
    customer = _agent_leg(h, agent)  # the agent leg dialed the customer
    customer_call = await h.run_until_ended(customer)

    types = [w.request_type for w in h.webhooks_for(agent)]
    assert types[:4] == ["outDialApiConnect", "createConference", "createConference",
                         "outDialStart"]
    assert sorted(types[-2:]) == ["callStatus", "leaveConference"]  # (logged when answered)
    connect = next(w for w in h.webhooks_for(customer) if w.request_type == "outDialConnect")
    assert connect.body["parentCallId"] == agent and connect.body["to"] == CALLER
    assert heard(h.transcript(customer)) == [(AGENT, "Hello, this is your agent", None)]
    assert heard(h.transcript(agent)) == [(CALLER, "Hello", None)]
    assert (agent_call.status, agent_call.call_ended_reason) == (
        CallStatus.COMPLETED, CallEndedReason.FAR_END_HANGUP)
    assert (customer_call.status, customer_call.call_ended_reason) == (
        CallStatus.COMPLETED, CallEndedReason.CONFERENCE_TERMINATED)
    assert seen["terminates"] == [204]  # only the agent left: the customer was hung up
    assert statuses(h, "/confStatus")[-2:] == [("conferenceStatus", "empty"),
                                               ("conferenceStatus", "terminated")]
    sdk_parses_all(h)


async def test_conference_rooms_by_access_code(h: Harness) -> None:
    """The conference-room tutorial: callers enter a room code; the first creates the room's
    conference, the others join it; when it empties the second time, the app terminates it."""
    app = AsyncApp(h)
    rooms: dict[str, dict[str, Any]] = {code: {"cf": None, "can_terminate": False}
                                        for code in ("1", "2", "3")}
    terminates: list[int] = []
    app.on("incomingCall", [
        {"Say": {"text": "Welcome, please enter your access code."}},
        {"GetDigits": {"actionUrl": app.url("/gotDigits"), "maxDigits": 1, "minDigits": 1,
                       "flushBuffer": True}}])

    async def got_digits(body: dict[str, Any], _: str) -> Any:
        room = rooms[body["digits"]]
        say = {"Say": {"text": "You will be added to the conference momentarily."}}
        if room["cf"] is None:
            return [say, {"CreateConference": {
                "actionUrl": app.url(f"/conferenceCreated/{body['digits']}"),
                "statusCallbackUrl": app.url(f"/conferenceStatus/{body['digits']}")}}]
        return [say, {"AddToConference": {"conferenceId": room["cf"], "callId": body["callId"]}}]

    async def created(body: dict[str, Any], code: str) -> Any:
        rooms[code]["cf"] = body["conferenceId"]
        return [{"AddToConference": {"conferenceId": body["conferenceId"],
                                     "callId": body["callId"]}}]

    async def status(body: dict[str, Any], code: str) -> Any:
        room = rooms[code]
        if body["status"] == "empty" and room["can_terminate"]:
            terminates.append(await app.terminate(body["conferenceId"]))
        room["can_terminate"] = True
        return []

    app.on("gotDigits", got_digits)
    app.on("conferenceCreated", created)
    app.on("conferenceStatus", status)
    app.on("status", [])
    number = await h.number_for_app(FC_NUMBER, voice_url=app.url("/incomingCall"),
                                    status_callback_url=app.url("/status"))
    first = await h.sim_call("+15550100011", number, [
        PhoneStep(3000, digits="1"), PhoneStep(22_000, say="Good morning everyone"),
        PhoneStep(30_000, hangup=True)])
    await h.advance(10)
    second = await h.sim_call("+15550100012", number, [
        PhoneStep(3000, digits="1"), PhoneStep(13_000, digits="7"), PhoneStep(25_000, hangup=True)])
    await h.advance(1)
    third = await h.sim_call("+15550100013", number, [
        PhoneStep(3000, digits="1"), PhoneStep(26_000, hangup=True)])
    for leg in (first, second, third):
        await h.run_until_ended(leg)
    await h.advance(1)

    cf = rooms["1"]["cf"]
    assert statuses(h, "/conferenceStatus/1") == [
        ("createConference", "empty"), ("conferenceStatus", "populated"),
        ("conferenceStatus", "inProgress"), ("conferenceStatus", "empty"),
        ("conferenceStatus", "terminated")]
    assert terminates == [204]
    conference = await h.store.get_conference(cf)
    assert conference.status is ConferenceStatus.TERMINATED
    # the status callbacks carry the leg whose move changed the conference
    callbacks = [w for w in h.webhooks if w.path == "/conferenceStatus/1"]
    assert [w.body["callId"] for w in callbacks] == [first, first, first, third, None]
    for leg in (first, second, third):
        call = await h.call(leg)
        assert (call.status, call.call_ended_reason) == (
            CallStatus.COMPLETED, CallEndedReason.FAR_END_HANGUP)
    # who heard whom: everyone heard the first caller; the keys of the second reached the others
    assert (("+15550100011", "Good morning everyone", None) in heard(h.transcript(second))
            and ("+15550100011", "Good morning everyone", None) in heard(h.transcript(third)))
    assert ("+15550100012", None, "7") in heard(h.transcript(first))
    assert heard(h.transcript(second)).count(("+15550100012", None, "7")) == 0
    assert rooms["2"]["cf"] is None and rooms["3"]["cf"] is None
    sdk_parses_all(h)
