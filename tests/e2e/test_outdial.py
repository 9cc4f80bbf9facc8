"""The OutDial matrix (FREECLIMB.md §5): every path of a child leg, asserted end to end."""

from __future__ import annotations

from typing import Any

import pytest
from freeclimb.models.webhook import Webhook

from percl.domain.enums import (
    AnsweredBy,
    CallDirection,
    CallEndedReason,
    CallStatus,
    PhoneAnswer,
)
from percl.telephony.sim.model import PhoneProgram
from percl.testing.harness import Harness, ScriptedApp
from tests.e2e.conftest import AGENT, CALLER, kinds, said


async def _parent_dials(h: Harness, **outdial: Any) -> tuple[ScriptedApp, str]:
    app = h.scripted_app()
    app.on("/voice", [{"Say": {"text": "Connecting"}}, {"OutDial": {
        "destination": AGENT, "callingNumber": "+13125550100",
        "actionUrl": app.url("/dialed"), "callConnectUrl": app.url("/connect"),
        "statusCallbackUrl": app.url("/child-status"), "timeout": 20, **outdial}}])
    app.on("/dialed", [{"Say": {"text": "Please hold"}}, {"Pause": {"length": 60000}}])
    app.on("/connect", [{"Say": {"text": "You have a caller"}}, {"Hangup": {}}])
    app.on("/child-status", [])
    app.on("/status", [])
    number = await h.number_for_app(voice_url=app.url("/voice"),
                                    status_callback_url=app.url("/status"))
    parent = await h.sim_call(CALLER, number)
    return app, parent


def _types(h: Harness, call_id: str) -> list[str]:
    return [w.request_type for w in h.webhooks_for(call_id)]


async def _child(h: Harness, parent: str) -> str:
    """The leg the parent's OutDial rang: the agent's phone sees it ring, and the parent's
    outDialStart names it."""
    leg = await h.phone(AGENT).expect_ring()
    starts = h.webhooks(call_id=parent, request_type="outDialStart")
    assert [w.body["dialCallId"] for w in starts] == [leg.call_id], _types(h, parent)
    return leg.call_id


def _sdk_parses(h: Harness) -> None:
    for w in h.webhooks:
        parsed = Webhook.from_json(w.raw.decode())
        assert type(parsed).__name__.lower().startswith(w.request_type.lower()), w.request_type


async def test_answered_child_runs_connect_script(h: Harness) -> None:
    _, parent = await _parent_dials(h)
    await h.advance(1.0)
    # outDialStart is sent as soon as dialing starts, in the parent's context
    child = await _child(h, parent)
    start = [w for w in h.webhooks_for(parent) if w.request_type == "outDialStart"][0]
    assert start.body["callId"] == parent and start.body["parentCallId"] is None
    assert start.body["direction"] == "inbound" and start.body["callStatus"] == "inProgress"
    assert _types(h, child) == []  # not answered yet

    call = await h.run_until_ended(child)
    connect, status = h.webhooks_for(child)
    assert connect.request_type == "outDialConnect"
    assert connect.body["callStatus"] == connect.body["dialCallStatus"] == "inProgress"
    assert connect.body["parentCallId"] == parent
    assert connect.body["direction"] == "outboundDial"
    assert connect.body["from"] == "+13125550100" and connect.body["to"] == AGENT
    assert status.request_type == "callStatus" and status.path == "/child-status"
    assert status.body["callStatus"] == "completed"
    assert status.body["callEndedReason"] == "appHangup"
    assert call.direction is CallDirection.OUTBOUND_DIAL and call.parent_call_id == parent
    assert call.answered_by is None  # no ifMachine: no detection, no answeredBy
    assert said(h.transcript(child)) == ["You have a caller"]
    # the parent is independent: still on hold after the child hung up
    assert (await h.call(parent)).status is CallStatus.IN_PROGRESS
    assert said(h.transcript(parent)) == ["Connecting", "Please hold"]
    _sdk_parses(h)


