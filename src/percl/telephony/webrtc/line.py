"""The browser phones: an ExternalLine of the simulated network whose far ends are open /phone pages.

Placing a call: the page's token says from which of the account's numbers (`from`) to which
number (`to`); the call is an inbound call of the network (`line_call`), so `to`'s application
runs as for any caller. Each call spends one of the token's uses.

Being called: a page registers a *browser phone number* while it is open (the page suggests
+15550100 + a few digits; any E.164 number no account owns will do). An OutDial or a REST call
to that number rings every idle page of the calling account registered under it; the first page
to accept takes the call, a decline is heard as busy, no page at all as a failed call. The number
is E.164 so REST `to` and OutDial `destination` take it unchanged (docs/DECISIONS.md).

Each page is one signalling socket (socket.py). The line tells it what happens with `Page.send`
(JSON messages: answer, incoming, answered, ended, transcript, error) and learns what the page
does through `place`, `accept`, `decline`, `press`, `hang_up` and `gone`. While a call lives, the
line sends the page the leg's transcript as it grows (polled every TRANSCRIPT_POLL_S).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, Protocol

from percl.domain.clock import Clock
from percl.domain.phone import is_e164
from percl.engine.ports import DialResult, Store
from percl.runtime.tasks import OwnedTaskGroup, TaskOwner
from percl.telephony.sim.control.wire import render_transcript
from percl.telephony.sim.lines import FarAudio, LineCall
from percl.telephony.sim.model import Transcript
from percl.telephony.sim.network import SimNetwork
from percl.telephony.webrtc.peer import Peer, Spawn
from percl.telephony.webrtc.token import Claims, TokenGate, TokenRefused

log = logging.getLogger(__name__)

TRANSCRIPT_POLL_S = 0.25
KEYS = frozenset("0123456789*#")

#: A JSON message to a page (the socket's wire format; see socket.py).
Message = dict[str, Any]
#: Whose call a call id is (app.py: the engine's sessions, else the store).
CallOwner = Callable[[str], Awaitable[str | None]]


class BrowserPeer(Protocol):
    """What the line needs of a page's peer connection (peer.Peer; tests pass a double)."""

    @property
    def audio(self) -> FarAudio: ...
    @property
    def codec(self) -> str | None: ...
    async def answer(self, offer_sdp: str) -> str:
        """The SDP answer; raises ValueError for an unusable offer."""
        ...
    async def close(self) -> None: ...


#: Makes a page's peer: `spawn` runs its tasks, `on_lost` is called if the browser drops.
PeerFactory = Callable[[Spawn, Callable[[], None]], BrowserPeer]


class LineError(Exception):
    """What the page asked cannot be done; the message says why (sent to the page)."""


@dataclass(eq=False)
class Page:
    """One open /phone page: its verified token and how to reach it."""

    claims: Claims
    send: Callable[[Message], None]
    number: str | None = None  # the browser phone number it registered, if any
    call: BrowserCall | None = None


@dataclass(eq=False)
class BrowserCall:
    """One call of a page: the peer carrying its audio and the leg's handle."""

    page: Page
    peer: BrowserPeer
    call: LineCall | None = None
    call_id: str | None = None
    seen: int = 0  # transcript entries already sent to the page
    over: bool = False


@dataclass(eq=False)
class Ringing:
    """An outbound call of the platform ringing the pages registered under its number."""

    call: LineCall
    pages: list[Page] = field(default_factory=list)


