"""An in-process percl for tests: FakeClock, deterministic ids, in-memory store, apps in-process.

The async half of the test kit (percl.testing.sync.Percl is the synchronous facade over it):

    async with Harness() as h:
        number = await h.number_for(my_asgi_app, voice_path="/voice")   # app mounted in-process
        call = await h.phone("+15550100001").calls(number)
        await call.expect_say("Hi")
        await call.expect_hangup()
        assert h.webhooks(path="/voice")[0].verify_signature()

Every webhook percl sends is captured in `h.webhooks` (request, headers, the app's answer, clock
latency). `h.fault("/voice", "timeout")` makes a URL misbehave. The REST API and the sim API are
reachable in-process through `h.rest` / `h.sim_rest` (httpx). Lower-level helpers from part 1
(`scripted_app`, `number_for_app`, `sim_call`, `run_until_ended`) stay for percl's own tests.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any, TypeVar

import httpx

from percl.app import Platform
from percl.config import MediaFidelity, Settings, resolve_media
from percl.domain import ids as idmod
from percl.domain.ids import SequentialIds
from percl.domain.records import Application, Call, IncomingNumber, LogEntry, Recording
from percl.engine.ports import LogFilter, RecordingQuery, Store
from percl.media.audio.pcm import Pcm
from percl.store.memory import MemoryStore
from percl.telephony.sim.media_model import MediaModel
from percl.telephony.sim.model import PhoneStep
from percl.testing.apps import AppMounts, PerclAnswer, ScriptedApp
from percl.testing.book import ObservedStore, RecordBook
from percl.testing.capture import CapturedWebhook, RecordingTransport, WebhookLog
from percl.testing.clock import FakeClock
from percl.testing.fidelity import default_media
from percl.testing.legs import AsyncPhoneCall
from percl.testing.phones import AsyncPhone
from percl.testing.sdk import InProcessPoolManager, LoopBridge, freeclimb_api
from percl.webhooks.faults import Fault, FaultInjector, FaultKind
from percl.webhooks.inprocess import AsgiTransport, RoutingTransport

T = TypeVar("T")

__all__ = ["CapturedWebhook", "Harness", "PerclAnswer", "RecordingTransport", "ScriptedApp"]

REST_BASE = "http://percl.test/apiserver"
SIM_BASE = "http://percl.test/sim/v1"


class Harness:
    """A whole percl in one event loop, driven by a FakeClock. Use as `async with Harness():`.

    Webhooks flow: dispatcher -> the platform's fault injector -> the webhook log -> the kit's
    fault injector (`fault()`) -> the app mounted for the URL (refused when none is).
    """

    def __init__(self, *, settings: Settings | None = None, store: Store | None = None,
                 media_time_scale: float = 1.0, media: str | None = None) -> None:
        """`store`: default a fresh MemoryStore (fast, gone with the harness; `settings.db` is not
        consulted); pass e.g. `SqliteStore.for_path(file)` to test what survives a restart.

        `media`: "symbolic" or "audio" (real frames: slower; a leg's audio is then readable, see
        `AsyncPhoneCall.audio`); None: the session's default (percl.testing.fidelity), which is
        symbolic unless `--percl-media` or `@pytest.mark.percl_media` says otherwise. The kit's
        fidelity is this, never `settings.media`. A media time scale other than 1 makes the
        default symbolic and is refused with "audio" (ConfigError)."""
        self.clock = FakeClock()
        self.ids = SequentialIds()
        base = settings or Settings(db=":memory:", media_time_scale=media_time_scale)
        fidelity = resolve_media(media, base.media_time_scale, default_media())
        self.settings = dataclasses.replace(base, media=fidelity)
        self.book = RecordBook()
        self.router = RoutingTransport()
        self.mounts = AppMounts(self.router, self.clock.tracker)
        self.faults = FaultInjector(self.router, self.clock)
        self.recorder = RecordingTransport(self.faults, self.clock, self._signing_secret)
        raw_store: Store = store or MemoryStore()
        self.store: Any = ObservedStore(raw_store, self.clock.tracker, self.book)
        self.platform = Platform(self.settings, clock=self.clock, ids=self.ids, store=self.store,
                                 transport=self.recorder, probe_media=False,
                                 tracker=self.clock.tracker)
        self.platform.recordings.offload = self._tracked  # recordings render in threads
        self.loop: asyncio.AbstractEventLoop | None = None
        self._clients: dict[str, httpx.AsyncClient] = {}
        self._phones: dict[str, AsyncPhone] = {}
        self._legs: dict[str, AsyncPhoneCall] = {}
        self._pools: list[InProcessPoolManager] = []

    async def _tracked(self, work: Callable[[], T]) -> T:
        """Blocking work in a thread that the FakeClock waits for (it settles only when done)."""
        with self.clock.tracker.working():
            return await asyncio.to_thread(work)

    async def __aenter__(self) -> Harness:
        self.loop = asyncio.get_running_loop()
        await self.platform.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:  # the platform first: ending calls still send webhooks, and apps may call REST
            await self.platform.__aexit__(exc_type, exc, tb)
        finally:
            for client in self._clients.values():
                await client.aclose()
            for pool in self._pools:
                await pool.aclose()
            await self.mounts.close()

    # ------------------------------------------------------------------ apps

    def mount(self, app: Any, base_url: str | None = None, *, threaded: bool = True) -> str:
        """Serve `app` (ASGI, WSGI, or a URL string for an app running elsewhere) at `base_url`
        (default `http://app.test`, then app2.test ...); returns the base URL. See apps.py."""
        return self.mounts.mount(app, base_url, threaded=threaded)

    def scripted_app(self, base_url: str = "http://app.test") -> ScriptedApp:
        """A programmable FreeClimb app (path -> PerCL) mounted at `base_url`."""
        app = ScriptedApp(base_url)
        self.mounts.mount(app)
        return app

    def mount_asgi(self, base_url: str, app: Any) -> None:
        self.router.mount(base_url.rstrip("/") + "/", AsgiTransport(app))

    def url(self, path_or_url: str) -> str:
        """An absolute URL for `path_or_url` (a path resolves against the first mounted app)."""
        return self.mounts.resolve(path_or_url)

    @property
    def media(self) -> MediaFidelity:
        """The media fidelity the simulated network runs in ("audio" or "symbolic")."""
        return self.platform.media

    @property
    def webhooks(self) -> WebhookLog:
        """Every webhook exchange so far; call it to filter: `h.webhooks(path="/menu")`."""
        return self.recorder.log

    def webhooks_for(self, call_id: str) -> list[CapturedWebhook]:
        return self.recorder.log(call_id=call_id)

    # ------------------------------------------------------------------ faults

    def fault(self, path_or_url: str, kind: FaultKind | str, *, delay_ms: int = 0,
              status: int = 500, body: bytes | None = None, times: int | None = None) -> None:
        """Make webhooks to URLs starting with `path_or_url` misbehave: "slow" (answer after
        `delay_ms` of clock time), "timeout" (never answer), "error" (HTTP `status`), "garbage"
        (200 with `body`), "refuse" (connection refused). `times`: only the next n requests.
        Raises ValueError for an unknown kind."""
        try:
            fault_kind = FaultKind(kind)
        except ValueError:
            names = ", ".join(k.value for k in FaultKind)
            raise ValueError(f"unknown fault {kind!r}: use one of {names}") from None
        extra = {} if body is None else {"body": body}
        self.faults.inject(self.url(path_or_url),
                           Fault(fault_kind, delay_ms=delay_ms, status=status, times=times, **extra))

    def clear_faults(self, path_or_url: str | None = None) -> None:
        """Remove the fault set for exactly `path_or_url`, or all of them."""
        self.faults.clear(None if path_or_url is None else self.url(path_or_url))

    # ------------------------------------------------------------------ setup through the REST API

    @property
    def account(self) -> Any:
        return self.platform.account

    def _signing_secret(self, account_id: str) -> str | None:
        """For CapturedWebhook.verify_signature: accounts written while the kit ran, else the
        seed account (which a reused database may hold from an earlier run)."""
        seed = self.platform.seed
        if seed is not None and seed.account.account_id == account_id:
            return str(seed.account.signing_secret)
        return self.book.signing_secret(account_id)

    async def application_for(self, app: Any = None, *, voice_path: str | None = None,
                              voice_fallback_path: str | None = None,
                              connect_path: str | None = None, status_path: str | None = None,
                              alias: str = "test app") -> str:
        """Create an application (POST /Applications) whose URLs point at `app` (mounted first if
        needed; None = the first mounted app); returns its applicationId."""
        base = self.mounts.base_of(app)
        paths = {"voiceUrl": voice_path, "voiceFallbackUrl": voice_fallback_path,
                 "callConnectUrl": connect_path, "statusCallbackUrl": status_path}
        fields = {key: base + path for key, path in paths.items() if path is not None}
        created = await self._rest_json("POST", f"/Accounts/{self.account.account_id}/Applications",
                                        {"alias": alias, **fields})
        return str(created["applicationId"])

    async def number_for(self, app: Any = None, *, voice_path: str = "/voice",
                         voice_fallback_path: str | None = None, connect_path: str | None = None,
                         status_path: str | None = None, number: str | None = None) -> str:
        """Buy a number wired to a new application for `app` (see `application_for`), through
        the REST API as a developer would; returns the number. `number`: a particular one from
        /AvailablePhoneNumbers (default: the first on sale)."""
        application_id = await self.application_for(
            app, voice_path=voice_path, voice_fallback_path=voice_fallback_path,
            connect_path=connect_path, status_path=status_path)
        if number is None:
            available = await self._rest_json("GET", "/AvailablePhoneNumbers", None)
            number = str(available["availablePhoneNumbers"][0]["phoneNumber"])
        await self._rest_json("POST", f"/Accounts/{self.account.account_id}/IncomingPhoneNumbers",
                              {"phoneNumber": number, "applicationId": application_id})
        return number

    async def _rest_json(self, method: str, path: str, body: dict[str, Any] | None) -> Any:
        response = await self.rest.request(method, path, json=body)
        if response.status_code >= 300:
            raise RuntimeError(f"{method} {path} answered {response.status_code}: {response.text}")
        await self.clock.settle()
        return response.json()

    async def create_application(self, **urls: str | None) -> Application:
        """A new application of the seed account written to the store; `urls` are Application
        fields (voice_url=...)."""
        now = self.clock.now()
        app = Application(application_id=self.ids.new(idmod.APPLICATION),
                          account_id=self.account.account_id, date_created=now,
                          date_updated=now)
        app = dataclasses.replace(app, **urls)  # type: ignore[arg-type]
        await self.store.put_application(app)
        return app

    async def number_for_app(self, number: str = "+13125550100", **urls: str | None) -> str:
        """Write `number` to the store, wired to a new application with `urls`."""
        app = await self.create_application(**urls)
        now = self.clock.now()
        await self.store.put_number(IncomingNumber(
            phone_number_id=self.ids.new(idmod.PHONE_NUMBER), account_id=self.account.account_id,
            phone_number=number, application_id=app.application_id, region="IL", country="US",
            date_created=now, date_updated=now))
        return number

    # ------------------------------------------------------------------ phones and calls

    def phone(self, number: str) -> AsyncPhone:
        """The virtual phone `number` (the same handle every time)."""
        if number not in self._phones:
            self._phones[number] = AsyncPhone(self, number)
        return self._phones[number]

    def leg(self, call_id: str) -> AsyncPhoneCall:
        """The handle of call `call_id` (the same handle, and expectation cursor, every time)."""
        if call_id not in self._legs:
            self._legs[call_id] = AsyncPhoneCall(self, call_id)
        return self._legs[call_id]

    async def sim_call(self, from_: str, to: str, script: Sequence[PhoneStep] = ()) -> str:
        call_id = await self.platform.sim.place_call(from_, to, script)
        await self.clock.settle()
        return call_id

    async def call(self, call_id: str) -> Call:
        call: Call | None = await self.store.get_call(call_id)
        assert call is not None, f"no call {call_id}"
        return call

    async def logs(self, call_id: str | None = None) -> list[LogEntry]:
        """The account's log (every webhook attempt, every call error), oldest first."""
        found = await self.store.list_logs(self.account.account_id, LogFilter(call_id=call_id))
        return list(reversed(found))

    # ------------------------------------------------------------------ time

    @property
    def now(self) -> float:
        return self.clock.now()

    async def advance(self, seconds: float) -> None:
        await self.clock.advance(seconds)

    async def run_until(self, condition: Callable[[], object], within: float) -> bool:
        """Advance from timer to timer until `condition()` is truthy; True if it became so.
        Otherwise the clock ends `within` seconds later, or earlier when nothing at all is left
        to happen (no timer pending): a failed wait then shows how long it really waited."""
        started = self.clock.now()
        if await self.clock.run_until(lambda: bool(condition()), limit_s=within):
            return True
        if self.clock.next_deadline() is not None:
            await self.clock.advance(max(0.0, started + within - self.clock.now()))
        return bool(condition())

    async def wait_for(self, predicate: Callable[[], object], *, within: float = 30.0,
                       message: str | None = None) -> None:
        """Advance the clock from timer to timer until `predicate()` is truthy. Raises
        AssertionError (with `message` and the webhook log) when `within` seconds pass or
        nothing is left to happen first."""
        __tracebackhide__ = True  # a failing expectation points at the test, not the kit
        started = self.clock.now()
        if await self.run_until(predicate, within):
            return
        waited = self.clock.now() - started
        raise AssertionError(f"{message or 'condition not met'} (waited {waited:.2f} s of "
                             f"clock time, limit {within:g} s)\nWebhooks:\n{self.webhooks.describe()}")

    async def run_until_ended(self, call_id: str, limit_s: float = 3600) -> Call:
        """Advance time until the call is final; fails if it is still live after `limit_s`."""
        live = self.platform.calls.sessions
        ok = await self.clock.run_until(lambda: call_id not in live, limit_s=limit_s)
        call = await self.call(call_id)
        assert ok and call.status.is_final, f"call {call_id} still {call.status} after {limit_s}s"
        return call

    def speech(self, text: str, language: str | None = None) -> Pcm:
        """The audio percl plays for a Say of `text` (8 kHz int16), from the same engine and
        cache as the platform's in audio fidelity: to find a prompt in `call.audio()` with
        `LegAudio.offset_of`."""
        kit = self.platform.audio_kit
        if kit is not None:
            return kit.speech(text, language)
        from percl.media.tts import default_synthesizer  # a symbolic kit has not loaded it

        return default_synthesizer().synthesize(text, language).pcm

    def say_ms(self, text: str, language: str | None = None) -> int:
        """How long a Say of `text` lasts in this kit's fidelity: symbolic, the modelled length
        (words at 150 a minute + 300 ms); audio, the TTS audio's, in whole 20 ms frames. For
        flow tests that time a phone's script after a prompt in either fidelity."""
        if self.media == "audio":
            return -(-len(self.speech(text, language)) // 160) * 20
        model = MediaModel(self.settings.media_time_scale)
        return round(model.say_seconds(text) * 1000)

    async def recordings(self, call_id: str) -> list[Recording]:
        """The call's recordings (RecordUtterance, StartRecordCall), oldest first."""
        found = await self.platform.store.list_recordings(RecordingQuery(call_id=call_id))
        return list(reversed(found))

    def recording_wav(self, recording_id: str) -> bytes:
        """A recording's WAV file (8 kHz 16-bit mono); KeyError when it has none."""
        file = self.platform.recording_files.open(recording_id)
        if file is None:
            raise KeyError(recording_id)
        with file:
            return file.read()

    def recording_words(self, recording: Recording) -> list[str]:
        """What the caller said while `recording` (of a call) ran, from the symbolic network's
        transcript: the words the recording's audio speaks. The take ended when it was saved
        (`date_created`, on the FakeClock no time passes while it renders) and lasted
        `duration_ms`."""
        assert recording.call_id is not None, "a conference's recording has no one caller"
        transcript = self.transcript(recording.call_id)
        end_ms = round(recording.date_created * 1000) - transcript.created_ms
        start_ms = end_ms - recording.duration_ms
        return [e.text for e in transcript.entries
                if e.type == "said" and start_ms <= e.at_ms <= end_ms and e.text]

    def recording_heard(self, recording: Recording, phrases: Sequence[str]) -> list[str]:
        """Which of `phrases` the recording holds, in the order said: "the voicemail contains
        'call me back'" is `"call me back" in h.recording_heard(rec, ["call me back", ...])`.

        Symbolic fidelity: the words said while it ran (`recording_words`) that are among
        `phrases`. Audio: each stretch of sound in the recording's WAV decoded by pocketsphinx
        against a grammar of exactly `phrases` (grammar-constrained: it picks the closest, so
        list what else might have been said; free-form decoding is too poor to assert on)."""
        if self.media != "audio":
            return [w for w in self.recording_words(recording) if w in phrases]
        from percl.media.asr import default_recognizer  # pocketsphinx: audio kits only
        from percl.media.audio.wav import read_wav
        from percl.testing.audio import utterances

        [pcm], _ = read_wav(self.recording_wav(recording.recording_id))
        decoder = default_recognizer()
        heard = [decoder.transcribe(part, list(phrases)).text for part in utterances(pcm)]
        return [text for text in heard if text in phrases]

    def transcript(self, call_id: str) -> Any:
        return self.platform.sim.transcript(call_id)

    # ------------------------------------------------------------------ HTTP clients

    def _client(self, base: str) -> httpx.AsyncClient:
        if base not in self._clients:
            acc = self.account
            token = base64.b64encode(f"{acc.account_id}:{acc.api_key}".encode()).decode()
            self._clients[base] = httpx.AsyncClient(
                transport=httpx.ASGITransport(app=self.platform.asgi), base_url=base,
                headers={"Authorization": f"Basic {token}"})
        return self._clients[base]

    @property
    def rest(self) -> httpx.AsyncClient:
        """The REST API at /apiserver, authenticated as the seed account."""
        return self._client(REST_BASE)

    @property
    def sim_rest(self) -> httpx.AsyncClient:
        return self._client(SIM_BASE)

    def freeclimb_api(self, bridge: LoopBridge | None = None, *, account_id: str | None = None,
                      api_key: str | None = None) -> Any:
        """A `freeclimb.DefaultApi` (the official SDK) whose requests reach this platform
        in-process; default credentials: the seed account. The SDK blocks, so from async code
        call it in a thread: `await asyncio.to_thread(api.get_a_call, call_id)`. Raises
        ImportError without the `freeclimb` package, RuntimeError before the harness started."""
        if self.loop is None:
            raise RuntimeError("the harness has not started: use it inside `async with`")
        pool = InProcessPoolManager(self.platform.asgi, bridge or LoopBridge(self.loop))
        self._pools.append(pool)
        return freeclimb_api(pool, account_id or self.account.account_id,
                             api_key or self.account.api_key)