@pytest.mark.parametrize(
    ("answer", "status", "reason", "after_s"),
    [
        (PhoneAnswer.BUSY, CallStatus.BUSY, CallEndedReason.BUSY, 1.0),
        (PhoneAnswer.FAILED, CallStatus.FAILED, CallEndedReason.FAILED, 0.0),
        (PhoneAnswer.NO_ANSWER, CallStatus.NO_ANSWER, CallEndedReason.NO_ANSWER, 20.0),
    ],
)
async def test_unanswered_child_still_gets_connect_webhook(
    h: Harness, answer: PhoneAnswer, status: CallStatus, reason: CallEndedReason, after_s: float
) -> None:
    h.phone(AGENT).program(answer)
    _, parent = await _parent_dials(h)
    child = await _child(h, parent)
    call = await h.leg(child).expect_hangup(reason=reason)
    assert call.status is status
    assert call.end_time is not None and call.end_time - call.date_created == pytest.approx(after_s, abs=0.05)
    assert call.connect_time is None and call.duration is None
    connect, cs = h.webhooks_for(child)
    assert connect.request_type == "outDialConnect"
    assert connect.body["callStatus"] == connect.body["dialCallStatus"] == status.value
    assert cs.body["callStatus"] == status.value and cs.body["callEndedReason"] == reason.value
    assert "You have a caller" not in said(h.transcript(child))  # PerCL ignored
    _sdk_parses(h)


async def test_child_canceled_over_rest_while_ringing(h: Harness) -> None:
    h.platform.sim.program(AGENT, PhoneProgram(answer=PhoneAnswer.NO_ANSWER))
    _, parent = await _parent_dials(h)
    await h.advance(2)
    child = await _child(h, parent)
    assert (await h.call(child)).status is CallStatus.RINGING
    r = await h.rest.post(f"/Accounts/{h.account.account_id}/Calls/{child}",
                          json={"status": "canceled"})
    assert r.status_code == 202 and r.content == b""
    call = await h.run_until_ended(child)
    assert call.status is CallStatus.CANCELED
    assert call.call_ended_reason is CallEndedReason.CALL_CANCELED
    assert [w.body["callStatus"] for w in h.webhooks_for(child)] == ["canceled", "canceled"]
    assert "canceled" in kinds(h.transcript(child))
    # a finished call can be read but not updated
    r = await h.rest.post(f"/Accounts/{h.account.account_id}/Calls/{child}",
                          json={"status": "completed"})
    assert r.status_code == 404


async def test_machine_with_ifmachine_hangup(h: Harness) -> None:
    h.platform.sim.program(AGENT, PhoneProgram(answer=PhoneAnswer.MACHINE))
    app, parent = await _parent_dials(h, ifMachine="hangup")
    app.on("/connect", [{"Say": {"text": "Long message for whoever answers " * 10}}])
    await h.advance(1.0)
    child = await _child(h, parent)
    call = await h.run_until_ended(child)
    assert call.call_ended_reason is CallEndedReason.MACHINE_DETECTED
    assert call.answered_by is AnsweredBy.MACHINE
    assert call.status is CallStatus.COMPLETED
    assert "machineDetected" not in _types(h, child)  # hangup: ifMachineUrl not called


async def test_machine_with_ifmachine_redirect(h: Harness) -> None:
    h.platform.sim.program(AGENT, PhoneProgram(answer=PhoneAnswer.MACHINE))
    app, parent = await _parent_dials(h, ifMachine="redirect",
                                      ifMachineUrl="http://app.test/machine")
    app.on("/connect", [{"Say": {"text": "Hello human " * 30}}])
    app.on("/machine", [{"Say": {"text": "Please call us back"}}, {"Hangup": {}}])
    await h.advance(1.0)
    child = await _child(h, parent)
    call = await h.run_until_ended(child)
    types = _types(h, child)
    assert types == ["outDialConnect", "machineDetected", "callStatus"]
    machine = h.webhooks_for(child)[1]
    assert machine.body["machineType"] == "answering machine"
    assert call.answered_by is AnsweredBy.MACHINE
    t = h.transcript(child)
    first = [e for e in t.entries if e.type == "say"][0]
    assert first.interrupted  # the connect script was aborted mid-prompt
    assert said(t)[-1] == "Please call us back"
    _sdk_parses(h)


async def test_human_answer_with_detection_sets_answered_by(h: Harness) -> None:
    _, parent = await _parent_dials(h, ifMachine="hangup")
    await h.advance(1.0)
    child = await _child(h, parent)
    call = await h.run_until_ended(child)
    assert call.answered_by is AnsweredBy.HUMAN
    assert call.call_ended_reason is CallEndedReason.APP_HANGUP


