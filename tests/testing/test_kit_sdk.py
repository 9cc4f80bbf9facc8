"""The official SDK against the in-process platform: from the test, from inside a webhook,
and from async code."""

from __future__ import annotations

import asyncio
from typing import Any

import freeclimb
import pytest
from flask import Flask, request
from freeclimb.exceptions import NotFoundException, UnauthorizedException

from percl.testing import Harness, Percl

CALLER, AGENT = "+15550100001", "+15550100002"


def test_the_fixture_is_a_configured_client(percl: Percl, freeclimb_api: Any) -> None:
    assert isinstance(freeclimb_api, freeclimb.DefaultApi)
    assert freeclimb_api is percl.freeclimb_api()
    account = freeclimb_api.get_an_account()
    assert account.account_id == percl.account.account_id
    app = freeclimb_api.create_an_application(freeclimb.ApplicationRequest(alias="made by sdk"))
    assert freeclimb_api.get_an_application(app.application_id).alias == "made by sdk"
    assert freeclimb_api.delete_an_application(app.application_id) is None  # an empty 204 body
    with pytest.raises(NotFoundException):
        freeclimb_api.get_an_application(app.application_id)


def test_wrong_credentials_are_refused(percl: Percl) -> None:
    api = percl.freeclimb_api(api_key="0" * 40)
    with pytest.raises(UnauthorizedException):
        api.get_an_account()


def test_a_call_made_over_rest_rings_a_phone(percl: Percl, freeclimb_api: Any) -> None:
    app = percl.scripted_app()
    app.on("/connect", [{"Say": {"text": "Your table is ready"}}, {"Hangup": {}}])
    application_id = percl.application_for(app, connect_path="/connect")
    made = freeclimb_api.make_a_call(freeclimb.MakeCallRequest(
        var_from="+13125550100", to=AGENT, application_id=application_id))
    # the clock settled after the request: the phone is ringing already
    assert freeclimb_api.get_a_call(made.call_id).status == freeclimb.CallStatus.RINGING
    leg = percl.phone(AGENT).expect_ring()
    leg.expect_say("Your table is ready")
    leg.expect_hangup()
    listed = freeclimb_api.list_calls(to=AGENT)
    assert [c.call_id for c in listed.calls] == [made.call_id]


def status_app(api: Any) -> Flask:
    """An app that calls the REST API while it answers a webhook, as FreeClimb apps do."""
    app = Flask(__name__)

    @app.post("/voice")
    def voice() -> Any:
        call = api.get_a_call(request.get_json()["callId"])
        return [{"Say": {"text": f"Your call is {call.status.value}"}}, {"Hangup": {}}]

    return app


def test_a_threaded_wsgi_app_can_call_the_sdk_inside_a_webhook(percl: Percl,
                                                               freeclimb_api: Any) -> None:
    number = percl.number_for(status_app(freeclimb_api))
    call = percl.phone(CALLER).calls(number)
    call.expect_say("Your call is ringing")


def test_an_unthreaded_wsgi_app_calling_the_sdk_gets_a_clear_error(percl: Percl,
                                                                   freeclimb_api: Any) -> None:
    app = status_app(freeclimb_api)
    percl.mount(app, threaded=False)
    call = percl.phone(CALLER).calls(percl.number_for(app))
    call.expect_hangup(reason="webhookFailed")
    assert percl.webhooks[0].status == 500  # the app raised: a blocking call on the loop's thread


async def test_async_tests_call_the_sdk_in_a_thread() -> None:
    async with Harness() as h:
        api = h.freeclimb_api()
        account = await asyncio.to_thread(api.get_an_account)
        assert account.account_id == h.account.account_id
        with pytest.raises(RuntimeError, match="on the event loop's thread"):
            api.get_an_account()


async def test_freeclimb_api_needs_a_started_harness() -> None:
    with pytest.raises(RuntimeError, match="has not started"):
        Harness().freeclimb_api()
