"""`Percl`: the synchronous test kit, for app developers' ordinary (non-async) tests.

    with Percl() as percl:
        number = percl.number_for(flask_app, voice_path="/voice")
        call = percl.phone("+15550100001").calls(number)
        call.expect_say("Press 1 for sales")
        call.press("1")
        call.expect_say(contains="connecting you")

A thin layer over the async Harness, not a second implementation: `Percl` owns an event loop, and
every blocking method runs the Harness's coroutine with `loop.run_until_complete`, then lets the
FakeClock settle. Between calls the loop is idle and time stands still. The platform lives in one
long-lived "host" task on that loop (its TaskGroups need a parent task that outlives each call).

Do not use it inside a running event loop (an async test): use `Harness` there.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Iterable
from types import TracebackType
from typing import Any, TypeVar

import httpx

from percl.config import Settings
from percl.domain.enums import CallEndedReason, CallStatus, PhoneAnswer
from percl.domain.records import Call, LogEntry
from percl.engine.ports import Store
from percl.media.audio.pcm import Pcm
from percl.telephony.sim.model import PhoneStep, TranscriptEntry
from percl.testing.apps import ScriptedApp
from percl.testing.audio import LegAudio
from percl.testing.capture import CapturedWebhook, WebhookLog
from percl.testing.harness import Harness
from percl.testing.legs import AsyncPhoneCall
from percl.testing.phones import AsyncPhone
from percl.testing.sdk import LoopBridge
from percl.testing.transcripts import Matcher, TranscriptView
from percl.webhooks.faults import FaultKind

T = TypeVar("T")


class Percl:
    """A whole percl on a FakeClock, driven from synchronous code. Use as `with Percl() as p:`
    (or call `close()`); the pytest plugin's `percl` fixture does that for you."""

    def __init__(self, *, settings: Settings | None = None, store: Store | None = None,
                 media_time_scale: float = 1.0, media: str | None = None) -> None:
        """See Harness: `media` is "symbolic" or "audio" (None: the session's default)."""
        self._loop = asyncio.new_event_loop()
        self.harness = Harness(settings=settings, store=store, media_time_scale=media_time_scale,
                               media=media)
        self._bridge = LoopBridge(self._loop, settle=self.harness.clock.settle)
        self._stop: asyncio.Future[None] = self._loop.create_future()
        self._host: asyncio.Task[None] | None = None
        self._api: Any = None
        self._closed = False
        try:
            self._loop.run_until_complete(self._start())
        except BaseException:
            self._loop.close()
            raise

    async def _start(self) -> None:
        ready: asyncio.Future[None] = self._loop.create_future()
        self._host = asyncio.create_task(self._hold(ready))
        await asyncio.wait({ready, self._host}, return_when=asyncio.FIRST_COMPLETED)
        if self._host.done():
            self._host.result()  # start-up failed: raise why

    async def _hold(self, ready: asyncio.Future[None]) -> None:
        async with self.harness:
            ready.set_result(None)
            await self._stop

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run one of the Harness's coroutines to completion, then let the clock settle.
        Raises RuntimeError when this Percl is closed or its platform stopped."""
        __tracebackhide__ = True  # a failing expectation points at the test, not the kit
        if self._closed or self._host is None or self._host.done():
            coro.close()
            raise RuntimeError("this Percl is closed (or its platform crashed)")
        return self._bridge.call(coro)

    def close(self) -> None:
        """Stop the platform and close the loop. Idempotent."""
        if self._closed:
            return
        self._closed = True
        try:
            if self._host is not None and not self._stop.done():
                self._stop.set_result(None)
                self._loop.run_until_complete(self._host)
        finally:
            self._loop.run_until_complete(self._loop.shutdown_asyncgens())
            self._loop.run_until_complete(self._loop.shutdown_default_executor())
            self._loop.close()

    def __enter__(self) -> Percl:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    # ------------------------------------------------------------------ apps and setup

    def mount(self, app: Any, base_url: str | None = None, *, threaded: bool = True) -> str:
        """Serve `app` (ASGI, WSGI such as Flask, or the URL of an app running elsewhere) to
        percl's webhooks; returns its base URL (default http://app.test)."""
        return self.harness.mount(app, base_url, threaded=threaded)

    def scripted_app(self, base_url: str = "http://app.test") -> ScriptedApp:
        return self.harness.scripted_app(base_url)

    def url(self, path_or_url: str) -> str:
        return self.harness.url(path_or_url)

    def number_for(self, app: Any = None, *, voice_path: str = "/voice",
                   voice_fallback_path: str | None = None, connect_path: str | None = None,
                   status_path: str | None = None, number: str | None = None) -> str:
        """Buy a number wired to a new application whose URLs point at `app` (mounted first
        if needed); returns the number. See Harness.number_for."""
        return self.run(self.harness.number_for(
            app, voice_path=voice_path, voice_fallback_path=voice_fallback_path,
            connect_path=connect_path, status_path=status_path, number=number))

    def application_for(self, app: Any = None, *, voice_path: str | None = None,
                        voice_fallback_path: str | None = None, connect_path: str | None = None,
                        status_path: str | None = None, alias: str = "test app") -> str:
        """Create an application pointing at `app`; returns its applicationId."""
        return self.run(self.harness.application_for(
            app, voice_path=voice_path, voice_fallback_path=voice_fallback_path,
            connect_path=connect_path, status_path=status_path, alias=alias))

    @property
    def account(self) -> Any:
        """The seed account (account_id, api_key, signing_secret)."""
        return self.harness.account

    # ------------------------------------------------------------------ phones, calls, time

    def phone(self, number: str) -> Phone:
        return Phone(self, self.harness.phone(number))

    def leg(self, call_id: str) -> PhoneCall:
        """The handle of any call by id (e.g. the callId the SDK's make_a_call returned)."""
        return PhoneCall(self, self.harness.leg(call_id))

    def speech(self, text: str, language: str | None = None) -> Pcm:
        """The audio percl plays for a Say of `text` (see Harness.speech)."""
        return self.harness.speech(text, language)

    def say_ms(self, text: str, language: str | None = None) -> int:
        """How long a Say of `text` lasts in this kit's fidelity (see Harness.say_ms)."""
        return self.harness.say_ms(text, language)

    @property
    def now(self) -> float:
        return self.harness.now

    def advance(self, seconds: float) -> None:
        """Move the FakeClock `seconds` forward, running everything due on the way."""
        self.run(self.harness.advance(seconds))

    def wait_for(self, predicate: Callable[[], object], *, within: float = 30.0,
                 message: str | None = None) -> None:
        """Advance the clock until `predicate()` is truthy; AssertionError after `within` s."""
        __tracebackhide__ = True
        self.run(self.harness.wait_for(predicate, within=within, message=message))

    # ------------------------------------------------------------------ observing

    @property
    def webhooks(self) -> WebhookLog:
        """Every webhook exchange; call it to filter: `percl.webhooks(path="/menu")`."""
        return self.harness.webhooks

    def logs(self, call_id: str | None = None) -> list[LogEntry]:
        """The account's log entries, oldest first."""
        return self.run(self.harness.logs(call_id))

    def fault(self, path_or_url: str, kind: FaultKind | str, *, delay_ms: int = 0,
              status: int = 500, body: bytes | None = None, times: int | None = None) -> None:
        """Make the app's URL misbehave; see Harness.fault."""
        self.harness.fault(path_or_url, kind, delay_ms=delay_ms, status=status, body=body,
                           times=times)

    def clear_faults(self, path_or_url: str | None = None) -> None:
        self.harness.clear_faults(path_or_url)

    # ------------------------------------------------------------------ REST

    def freeclimb_api(self, *, account_id: str | None = None, api_key: str | None = None) -> Any:
        """A `freeclimb.DefaultApi` served in-process: for the seed account the same object every
        time, or a new one with other credentials. Usable from the test and from a mounted WSGI
        app's webhook handlers."""
        if account_id is not None or api_key is not None:
            return self.harness.freeclimb_api(self._bridge, account_id=account_id, api_key=api_key)
        if self._api is None:
            self._api = self.harness.freeclimb_api(self._bridge)
        return self._api

    def request(self, method: str, path: str, json: Any = None) -> httpx.Response:
        """A raw REST request (path under /apiserver), authenticated as the seed account."""
        return self.run(self.harness.rest.request(method, path, json=json))


