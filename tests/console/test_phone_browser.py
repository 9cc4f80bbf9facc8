"""The softphone in a real browser: Debian's chromium (Playwright) against a live percl on loopback.

Chromium's fake media: its microphone is a seeded noise WAV (`--use-file-for-fake-audio-capture`),
voice processing off, so what percl receives can be matched sample-for-sample. Proven here:
- the page places a call with its token: the number's application answers, its Say reaches the
  browser (what the page's audio element played correlates with percl's own TTS of the text);
- the page's microphone reaches the leg (the sim audio endpoint's `sent` channel correlates with
  the WAV);
- the keypad's digits reach GetDigits (the action webhook gets them);
- a REST call to the page's browser phone number rings the page, which answers it.

Real time and real sockets (WebRTC has no FakeClock): every wait is bounded.
"""

from __future__ import annotations

import asyncio
import base64
import io
import os
import shutil
import tempfile
import wave
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from percl.app import Platform
from percl.config import MediaFidelity, Settings
from percl.domain import ids as idmod
from percl.domain.records import Application, IncomingNumber
from percl.media.audio.resample import resample
from percl.webhooks.inprocess import AsgiTransport

playwright_api = pytest.importorskip("playwright.async_api")
CHROMIUM = shutil.which("chromium")
pytestmark = pytest.mark.skipif(CHROMIUM is None,
                                reason="chromium is not installed (tests/setup/ensure_chromium.sh)")

# The page's screenshot: into a temporary folder unless PERCL_SCREENSHOTS names one
# (`PERCL_SCREENSHOTS=docs/img` refreshes the committed one, as for the console's).
SCREENSHOT_NAME = "phone.png"
NUMBER = "+13125550142"
BROWSER_NUMBER = "+15550100777"
SIM_PHONE = "+13125559876"  # a virtual phone of the sim network (answers after 1 s)
GREETING = "Welcome to the percl phone test. Please enter three digits now."
CALLEE_SAY = "Hello browser, this call came from the platform."
APP = "http://customer.test"
WAIT_S = 15.0
MIC_RATE = 16000


class CustomerApp:
    """The application: greets, collects three digits, thanks, hangs up; greets a called page."""

    def __init__(self) -> None:
        self.digits: asyncio.Queue[str] = asyncio.Queue()
        self.asgi = Starlette(routes=[
            Route("/voice", self.voice, methods=["POST"]),
            Route("/digits", self.got_digits, methods=["POST"]),
            Route("/callee", self.callee, methods=["POST"]),
            Route("/dialer", self.dialer, methods=["POST"]),
            Route("/status", self.status, methods=["POST"]),
        ])

    async def voice(self, request: Request) -> JSONResponse:
        return JSONResponse([
            {"Say": {"text": GREETING}},
            {"GetDigits": {"actionUrl": f"{APP}/digits", "maxDigits": 3,
                           "digitTimeoutMs": 8000, "initialTimeoutMs": 20000}},
        ])

    async def got_digits(self, request: Request) -> JSONResponse:
        body = await request.json()
        self.digits.put_nowait(str(body.get("digits")))
        return JSONResponse([{"Say": {"text": "Thank you."}}, {"Hangup": {}}])

    async def callee(self, request: Request) -> JSONResponse:
        return JSONResponse([{"Say": {"text": CALLEE_SAY}}, {"Pause": {"length": 20000}}])

    async def dialer(self, request: Request) -> JSONResponse:
        return JSONResponse([{"OutDial": {
            "destination": BROWSER_NUMBER, "callingNumber": NUMBER, "actionUrl": f"{APP}/status",
            "callConnectUrl": f"{APP}/callee", "timeout": 20}}])

    async def status(self, request: Request) -> JSONResponse:
        return JSONResponse([])


def _mic_wav(path: Path) -> np.ndarray:
    """Seeded noise in the telephone band (300-3000 Hz), 4 s at 16 kHz, written as a WAV."""
    rng = np.random.default_rng(16)
    n = 4 * MIC_RATE
    spectrum = np.fft.rfft(rng.standard_normal(n))
    hz = np.fft.rfftfreq(n, 1 / MIC_RATE)
    spectrum[(hz < 300) | (hz > 3000)] = 0
    noise = np.fft.irfft(spectrum, n)
    pcm = (noise / np.abs(noise).max() * 12000).astype(np.int16)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(MIC_RATE)
        out.writeframes(pcm.tobytes())
    return pcm