class WebRtcLine(TaskOwner):
    """The "webrtc" external line (see the module docstring). Enter it with `async with`."""

    name = "webrtc"

    def __init__(self, network: SimNetwork, gate: TokenGate, store: Store, clock: Clock, *,
                 call_owner: CallOwner, peers: PeerFactory = Peer) -> None:
        self._network = network
        self._gate = gate
        self._store = store
        self._clock = clock
        self._call_owner = call_owner
        self._peers = peers
        self._group = OwnedTaskGroup("WebRtcLine")
        self._numbers: dict[str, list[Page]] = {}  # browser phone number -> pages registered
        self._calls: dict[str, BrowserCall] = {}  # live calls by call id
        self._ringing: dict[str, Ringing] = {}  # platform calls ringing pages, by call id
        self._open: set[BrowserCall] = set()  # calls whose peer is not closed yet
        # "answered"/"ended" of a leg heard while `line_call` had not yet returned its id (the
        # engine may answer, or the caller's app hang up, while it takes the call).
        self._early: dict[str, str] = {}
        self._placing = 0  # line_call awaits in flight: only then is an unknown id early

    @property
    def gate(self) -> TokenGate:
        return self._gate

    async def _close(self, exc: BaseException | None) -> None:
        """Finish every call and wait until every peer is closed, then stop the line's tasks."""
        for browser_call in list(self._open):
            await self._finish(browser_call)
            await browser_call.peer.close()  # finished meanwhile by a task: wait for its close
        await self._group.close()

    # ------------------------------------------------------------------ what pages do

    async def register(self, page: Page, number: str) -> None:
        """Ring `page` for calls to `number` from now on. Raises LineError for a number that is
        not E.164 or that an account owns (calls to it run that account's application)."""
        if not is_e164(number):
            raise LineError(f"{number!r} is not an E.164 number (e.g. +15550100123)")
        if await self._store.find_number(number) is not None:
            raise LineError(f"{number} is an account's incoming number: pick a number no account "
                            "owns for this browser phone")
        self.unregister(page)
        page.number = number
        self._numbers.setdefault(number, []).append(page)

    def unregister(self, page: Page) -> None:
        if page.number is None:
            return
        pages = self._numbers.get(page.number, [])
        if page in pages:
            pages.remove(page)
        if not pages:
            self._numbers.pop(page.number, None)
        page.number = None

    async def place(self, page: Page, offer_sdp: str) -> None:
        """The page calls its token's `to` from its `from`: answer the offer (sent to the page),
        then bring the call in as an inbound call. Raises LineError (or TokenRefused) when the
        page is on a call, its token has no use left, or the offer is unusable."""
        self._idle(page)
        self._gate.usable(page.claims)
        browser_call = await self._connect(page, offer_sdp)
        claims = page.claims
        try:  # spent once the offer is good; a page racing another with the same token loses
            self._gate.spend(claims)
        except TokenRefused:
            await self._finish(browser_call)
            raise
        self._placing += 1
        try:
            call = await self._network.line_call(self, claims.from_, claims.to,
                                                 browser_call.peer.audio, web_rtc=True)
        except Exception as exc:
            await self._finish(browser_call)
            raise LineError(f"the call to {claims.to} could not be placed: {exc}") from None
        finally:
            self._placing -= 1
        heard = self._early.pop(call.call_id, None)
        if not self._placing:
            self._early.clear()  # legs whose line_call failed: nobody waits for them
        self._started(browser_call, call, outgoing=True)
        if heard == "answered":
            self.answered(call.call_id)
        elif heard == "ended":
            self.ended(call.call_id)

    async def accept(self, page: Page, call_id: str, offer_sdp: str) -> None:
        """The page answers the platform's call `call_id`. Raises LineError when it is no longer
        ringing this page."""
        ringing = self._ringing.get(call_id)
        if ringing is None or page not in ringing.pages:
            raise LineError("that call is no longer ringing here")
        self._idle(page)
        del self._ringing[call_id]
        for other in ringing.pages:
            if other is not page:
                other.send({"type": "ended", "callId": call_id, "reason": "answered elsewhere"})
        browser_call = await self._connect(page, offer_sdp)
        if not ringing.call.live:  # the platform gave up while the page was answering
            await self._finish(browser_call)
            raise LineError("the caller hung up")
        self._started(browser_call, ringing.call, outgoing=False)
        ringing.call.answer(browser_call.peer.audio, web_rtc=True)
        page.send({"type": "answered", "callId": call_id})

    def decline(self, page: Page, call_id: str) -> None:
        """The page declines the ringing call `call_id`; when no page is left ringing, the
        platform hears busy."""
        ringing = self._ringing.get(call_id)
        if ringing is None or page not in ringing.pages:
            return
        ringing.pages.remove(page)
        if not ringing.pages:
            del self._ringing[call_id]
            ringing.call.fail(DialResult.BUSY)

    def press(self, page: Page, digits: str) -> None:
        """The page's keypad: `digits` are played into the leg as DTMF tones. Raises LineError
        for other characters or when no call is answered."""
        if not digits or any(d not in KEYS for d in digits):
            raise LineError(f"keys are 0-9, * and #, not {digits!r}")
        browser_call = page.call
        if browser_call is None or browser_call.call is None:
            raise LineError("no call to send keys to")
        browser_call.call.press(digits)

    def hang_up(self, page: Page) -> None:
        """The page hangs up its call (or declines every call ringing it)."""
        for call_id, ringing in list(self._ringing.items()):
            if page in ringing.pages:
                self.decline(page, call_id)
        browser_call = page.call
        if browser_call is not None and browser_call.call is not None:
            browser_call.call.hang_up()

    def gone(self, page: Page) -> None:
        """The page closed (its socket ended): hang up, stop ringing it."""
        self.hang_up(page)
        self.unregister(page)
        if page.call is not None and page.call.call is None:  # no leg yet: nothing will end it
            self._spawn(self._finish(page.call))

    # ------------------------------------------------------------------ ExternalLine

    def handles(self, to: str) -> bool:
        return to in self._numbers

    async def dial(self, call: LineCall) -> None:
        """Ring the idle pages of the calling account registered under `call.to`."""
        owner = await self._call_owner(call.call_id)
        pages = [p for p in self._numbers.get(call.to, ()) if p.claims.account_id == owner]
        idle = [p for p in pages if p.call is None]
        if not pages:
            call.fail(DialResult.FAILED)  # nobody of this account listens on that number
            return
        call.ringing()  # as the sim's phones: busy is a ring that fails (the engine's table)
        if not idle:
            call.fail(DialResult.BUSY)
            return
        self._ringing[call.call_id] = Ringing(call, idle)
        for page in idle:
            page.send({"type": "incoming", "callId": call.call_id, "from": call.from_,
                       "to": call.to})

    def answered(self, call_id: str) -> None:
        browser_call = self._calls.get(call_id)
        if browser_call is None:
            if self._placing:
                self._early[call_id] = "answered"
            return
        browser_call.page.send({"type": "answered", "callId": call_id})

    def ended(self, call_id: str) -> None:
        ringing = self._ringing.pop(call_id, None)
        if ringing is not None:
            for page in ringing.pages:
                page.send({"type": "ended", "callId": call_id, "reason": "caller hung up"})
        browser_call = self._calls.pop(call_id, None)
        if browser_call is None:
            if ringing is None and self._placing:
                self._early[call_id] = "ended"
            return
        self._spawn(self._finish(browser_call))

    # ------------------------------------------------------------------ internals

    def _idle(self, page: Page) -> None:
        if page.call is not None:
            raise LineError("this page is already on a call: hang up first")

    async def _connect(self, page: Page, offer_sdp: str) -> BrowserCall:
        """A peer for the page's offer; the answer is sent to the page."""
        holder: list[BrowserCall] = []
        peer = self._peers(self._spawn, lambda: self._lost(holder[0]) if holder else None)
        browser_call = BrowserCall(page, peer)
        holder.append(browser_call)
        self._open.add(browser_call)
        page.call = browser_call
        try:
            answer = await peer.answer(offer_sdp)
        except ValueError as exc:
            await self._finish(browser_call)
            raise LineError(str(exc)) from None
        page.send({"type": "answer", "sdp": answer, "codec": peer.codec})
        return browser_call

    def _started(self, browser_call: BrowserCall, call: LineCall, *, outgoing: bool) -> None:
        browser_call.call = call
        browser_call.call_id = call.call_id
        self._calls[call.call_id] = browser_call
        page = browser_call.page
        page.send({"type": "call", "callId": call.call_id, "from": call.from_, "to": call.to,
                   "direction": "outgoing" if outgoing else "incoming",
                   "usesLeft": self._gate.left(page.claims)})
        self._spawn(self._feed(browser_call))

    def _lost(self, browser_call: BrowserCall) -> None:
        """The browser's connection failed: the far end is gone."""
        if browser_call.call is not None:
            browser_call.call.hang_up()

    async def _finish(self, browser_call: BrowserCall) -> None:
        """The call is over: tell the page (with the last of the transcript), close the peer."""
        if browser_call.over:
            return
        browser_call.over = True
        page = browser_call.page
        if page.call is browser_call:
            page.call = None
        if browser_call.call_id is not None:
            self._calls.pop(browser_call.call_id, None)
            self._send_transcript(browser_call)
            page.send({"type": "ended", "callId": browser_call.call_id})
        await browser_call.peer.close()
        self._open.discard(browser_call)

    async def _feed(self, browser_call: BrowserCall) -> None:
        """Send the page the leg's transcript as it grows, until the call is over."""
        while not browser_call.over:
            self._send_transcript(browser_call)
            await self._clock.sleep(TRANSCRIPT_POLL_S)

    def _send_transcript(self, browser_call: BrowserCall) -> None:
        transcript: Transcript | None = None
        if browser_call.call_id is not None:
            transcript = self._network.transcript(browser_call.call_id)
        if transcript is None or len(transcript.entries) <= browser_call.seen:
            return
        body = render_transcript(transcript, since=browser_call.seen)
        browser_call.seen = len(transcript.entries)
        browser_call.page.send({"type": "transcript", **body})

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        self._group.spawn(_guarded(coro))


async def _guarded(coro: Coroutine[Any, Any, None]) -> None:
    """A line task's bug is logged, not allowed to cancel the line's other calls."""
    try:
        await coro
    except Exception:
        log.exception("webrtc line task failed")