class Phone:
    """A virtual phone (sync). See percl.testing.phones.AsyncPhone for the semantics."""

    def __init__(self, percl: Percl, phone: AsyncPhone) -> None:
        self._p = percl
        self.aphone = phone

    def __repr__(self) -> str:
        return repr(self.aphone)

    @property
    def number(self) -> str:
        return self.aphone.number

    def program(self, answer: PhoneAnswer | str = PhoneAnswer.HUMAN, *, after_ms: int = 1000,
                hangup_after_ms: int | None = None, script: Iterable[PhoneStep] = ()) -> Phone:
        self.aphone.program(answer, after_ms=after_ms, hangup_after_ms=hangup_after_ms,
                            script=script)
        return self

    def reset(self) -> Phone:
        self.aphone.reset()
        return self

    def calls(self, number: str, *script: PhoneStep) -> PhoneCall:
        return PhoneCall(self._p, self._p.run(self.aphone.calls(number, *script)))

    @property
    def legs(self) -> list[PhoneCall]:
        return [PhoneCall(self._p, leg) for leg in self.aphone.legs]

    @property
    def last_call(self) -> PhoneCall | None:
        leg = self.aphone.last_call
        return None if leg is None else PhoneCall(self._p, leg)

    def expect_ring(self, *, within: float = 60.0) -> PhoneCall:
        __tracebackhide__ = True
        return PhoneCall(self._p, self._p.run(self.aphone.expect_ring(within=within)))


