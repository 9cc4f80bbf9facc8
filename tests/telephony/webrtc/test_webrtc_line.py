"""The browser phones' line on a whole percl (FakeClock, audio media) with pages and peers doubled:
placing calls with a token, being called at a registered browser phone number, busy, decline,
several pages, keys, hang-ups from either side, the record's webRTC. The real peer is tested in
test_webrtc_peer.py, the page in a browser in tests/console/test_phone_browser.py."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import pytest_asyncio
from freeclimb.models.call_list import CallList
from freeclimb.models.call_result import CallResult

from percl.media.audio.pcm import Pcm
from percl.telephony.webrtc.line import LineError, Page, WebRtcLine
from percl.telephony.webrtc.peer import Spawn
from percl.telephony.webrtc.token import TokenGate, TokenRefused
from percl.testing.apps import ScriptedApp
from percl.testing.harness import Harness

BROWSER = "+15550100777"
SIM_PHONE = "+13125559876"


class FakeAudio:
    """The browser's audio: sends nothing, keeps what it hears."""

    def __init__(self) -> None:
        self.heard: list[Pcm] = []
        self.closed = False

    def take(self) -> Pcm | None:
        return None

    def give(self, frame: Pcm | None) -> None:
        if frame is not None:
            self.heard.append(frame)

    def close(self) -> None:
        self.closed = True


class FakePeer:
    """A peer that answers any offer but "bad"."""

    def __init__(self, spawn: Spawn, on_lost: Callable[[], None]) -> None:
        self.audio = FakeAudio()
        self.on_lost = on_lost
        self.closed = False

    @property
    def codec(self) -> str | None:
        return "PCMU"

    async def answer(self, offer_sdp: str) -> str:
        if offer_sdp == "bad":
            raise ValueError("the offer cannot be used: bad")
        return "v=0 answer"

    async def close(self) -> None:
        self.closed = True


class FakePage:
    """A page: its Page record and the messages the line sent it."""

    def __init__(self, page_claims: Any) -> None:
        self.messages: list[dict[str, Any]] = []
        self.page = Page(page_claims, self.messages.append)

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [m for m in self.messages if m["type"] == kind]

    def said(self) -> list[str]:
        return [e["text"] for m in self.of("transcript") for e in m["entries"] if e["type"] == "say"]


@pytest_asyncio.fixture
async def h() -> AsyncIterator[Harness]:
    async with Harness(media="audio") as harness:
        yield harness


@pytest_asyncio.fixture
async def line(h: Harness) -> AsyncIterator[WebRtcLine]:
    platform = h.platform
    test_line = WebRtcLine(platform.sim, TokenGate(platform.store, platform.clock), platform.store,
                           platform.clock, call_owner=platform._call_owner, peers=FakePeer)
    async with test_line:
        platform.sim.add_line(test_line)
        yield test_line


@pytest.fixture
def app(h: Harness) -> ScriptedApp:
    app = h.scripted_app()
    app.on("/voice", [{"GetDigits": {"actionUrl": app.url("/digits"), "maxDigits": 2,
                                     "prompts": [{"Say": {"text": "Hello browser"}}]}}])
    app.on("/digits", [{"Say": {"text": "Bye"}}, {"Hangup": {}}])
    app.on("/connect", [{"Say": {"text": "You were called"}}, {"Pause": {"length": 60000}}])
    app.on("/dial", [{"OutDial": {"destination": BROWSER, "callingNumber": "+13125550100",
                                  "actionUrl": app.url("/dialed"), "callConnectUrl": app.url("/connect"),
                                  "timeout": 30}}])
    app.on("/dialed", [{"Hangup": {}}])
    return app


async def _token(h: Harness, number: str, uses: int = 1) -> str:
    made = await h.rest.post(f"/Accounts/{h.account.account_id}/Calls/WebRTC/Token",
                             json={"to": number, "from": number, "uses": uses})
    assert made.status_code == 200, made.text
    return made.text