def best_match(haystack: np.ndarray, needle: np.ndarray) -> tuple[float, int]:
    """The highest normalized cross-correlation of `needle` against any stretch of `haystack`,
    and where that stretch starts."""
    x = haystack.astype(np.float64)
    y = needle.astype(np.float64)
    y = y - y.mean()
    n = len(y)
    size = 1 << int(np.ceil(np.log2(len(x) + n)))
    corr = np.fft.irfft(np.fft.rfft(x, size) * np.conj(np.fft.rfft(y, size)), size)[:len(x) - n + 1]
    sums = np.concatenate([[0.0], np.cumsum(x)])
    squares = np.concatenate([[0.0], np.cumsum(x * x)])
    window_sum = sums[n:] - sums[:-n]
    energy = squares[n:] - squares[:-n] - window_sum**2 / n
    denominator = np.sqrt(np.maximum(energy, 1e-9) * float(np.sum(y * y)))
    score = corr / denominator
    at = int(np.argmax(score))
    return float(score[at]), at


ORDER_SCORE = 0.8  # pieces found at least this well must be found in order


def found_in_order(haystack: np.ndarray, sound: np.ndarray, *, chunk: int = 2000) -> list[float]:
    """How well each audible quarter second (`chunk` samples at 8 kHz) of `sound` is found in
    `haystack`, checking that they are found in order. The browser's jitter buffer stretches and
    squeezes time between packets (WebRTC's NetEq), so the whole is matched piece by piece."""
    scores: list[float] = []
    last = -1
    for start in range(0, len(sound) - chunk + 1, chunk):
        piece = sound[start:start + chunk]
        if np.sqrt(np.mean(np.square(piece, dtype=np.float64))) < 0.01 * np.abs(sound).max():
            continue  # a pause: nothing to recognise
        score, at = best_match(haystack, piece)
        if score >= ORDER_SCORE:  # where a poor match lies says nothing: its score counts instead
            assert at > last, f"the quarter second at {start / 8000:.2f} s was heard out of order"
            last = at
        scores.append(score)
    return scores


# True once the captured audio holds speech at least `n` samples long followed by 0.4 s quiet.
HEARD_ALL = """
(n) => {
  const rms = window.__heard.map((b) => Math.sqrt(b.reduce((a, x) => a + x * x, 0) / b.length));
  const first = rms.findIndex((r) => r > 0.01);
  if (first < 0) return false;
  const quiet = Math.ceil(3200 / 1024);
  const tail = rms.slice(-quiet);
  return rms.length - first >= Math.ceil(n / 1024) + quiet && tail.every((r) => r < 0.003);
}
"""

# The page's own audio element plays the far end; this records it (8 kHz) for the test.
CAPTURE = """
() => new Promise((resolve) => {
  window.__heard = [];
  const poll = setInterval(() => {
    const el = document.getElementById('remote');
    if (!el.srcObject) return;
    clearInterval(poll);
    const ctx = new AudioContext({sampleRate: 8000});
    const source = ctx.createMediaStreamSource(el.srcObject);
    const node = ctx.createScriptProcessor(1024, 1, 1);
    node.onaudioprocess = (e) => window.__heard.push(Array.from(e.inputBuffer.getChannelData(0)));
    source.connect(node);
    node.connect(ctx.destination);
    resolve(true);
  }, 20);
})
"""


@pytest.fixture
async def live(tmp_path: Path) -> Any:
    """A percl with audio media serving on a free loopback port, the customer app in-process."""
    app = CustomerApp()
    settings = Settings(db="memory://", media=MediaFidelity.AUDIO, host="127.0.0.1", port=0,
                        webrtc_addresses=("127.0.0.1",), api_rate_per_s=0)
    async with Platform(settings, transport=AsgiTransport(app.asgi)) as platform:
        account = platform.account
        now = platform.clock.now()
        for number, path in ((NUMBER, "/voice"), ):
            application = Application(
                application_id=platform.ids.new(idmod.APPLICATION), account_id=account.account_id,
                voice_url=f"{APP}{path}", status_callback_url=f"{APP}/status",
                date_created=now, date_updated=now)
            await platform.store.put_application(application)
            await platform.store.put_number(IncomingNumber(
                phone_number_id=platform.ids.new(idmod.PHONE_NUMBER),
                account_id=account.account_id, phone_number=number,
                application_id=application.application_id, date_created=now, date_updated=now))
        apps = {}
        for name in ("callee", "dialer"):
            application = Application(
                application_id=platform.ids.new(idmod.APPLICATION), account_id=account.account_id,
                call_connect_url=f"{APP}/{name}", status_callback_url=f"{APP}/status",
                date_created=now, date_updated=now)
            await platform.store.put_application(application)
            apps[name] = application.application_id
        server = uvicorn.Server(uvicorn.Config(platform.asgi, host="127.0.0.1", port=0,
                                               log_level="warning", lifespan="off"))
        serving = asyncio.create_task(server.serve())
        try:
            async with asyncio.timeout(WAIT_S):
                while not server.started:
                    await asyncio.sleep(0.02)
            port = server.servers[0].sockets[0].getsockname()[1]
            auth = base64.b64encode(f"{account.account_id}:{account.api_key}".encode()).decode()
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}",
                                         headers={"Authorization": f"Basic {auth}"}) as client:
                yield platform, app, client, port, apps
        finally:
            server.should_exit = True
            await serving


