"""The web console over HTTP (no browser): sign-in, sessions and CSRF, pages that read through the
REST and sim APIs, actions that write through them, a call's timeline, webhook replay and the
"call it" token. tests/console/test_browser.py drives the same pages in Chromium."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Any

import httpx
import jwt
import pytest

from percl.config import GuardSettings, Settings
from percl.console.session import COOKIE
from percl.domain.records import revised
from percl.testing import Harness
from percl.testing.phones import press, speak

CALLER = "+15550100001"
ORIGIN = "http://127.0.0.1:8080"


@pytest.fixture
async def h() -> AsyncIterator[Harness]:
    async with Harness() as harness:
        yield harness


def browser(h: Harness) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=h.platform.asgi), base_url=ORIGIN)


async def signed_in(h: Harness) -> tuple[httpx.AsyncClient, str]:
    """A client with a session cookie, and the session's CSRF token."""
    client = browser(h)
    acc = h.account
    answer = await client.post("/console/signin", data={"accountId": acc.account_id,
                                                         "apiKey": acc.api_key})
    assert answer.status_code == 303
    home = await client.get("/")
    token = re.search(r'name="csrf-token" content="([^"]+)"', home.text)
    assert token is not None
    return client, token.group(1)


async def test_a_wrong_key_is_refused_and_sets_no_cookie(h: Harness) -> None:
    async with browser(h) as client:
        answer = await client.post("/console/signin", data={"accountId": h.account.account_id,
                                                            "apiKey": "not-the-key"})
        assert answer.status_code == 401 and "Wrong account id or API key" in answer.text
        assert COOKIE not in answer.headers.get("set-cookie", "")
        page = await client.get("/console/calls")
        assert page.status_code == 303 and page.headers["location"] == "/"


async def test_the_session_cookie_is_httponly_and_samesite_strict(h: Harness) -> None:
    async with browser(h) as client:
        answer = await client.post("/console/signin", data={
            "accountId": h.account.account_id, "apiKey": h.account.api_key})
        cookie = answer.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie
        home = await client.get("/")
        assert "Welcome to percl" in home.text and h.account.api_key in home.text


async def test_a_sign_in_posted_from_another_site_is_refused(h: Harness) -> None:
    async with browser(h) as client:
        answer = await client.post("/console/signin", headers={"Origin": "http://evil.test"},
                                   data={"accountId": h.account.account_id,
                                         "apiKey": h.account.api_key})
        assert answer.status_code == 403 and "set-cookie" not in answer.headers


async def test_an_action_without_the_csrf_token_is_refused_and_changes_nothing(h: Harness) -> None:
    client, token = await signed_in(h)
    form = {"api": "rest", "method": "POST", "path": "/Applications", "back": "/",
            "s:alias": "sneaky"}
    async with aclosing(client):
        for extra in ({}, {"csrf": "wrong"}):
            answer = await client.post("/console/act", data={**form, **extra})
            assert answer.status_code == 403
        assert await h.rest.get(f"/Accounts/{h.account.account_id}/Applications",
                                params={"alias": "sneaky"}) is not None
        listed = await h.rest.get(f"/Accounts/{h.account.account_id}/Applications")
        assert listed.json()["applications"] == []
        made = await client.post("/console/act", data={**form, "csrf": token})
        assert made.status_code == 303
        listed = await h.rest.get(f"/Accounts/{h.account.account_id}/Applications")
        assert [a["alias"] for a in listed.json()["applications"]] == ["sneaky"]


async def test_an_action_goes_through_the_rest_api_and_shows_its_error(h: Harness) -> None:
    client, token = await signed_in(h)
    async with aclosing(client):
        answer = await client.post("/console/act", data={
            "csrf": token, "api": "rest", "method": "POST", "path": "/Applications",
            "back": "/console/applications", "s:voiceUrl": "not a url"})
        assert answer.headers["location"] == "/console/applications"
        page = await client.get("/console/applications")
        assert "Refused (400)" in page.text and "voiceUrl" in page.text
        again = await client.get("/console/applications")
        assert "Refused (400)" not in again.text  # shown once


