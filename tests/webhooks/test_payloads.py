"""Every requestType's body parses with the official SDK into the right class with our values."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest
from freeclimb.models.webhook import Webhook

from percl.domain.enums import (
    CallDirection,
    CallEndedReason,
    CallStatus,
    GetDigitsReason,
    RequestType,
)
from percl.domain.records import Account, Call
from percl.engine.ports import WebhookRequest
from percl.webhooks.payloads import build_body, encode, mask, mask_json

from .conftest import ACCOUNT_ID, CHILD_ID, CONFERENCE_ID, PARENT_ID, QUEUE_ID, make_call

RE_ID = "RE" + "d" * 40
START = 1_767_225_600.0


@dataclass
class Case:
    request_type: RequestType
    sdk_class: str
    call: Call | None
    fields: dict[str, Any] = field(default_factory=dict)
    expect: dict[str, Any] = field(default_factory=dict)  # wire key -> value after SDK parsing


CHILD = make_call(
    call_id=CHILD_ID,
    direction=CallDirection.OUTBOUND_DIAL,
    parent_call_id=PARENT_ID,
    from_="+13121000096",
    to="+18475550100",
)
RECORDING = {
    "recordingUrl": f"http://percl.test/Recordings/{RE_ID}/Download",
    "recordingId": RE_ID,
    "recordingDurationSec": 7,
}

CASES = [
    Case(RequestType.INBOUND_CALL, "InboundCallWebhook", make_call(status=CallStatus.RINGING),
         expect={"callStatus": "ringing", "direction": "inbound", "from": "+13121000109",
                 "to": "+13121000096", "callId": PARENT_ID, "accountId": ACCOUNT_ID}),
    Case(RequestType.REDIRECT, "RedirectWebhook", make_call(),
         {"originalRequestType": "getDigits", "digits": "12", "reason": "finishKey"},
         expect={"callId": PARENT_ID, "callStatus": "inProgress"}),
    Case(RequestType.GET_DIGITS, "GetDigitsWebhook", make_call(),
         {"digits": "1234", "reason": GetDigitsReason.FINISH_KEY},
         expect={"digits": "1234", "reason": "finishKey"}),
    Case(RequestType.GET_SPEECH, "GetSpeechWebhook", make_call(),
         {"reason": "recognition", "recognitionResult": "yes", "confidence": 87,
          "completionReason": "success", "completionCause": "success", "mrcpCode": 0,
          "mrcpDiagnostic": "normal"},
         expect={"recognitionResult": "yes", "confidence": 87, "mrcpCode": 0}),
    Case(RequestType.RECORD, "RecordWebhook", make_call(),
         {"recordingId": RE_ID, "recordingUrl": "http://percl.test/r.wav",
          "recordingSize": "176044", "recordingFormat": "audio/wav", "recordingDurationSec": 22,
          "termReason": "finishKey", "privacyMode": False},
         expect={"recordingSize": "176044", "recordingDurationSec": 22, "termReason": "finishKey"}),
    Case(RequestType.TRANSCRIBE, "TranscribeWebhook", make_call(),
         {"termReason": "completed", "recordingId": RE_ID, "recordingSize": 176044,
          "recordingFormat": "audio/wav", "recordingDurationMs": 4200,
          "recordTermReason": "timeout", "privacyForLogging": False,
          "privacyForRecording": False, "bargeInReason": "noBargeIn",
          "transcript": "hello there", "transcribeReason": "noInput",
          "transcriptionDurationMs": 800},
         expect={"transcript": "hello there", "recordingSize": 176044, "termReason": "completed"}),
    Case(RequestType.OUT_DIAL_START, "OutDialStartWebhook", make_call(),
         {"dialCallId": CHILD_ID}, expect={"dialCallId": CHILD_ID, "callId": PARENT_ID}),
    Case(RequestType.OUT_DIAL_CONNECT, "OutDialConnectWebhook", CHILD,
         expect={"callId": CHILD_ID, "parentCallId": PARENT_ID, "direction": "outboundDial"}),
    Case(RequestType.OUT_DIAL_API_CONNECT, "OutDialApiConnectWebhook",
         make_call(direction=CallDirection.OUTBOUND_API), expect={"direction": "outboundAPI"}),
    Case(RequestType.MACHINE_DETECTED, "MachineDetectedWebhook", CHILD,
         {"machineType": "answering machine"}, expect={"machineType": "answering machine"}),
    Case(RequestType.DEQUEUE, "DequeueWebhook", make_call(queue_id=QUEUE_ID),
         {"queueResult": "dequeued", "queueTime": 23},
         expect={"queueId": QUEUE_ID, "queueResult": "dequeued", "queueTime": 23}),
    Case(RequestType.QUEUE_WAIT, "QueueWaitWebhook", make_call(queue_id=QUEUE_ID),
         {"queuePosition": "1", "queueTime": 12, "currentQueueSize": 3},
         expect={"queuePosition": "1", "queueTime": 12, "currentQueueSize": 3}),
    Case(RequestType.ADD_TO_QUEUE_NOTIFICATION, "AddToQueueNotificationWebhook", make_call(),
         {"queueId": QUEUE_ID}, expect={"queueId": QUEUE_ID}),
    Case(RequestType.REMOVE_FROM_QUEUE_NOTIFICATION, "RemoveFromQueueNotificationWebhook",
         make_call(queue_id=QUEUE_ID), {"queueResult": "hangup", "queueTime": 5},
         expect={"queueResult": "hangup", "queueTime": 5}),
    Case(RequestType.AUDIO_STREAM, "AudioStreamWebhook", make_call(), expect={"callId": PARENT_ID}),
    Case(RequestType.CALL_STATUS, "CallStatusWebhook",
         make_call(status=CallStatus.COMPLETED, call_ended_reason=CallEndedReason.FAR_END_HANGUP,
                   start_time=START, connect_time=START + 3, end_time=START + 41),
         expect={"callStatus": "completed", "callEndedReason": "farEndHangup"}),
    Case(RequestType.CREATE_CONFERENCE, "CreateConferenceWebhook", make_call(),
         {"conferenceId": CONFERENCE_ID}, expect={"conferenceId": CONFERENCE_ID}),
    Case(RequestType.CONFERENCE_STATUS, "ConferenceStatusWebhook",
         make_call(conference_id=CONFERENCE_ID), {"status": "inProgress"},
         expect={"conferenceId": CONFERENCE_ID, "status": "inProgress"}),
    Case(RequestType.CONFERENCE_RECORDING_STATUS, "ConferenceRecordingStatusWebhook",
         make_call(conference_id=CONFERENCE_ID), {"status": "terminated", **RECORDING},
         expect={"status": "terminated", "recordingId": RE_ID, "recordingDurationSec": 7}),
    Case(RequestType.ADD_TO_CONFERENCE_NOTIFICATION, "AddToConferenceNotificationWebhook",
         make_call(conference_id=CONFERENCE_ID), {"status": "populated"},
         expect={"status": "populated", "conferenceId": CONFERENCE_ID}),
    Case(RequestType.LEAVE_CONFERENCE, "LeaveConferenceWebhook", make_call(),
         {"conferenceId": CONFERENCE_ID}, expect={"conferenceId": CONFERENCE_ID}),
    Case(RequestType.CALL_CONTROL, "CallControlWebhook", make_call(conference_id=CONFERENCE_ID),
         {"digits": "*9"}, expect={"digits": "*9", "conferenceId": CONFERENCE_ID}),
    Case(RequestType.MESSAGE_DELIVERY, "MessageDeliveryWebhook", None,
         {"from": "+18475550100", "to": "+13121000096", "text": "hi",
          "applicationId": "AP" + "2" * 40, "phoneNumberId": "PN" + "3" * 40,
          "messageId": "SM" + "4" * 40},
         expect={"text": "hi", "direction": "inbound", "status": "received"}),
    Case(RequestType.MESSAGE_STATUS, "MessageStatusWebhook", None,
         {"messageId": "SM" + "4" * 40, "from": "+13121000096", "to": "+18475550100",
          "text": "sent!", "applicationId": "AP" + "2" * 40, "phoneNumberId": "PN" + "3" * 40,
          "status": "sent"},
         expect={"status": "sent", "direction": "outbound", "messageId": "SM" + "4" * 40}),
]  # fmt: skip


def request(account: Account, case: Case) -> WebhookRequest:
    return WebhookRequest(case.request_type, "http://app.test/hook", account, case.call,
                          case.fields)  # fmt: skip


def test_every_request_type_but_pause_has_a_case() -> None:
    assert {c.request_type for c in CASES} == set(RequestType) - {RequestType.PAUSE}


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.request_type.value)
def test_sdk_parses_body_into_the_right_class(account: Account, case: Case) -> None:
    raw = encode(build_body(request(account, case)))
    parsed = Webhook.from_json(raw.decode())
    assert type(parsed).__name__ == case.sdk_class
    assert parsed is not None
    dumped = parsed.to_dict()
    for key, value in case.expect.items():
        assert dumped[key] == value, key
    assert dumped["requestType"] == case.request_type.value


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.request_type.value)
def test_body_is_compact_sorted_json_of_plain_values(account: Account, case: Case) -> None:
    body = build_body(request(account, case))
    raw = encode(body)
    assert raw == json.dumps(json.loads(raw), sort_keys=True, separators=(",", ":")).encode()
    assert b" " not in raw.replace(b"answering machine", b"").replace(b"hello there", b"")
    assert all(type(v) in (str, int, bool, type(None)) for v in body.values())


def test_inbound_call_matches_the_sdk_signature_vector_byte_for_byte(account: Account) -> None:
    call = make_call(call_id="CAccb0b00506553cda09b51c5477f672a49e0b2213",
                     account_id="AC1334ffb694cd8d969f51cddf5f7c9b478546d50c",
                     status=CallStatus.RINGING)  # fmt: skip
    acct = Account(account_id=call.account_id, api_key="k", signing_secret="s")
    raw = encode(build_body(WebhookRequest(RequestType.INBOUND_CALL, "http://x/", acct, call)))
    assert raw == (
        b'{"accountId":"AC1334ffb694cd8d969f51cddf5f7c9b478546d50c",'
        b'"callId":"CAccb0b00506553cda09b51c5477f672a49e0b2213","callStatus":"ringing",'
        b'"conferenceId":null,"direction":"inbound","from":"+13121000109","parentCallId":null,'
        b'"queueId":null,"requestType":"inboundCall","to":"+13121000096"}'
    )


def test_standard_fields_are_null_when_absent(account: Account) -> None:
    body = build_body(WebhookRequest(RequestType.AUDIO_STREAM, "u", account, make_call()))
    assert body["conferenceId"] is None and body["queueId"] is None
    assert body["parentCallId"] is None


def test_call_control_has_only_its_four_fields(account: Account) -> None:
    case = next(c for c in CASES if c.request_type is RequestType.CALL_CONTROL)
    body = build_body(request(account, case))
    assert set(body) == {"requestType", "callId", "accountId", "conferenceId", "digits"}


def test_out_dial_connect_repeats_call_status_as_dial_call_status(account: Account) -> None:
    call = make_call(status=CallStatus.NO_ANSWER, parent_call_id=CHILD_ID)
    body = build_body(WebhookRequest(RequestType.OUT_DIAL_CONNECT, "u", account, call))
    assert body["dialCallStatus"] == body["callStatus"] == "noAnswer"


def test_call_status_derives_reason_and_integer_duration(account: Account) -> None:
    case = next(c for c in CASES if c.request_type is RequestType.CALL_STATUS)
    body = build_body(request(account, case))
    assert body["callDuration"] == 41 and body["callEndedReason"] == "farEndHangup"
    never_connected = make_call(status=CallStatus.BUSY, call_ended_reason=CallEndedReason.BUSY)
    body = build_body(WebhookRequest(RequestType.CALL_STATUS, "u", account, never_connected))
    assert body["callDuration"] == 0


def test_conference_webhooks_carry_null_recording_fields(account: Account) -> None:
    call = make_call(conference_id=CONFERENCE_ID)
    body = build_body(
        WebhookRequest(RequestType.CONFERENCE_STATUS, "u", account, call, {"status": "empty"})
    )
    assert body["recordingUrl"] is None and body["recordingId"] is None
    assert "recordingDurationSec" in body and body["recordingDurationSec"] is None


def test_message_status_takes_call_id_from_the_call_when_given(account: Account) -> None:
    case = next(c for c in CASES if c.request_type is RequestType.MESSAGE_STATUS)
    with_call = WebhookRequest(case.request_type, "u", account, make_call(), case.fields)
    assert build_body(with_call)["callId"] == PARENT_ID
    assert build_body(request(account, case))["callId"] is None


BAD = [
    (RequestType.PAUSE, make_call(), {}, "no webhook"),
    (RequestType.GET_DIGITS, make_call(), {"digits": "1", "reason": "finishKey", "foo": 1},
     "unexpected field"),
    (RequestType.GET_DIGITS, make_call(), {"digits": "1"}, "missing required"),
    (RequestType.GET_DIGITS, make_call(), {"digits": 1, "reason": "finishKey"}, "digits"),
    (RequestType.GET_DIGITS, make_call(), {"digits": "1", "reason": "bogus"}, "reason"),
    (RequestType.QUEUE_WAIT, make_call(queue_id=QUEUE_ID),
     {"queuePosition": 1, "queueTime": 1, "currentQueueSize": 1}, "queuePosition"),
    (RequestType.QUEUE_WAIT, make_call(queue_id=QUEUE_ID),
     {"queuePosition": "1", "queueTime": True, "currentQueueSize": 1}, "queueTime"),
    (RequestType.QUEUE_WAIT, make_call(), {"queuePosition": "1", "queueTime": 1,
                                          "currentQueueSize": 1}, "queueId"),
    (RequestType.RECORD, make_call(),
     {"recordingId": RE_ID, "recordingUrl": "u", "recordingSize": 176044,
      "recordingFormat": "audio/wav", "recordingDurationSec": 2, "termReason": "timeout",
      "privacyMode": False}, "recordingSize"),
    (RequestType.CALL_STATUS, make_call(call_ended_reason=CallEndedReason.APP_HANGUP),
     {"callDuration": "41"}, "callDuration"),
    (RequestType.CALL_STATUS, make_call(status=CallStatus.COMPLETED), {}, "callEndedReason"),
    (RequestType.LEAVE_CONFERENCE, make_call(), {}, "conferenceId"),
    (RequestType.INBOUND_CALL, None, {}, "needs request.call"),
    (RequestType.INBOUND_CALL, make_call(account_id="AC" + "9" * 40), {}, "does not belong"),
    (RequestType.REDIRECT, make_call(), {"originalRequestType": "pause"}, "originalRequestType"),
    (RequestType.REDIRECT, make_call(), {"originalRequestType": "getDigits", "queueTime": 1},
     "unexpected field"),
]  # fmt: skip


@pytest.mark.parametrize(("rt", "call", "fields", "match"), BAD, ids=[b[3] for b in BAD])
def test_engine_bugs_raise_value_error(
    account: Account, rt: RequestType, call: Call | None, fields: dict[str, Any], match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        build_body(WebhookRequest(rt, "u", account, call, fields))


def test_mask_hides_sensitive_values_only_under_privacy() -> None:
    body = {"digits": "1234", "recognitionResult": "my pin", "text": "secret", "callId": "CA1"}
    assert mask(body, privacy=False) == body
    masked = mask(body, privacy=True)
    assert masked == {"digits": "xxxx", "recognitionResult": "xxxxx", "text": "xxxxx",
                      "callId": "CA1"}  # fmt: skip
    assert body["digits"] == "1234"  # a copy: the app still gets the real values


def test_mask_json_reaches_nested_percl() -> None:
    percl = [{"Say": {"text": "your code is 42"}}, {"SendDigits": {"digits": "99#"}}]
    assert mask_json(percl) == [{"Say": {"text": "xxxxx"}}, {"SendDigits": {"digits": "xxx"}}]
