"""The web console in a real browser: Debian's Chromium, driven by Playwright, against percl
served by uvicorn on 127.0.0.1 (tests/console/served.py). Sign-in, a live call appearing and its
timeline filling without a reload, webhook replay, CSRF and bad sign-ins refused, the "call it"
token, and the screenshots of docs/img/.

Skipped, saying why, where Playwright or Chromium is missing (tests/setup/ensure_chromium.sh
installs Chromium for `make test`). One browser and one percl for the module.

Screenshots: written to a temporary folder (and checked: < 150 KB each) unless
PERCL_SCREENSHOTS names a folder: `PERCL_SCREENSHOTS=docs/img .venv/bin/pytest
tests/console/test_browser.py` refreshes the committed ones.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jwt
import pytest

from tests.console.served import ServedPercl

playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
CHROMIUM = shutil.which("chromium")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed "
                                "(tests/setup/ensure_chromium.sh installs it)")
expect = playwright_api.expect

CALLER = "+15550100001"
MAX_SCREENSHOT_BYTES = 150_000
TIMEOUT_MS = 8000


class VoiceApp:
    """The app the calls reach: `/voice` says which answer this is (1, 2, ...), then waits (a
    call stays live until the test hangs its phone up: no race with a slow machine)."""

    def __init__(self) -> None:
        self.answers = 0
        self._lock = threading.Lock()

    def __call__(self, url: str, body: bytes, headers: Any) -> tuple[int, bytes | str]:
        if urlsplit(url).path != "/voice":
            return 404, "not found"
        with self._lock:
            self.answers += 1
            n = self.answers
        return 200, json.dumps([{"Say": {"text": f"answer number {n}"}},
                                {"Pause": {"length": 60_000}}, {"Hangup": {}}])


@pytest.fixture(scope="module")
def served() -> Iterator[ServedPercl]:
    with ServedPercl(VoiceApp()) as percl:
        app = percl.rest.post("/Applications", json={"alias": "percl demo",
                                                     "voiceUrl": "http://app.test/voice"})
        app.raise_for_status()
        on_sale = percl.rest.get(f"{percl.base_url}/apiserver/AvailablePhoneNumbers")
        number = on_sale.json()["availablePhoneNumbers"][0]
        bought = percl.rest.post("/IncomingPhoneNumbers", json={
            "phoneNumber": number["phoneNumber"], "alias": "percl demo",
            "applicationId": app.json()["applicationId"]})
        bought.raise_for_status()
        percl.number = number["phoneNumber"]
        yield percl


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    expect.set_options(timeout=TIMEOUT_MS)  # each wait bounded, with room for a loaded machine
    with playwright_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                      args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any, served: ServedPercl) -> Iterator[Any]:
    """A signed-in page of a fresh browser context (its own cookies)."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, base_url=served.base_url)
    context.set_default_timeout(TIMEOUT_MS)
    tab = context.new_page()
    sign_in(tab, served.platform.account.account_id, served.platform.account.api_key)
    expect(tab.get_by_role("heading", name="Welcome to percl")).to_be_visible()
    yield tab
    context.close()


def sign_in(tab: Any, account_id: str, api_key: str) -> None:
    tab.goto("/")
    tab.get_by_label("Account id").fill(account_id)
    tab.get_by_label("API key").fill(api_key)
    tab.get_by_role("button", name="Sign in").click()


def place_call(served: ServedPercl) -> str:
    answer = served.sim.post("/calls", json={"from": CALLER, "to": served.number})
    answer.raise_for_status()
    return str(answer.json()["callId"])


def listening(page: Any) -> None:
    """Wait until the page's WebSocket is open, and mark the document (a reload would lose
    the mark)."""
    expect(page.locator("body[data-live=on]")).to_have_count(1)
    page.evaluate("window.sameDocument = true")


def hang_up(served: ServedPercl, call_id: str) -> None:
    served.sim.post(f"/calls/{call_id}/hangup").raise_for_status()


def test_a_bad_sign_in_is_refused_and_a_good_one_opens_the_console(
        browser: Any, served: ServedPercl) -> None:
    context = browser.new_context(base_url=served.base_url)
    tab = context.new_page()
    account = served.platform.account
    sign_in(tab, account.account_id, "not-the-key")
    expect(tab.get_by_role("alert")).to_contain_text("Wrong account id or API key")
    # By keyboard alone: the labelled fields in order, Enter submits.
    tab.get_by_label("Account id").fill(account.account_id)
    tab.keyboard.press("Tab")
    expect(tab.get_by_label("API key")).to_be_focused()
    tab.keyboard.type(account.api_key)
    tab.keyboard.press("Enter")
    expect(tab.get_by_role("heading", name="Welcome to percl")).to_be_visible()
    tab.keyboard.press("Tab")  # the first stop of every page: skip to the content
    expect(tab.get_by_role("link", name="Skip to content")).to_be_focused()
    (cookie,) = [c for c in context.cookies() if c["name"] == "percl_console"]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    context.close()