async def test_an_action_never_redirects_off_the_site(h: Harness) -> None:
    client, token = await signed_in(h)
    async with aclosing(client):
        for back in ("//evil.test/x", "http://evil.test/", "javascript:alert(1)"):
            answer = await client.post("/console/act", data={
                "csrf": token, "api": "sim", "method": "DELETE", "path": "/faults", "back": back})
            assert answer.status_code == 303 and answer.headers["location"] == "/"


async def test_a_new_api_key_ends_the_session(h: Harness) -> None:
    client, _ = await signed_in(h)
    async with aclosing(client):
        acc = h.account
        await h.store.put_account(revised(acc, h.now, api_key="k" * 40))
        page = await client.get("/console/calls")
        assert page.status_code == 303 and page.headers["location"] == "/"


def _counting_app(h: Harness) -> list[int]:
    seen: list[int] = []

    def voice(body: dict[str, Any]) -> Any:
        seen.append(1)
        return [{"Say": {"text": f"answer number {len(seen)}"}}, {"Hangup": {}}]

    app = h.scripted_app()
    app.on("/voice", voice)
    return seen


async def test_the_call_page_shows_its_webhooks_percl_and_transcript(h: Harness) -> None:
    _counting_app(h)
    number = await h.number_for(voice_path="/voice")
    call_id = await h.sim_call(CALLER, number)
    await h.run_until_ended(call_id)
    client, _ = await signed_in(h)
    async with aclosing(client):
        listed = await client.get("/console/calls")
        assert call_id in listed.text and "completed" in listed.text
        page = await client.get(f"/console/calls/{call_id}")
    text = page.text
    for expected in ("inboundCall", "http://app.test/voice", "t=", "answer number 1",
                     "far end heard &quot;answer number 1&quot;", "Replay this webhook",
                     "callEndedReason" if "callEndedReason" in text else "ended completed"):
        assert expected in text, expected
    assert re.search(r"latency</dt><dd>[0-9.]+ ms", text)


async def test_replay_sends_the_request_again_and_shows_the_new_answer_beside_the_old(
        h: Harness) -> None:
    seen = _counting_app(h)
    number = await h.number_for(voice_path="/voice")
    call_id = await h.sim_call(CALLER, number)
    await h.run_until_ended(call_id)
    logs_before = len(await h.logs(call_id))
    client, token = await signed_in(h)
    async with aclosing(client):
        page = await client.get(f"/console/calls/{call_id}")
        request_id = re.search(r'name="requestId" value="([^"]+)"', page.text)
        assert request_id is not None
        answer = await client.post(f"/console/calls/{call_id}/replay", data={
            "csrf": token, "requestId": request_id.group(1), "fallback": "0"})
        refused = await client.post(f"/console/calls/{call_id}/replay", data={
            "requestId": request_id.group(1), "fallback": "0"})
    assert answer.status_code == 200 and len(seen) == 2 and refused.status_code == 403
    old, new = answer.text.split('id="replay-new"')
    assert "answer number 1" in old and "answer number 2" in new and "status 200" in new
    assert len(await h.logs(call_id)) == logs_before  # the replay is no part of the call
    sent = h.webhooks_for(call_id)[-1]
    assert sent.headers["FreeClimb-Signature"].startswith("t=")


async def test_call_it_mints_a_one_use_webrtc_token_to_the_demo_number(h: Harness) -> None:
    app = h.scripted_app()
    app.on("/voice", [{"Say": {"text": "hello"}}])
    demo = await h.number_for(voice_path="/voice")
    numbers = f"/Accounts/{h.account.account_id}/IncomingPhoneNumbers"
    (wired,) = (await h.rest.get(numbers)).json()["incomingPhoneNumbers"]
    await h.rest.post(f"{numbers}/{wired['phoneNumberId']}", json={"alias": "percl demo"})
    client, token = await signed_in(h)
    async with aclosing(client):
        home = await client.get("/")
        assert demo in home.text and "Call it" in home.text
        answer = await client.post("/console/call-it", data={"csrf": token})
    assert answer.status_code == 303
    location = answer.headers["location"]
    assert location.startswith("/phone#token=")
    # Signed with the account's secret, valid for an hour of the platform's (fake) clock.
    claims = jwt.decode(location.split("=", 1)[1], h.account.signing_secret, algorithms=["HS256"],
                        options={"verify_exp": False})
    custom = claims["custom"]
    assert (custom["to"], custom["from"], custom["uses"]) == (demo, demo, 1)
    assert claims["exp"] == int(h.now) + 3600