async def _page(h: Harness, line: WebRtcLine, number: str, uses: int = 1) -> FakePage:
    return FakePage(await line.gate.check(await _token(h, number, uses)))


async def test_a_page_places_a_call_hears_the_app_and_its_keys_reach_get_digits(
        h: Harness, line: WebRtcLine, app: ScriptedApp) -> None:
    number = await h.number_for(app)
    page = await _page(h, line, number)
    await line.place(page.page, "offer")
    [answer] = page.of("answer")
    assert answer["sdp"] == "v=0 answer" and answer["codec"] == "PCMU"
    [call] = page.of("call")
    call_id = call["callId"]
    assert call["from"] == number and call["to"] == number and call["usesLeft"] == 0
    await h.wait_for(lambda: page.of("answered") and "Hello browser" in page.said(), within=10)
    peer = page.page.call.peer if page.page.call else None
    assert isinstance(peer, FakePeer) and peer.audio.heard  # the Say's frames reach the browser
    line.press(page.page, "42")
    await h.run_until_ended(call_id, limit_s=30)
    [digits] = h.webhooks(path="/digits")
    assert digits.body["digits"] == "42"
    await h.wait_for(lambda: page.of("ended"), within=5)
    assert peer.closed and page.page.call is None and "Bye" in page.said()
    record = await h.call(call_id)
    assert record.direction == "inbound" and record.from_ == number


async def test_a_token_places_as_many_calls_as_its_uses(
        h: Harness, line: WebRtcLine, app: ScriptedApp) -> None:
    number = await h.number_for(app)
    page = await _page(h, line, number, uses=1)
    await line.place(page.page, "offer")
    line.hang_up(page.page)
    await h.wait_for(lambda: page.of("ended"), within=5)
    with pytest.raises(TokenRefused, match="spent"):
        await line.place(page.page, "offer")


async def test_a_bad_offer_spends_no_use(h: Harness, line: WebRtcLine, app: ScriptedApp) -> None:
    number = await h.number_for(app)
    page = await _page(h, line, number, uses=1)
    with pytest.raises(LineError, match="cannot be used"):
        await line.place(page.page, "bad")
    assert line.gate.left(page.page.claims) == 1 and page.page.call is None


async def test_a_page_on_a_call_cannot_place_another(
        h: Harness, line: WebRtcLine, app: ScriptedApp) -> None:
    number = await h.number_for(app)
    page = await _page(h, line, number, uses=2)
    await line.place(page.page, "offer")
    with pytest.raises(LineError, match="already on a call"):
        await line.place(page.page, "offer")


async def test_an_outdial_to_a_registered_number_rings_the_page_which_answers(
        h: Harness, line: WebRtcLine, app: ScriptedApp) -> None:
    number = await h.number_for(app, voice_path="/dial")
    page = await _page(h, line, number)
    await line.register(page.page, BROWSER)
    assert line.handles(BROWSER) and h.platform.sim.is_reachable(BROWSER)
    parent = await h.sim_call(SIM_PHONE, number)
    await h.wait_for(lambda: page.of("incoming"), within=10)
    [incoming] = page.of("incoming")
    assert incoming["from"] == "+13125550100" and incoming["to"] == BROWSER
    await line.accept(page.page, incoming["callId"], "offer")
    await h.wait_for(lambda: "You were called" in page.said(), within=10)
    child = await h.call(incoming["callId"])
    assert str(child.status) == "inProgress" and child.parent_call_id == parent
    line.hang_up(page.page)
    await h.run_until_ended(incoming["callId"], limit_s=10)
    assert page.of("ended")


async def test_a_rest_call_rings_every_idle_page_of_the_number_first_answer_wins(
        h: Harness, line: WebRtcLine, app: ScriptedApp) -> None:
    number = await h.number_for(app)
    first, second = await _page(h, line, number), await _page(h, line, number)
    await line.register(first.page, BROWSER)
    await line.register(second.page, BROWSER)
    call_id = await _rest_call(h, app, number)
    await h.wait_for(lambda: first.of("incoming") and second.of("incoming"), within=5)
    await line.accept(second.page, call_id, "offer")
    assert first.of("ended")[0]["reason"] == "answered elsewhere"
    with pytest.raises(LineError, match="no longer ringing"):
        await line.accept(first.page, call_id, "offer")
    await h.wait_for(lambda: "You were called" in second.said(), within=10)