def test_a_live_call_appears_and_its_timeline_fills(page: Any, served: ServedPercl) -> None:
    page.goto("/console/calls")
    listening(page)
    call_id = place_call(served)
    row = page.get_by_role("link", name=call_id)
    expect(row).to_be_visible()  # the live feed told the page
    assert page.evaluate("window.sameDocument") is True  # no reload
    row.click()
    expect(page.get_by_role("heading", name=f"Call {call_id}", exact=True)).to_be_visible()
    live = page.locator("#live")
    expect(live).to_contain_text("inboundCall")
    expect(live.locator(".status").first).to_have_text("[inProgress]")
    listening(page)
    page.get_by_text("inboundCall: request and answer").first.click()  # opened by the user
    hang_up(served, call_id)
    expect(live.locator(".status").first).to_have_text("[completed]")
    expect(live).to_contain_text('far end heard "answer number')
    expect(live).to_contain_text("far end hangup by")
    assert page.evaluate("window.sameDocument") is True  # filled in place, not reloaded
    opened = live.locator("details[open] > summary", has_text="inboundCall: request and answer")
    expect(opened).to_have_count(1)  # and what the user opened stayed open


def test_replaying_a_webhook_shows_the_new_answer_beside_the_old(
        page: Any, served: ServedPercl) -> None:
    call_id = place_call(served)
    page.goto(f"/console/calls/{call_id}")
    page.get_by_text("inboundCall: request and answer").first.click()
    page.get_by_role("button", name="Replay this webhook").first.click()
    expect(page.get_by_role("heading", name="Webhook replayed")).to_be_visible()
    old = page.locator("section[aria-labelledby=old-h]").inner_text()
    new = page.locator("#replay-new")
    expect(new).to_contain_text("status 200")
    old_n = re.search(r"answer number (\d+)", old)
    new_n = re.search(r"answer number (\d+)", new.inner_text())
    assert old_n and new_n and int(new_n.group(1)) > int(old_n.group(1))


def test_requests_without_the_csrf_token_or_from_another_site_are_refused(
        page: Any, served: ServedPercl) -> None:
    form = {"api": "rest", "method": "POST", "path": "/Applications", "back": "/",
            "s:alias": "forged"}
    answer = page.request.post("/console/act", form=form)  # the session cookie, no token
    assert answer.status == 403
    forged = page.request.post("/console/signin", headers={"Origin": "http://evil.test"},
                               form={"accountId": served.platform.account.account_id,
                                     "apiKey": served.platform.account.api_key})
    assert forged.status == 403
    apps = served.rest.get("/Applications", params={"alias": "forged"}).json()
    assert apps["applications"] == []


def test_call_it_opens_the_browser_phone_with_a_valid_token(page: Any, served: ServedPercl) -> None:
    page.goto("/")
    urls: list[str] = []  # the phone page takes the token out of its address once read
    page.on("framenavigated", lambda frame: urls.append(frame.url))
    page.get_by_role("button", name="Call it").click()
    page.wait_for_url(re.compile(r"/phone"))
    token = next(url for url in urls if "#token=" in url).split("#token=", 1)[1]
    claims = jwt.decode(token, served.platform.account.signing_secret, algorithms=["HS256"])
    custom = claims["custom"]
    assert (custom["to"], custom["from"], custom["uses"]) == (served.number, served.number, 1)


def test_screenshots_of_the_main_pages(page: Any, served: ServedPercl, tmp_path: Path) -> None:
    folder = Path(os.environ.get("PERCL_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    call_id = place_call(served)
    page.set_viewport_size({"width": 1000, "height": 600})
    shots = {"console-home": "/", "console-calls": "/console/calls",
             "console-call": f"/console/calls/{call_id}", "console-logs": "/console/logs",
             "console-numbers": "/console/numbers", "console-sim": "/console/sim?number=%2B15550100001"}
    for name, path in shots.items():
        page.goto(path)
        if name == "console-call":
            listening(page)
            hang_up(served, call_id)
            expect(page.locator("#live .status").first).to_have_text("[completed]")
            page.get_by_text("inboundCall: request and answer").first.click()
        shoot(page, folder / f"{name}.png")
    page.goto(f"/console/calls/{call_id}")
    page.get_by_text("inboundCall: request and answer").first.click()
    page.get_by_role("button", name="Replay this webhook").first.click()
    expect(page.locator("#replay-new")).to_contain_text("status 200")
    shoot(page, folder / "console-replay.png")


def shoot(page: Any, file: Path) -> None:
    page.screenshot(path=str(file))
    assert 0 < file.stat().st_size < MAX_SCREENSHOT_BYTES, (file.name, file.stat().st_size)