async def test_every_page_renders_for_a_new_account(h: Harness) -> None:
    client, _ = await signed_in(h)
    async with aclosing(client):
        for path in ("/", "/console/calls?status=completed", "/console/conferences",
                     "/console/queues", "/console/messages", "/console/logs",
                     "/console/logs?pql=level%20%3D%20%22error%22", "/console/applications",
                     "/console/numbers", "/console/sim?number=%2B15550100001"):
            page = await client.get(path)
            assert page.status_code == 200 and "<h1>" in page.text, path
        bad = await client.get("/console/logs?pql=%3D%3D%3D")
        assert 'role="alert"' in bad.text


async def test_the_call_page_nests_the_legs_a_call_dialled(h: Harness) -> None:
    agent = "+15550100077"
    app = h.scripted_app()
    app.on("/voice", [{"OutDial": {"destination": agent, "callingNumber": CALLER,
                                   "actionUrl": app.url("/dialed"),
                                   "callConnectUrl": app.url("/connect")}}])
    app.on("/dialed", [{"Hangup": {}}])
    app.on("/connect", [{"Say": {"text": "hello agent"}}, {"Hangup": {}}])
    number = await h.number_for(voice_path="/voice")
    parent = await h.sim_call(CALLER, number)
    await h.run_until_ended(parent)
    start = next(w for w in h.webhooks if w.request_type == "outDialStart")
    child = str(start.body["dialCallId"])
    await h.run_until_ended(child)
    client, _ = await signed_in(h)
    async with aclosing(client):
        from_child = await client.get(f"/console/calls/{child}")  # rooted at the parent
    text = from_child.text
    assert text.index(f'data-call="{parent}"') < text.index(f'data-call="{child}"')
    assert "dialled: outboundDial call" in text and "outDialConnect" in text
    assert "far end heard &quot;hello agent&quot;" in text


async def test_failed_sign_ins_meet_the_apis_limit_on_failed_authentications() -> None:
    settings = Settings(db=":memory:", guard=GuardSettings(auth_fail_rate=0.01, auth_fail_burst=2))
    async with Harness(settings=settings) as h, browser(h) as client:
        form = {"accountId": h.account.account_id, "apiKey": "wrong"}
        statuses = [(await client.post("/console/signin", data=form)).status_code
                    for _ in range(3)]
        assert statuses == [401, 401, 429]
        good = await client.post("/console/signin", data={**form, "apiKey": h.account.api_key})
        assert good.status_code == 429 and "retry after" in good.text.lower()


async def test_conference_actions_mute_a_participant_and_terminate_through_rest(h: Harness) -> None:
    client, token = await signed_in(h)
    act = {"csrf": token, "api": "rest", "back": "/console/conferences"}
    base = f"/Accounts/{h.account.account_id}/Conferences"
    async with aclosing(client):
        made = await client.post("/console/act", data={**act, "method": "POST",
                                                        "path": "/Conferences", "s:alias": "standup",
                                                        "s:statusCallbackUrl": "http://app.test/conf"})
        assert made.status_code == 303
        await h.clock.settle()
        (conf,) = (await h.rest.get(base)).json()["conferences"]
        app = h.scripted_app()
        app.on("/voice", [{"AddToConference": {"conferenceId": conf["conferenceId"]}}])
        number = await h.number_for(voice_path="/voice")
        caller = await h.sim_call(CALLER, number)
        await h.advance(1)
        page = await client.get("/console/conferences")
        assert "standup" in page.text and caller in page.text and "Mute talk" in page.text
        path = f"/Conferences/{conf['conferenceId']}/Participants/{caller}"
        muted = await client.post("/console/act", data={**act, "method": "POST", "path": path,
                                                         "j:": '{"talk": false}'})
        assert muted.status_code == 303
        participant = (await h.rest.get(f"/Accounts/{h.account.account_id}{path}")).json()
        assert participant["talk"] is False
        assert "Unmute talk" in (await client.get("/console/conferences")).text
        await client.post("/console/act", data={**act, "method": "POST",
                                                "path": f"/Conferences/{conf['conferenceId']}",
                                                "j:": '{"status": "terminated"}'})
        await h.advance(1)
    ended = (await h.rest.get(f"{base}/{conf['conferenceId']}")).json()
    assert ended["status"] == "terminated"