class PhoneCall:
    """A call seen from its virtual phone (sync). See AsyncPhoneCall for the semantics."""

    def __init__(self, percl: Percl, call: AsyncPhoneCall) -> None:
        self._p = percl
        self.acall = call

    def __repr__(self) -> str:
        return repr(self.acall)

    @property
    def call_id(self) -> str:
        return self.acall.call_id

    @property
    def transcript(self) -> TranscriptView:
        return self.acall.transcript

    @property
    def record(self) -> Call | None:
        return self.acall.record

    @property
    def status(self) -> CallStatus | None:
        return self.acall.status

    @property
    def ended(self) -> bool:
        return self.acall.ended

    @property
    def webhooks(self) -> list[CapturedWebhook]:
        return self.acall.webhooks

    def audio(self) -> LegAudio:
        """What the phone heard and sent so far, as numpy arrays (see AsyncPhoneCall.audio)."""
        __tracebackhide__ = True
        return self._p.run(self.acall.audio())

    def press(self, digits: str) -> None:
        __tracebackhide__ = True
        self._p.run(self.acall.press(digits))

    def say(self, text: str) -> None:
        __tracebackhide__ = True
        self._p.run(self.acall.say(text))

    def hang_up(self) -> None:
        __tracebackhide__ = True
        self._p.run(self.acall.hang_up())

    def answer(self) -> None:
        __tracebackhide__ = True
        self._p.run(self.acall.answer())

    def decline(self) -> None:
        __tracebackhide__ = True
        self._p.run(self.acall.decline())

    def expect_say(self, text: str | None = None, *, contains: str | None = None,
                   regex: str | None = None, within: float = 30.0,
                   barge_in: bool = False) -> TranscriptEntry:
        __tracebackhide__ = True
        return self._p.run(self.acall.expect_say(text, contains=contains, regex=regex,
                                                 within=within, barge_in=barge_in))

    def expect_play(self, url: str | None = None, *, contains: str | None = None,
                    within: float = 30.0, barge_in: bool = False) -> TranscriptEntry:
        __tracebackhide__ = True
        return self._p.run(self.acall.expect_play(url, contains=contains, within=within,
                                                  barge_in=barge_in))

    def expect_tones(self, digits: str | None = None, *, within: float = 30.0) -> TranscriptEntry:
        __tracebackhide__ = True
        return self._p.run(self.acall.expect_tones(digits, within=within))

    def expect(self, matcher: Matcher, *, within: float = 30.0,
               barge_in: bool = True) -> TranscriptEntry:
        __tracebackhide__ = True
        return self._p.run(self.acall.expect(matcher, within=within, barge_in=barge_in))

    def expect_status(self, status: CallStatus | str, *, within: float = 60.0) -> Call:
        __tracebackhide__ = True
        return self._p.run(self.acall.expect_status(status, within=within))

    def expect_hangup(self, *, reason: CallEndedReason | str | None = None,
                      within: float = 60.0) -> Call:
        __tracebackhide__ = True
        return self._p.run(self.acall.expect_hangup(reason=reason, within=within))

    def explain(self, headline: str) -> str:
        return self.acall.explain(headline)
