"""Conference notifications that concern no leg (a conference created or terminated over REST):
the standard call fields are null, and the official SDK still parses them."""

from __future__ import annotations

import pytest
from freeclimb.models.webhook import Webhook

from percl.domain.enums import RequestType
from percl.domain.records import Account
from percl.engine.ports import WebhookRequest
from percl.webhooks.payloads import build_body, encode

from .conftest import ACCOUNT_ID, CONFERENCE_ID

STANDARD = ("callId", "from", "to", "callStatus", "direction", "queueId", "parentCallId")


@pytest.mark.parametrize(("request_type", "sdk_class"), [
    (RequestType.CREATE_CONFERENCE, "CreateConferenceWebhook"),
    (RequestType.CONFERENCE_STATUS, "ConferenceStatusWebhook"),
])
def test_without_a_call_the_standard_fields_are_null(
    account: Account, request_type: RequestType, sdk_class: str
) -> None:
    fields = {"conferenceId": CONFERENCE_ID, "status": "terminated"}
    body = build_body(WebhookRequest(request_type, "u", account, None, fields))
    assert body["accountId"] == ACCOUNT_ID and body["conferenceId"] == CONFERENCE_ID
    assert all(body[name] is None for name in STANDARD)
    parsed = Webhook.from_json(encode(body).decode())
    assert type(parsed).__name__ == sdk_class
    assert parsed.conference_id == CONFERENCE_ID and parsed.status.value == "terminated"
    assert parsed.call_id is None and parsed.call_status is None


@pytest.mark.parametrize("request_type", [RequestType.LEAVE_CONFERENCE, RequestType.GET_DIGITS,
                                          RequestType.ADD_TO_CONFERENCE_NOTIFICATION])
def test_other_call_webhooks_still_need_a_call(account: Account, request_type: RequestType) -> None:
    with pytest.raises(ValueError, match=r"needs request\.call"):
        build_body(WebhookRequest(request_type, "u", account, None, {}))
