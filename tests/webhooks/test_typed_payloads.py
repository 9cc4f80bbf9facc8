"""domain/payloads.py: one typed payload per requestType, encoded to the wire in one place.

Every payload class, encoded by `wire_fields` and built by the dispatcher, must be a body the
official SDK parses into its requestType's class; the encoder must spell each field exactly as the
engine used to (golden dicts below are what the engine built by hand before the payloads)."""

from __future__ import annotations

import dataclasses
import typing

import pytest
from freeclimb.models.webhook import Webhook

from percl.domain import payloads as p
from percl.domain.enums import (
    CallEndedReason,
    ConferenceStatus,
    GetDigitsReason,
    GetSpeechReason,
    MachineType,
    MessageStatus,
    QueueResult,
    RequestType,
)
from percl.domain.payloads import wire_fields
from percl.domain.records import Account, Call
from percl.engine.ports import WebhookRequest
from percl.webhooks.payloads import build_body, encode
from percl.webhooks.specs import SPECS

from .conftest import CONFERENCE_ID, QUEUE_ID, make_call

RE_ID = "RE" + "d" * 40
SM_ID = "SM" + "5" * 40
PN_ID = "PN" + "6" * 40
AP_ID = "AP" + "7" * 40

SAMPLES: list[p.Payload] = [
    p.InboundCall(),
    p.GetDigits("12", GetDigitsReason.MAX_DIGITS),
    p.GetSpeech(GetSpeechReason.RECOGNITION, recognition_result="SALES", confidence=90),
    p.Record(RE_ID, f"http://x/{RE_ID}", "1024", "audio/wav", 7, "finishKey", False),
    p.Transcribe("completed", recording_id=RE_ID, transcript="hello", barge_in_reason="noBargeIn"),
    p.OutDialStart("CA" + "c" * 40),
    p.OutDialConnect(),
    p.OutDialApiConnect(),
    p.MachineDetected(MachineType.ANSWERING_MACHINE),
    p.AudioStream(),
    p.CallStatus(),
    p.QueueWait(QUEUE_ID, "2", 5, 3),
    p.Dequeue(QUEUE_ID, QueueResult.DEQUEUED, 5),
    p.AddToQueueNotification(QUEUE_ID),
    p.RemoveFromQueueNotification(QUEUE_ID, QueueResult.HANGUP, 5),
    p.CreateConference(CONFERENCE_ID, ConferenceStatus.EMPTY),
    p.ConferenceStatusChanged(CONFERENCE_ID, ConferenceStatus.IN_PROGRESS),
    p.ConferenceRecordingStatus(CONFERENCE_ID, ConferenceStatus.TERMINATED, f"http://x/{RE_ID}",
                                RE_ID, 7),
    p.AddToConferenceNotification(CONFERENCE_ID, ConferenceStatus.IN_PROGRESS),
    p.LeaveConference(CONFERENCE_ID),
    p.CallControl(CONFERENCE_ID, "*9"),
    p.MessageDelivery(SM_ID, "+13121000109", "+13121000096", "hi", AP_ID, PN_ID, "/uri"),
    p.MessageStatus(SM_ID, None, "+13121000096", "+13121000109", "hi", None, PN_ID,
                    MessageStatus.SENT),
    p.Redirect(p.GetDigits("12", GetDigitsReason.FINISH_KEY)),
]


def _call_for(payload: p.Payload) -> Call | None:
    if payload.REQUEST_TYPE in (RequestType.MESSAGE_DELIVERY, RequestType.MESSAGE_STATUS):
        return None
    if payload.REQUEST_TYPE is RequestType.CALL_STATUS:
        return make_call(call_ended_reason=CallEndedReason.APP_HANGUP, start_time=0.0,
                         connect_time=1.0, end_time=5.0)
    return make_call()


def test_one_payload_class_per_request_type_with_a_webhook() -> None:
    classes = typing.get_args(p.Payload)
    assert {cls.REQUEST_TYPE for cls in classes} == set(SPECS)
    assert len(classes) == len(SPECS)
    assert {type(sample) for sample in SAMPLES} == set(classes)


@pytest.mark.parametrize("payload", SAMPLES, ids=lambda x: x.REQUEST_TYPE.value)
def test_every_payload_encodes_to_a_body_the_sdk_parses(account: Account, payload: p.Payload) -> None:
    request = WebhookRequest(request_type=payload.REQUEST_TYPE, url="http://app.test/x",
                             account=account, call=_call_for(payload), fields=wire_fields(payload))
    body = build_body(request)  # raises on a misspelt, missing or mistyped field
    parsed = Webhook.from_json(encode(body).decode())
    assert parsed.request_type == payload.REQUEST_TYPE.value
    for name, value in wire_fields(payload).items():
        assert body[name] == value


@pytest.mark.parametrize("payload", SAMPLES, ids=lambda x: x.REQUEST_TYPE.value)
def test_payloads_are_frozen_snake_case(payload: p.Payload) -> None:
    fields = dataclasses.fields(payload)
    assert all(name.islower() or "_" in name for name in (f.name for f in fields))
    if fields:
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(payload, fields[0].name, None)


def test_encoder_spells_the_fields_as_the_engine_did() -> None:
    assert wire_fields(p.GetDigits("", GetDigitsReason.TIMEOUT)) == {"digits": "", "reason": "timeout"}
    assert wire_fields(p.GetSpeech(GetSpeechReason.HANGUP)) == {"reason": "hangup"}
    assert wire_fields(p.GetSpeech(GetSpeechReason.ERROR, completion_cause="uri-failure",
                                   completion_reason="GET x failed")) == {
        "reason": "error", "completionCause": "uri-failure", "completionReason": "GET x failed"}
    assert wire_fields(p.OutDialStart("CA1")) == {"dialCallId": "CA1"}
    assert wire_fields(p.QueueWait("QU1", "1", 3, 2)) == {
        "queueId": "QU1", "queuePosition": "1", "queueTime": 3, "currentQueueSize": 2}
    assert wire_fields(p.Dequeue("QU1", QueueResult.DEQUEUED, 4)) == {
        "queueId": "QU1", "queueResult": "dequeued", "queueTime": 4}
    assert wire_fields(p.CallControl("CF1", "*9")) == {"conferenceId": "CF1", "digits": "*9"}
    assert wire_fields(p.Redirect()) == {}
    assert wire_fields(p.Redirect(p.InboundCall())) == {"originalRequestType": "inboundCall"}
    # null-kept fields are sent as null (the SDK: "May be null"), other Nones are left out
    status = wire_fields(p.MessageStatus("SM1", None, "+1", "+2", "t", None, "PN1", MessageStatus.SENT))
    assert status == {"messageId": "SM1", "callId": None, "from": "+1", "to": "+2", "text": "t",
                      "applicationId": None, "phoneNumberId": "PN1", "status": "sent"}