async def _open_phone(pw: Any, tmp_path: Path, port: int, token: str) -> Any:
    """Chromium with the seeded WAV as its microphone, on /phone#token=..., connected."""
    browser = await pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
        "--no-sandbox", "--disable-gpu", "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream", f"--use-file-for-fake-audio-capture={tmp_path / 'mic.wav'}",
        "--allow-loopback-in-peer-connection", "--autoplay-policy=no-user-gesture-required"])
    # The page's CSP forbids eval; Playwright's wait_for_function needs it.
    page = await browser.new_page(viewport={"width": 1100, "height": 820}, bypass_csp=True)
    page.set_default_timeout(WAIT_S * 1000)
    await page.goto(f"http://127.0.0.1:{port}/phone#token={token}")
    await page.wait_for_function("document.getElementById('status').textContent"
                                 ".includes('ring here')")
    assert "token=" not in page.url  # the token left the address bar
    await page.uncheck("#processing")  # the test compares samples: no echo cancellation etc.
    return browser, page


async def _call_and_press(page: Any, platform: Platform, app: CustomerApp, codec: str) -> np.ndarray:
    """The page calls NUMBER with `codec`, hears the greeting, presses 1 2 3 (GetDigits gets
    them) and the app hangs up. Returns what the page's audio element played (8 kHz)."""
    await page.select_option("#codec", codec)
    capturing = page.evaluate(CAPTURE)
    await page.get_by_role("button", name="Call").click()
    await capturing
    await page.wait_for_selector("#transcript li[data-type=say]")
    assert await page.text_content("#call-info") == f"Audio codec: {codec}"
    # The keys go once the page has HEARD the whole prompt (speech, then 0.4 s of quiet), not
    # after its length in wall time: on a loaded machine the prompt starts late, and a key
    # pressed during a Say outside GetDigits is dropped, as on FreeClimb.
    greeting = len(platform.audio_kit.speech(GREETING, None))
    await page.wait_for_function(HEARD_ALL, arg=greeting, timeout=WAIT_S * 1000)
    for key in "123":
        await page.get_by_role("button", name=key, exact=True).click()
        await asyncio.sleep(0.3)
    assert await asyncio.wait_for(app.digits.get(), WAIT_S) == "123"
    await page.wait_for_function("document.getElementById('status').textContent"
                                 ".startsWith('Call ended')")
    return np.concatenate(await page.evaluate("window.__heard")).astype(np.float32)


async def _mic_reached(client: httpx.AsyncClient, call_id: str, mic: np.ndarray) -> list[float]:
    """How well each quarter second of two seconds the leg received (the sim API's audio
    endpoint, `sent` channel) is found in the page's microphone WAV."""
    sent = await client.get(f"/sim/v1/calls/{call_id}/audio", params={"channel": "sent"})
    assert sent.status_code == 200
    with wave.open(io.BytesIO(sent.content)) as wav:
        received = np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16)
    source = resample(mic, MIC_RATE, 8000)
    loop = np.concatenate([source, source])
    start = int(np.flatnonzero(np.abs(received) > 500)[0]) + 4000
    spoken = received[start:start + 8000 * 2]  # two seconds of the microphone, once it flows
    return [best_match(loop, spoken[i:i + 2000])[0] for i in range(0, len(spoken), 2000)]