async def test_console_pages_may_not_be_framed_nor_cached_and_head_needs_no_token(h: Harness) -> None:
    client, _ = await signed_in(h)
    async with aclosing(client):
        for answer in (await client.get("/"), await client.head("/console/calls")):
            assert answer.status_code == 200
            assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
            assert answer.headers["cache-control"] == "no-store"
    async with browser(h) as signed_out:
        assert "frame-ancestors" in (await signed_out.get("/")).headers["content-security-policy"]


async def test_queue_actions_dequeue_a_member_through_rest(h: Harness) -> None:
    client, token = await signed_in(h)
    act = {"csrf": token, "api": "rest", "back": "/console/queues"}
    async with aclosing(client):
        await client.post("/console/act", data={**act, "method": "POST", "path": "/Queues",
                                                "s:alias": "support", "i:maxSize": "5"})
        (queue,) = (await h.rest.get(f"/Accounts/{h.account.account_id}/Queues")).json()["queues"]
        qid = queue["queueId"]
        assert queue["maxSize"] == 5
        app = h.scripted_app()
        app.on("/voice", [{"Enqueue": {"queueId": qid, "waitUrl": app.url("/wait"),
                                       "actionUrl": app.url("/left")}}])
        app.on("/wait", [{"Pause": {"length": 60_000}}])
        app.on("/left", lambda body: [{"Say": {"text": f"left with {body.get('queueResult')}"}},
                                      {"Hangup": {}}])
        number = await h.number_for(voice_path="/voice")
        caller = await h.sim_call(CALLER, number)
        await h.advance(1)
        page = await client.get("/console/queues")
        assert "support" in page.text and caller in page.text and "Dequeue" in page.text
        done = await client.post("/console/act", data={
            **act, "method": "POST", "path": f"/Queues/{qid}/Members/{caller}"})
        assert done.status_code == 303
        await h.advance(1)
        assert "Nobody waiting." in (await client.get("/console/queues")).text
    left = next(w for w in h.webhooks_for(caller) if w.url.endswith("/left"))
    assert left.body["queueResult"] == "dequeued"


async def test_numbers_are_bought_and_wired_through_rest(h: Harness) -> None:
    client, token = await signed_in(h)
    act = {"csrf": token, "api": "rest", "back": "/console/numbers"}
    numbers = f"/Accounts/{h.account.account_id}/IncomingPhoneNumbers"
    async with aclosing(client):
        await client.post("/console/act", data={**act, "method": "POST", "path": "/Applications",
                                                "s:alias": "ivr", "s:voiceUrl": "http://app.test/v"})
        page = await client.get("/console/numbers")
        on_sale = re.search(r'name="s:phoneNumber" value="(\+\d+)"', page.text)
        assert on_sale is not None and "Buy " + on_sale.group(1) in page.text
        await client.post("/console/act", data={**act, "method": "POST",
                                                "path": "/IncomingPhoneNumbers",
                                                "s:phoneNumber": on_sale.group(1)})
        (bought,) = (await h.rest.get(numbers)).json()["incomingPhoneNumbers"]
        assert bought["phoneNumber"] == on_sale.group(1) and not bought["applicationId"]
        page = await client.get("/console/numbers")
        app_id = re.search(r'<option value="(AP[0-9a-f]+)">ivr</option>', page.text)
        assert app_id is not None
        await client.post("/console/act", data={
            **act, "method": "POST", "path": f"/IncomingPhoneNumbers/{bought['phoneNumberId']}",
            "s:alias": "main line", "s:applicationId": app_id.group(1)})
    (wired,) = (await h.rest.get(numbers)).json()["incomingPhoneNumbers"]
    assert (wired["alias"], wired["applicationId"]) == ("main line", app_id.group(1))