async def test_send_digits_played_after_answer(h: Harness) -> None:
    _, parent = await _parent_dials(h, sendDigits="12#")
    await h.advance(1.0)
    child = await _child(h, parent)
    await h.run_until_ended(child)
    t = h.transcript(child)
    ks = kinds(t)
    assert ks.index("answered") < ks.index("digitsSent") < ks.index("say")
    sent = [e for e in t.entries if e.type == "digitsSent"][0]
    assert sent.digits == "12#"


async def test_parent_hangup_does_not_end_child(h: Harness) -> None:
    app, parent = await _parent_dials(h)
    app.on("/dialed", [{"Hangup": {}}])
    app.on("/connect", [{"Say": {"text": "still here"}}, {"Pause": {"length": 5000}}])
    await h.advance(1.0)
    child = await _child(h, parent)
    p = await h.run_until_ended(parent)
    assert p.status is CallStatus.COMPLETED
    c = await h.run_until_ended(child)
    assert c.status is CallStatus.COMPLETED and c.connect_time is not None
    assert said(h.transcript(child)) == ["still here"]


@pytest.mark.parametrize(
    ("program", "destination", "status"),
    [
        (PhoneProgram(answer=PhoneAnswer.BUSY, answer_after_ms=0), AGENT, CallStatus.BUSY),
        (PhoneProgram(answer=PhoneAnswer.FAILED), AGENT, CallStatus.FAILED),
        (None, "sip:agent@example.com", CallStatus.FAILED),  # the sim cannot reach it: fails at once
    ],
)
async def test_a_child_that_fails_at_once_reports_after_the_parents_outdial_start(
    h: Harness, program: PhoneProgram | None, destination: str, status: CallStatus
) -> None:
    """On FreeClimb the carrier always takes longer than outDialStart, and apps rely on it: the
    parent joins a conference from outDialStart, the child's failed outDialConnect terminates it.
    The sim fails such a dial in no time, so the child's outDialConnect must wait for the
    parent's outDialStart to be answered (here the app takes 2 s)."""
    if program is not None:
        h.phone(AGENT).program(program.answer, after_ms=program.answer_after_ms)
    h.fault("http://app.test/dialed", "slow", delay_ms=2000)
    _, parent = await _parent_dials(h, destination=destination)
    await h.advance(5.0)
    (start,) = h.webhooks(call_id=parent, request_type="outDialStart")
    child = start.body["dialCallId"]
    call = await h.run_until_ended(child)
    assert call.status is status and call.end_time == pytest.approx(call.date_created, abs=0.05)
    connect, child_status = h.webhooks_for(child)
    assert connect.request_type == "outDialConnect" and connect.body["callStatus"] == status.value
    answered_at = start.sent_at + start.latency_ms / 1000
    assert start.latency_ms == pytest.approx(2000, abs=50)
    assert connect.sent_at >= answered_at  # outDialStart answered first, then outDialConnect
    assert child_status.request_type == "callStatus" and child_status.sent_at >= connect.sent_at
    assert said(h.transcript(parent))[-1] == "Please hold"  # the parent's script went on
    _sdk_parses(h)


async def test_a_child_answered_at_once_connects_after_the_parents_outdial_start(h: Harness) -> None:
    h.phone(AGENT).program(PhoneAnswer.HUMAN, after_ms=0)
    h.fault("http://app.test/dialed", "slow", delay_ms=3000)
    _, parent = await _parent_dials(h)
    await h.advance(5.0)
    (start,) = h.webhooks(call_id=parent, request_type="outDialStart")
    (connect,) = h.webhooks(call_id=start.body["dialCallId"], request_type="outDialConnect")
    assert connect.body["callStatus"] == "inProgress"
    assert connect.sent_at >= start.sent_at + start.latency_ms / 1000


async def test_a_parent_that_hangs_up_before_outdial_start_is_answered_frees_its_child(
    h: Harness,
) -> None:
    h.phone(AGENT).program(PhoneAnswer.FAILED)
    h.fault("http://app.test/dialed", "timeout")  # the outDialStart never answers ...
    _, parent = await _parent_dials(h)
    await h.advance(1.0)
    r = await h.rest.post(f"/Accounts/{h.account.account_id}/Calls/{parent}",
                          json={"status": "completed"})  # ... and the parent is hung up
    assert r.status_code == 202
    await h.run_until_ended(parent)
    await h.advance(1.0)
    (start,) = h.webhooks(call_id=parent, request_type="outDialStart")
    (connect,) = h.webhooks(call_id=start.body["dialCallId"], request_type="outDialConnect")
    assert connect.body["callStatus"] == "failed"
