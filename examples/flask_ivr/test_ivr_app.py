"""Acme's phone line, tested offline on percl's FakeClock: no FreeClimb account, no tunnel."""

from __future__ import annotations

import freeclimb
from ivr_app import HOURS, MENU

from percl.testing import Percl, Phone

CALLER = "+15550100001"


def test_menu_reads_the_opening_hours(percl: Percl, acme_number: str) -> None:
    call = percl.phone(CALLER).calls(acme_number)
    call.expect_say("Welcome to Acme Plumbing.")
    call.expect_say(MENU)
    call.press("1")
    call.expect_say(contains="open from 8 to 5")
    call.expect_hangup(reason="appHangup")

    menu = percl.webhooks(path="/menu")[-1]
    assert menu.body["digits"] == "1"
    assert isinstance(menu.as_sdk(), freeclimb.GetDigitsWebhook)  # the SDK parses what we got
    assert all(w.verify_signature() for w in percl.webhooks)      # and every request is signed
    assert call.transcript.said == ["Welcome to Acme Plumbing.", MENU, HOURS]


def test_silence_repeats_the_menu(percl: Percl, acme_number: str) -> None:
    call = percl.phone(CALLER).calls(acme_number)
    call.expect_say(MENU)
    started = percl.now
    call.expect_say("Sorry, I did not get that.")  # GetDigits waits 5 s, on the FakeClock
    assert percl.now - started >= 5
    call.expect_say(MENU)
    assert percl.webhooks(path="/menu")[0].body["reason"] == "timeout"


def test_menu_webhook_failing_ends_the_call(percl: Percl, acme_number: str) -> None:
    percl.fault("/menu", "error", status=503)
    call = percl.phone(CALLER).calls(acme_number)
    call.expect_say(MENU)
    call.press("1")
    call.expect_hangup(reason="webhookFailed")
    assert percl.webhooks(path="/menu")[-1].status == 503
    assert any("503" in entry.message for entry in percl.logs(call.call_id))


def test_voice_url_timing_out_falls_back(percl: Percl, acme_number: str) -> None:
    percl.fault("/voice", "timeout")
    call = percl.phone(CALLER).calls(acme_number)
    call.expect_say(contains="technical difficulties", within=30)
    first = percl.webhooks[0]
    assert first.path == "/voice" and first.status is None  # no answer: abandoned after 10 s
    assert percl.webhooks[1].path == "/fallback" and percl.webhooks[1].sent_at - first.sent_at == 10
    call.expect_hangup(reason="appHangup")


def test_returning_a_call_over_the_rest_api(percl: Percl, freeclimb_api: freeclimb.DefaultApi,
                                            acme_number: str) -> None:
    customer = percl.phone("+15550100003")
    made = freeclimb_api.make_a_call(freeclimb.MakeCallRequest(
        var_from=acme_number, to=customer.number, call_connect_url=percl.url("/callback")))
    assert made.status == freeclimb.CallStatus.QUEUED

    leg = customer.expect_ring()
    assert leg.call_id == made.call_id
    leg.expect_say(contains="returning your call")
    leg.expect_hangup(reason="appHangup")
    assert freeclimb_api.get_a_call(made.call_id).status == freeclimb.CallStatus.COMPLETED


def test_caller_reaches_the_agent_through_a_conference(
        percl: Percl, freeclimb_api: freeclimb.DefaultApi, acme_number: str, agent: Phone) -> None:
    call = percl.phone(CALLER).calls(acme_number)
    call.expect_say(MENU)
    call.press("2")
    call.expect_say("Please wait while we connect you to an agent.")

    agent_leg = agent.expect_ring()
    agent_leg.expect_say("You have a caller from Acme's phone line.")
    conference_id = percl.webhooks(request_type="createConference")[-1].body["conferenceId"]
    participants = freeclimb_api.list_participants(conference_id).participants
    assert {p.call_id for p in participants} == {call.call_id, agent_leg.call_id}

    call.hang_up()  # the caller leaves: the app ends the conference, which hangs up the agent
    agent_leg.expect_hangup(reason="conferenceTerminated")
    conference = freeclimb_api.get_a_conference(conference_id)
    assert conference.status == freeclimb.ConferenceStatus.TERMINATED
    assert [w.status for w in percl.webhooks] == [200] * len(percl.webhooks)  # no app errors


def test_busy_agent_ends_the_conference(percl: Percl, acme_number: str, agent: Phone) -> None:
    agent.program("busy")
    call = percl.phone(CALLER).calls(acme_number)
    call.expect_say(MENU)
    call.press("2")
    call.expect_hangup(reason="conferenceTerminated")
    connect = percl.webhooks(request_type="outDialConnect")[-1]
    assert connect.body["callStatus"] == "busy" and connect.status == 200