async def test_a_declined_call_is_busy(h: Harness, line: WebRtcLine, app: ScriptedApp) -> None:
    number = await h.number_for(app)
    page = await _page(h, line, number)
    await line.register(page.page, BROWSER)
    call_id = await _rest_call(h, app, number)
    await h.wait_for(lambda: page.of("incoming"), within=5)
    line.decline(page.page, call_id)
    call = await h.run_until_ended(call_id, limit_s=10)
    assert str(call.status) == "busy"


async def test_a_page_on_a_call_is_busy_another_accounts_page_fails_none_is_a_sim_phone(
        h: Harness, line: WebRtcLine, app: ScriptedApp) -> None:
    number = await h.number_for(app)
    page = await _page(h, line, number, uses=2)
    await line.register(page.page, BROWSER)
    await line.place(page.page, "offer")
    busy = await _rest_call(h, app, number)
    assert str((await h.run_until_ended(busy, limit_s=10)).status) == "busy"
    line.unregister(page.page)
    stranger = FakePage(dataclasses.replace(page.page.claims, account_id="AC" + "0" * 40))
    await line.register(stranger.page, BROWSER)  # another account's page: not for our calls
    failed = await _rest_call(h, app, number)
    assert str((await h.run_until_ended(failed, limit_s=10)).status) == "failed"
    assert not stranger.of("incoming")
    line.unregister(stranger.page)
    assert not line.handles(BROWSER)  # a sim phone again: it answers
    answered = await _rest_call(h, app, number)
    await h.wait_for(lambda: h.webhooks(path="/connect", call_id=answered), within=10)


async def test_the_caller_hanging_up_stops_the_ringing(
        h: Harness, line: WebRtcLine, app: ScriptedApp) -> None:
    number = await h.number_for(app)
    page = await _page(h, line, number)
    await line.register(page.page, BROWSER)
    call_id = await _rest_call(h, app, number, timeout=5)
    await h.wait_for(lambda: page.of("incoming"), within=5)
    call = await h.run_until_ended(call_id, limit_s=30)
    assert str(call.status) == "noAnswer"
    assert page.of("ended")[0]["callId"] == call_id
    with pytest.raises(LineError):
        await line.accept(page.page, call_id, "offer")


async def test_a_page_closing_hangs_up_its_call(h: Harness, line: WebRtcLine, app: ScriptedApp) -> None:
    number = await h.number_for(app)
    page = await _page(h, line, number)
    await line.register(page.page, BROWSER)
    call_id = await _rest_call(h, app, number)
    await h.wait_for(lambda: page.of("incoming"), within=5)
    await line.accept(page.page, call_id, "offer")
    line.gone(page.page)
    call = await h.run_until_ended(call_id, limit_s=10)
    assert str(call.status) == "completed" and not line.handles(BROWSER)


async def test_registering_refuses_an_account_number_and_non_e164(
        h: Harness, line: WebRtcLine, app: ScriptedApp) -> None:
    number = await h.number_for(app)
    page = await _page(h, line, number)
    with pytest.raises(LineError, match="incoming number"):
        await line.register(page.page, number)
    with pytest.raises(LineError, match=r"E\.164"):
        await line.register(page.page, "browser")
    with pytest.raises(LineError, match="keys"):
        line.press(page.page, "12a")
    with pytest.raises(LineError, match="no call"):
        line.press(page.page, "1")


async def _rest_call(h: Harness, app: ScriptedApp, number: str, *, timeout: int = 30) -> str:
    application_id = await h.application_for(app, connect_path="/connect")
    made = await h.rest.post(f"/Accounts/{h.account.account_id}/Calls", json={
        "from": number, "to": BROWSER, "applicationId": application_id, "timeout": timeout})
    assert made.status_code in (200, 201, 202), made.text
    return str(made.json()["callId"])



