"""engine/session/script.py: a webhook's answer read as the leg's next script (pure)."""

from __future__ import annotations

import json

from percl.domain import payloads as p
from percl.domain.enums import CallEndedReason
from percl.engine.ports import WebhookOutcome, WebhookResult
from percl.engine.session.script import received_metadata, script_event
from percl.percl import actions as a
from percl.percl import events as e

URL = "https://app.example.com/voice"
POST = a.PostWebhook(7, URL, p.InboundCall())


def answer(body: bytes, outcome: WebhookOutcome = WebhookOutcome.OK) -> WebhookResult:
    return WebhookResult(outcome, URL, status=200, body=body)


def test_valid_percl_is_the_next_script() -> None:
    event = script_event(POST, answer(json.dumps([{"Say": {"text": "hi"}}]).encode()))
    assert isinstance(event, e.ScriptReceived) and event.token == 7
    assert [c.NAME for c in event.script.commands] == ["Say"]


def test_an_empty_body_is_an_empty_script() -> None:
    event = script_event(POST, answer(b"  \n"))
    assert isinstance(event, e.ScriptReceived) and event.script.commands == ()


def test_a_failed_webhook_names_the_request_type_and_why() -> None:
    result = WebhookResult(WebhookOutcome.TIMEOUT, URL, error="timed out after 10000 ms")
    event = script_event(POST, result)
    assert isinstance(event, e.WebhookBroken) and event.reason is CallEndedReason.WEBHOOK_FAILED
    assert event.detail == f"inboundCall webhook to {URL} failed: timed out after 10000 ms"
    http = script_event(POST, WebhookResult(WebhookOutcome.HTTP_ERROR, URL, status=503))
    assert isinstance(http, e.WebhookBroken) and http.detail.endswith("failed: HTTP 503")


def test_an_answer_that_is_not_json_is_an_invalid_response() -> None:
    event = script_event(POST, answer(b"<html>"))
    assert isinstance(event, e.WebhookBroken)
    assert event.reason is CallEndedReason.WEBHOOK_INVALID_RESPONSE and URL in event.detail


def test_json_that_is_not_percl_names_the_path() -> None:
    event = script_event(POST, answer(b'[{"Say": {"text": 5}}]'))
    assert isinstance(event, e.WebhookBroken) and event.reason is CallEndedReason.APP_INVALID_PERCL
    assert event.metadata is not None and event.metadata["path"].startswith("[0].Say")


def test_received_metadata_masks_private_scripts() -> None:
    event = script_event(POST, answer(b'[{"Hangup": {}}]'))
    assert isinstance(event, e.ScriptReceived)
    assert received_metadata(event.script, True) == {"percl": "xxxxx"}
    assert received_metadata(event.script, False)["percl"] == [{"Hangup": {}}]


def test_the_answer_the_sender_decoded_is_not_decoded_again() -> None:
    # The body is garbage on purpose: only the decoded value may be read.
    decoded = WebhookResult(WebhookOutcome.OK, URL, status=200, body=b"not read", decoded=True,
                            answer=[{"Hangup": {}}])
    event = script_event(POST, decoded)
    assert isinstance(event, e.ScriptReceived) and [c.NAME for c in event.script.commands] == ["Hangup"]
    broken = WebhookResult(WebhookOutcome.OK, URL, status=200, body=b"<html>", decoded=True,
                           answer_problem="body is not JSON: Expecting value at line 1 column 1")
    event = script_event(POST, broken)
    assert isinstance(event, e.WebhookBroken)
    assert event.reason is CallEndedReason.WEBHOOK_INVALID_RESPONSE
    assert event.detail.endswith("is not JSON: body is not JSON: Expecting value at line 1 column 1")


def test_invalid_percl_the_sender_decoded_is_logged_with_the_error_masked() -> None:
    document = [{"Say": {"text": "pin 1234", "privacyMode": True}}, {"Hangup": {"bad": []}}, 5]
    result = WebhookResult(WebhookOutcome.OK, URL, status=200, body=b"x", decoded=True,
                           answer=document)  # fmt: skip
    event = script_event(POST, result)
    assert isinstance(event, e.WebhookBroken) and event.reason is CallEndedReason.APP_INVALID_PERCL
    assert event.metadata is not None and event.metadata["percl"][0]["Say"]["text"] == "xxxxx"
    private = script_event(POST, result, private_call=True)
    assert isinstance(private, e.WebhookBroken) and private.metadata is not None
    assert private.metadata["percl"] == "xxxxx"