async def test_the_softphone_calls_hears_sends_keys_and_is_called(live: Any, tmp_path: Path) -> None:
    platform, app, client, port, apps = live
    account = platform.account.account_id
    rest = f"/apiserver/Accounts/{account}"
    made = await client.post(f"{rest}/Calls/WebRTC/Token",
                             json={"to": NUMBER, "from": NUMBER, "uses": 1})
    assert made.status_code == 200, made.text
    mic = _mic_wav(tmp_path / "mic.wav")

    async with playwright_api.async_playwright() as pw:
        browser, page = await _open_phone(pw, tmp_path, port, made.text)
        try:
            # 1. The page calls the number: the greeting is heard, the keypad reaches GetDigits.
            heard = await _call_and_press(page, platform, app, "PCMU")
            call_id = await page.evaluate("document.getElementById('transcript').dataset.callId")
            assert call_id == await _call_id(client, rest)
            await page.evaluate("window.scrollTo(0, 0)")
            folder = Path(os.environ.get("PERCL_SCREENSHOTS") or tempfile.mkdtemp())
            folder.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(folder / SCREENSHOT_NAME), full_page=True)

            # 2. The page registers its browser phone number; an OutDial to it rings the page,
            # and so does a REST call. The page answers both.
            await page.fill("#my-number", BROWSER_NUMBER)
            await page.get_by_role("button", name="Ring me here").click()
            await page.wait_for_function(f"document.getElementById('status').textContent"
                                         f".includes('{BROWSER_NUMBER} ring here')")
            dialer = await client.post(f"{rest}/Calls", json={
                "from": NUMBER, "to": SIM_PHONE, "applicationId": apps["dialer"]})
            assert dialer.status_code in (200, 201, 202), dialer.text
            await _answer_and_hang_up(page, client, rest, parent=dialer.json()["callId"])
            placed = await client.post(f"{rest}/Calls", json={
                "from": NUMBER, "to": BROWSER_NUMBER, "applicationId": apps["callee"]})
            assert placed.status_code in (200, 201, 202), placed.text
            assert await _answer_and_hang_up(page, client, rest) == placed.json()["callId"]
        finally:
            await browser.close()

    # The browser heard the platform's TTS of the greeting ...
    tts = platform.audio_kit.speech(GREETING, None).astype(np.float32) / 32768
    scores = found_in_order(heard, tts)
    # A piece spanning a time-stretch or a lost packet matches less (a loaded machine makes a
    # few); unrelated audio scores about 0.1.
    assert len(scores) >= 8 and np.median(scores) > 0.95 and _share_above(scores, 0.9) >= 0.75, scores
    # ... and the leg received the page's microphone (the sim API's audio endpoint).
    pieces = await _mic_reached(client, call_id, mic)
    assert np.median(pieces) > 0.95 and _share_above(pieces, 0.9) >= 0.75, pieces


async def test_the_softphone_speaks_opus_too(live: Any, tmp_path: Path) -> None:
    platform, app, client, port, _ = live
    rest = f"/apiserver/Accounts/{platform.account.account_id}"
    made = await client.post(f"{rest}/Calls/WebRTC/Token",
                             json={"to": NUMBER, "from": NUMBER, "uses": 1})
    mic = _mic_wav(tmp_path / "mic.wav")
    async with playwright_api.async_playwright() as pw:
        browser, page = await _open_phone(pw, tmp_path, port, made.text)
        try:
            heard = await _call_and_press(page, platform, app, "opus")
            call_id = await page.evaluate("document.getElementById('transcript').dataset.callId")
        finally:
            await browser.close()
    tts = platform.audio_kit.speech(GREETING, None).astype(np.float32) / 32768
    scores = found_in_order(heard, tts)
    pieces = await _mic_reached(client, call_id, mic)
    # Opus keeps speech closer than noise (measured: ~0.95 and ~0.8); unrelated audio is ~0.1.
    assert len(scores) >= 8 and np.median(scores) > 0.85, scores
    assert np.median(pieces) > 0.6, pieces


async def _answer_and_hang_up(page: Any, client: httpx.AsyncClient, rest: str, *,
                              parent: str | None = None) -> str:
    """The page rings, answers and hears the callee's greeting; the call is live (a child of
    `parent` for an OutDial), the page hangs up and the call completes. Returns its id."""
    await page.wait_for_selector("#incoming:not([hidden])")
    await page.get_by_role("button", name="Answer").click()
    await page.wait_for_function(
        "[...document.querySelectorAll('#transcript li[data-type=say]')]"
        f".some(li => li.textContent.includes({CALLEE_SAY[:20]!r}))")
    found = (await client.get(f"{rest}/Calls", params={"to": BROWSER_NUMBER, "active": "true"}))
    [call] = found.json()["calls"]
    assert call["status"] == "inProgress" and call["parentCallId"] == parent and call["webRTC"] is True
    await page.get_by_role("button", name="Hang up").click()
    async with asyncio.timeout(WAIT_S):
        while (await client.get(f"{rest}/Calls/{call['callId']}")).json()["status"] != "completed":
            await asyncio.sleep(0.1)
    return str(call["callId"])


def _share_above(scores: list[float], level: float) -> float:
    return sum(score > level for score in scores) / len(scores)


async def _call_id(client: httpx.AsyncClient, rest: str) -> str:
    calls = (await client.get(f"{rest}/Calls", params={"to": NUMBER})).json()["calls"]
    return str(calls[0]["callId"])
