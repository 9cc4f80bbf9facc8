"""Every callEndedReason of the SDK's enum that percl can produce, each in the situation it names.

One scenario per reason (the table SCENARIOS); each test checks the final call record and, when
the leg has a statusCallbackUrl, its callStatus webhook through the official SDK. One reason is
never produced (docs/COMPATIBILITY.md): conferenceEmptied (a conference empties only when its last
leg has left, so no leg is left to end with it).
test_every_producible_reason_has_a_scenario keeps the table honest.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
import pytest_asyncio
from freeclimb.models.call_ended_reason import CallEndedReason as SdkReason
from freeclimb.models.call_status_webhook import CallStatusWebhook
from freeclimb.models.webhook import Webhook

from percl.config import Settings
from percl.domain import ids as idmod
from percl.domain.enums import CallEndedReason, CallStatus, LogLevel, PhoneAnswer
from percl.domain.records import IncomingNumber
from percl.engine.context import EngineSettings
from percl.engine.session.events import Shutdown
from percl.telephony.sim.model import PhoneProgram, PhoneStep
from percl.testing.harness import Harness, ScriptedApp
from tests.e2e.conftest import AGENT, CALLER, said

NOT_PRODUCED = {CallEndedReason.CONFERENCE_EMPTIED}
MAX_DURATION_S = 60.0

Scenario = Callable[[Harness, ScriptedApp], Awaitable[str]]
SCENARIOS: dict[CallEndedReason, Scenario] = {}


def scenario(reason: CallEndedReason) -> Callable[[Scenario], Scenario]:
    def register(fn: Scenario) -> Scenario:
        SCENARIOS[reason] = fn
        return fn

    return register


@pytest_asyncio.fixture
async def h() -> AsyncIterator[Harness]:
    engine = EngineSettings(max_call_duration_s=MAX_DURATION_S)
    async with Harness(settings=Settings(db=":memory:", engine=engine)) as harness:
        yield harness


async def inbound(h: Harness, app: ScriptedApp, percl: Any, steps: list[PhoneStep] | None = None) -> str:
    app.on("/voice", percl)
    number = await h.number_for_app(voice_url=app.url("/voice"), status_callback_url=app.url("/status"))
    return await h.sim_call(CALLER, number, steps or [])


async def rest_call(h: Harness, app: ScriptedApp, answer: PhoneAnswer | None = None,
                    **extra: Any) -> str:
    if answer is not None:
        h.platform.sim.program(AGENT, PhoneProgram(answer=answer))
    app.on("/connect", [{"Pause": {"length": 30_000}}])
    a = await h.create_application(call_connect_url=app.url("/connect"),
                                   status_callback_url=app.url("/status"))
    r = await h.rest.post(f"/Accounts/{h.account.account_id}/Calls", json={
        "from": "+13125550100", "to": AGENT, "applicationId": a.application_id, **extra})
    assert r.status_code == 202, r.text
    return str(r.json()["callId"])


async def own_number(h: Harness, number: str, application_id: str | None, *, voice: bool = True) -> str:
    now = h.clock.now()
    await h.store.put_number(IncomingNumber(
        phone_number_id=h.ids.new(idmod.PHONE_NUMBER), account_id=h.account.account_id,
        phone_number=number, application_id=application_id, voice_enabled=voice,
        date_created=now, date_updated=now))
    return await h.sim_call(CALLER, number)


# ---- the network ---------------------------------------------------------------------------------


@scenario(CallEndedReason.BUSY)
async def _busy(h: Harness, app: ScriptedApp) -> str:
    return await rest_call(h, app, PhoneAnswer.BUSY)


@scenario(CallEndedReason.FAILED)
async def _failed(h: Harness, app: ScriptedApp) -> str:
    return await rest_call(h, app, PhoneAnswer.FAILED)


@scenario(CallEndedReason.NO_ANSWER)
async def _no_answer(h: Harness, app: ScriptedApp) -> str:
    return await rest_call(h, app, PhoneAnswer.NO_ANSWER, timeout=5)


@scenario(CallEndedReason.CALL_CANCELED)
async def _canceled(h: Harness, app: ScriptedApp) -> str:
    call_id = await rest_call(h, app, PhoneAnswer.NO_ANSWER)
    await h.advance(2)
    r = await h.rest.post(f"/Accounts/{h.account.account_id}/Calls/{call_id}", json={"status": "canceled"})
    assert r.status_code == 202
    return call_id


@scenario(CallEndedReason.FAR_END_HANGUP)
async def _far_end(h: Harness, app: ScriptedApp) -> str:
    return await inbound(h, app, [{"Say": {"text": "Hold on"}}, {"Pause": {"length": 10_000}}],
                         [PhoneStep(after_ms=2000, hangup=True)])


@scenario(CallEndedReason.MACHINE_DETECTED)
async def _machine(h: Harness, app: ScriptedApp) -> str:
    return await rest_call(h, app, PhoneAnswer.MACHINE, ifMachine="hangup")


# ---- the app's PerCL -------------------------------------------------------------------------------


@scenario(CallEndedReason.APP_HANGUP)
async def _app_hangup(h: Harness, app: ScriptedApp) -> str:
    return await inbound(h, app, [{"Say": {"text": "Bye"}}, {"Hangup": {"reason": "menu-exit"}}])


@scenario(CallEndedReason.GRPC_HANGUP)
async def _grpc_hangup(h: Harness, app: ScriptedApp) -> str:
    # An AudioStream without actionUrl whose agent cannot be reached (port 1 refuses at once).
    return await inbound(h, app, [{"AudioStream": {"location": "grpc://127.0.0.1:1"}}])


@scenario(CallEndedReason.APP_REJECT)
async def _app_reject(h: Harness, app: ScriptedApp) -> str:
    return await inbound(h, app, [{"Reject": {"reason": "blocked caller"}}])


@scenario(CallEndedReason.APP_NO_PERCL)
async def _no_percl(h: Harness, app: ScriptedApp) -> str:
    return await inbound(h, app, [])


@scenario(CallEndedReason.APP_INVALID_PERCL)
async def _invalid_percl(h: Harness, app: ScriptedApp) -> str:
    return await inbound(h, app, [{"Say": {"text": "Hi"}}, {"Dance": {}}])


@scenario(CallEndedReason.MAX_REDIRECTS_ERROR)
async def _max_redirects(h: Harness, app: ScriptedApp) -> str:
    app.on("/again", [{"Redirect": {"actionUrl": app.url("/again")}}])
    return await inbound(h, app, [{"Redirect": {"actionUrl": app.url("/again")}}])


@scenario(CallEndedReason.PERCL_PROCESSING_ERROR)
async def _processing_error(h: Harness, app: ScriptedApp) -> str:
    return await inbound(h, app, [{"Say": {"text": "Hi"}}, {"Dequeue": {}}])  # not in a queue


# ---- the app's web server ---------------------------------------------------------------------------


@scenario(CallEndedReason.WEBHOOK_FAILED)
async def _webhook_failed(h: Harness, app: ScriptedApp) -> str:
    return await inbound(h, app, (500, "boom"))


@scenario(CallEndedReason.WEBHOOK_INVALID_RESPONSE)
async def _invalid_response(h: Harness, app: ScriptedApp) -> str:
    return await inbound(h, app, (200, "<html>not PerCL</html>"))


# ---- configuration -----------------------------------------------------------------------------------


@scenario(CallEndedReason.VOICE_DISABLED)
async def _voice_disabled(h: Harness, app: ScriptedApp) -> str:
    a = await h.create_application(voice_url=app.url("/voice"), status_callback_url=app.url("/status"))
    return await own_number(h, "+13125550152", a.application_id, voice=False)


@scenario(CallEndedReason.CONFIG_ERROR_NO_APPLICATION)
async def _no_application(h: Harness, app: ScriptedApp) -> str:
    return await own_number(h, "+13125550150", None)


@scenario(CallEndedReason.CONFIG_ERROR_NO_VOICE_URL)
async def _no_voice_url(h: Harness, app: ScriptedApp) -> str:
    a = await h.create_application(status_callback_url=app.url("/status"))
    return await own_number(h, "+13125550151", a.application_id)


# ---- the platform ---------------------------------------------------------------------------------------


@scenario(CallEndedReason.INTERNAL_ERROR)
async def _internal_error(h: Harness, app: ScriptedApp) -> str:
    # what the platform does to every live leg when it stops (tests/e2e/test_restart.py covers
    # the restart after a crash)
    call_id = await inbound(h, app, [{"Pause": {"length": 30_000}}])
    await h.advance(1)
    h.platform.calls.sessions[call_id].post(Shutdown())
    return call_id


@scenario(CallEndedReason.MAX_DURATION)
async def _max_duration(h: Harness, app: ScriptedApp) -> str:
    app.on("/again", [{"Pause": {"length": 25_000}}, {"Redirect": {"actionUrl": app.url("/again")}}])
    return await inbound(h, app, [{"Redirect": {"actionUrl": app.url("/again")}}])


# ---- conferences ------------------------------------------------------------------------------------------


async def _conference_leg(h: Harness, app: ScriptedApp) -> tuple[str, str]:
    """An inbound leg that creates a conference and joins it; (call id, conference id)."""
    app.on("/created", lambda body: [{"AddToConference": {"conferenceId": body["conferenceId"]}}])
    call_id = await inbound(h, app, [{"CreateConference": {"actionUrl": app.url("/created")}}])
    await h.advance(2)
    (created,) = h.webhooks(path="/created")
    return call_id, str(created.body["conferenceId"])


@scenario(CallEndedReason.CONFERENCE_TERMINATED)
async def _conference_terminated(h: Harness, app: ScriptedApp) -> str:
    call_id, conference_id = await _conference_leg(h, app)
    r = await h.rest.post(f"/Accounts/{h.account.account_id}/Conferences/{conference_id}",
                          json={"status": "terminated"})
    assert r.status_code in (200, 202, 204), r.text
    return call_id


@scenario(CallEndedReason.REMOVED_FROM_CONFERENCE)
async def _removed(h: Harness, app: ScriptedApp) -> str:
    call_id, conference_id = await _conference_leg(h, app)
    r = await h.rest.delete(f"/Accounts/{h.account.account_id}/Conferences/{conference_id}"
                            f"/Participants/{call_id}")
    assert r.status_code in (200, 202, 204), r.text
    return call_id


# ---- the tests ------------------------------------------------------------------------------------------


def test_every_producible_reason_has_a_scenario() -> None:
    sdk = {member.value for member in SdkReason}
    assert {r.value for r in CallEndedReason} == sdk
    assert set(SCENARIOS) | NOT_PRODUCED == set(CallEndedReason)
    assert not set(SCENARIOS) & NOT_PRODUCED


@pytest.mark.parametrize("reason", list(SCENARIOS), ids=lambda r: r.value)
async def test_call_ends_with(h: Harness, reason: CallEndedReason) -> None:
    app = h.scripted_app()
    app.on("/status", [])
    call_id = await SCENARIOS[reason](h, app)
    call = await h.run_until_ended(call_id, limit_s=2 * MAX_DURATION_S)
    assert call.call_ended_reason is reason, (call.call_ended_reason, reason)
    assert call.status.is_final and call.end_time is not None
    statuses = [w for w in h.webhooks_for(call_id) if w.request_type == "callStatus"]
    if reason is not CallEndedReason.CONFIG_ERROR_NO_APPLICATION:  # no app: nobody to tell
        (status,) = statuses
        parsed = Webhook.from_json(status.raw.decode())
        assert isinstance(parsed, CallStatusWebhook)
        assert status.body["callEndedReason"] == reason.value
        assert status.body["callStatus"] == call.status.value
    else:
        assert statuses == []


# ---- details of some reasons ------------------------------------------------------------------------------


async def test_hangup_reason_is_kept_in_the_log(h: Harness) -> None:
    app = h.scripted_app()
    call_id = await _app_hangup(h, app)
    await h.run_until_ended(call_id)
    (entry,) = [x for x in await h.logs(call_id) if x.message == "Hangup: menu-exit"]
    assert entry.level is LogLevel.INFO and entry.metadata == {"reason": "menu-exit"}
    assert said(h.transcript(call_id)) == ["Bye"]


async def test_reject_reason_is_kept_in_the_log_and_the_call_is_never_answered(h: Harness) -> None:
    app = h.scripted_app()
    call_id = await _app_reject(h, app)
    call = await h.run_until_ended(call_id)
    assert call.connect_time is None and call.status is not CallStatus.COMPLETED
    (entry,) = [x for x in await h.logs(call_id) if "rejected by the application" in x.message]
    assert "blocked caller" in entry.message and entry.metadata == {"reason": "blocked caller"}


async def test_max_duration_counts_from_the_legs_creation(h: Harness) -> None:
    app = h.scripted_app()
    call_id = await _max_duration(h, app)
    call = await h.run_until_ended(call_id)
    assert call.end_time is not None and call.end_time - call.date_created == pytest.approx(MAX_DURATION_S)
    warnings = [x for x in await h.logs(call_id) if x.level is LogLevel.WARNING]
    assert any("maximum call duration of 60 s" in x.message for x in warnings)


async def test_max_duration_off() -> None:
    engine = EngineSettings(max_call_duration_s=0)
    async with Harness(settings=Settings(db=":memory:", engine=engine)) as h:
        app = h.scripted_app()
        call_id = await inbound(h, app, [{"Pause": {"length": 5 * 3600 * 1000}}, {"Hangup": {}}])
        call = await h.run_until_ended(call_id, limit_s=6 * 3600)
        assert call.call_ended_reason is CallEndedReason.APP_HANGUP


def test_default_max_duration_is_four_hours() -> None:
    assert EngineSettings().max_call_duration_s == 4 * 3600
    assert dataclasses.replace(EngineSettings(), max_call_duration_s=10).max_call_duration_s == 10


async def test_max_duration_during_get_speech_tells_its_action_url(h: Harness) -> None:
    app = h.scripted_app()
    app.on("/again", [{"GetSpeech": {"actionUrl": app.url("/heard"), "grammarType": "BUILTIN",
                                     "grammarFile": "DIG4", "noInputTimeoutMs": 100_000,
                                     "recognitionTimeoutMs": 100_000}}])
    app.on("/heard", [{"Hangup": {}}])
    call_id = await inbound(h, app, [{"Redirect": {"actionUrl": app.url("/again")}}])
    call = await h.run_until_ended(call_id)
    assert call.call_ended_reason is CallEndedReason.MAX_DURATION
    (heard,) = h.webhooks(path="/heard")
    assert heard.body["reason"] == "hangup" and heard.body["callStatus"] == "completed"