async def test_a_token_to_a_number_no_account_owns_cannot_place_its_call(
        h: Harness, line: WebRtcLine, app: ScriptedApp) -> None:
    number = await h.number_for(app)
    made = await h.rest.post(f"/Accounts/{h.account.account_id}/Calls/WebRTC/Token",
                             json={"to": "+13125550111", "from": number, "uses": 1})
    page = FakePage(await line.gate.check(made.text))
    with pytest.raises(LineError, match=r"\+13125550111 could not be placed: .*not a number"):
        await line.place(page.page, "offer")
    assert len(page.of("answer")) == 1  # the offer was answered; the call then failed
    assert page.page.call is None and not page.of("call")


# ---------------------------------------------------------------- the record's webRTC


async def _get(h: Harness, call_id: str) -> dict[str, Any]:
    got = await h.rest.get(f"/Accounts/{h.account.account_id}/Calls/{call_id}")
    assert got.status_code == 200, got.text
    body: dict[str, Any] = got.json()
    return body


async def _list(h: Harness, **params: str) -> list[str]:
    got = await h.rest.get(f"/Accounts/{h.account.account_id}/Calls", params=params)
    assert got.status_code == 200, got.text
    parsed = CallList.from_dict(got.json())  # the SDK reads the list and its records
    assert parsed is not None and parsed.calls is not None
    return [str(c.call_id) for c in parsed.calls]


async def test_a_call_placed_by_a_page_is_webrtc_a_sim_call_is_not_and_the_filter_keeps_it(
        h: Harness, line: WebRtcLine, app: ScriptedApp) -> None:
    number = await h.number_for(app)
    page = await _page(h, line, number)
    await line.place(page.page, "offer")
    [placed] = page.of("call")
    browser_id = str(placed["callId"])
    sim_id = await h.sim_call(SIM_PHONE, number)
    body = await _get(h, browser_id)
    assert body["webRTC"] is True and CallResult.from_dict(body).web_rtc is True
    sim = await _get(h, sim_id)
    assert sim["webRTC"] is False and CallResult.from_dict(sim).web_rtc is False
    assert await _list(h, webRTC="true") == [browser_id]
    assert sorted(await _list(h, webRTC="false")) == sorted([browser_id, sim_id])
    assert sorted(await _list(h)) == sorted([browser_id, sim_id])
    line.hang_up(page.page)
    await h.run_until_ended(browser_id, limit_s=10)
    assert (await h.call(browser_id)).web_rtc  # kept through the leg's later revisions


async def test_a_call_a_page_answers_is_webrtc_its_sim_parent_is_not(
        h: Harness, line: WebRtcLine, app: ScriptedApp) -> None:
    number = await h.number_for(app, voice_path="/dial")
    page = await _page(h, line, number)
    await line.register(page.page, BROWSER)
    parent = await h.sim_call(SIM_PHONE, number)
    await h.wait_for(lambda: page.of("incoming"), within=10)
    [incoming] = page.of("incoming")
    child = str(incoming["callId"])
    assert (await _get(h, child))["webRTC"] is False  # ringing: nobody answered yet
    await line.accept(page.page, child, "offer")
    await h.wait_for(lambda: "You were called" in page.said(), within=10)
    assert (await _get(h, child))["webRTC"] is True
    assert (await _get(h, parent))["webRTC"] is False
    assert await _list(h, webRTC="true") == [child]


async def test_a_rest_call_declined_by_the_page_stays_false(
        h: Harness, line: WebRtcLine, app: ScriptedApp) -> None:
    number = await h.number_for(app)
    page = await _page(h, line, number)
    await line.register(page.page, BROWSER)
    call_id = await _rest_call(h, app, number)
    await h.wait_for(lambda: page.of("incoming"), within=5)
    line.decline(page.page, call_id)
    await h.run_until_ended(call_id, limit_s=10)
    assert (await _get(h, call_id))["webRTC"] is False
    assert await _list(h, webRTC="true") == []