async def test_phone_programs_and_fault_rules_go_through_the_sim_api(h: Harness) -> None:
    client, token = await signed_in(h)
    act = {"csrf": token, "api": "sim", "back": "/console/sim"}
    phone = "+15550100042"
    async with aclosing(client):
        saved = await client.post("/console/act", data={
            **act, "method": "PUT", "path": f"/phones/{phone}",
            "j:": '{"answer": "busy", "answerAfterMs": 0}'})
        assert saved.status_code == 303
        program = (await h.sim_rest.get(f"/phones/{phone}")).json()
        assert program["answer"] == "busy"
        page = await client.get("/console/sim?number=%2B15550100042")
        assert "&quot;busy&quot;" in page.text
        bad = await client.post("/console/act", data={**act, "method": "PUT",
                                                      "path": f"/phones/{phone}", "j:": "{nope"})
        assert bad.status_code == 303
        assert "not valid JSON" in (await client.get("/console/sim")).text
        await client.post("/console/act", data={**act, "method": "PUT", "path": "/faults",
                                                "s:kind": "error", "i:status": "503"})
        assert (await h.sim_rest.get("/faults")).json()[0]["status"] == 503
        page = await client.get("/console/sim")
        assert "503" in page.text
        await client.post("/console/act", data={**act, "method": "DELETE", "path": "/faults"})
        assert (await h.sim_rest.get("/faults")).json() == []


async def test_an_sms_is_sent_and_the_logs_are_searched_with_pql(h: Harness) -> None:
    app = h.scripted_app()
    app.on("/voice", [{"Hangup": {}}])
    number = await h.number_for(voice_path="/voice")
    client, token = await signed_in(h)
    async with aclosing(client):
        sent = await client.post("/console/act", data={
            "csrf": token, "api": "rest", "method": "POST", "path": "/Messages",
            "back": "/console/messages", "s:from": number, "s:to": CALLER, "s:text": "hi there"})
        assert sent.status_code == 303
        await h.advance(1)
        page = await client.get("/console/messages")
        assert "Done: POST /Messages" in page.text and "hi there" in page.text
        call_id = await h.sim_call(CALLER, number)
        await h.run_until_ended(call_id)
        found = await client.get("/console/logs", params={"pql": f'callId = "{call_id}"'})
        other = await client.get("/console/logs", params={"pql": 'callId = "CAnone"'})
    assert call_id in found.text and "Webhook POST" in found.text
    assert "No log lines match." in other.text


async def test_the_call_page_plays_the_calls_recordings(h: Harness) -> None:
    app = h.scripted_app()
    app.on("/voice", [{"RecordUtterance": {"actionUrl": app.url("/recorded"), "finishOnKey": "#",
                                           "maxLengthSec": 30}}])
    app.on("/recorded", [{"Hangup": {}}])
    number = await h.number_for(voice_path="/voice")
    call_id = await h.sim_call(CALLER, number, [speak("call me back", after_ms=1000),
                                                press("#", after_ms=4000)])
    await h.run_until_ended(call_id)
    [recording] = await h.recordings(call_id)
    client, _ = await signed_in(h)
    async with aclosing(client):
        page = await client.get(f"/console/calls/{call_id}")
        src = f"/console/recordings/{recording.recording_id}"
        assert f'<audio controls preload="none" src="{src}">' in page.text
        wav = await client.get(src)
        nobody = await client.get("/console/recordings/RE0000")
    assert wav.status_code == 200 and wav.content.startswith(b"RIFF")
    assert wav.content == h.recording_wav(recording.recording_id)
    assert nobody.status_code == 404


async def test_with_audio_media_the_call_page_plays_what_the_leg_heard() -> None:
    async with Harness(media="audio") as h:
        app = h.scripted_app()
        app.on("/voice", [{"Say": {"text": "hello"}}, {"Hangup": {}}])
        number = await h.number_for(voice_path="/voice")
        call_id = await h.sim_call(CALLER, number)
        await h.run_until_ended(call_id)
        client, _ = await signed_in(h)
        async with aclosing(client):
            page = await client.get(f"/console/calls/{call_id}")
            wav = await client.get(f"/console/calls/{call_id}/audio")
        sim = await h.sim_rest.get(f"/calls/{call_id}/audio")
    assert f'src="/console/calls/{call_id}/audio"' in page.text
    assert wav.status_code == 200 and wav.headers["content-type"] == "audio/wav"
    assert wav.content == sim.content and len(wav.content) > 1000
