"""The composition root: Settings -> adapters -> engine -> ASGI apps.

This is the only module that imports every layer. `Platform` owns the lifetimes: the store opens
first and closes last; the call service closes before the network and the webhook transport, so
ending calls can still send their final webhooks.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.routing import Mount

from percl.api import ApiDeps, create_api
from percl.api.auth import authenticate
from percl.api.campaign_registry import CampaignRegistry
from percl.api.export_jobs import ExportJobs
from percl.api.guard import FailureLimiter, RequestGuard
from percl.api.ratelimit import RateLimitMiddleware
from percl.config import (
    IN_MEMORY_DBS,
    MEMORY_DB,
    MediaFidelity,
    SeedAccount,
    Settings,
    is_postgres,
    resolve_media,
)
from percl.console.app import ConsoleDeps, console_routes
from percl.console.home import HomeInfo
from percl.console.live import CallFeed
from percl.console.phone import phone_routes
from percl.console.session import Sessions
from percl.domain import ids as idmod
from percl.domain.clock import Clock
from percl.domain.ids import IdGenerator, RandomIds
from percl.domain.records import Account, revised
from percl.engine.audiostream import AudioStreamService
from percl.engine.calls import CallService
from percl.engine.conference import ConferenceService
from percl.engine.context import EngineContext
from percl.engine.knowledge import KnowledgeBases
from percl.engine.logs import LogRetention, StoreLogSink
from percl.engine.messaging import MessagingService, MessagingSettings
from percl.engine.park import ParkService
from percl.engine.ports import Bus, Leases, LogObserver, Store
from percl.engine.queue import QueueService
from percl.engine.recordings import OwnRecordingsFetcher, RecordingLibrary, RecordingSettings
from percl.engine.session.recording import RecordingService
from percl.engine.session.transcription import TranscribeRunner
from percl.engine.workers.cluster import Cluster
from percl.errors import ConfigError
from percl.media.grammar.port import GrammarRecognizer
from percl.media.kit import MediaKit, WorkCounter, default_kit
from percl.media.probe import WavProbe
from percl.media.recording import WavRecorder
from percl.media.transcribe import transcriber_for
from percl.runtime.clock import SystemClock
from percl.simapi import SimApiDeps, create_sim_api
from percl.store import migrations
from percl.store.export_files import DirectoryExportFiles
from percl.store.knowledge_files import FolderKnowledge
from percl.store.memory import MemoryStore
from percl.store.migrations import SchemaState as SchemaState  # for the CLI (`percl db`)
from percl.store.natsbus import NatsBus
from percl.store.pgbus import PostgresBus
from percl.store.postgres import PostgresStore, async_url
from percl.store.recording_files import DirectoryRecordingFiles
from percl.store.sqlite import SqliteStore
from percl.streaming.connector import Connector, stream_settings
from percl.streaming.pacing import InFlight
from percl.telephony.sim.control import NetworkControl
from percl.telephony.sim.network import SimNetwork
from percl.telephony.sip.config import SipConfig, load_sip_config
from percl.telephony.sip.line import SipLine, trunk_credentials
from percl.telephony.webrtc import TokenGate, WebRtcLine, offer_addresses, webrtc_routes
from percl.webhooks.aiohttp_transport import AiohttpTransport
from percl.webhooks.dispatcher import WebhookDispatcher
from percl.webhooks.faults import FaultInjector
from percl.webhooks.fetch import TransportFetcher
from percl.webhooks.replay import TransportReplayer
from percl.webhooks.transport import WebhookTransport

#: The sim API's own documentation stays public (docs/DECISIONS.md): it describes routes only.
SIM_PUBLIC_PATHS = ("/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json")
#: The web console's sessions (console/session.py): idle lifetime and how many are kept.
CONSOLE_IDLE_S = 12 * 3600
CONSOLE_MAX_SESSIONS = 1000


def export_files_for(settings: Settings, *, store_given: bool) -> DirectoryExportFiles:
    """Where exports are written: PERCL_EXPORTS_DIR, else `exports/` beside the database file;
    a temporary folder when the database is in memory or the caller brought its own store."""
    if settings.exports_dir:
        return DirectoryExportFiles(Path(settings.exports_dir).expanduser())
    if store_given or settings.db in IN_MEMORY_DBS:
        return DirectoryExportFiles(None)
    if is_postgres(settings.db):  # no database file to sit beside
        return DirectoryExportFiles(Path("var/exports").resolve())
    return DirectoryExportFiles(Path(settings.db).expanduser().resolve().parent / "exports")


def recording_files_for(settings: Settings, *, store_given: bool) -> DirectoryRecordingFiles:
    """Where recordings are kept: PERCL_RECORDINGS_DIR, else `recordings/` beside the database
    file; a temporary folder when the database is in memory or the caller brought its own store."""
    if settings.recordings_dir:
        return DirectoryRecordingFiles(Path(settings.recordings_dir).expanduser())
    if store_given or settings.db in IN_MEMORY_DBS:
        return DirectoryRecordingFiles(None)
    if is_postgres(settings.db):
        return DirectoryRecordingFiles(Path("var/recordings").resolve())
    return DirectoryRecordingFiles(Path(settings.db).expanduser().resolve().parent / "recordings")


def campaigns_from(path: str, now: float) -> CampaignRegistry:
    """The campaign registry in the JSON file `path` (empty when ""). Raises ConfigError naming
    the file and what is wrong with it."""
    if not path:
        return CampaignRegistry.empty()
    file = Path(path).expanduser()
    try:
        document = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"PERCL_CAMPAIGNS_FILE={path!r}: cannot read it as JSON: {exc}") from None
    try:
        return CampaignRegistry.from_document(document, loaded_at=now)
    except ConfigError as exc:
        raise ConfigError(f"PERCL_CAMPAIGNS_FILE={path!r}: {exc}") from None


def store_for(db: str) -> Store:
    """The store PERCL_DB names: MemoryStore for "memory://" (nothing survives a restart),
    PostgreSQL for a "postgresql://..." URL, otherwise SQLite on that file (or SQLite's own
    ":memory:")."""
    if db == MEMORY_DB:
        return MemoryStore()
    if is_postgres(db):
        return PostgresStore(db)
    return SqliteStore.for_path(db)


async def schema_state_for(db: str) -> SchemaState | None:
    """What PERCL_DB's database records about its schema (store/migrations/), read without
    changing anything: None for memory://, ":memory:" and an SQLite file that does not exist."""
    if db in IN_MEMORY_DBS:
        return None
    if is_postgres(db):
        return await migrations.read_state(async_url(db))
    file = Path(db).expanduser()
    if not file.exists():
        return None
    return await migrations.read_state(f"sqlite+aiosqlite:///{file.resolve()}", db)


def schema_head() -> str:
    """The newest schema revision this percl knows."""
    return migrations.head()


def cluster_for(settings: Settings, store: Store, clock: Clock,
                bus: Bus | None = None) -> Cluster | None:
    """This worker's Cluster when the database is PostgreSQL (another worker or machine may
    share it: leases in the store, the bus on LISTEN/NOTIFY or on NATS with PERCL_BUS, unless
    `bus` is given: a test's workers in one process); None otherwise (one worker)."""
    # The SQL store's leases (`getattr`: a test kit's wrapper around the store passes it on).
    leases: Leases | None = getattr(store, "leases", None)
    if not is_postgres(settings.db) or leases is None:
        return None
    if bus is None:
        bus = NatsBus(settings.bus) if settings.bus else PostgresBus(settings.db, clock)
    cluster = Cluster(leases, bus, clock, settings.cluster,
                      limits=getattr(store, "limits", None))  # live calls, pacing, REST rate
    # The store's cache of accounts, applications and numbers: changes told to the others.
    store.on_cached_change(cluster.cached_changed)  # type: ignore[attr-defined]
    cluster.on_peer_change(store.invalidate_cache)  # type: ignore[attr-defined]
    return cluster


@dataclass(frozen=True, slots=True)
class SeedResult:
    account: Account
    created: bool


class Platform:
    """One running percl: store, simulated network, webhook dispatcher, call engine, ASGI apps.

    Use as `async with Platform(settings) as p:`; `p.asgi` serves /apiserver and /sim/v1 (and
    / and /healthz). Tests pass their own clock, ids, store and transport (see percl.testing);
    `log_observers` see every account log line (`percl serve`'s console).
    """

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock | None = None,
        ids: IdGenerator | None = None,
        store: Store | None = None,
        transport: WebhookTransport | None = None,
        probe_media: bool = True,
        log_observers: Sequence[LogObserver] = (),
        credentials_hint: str | None = None,
        tracker: WorkCounter | None = None,
        bus: Bus | None = None,
        sip: SipConfig | None = None,
    ) -> None:
        """`tracker`: counts the audio work done in worker threads (the test kit passes its
        FakeClock's, so `settle()` waits for it). Raises ConfigError for audio media with a
        media time scale other than 1."""
        self.settings = settings
        self.media = resolve_media(settings.media, settings.media_time_scale)
        self.audio_kit: MediaKit | None = None  # the engines of audio media (_audio_options)
        self.clock: Clock = clock or SystemClock()
        self.ids: IdGenerator = ids or RandomIds()
        self.store: Store = store or store_for(settings.db)
        self.transport: WebhookTransport = transport or AiohttpTransport(
            ca_file=settings.webhook_ca_file)
        self.logs = StoreLogSink(self.store, self.clock, log_observers, retention=LogRetention(
            max_age_days=settings.log_max_age_days, max_lines=settings.log_max_lines))
        # The console's live pages (console/live.py): it observes the log while a page is open.
        self.console_feed = CallFeed(self.logs)
        # Every webhook passes the fault injector (a no-op without rules or #percl-fault=...).
        self.faults = FaultInjector(self.transport, self.clock, logs=self.logs)
        self.webhooks = WebhookDispatcher(
            self.faults, self.logs, self.clock,
            timeout_s=settings.webhook_timeout_ms / 1000, ids=self.ids,
            max_answer_bytes=settings.caps.max_answer_bytes,
        )
        self.recording_files = recording_files_for(settings, store_given=store is not None)
        self.recordings = RecordingLibrary(
            self.store, self.recording_files, self.clock, self.ids,
            RecordingSettings(retention_days=settings.recording_retention_days))
        # Grammar and media files: the same transport (faults included), timeout and clock;
        # percl's own recordingUrls (a voicemail played back) are read in-process: over REST
        # they need the account's credentials (docs/DECISIONS.md, issue 13).
        self.fetcher = OwnRecordingsFetcher(
            TransportFetcher(self.faults, self.clock, timeout_s=settings.webhook_timeout_ms / 1000,
                             max_bytes=settings.caps.max_grammar_bytes),
            self.recordings, f"{settings.base_url}/apiserver")
        # Play lasts as long as the file really does (its head fetched by GET); tests use the
        # fixed model.
        self.media_probe = (WavProbe(self.fetcher, max_play_bytes=settings.caps.max_play_bytes)
                            if probe_media else None)
        self.sim = SimNetwork(self.clock, self.ids, media_time_scale=settings.media_time_scale,
                              media_duration=self.media_probe, call_owner=self._call_owner,
                              **self._audio_options(tracker))
        # One context for every engine service; services register their PerCL runners in it.
        self.engine = EngineContext(
            store=self.store, clock=self.clock, ids=self.ids, telephony=self.sim,
            webhooks=self.webhooks, logs=self.logs, settings=settings.engine,
            fetcher=self.fetcher,
            recognizer=GrammarRecognizer(),  # GetSpeech grammars (engine/grammars.py fetches)
        )
        # Several workers on one PostgreSQL (issue 19); None for one worker: no lease, no bus.
        self.cluster = cluster_for(settings, self.store, self.clock, bus)
        self.calls = CallService(self.engine, self.cluster)
        self.sim.set_inbound_handler(self.calls)
        self.webrtc = self._webrtc_line(settings)
        self.sip_line = self._sip_line(sip)
        self.queues = QueueService(self.engine, self.calls.sessions, cluster=self.cluster,
                                   hand_over=self.calls.hand_over)
        self.conferences = ConferenceService(self.engine, self.calls.sessions, self.cluster,
                                             hand_over=self.calls.hand_over)
        self.campaigns = campaigns_from(settings.campaigns_file, self.clock.now())
        self.messages = MessagingService(  # registers the Sms runner
            self.engine, MessagingSettings(campaign_required=settings.sms_require_campaign),
            has_campaign=lambda number: self.campaigns.campaign_of(number) is not None)
        self.parking = ParkService(self.engine)  # registers Park, Unpark
        # AudioStream (issue 14): gRPC or WebSocket agents. With the test kit's tracker, the
        # kit's in-process agents keep the FakeClock in step with their messages (pacing.py).
        self.streaming = Connector(self.clock, stream_settings(settings.audiostream),
                                   ca_file=settings.audiostream.ca_file,
                                   inflight=InFlight(tracker) if tracker is not None else None)
        self.audio_streams = AudioStreamService(self.engine, self.streaming)  # registers AudioStream
        self.export_files = export_files_for(settings, store_given=store is not None)
        self.exports = ExportJobs(self.store, self.clock, self.export_files)
        # Registers RecordUtterance and StartRecordCall; recordingUrl is the REST Download URL.
        self.recording = RecordingService(self.engine, self.recordings, WavRecorder(self.clock),
                                          f"{settings.base_url}/apiserver",
                                          settings.privacy_recording_minutes * 60)
        # Registers TranscribeUtterance: pocketsphinx offline, or PERCL_TRANSCRIBE_URL's engine.
        self.transcriber = transcriber_for(
            settings.transcribe_url, settings.transcribe_model, settings.transcribe_api_key,
            offload=lambda work: self.recordings.offload(work))
        self.transcribing = TranscribeRunner(self.recording, self.transcriber)
        self.api = self._rest_api(settings)
        control = NetworkControl(self.sim, self.store, leg_audio=self.sim.leg_audio)
        self.sim_api = create_sim_api(SimApiDeps(store=self.store, sim=control,
                                                 faults=self.faults, messages=self.messages,
                                                 owners=self.cluster))
        self.asgi = self._guarded_apps(settings, credentials_hint)
        self.seed: SeedResult | None = None
        self.recovered = 0
        self.db_created = False
        self._stack: AsyncExitStack | None = None

    def _audio_options(self, tracker: WorkCounter | None) -> dict[str, Any]:
        """SimNetwork's audio arguments: none for symbolic media, else the fidelity, the kit of
        engines (`audio_kit`) and the tracker."""
        if self.media is MediaFidelity.SYMBOLIC:
            return {"media": str(self.media)}
        self.audio_kit = default_kit(self.fetcher, self.clock, tracker=tracker,
                                     max_file_bytes=self.settings.caps.max_play_bytes)
        return {"media": str(self.media), "audio_kit": self.audio_kit, "tracker": tracker}

    def _webrtc_line(self, settings: Settings) -> WebRtcLine | None:
        """The browser phones' line (telephony/webrtc): audio fidelity only."""
        if self.media is MediaFidelity.SYMBOLIC:
            return None
        offer_addresses(settings.webrtc_addresses)
        line = WebRtcLine(self.sim, TokenGate(self.store, self.clock), self.store, self.clock,
                          call_owner=self._call_owner)
        self.sim.add_line(line)
        return line
    def _sip_line(self, sip: SipConfig | None) -> SipLine | None:
        """The SIP trunk line (telephony/sip/line.py), or None when SIP is not configured.
        Raises ConfigError for SIP with symbolic media (a SIP leg carries real audio)."""
        if sip is None:
            return None
        if self.media is not MediaFidelity.AUDIO:
            raise ConfigError("PERCL_SIP_*: SIP trunks carry real audio; drop PERCL_MEDIA=symbolic "
                              "(and PERCL_MEDIA_TIME_SCALE)")
        return SipLine(sip, self.sim, self.store.find_number, digest=trunk_credentials)

    def _rest_api(self, settings: Settings) -> FastAPI:
        """The FreeClimb REST app over this platform's services (mounted at /apiserver)."""
        knowledge_dir = Path(settings.knowledge_dir).expanduser() if settings.knowledge_dir else None
        return create_api(ApiDeps(
            store=self.store, clock=self.clock, ids=self.ids, calls=self.calls,
            inventory=self.sim, queues=self.queues, messages=self.messages,
            conferences=self.conferences, cursor_secret=_cursor_secret(settings),
            exports=self.exports, knowledge=KnowledgeBases(FolderKnowledge(knowledge_dir)),
            campaigns=self.campaigns, recordings=self.recordings,
        ))

    async def _call_owner(self, call_id: str) -> str | None:
        """Whose call `call_id` is (the sim network scopes phone programs by account)."""
        # A leg being dialled is nearly always a live session's: its owner is in memory, and a
        # call's account never changes, so the store read (a trip to the reader thread per
        # dial) is only for a leg without one.
        session = self.calls.sessions.get(call_id)
        if session is not None:
            return session.call.account_id
        call = await self.store.get_call(call_id)
        return call.account_id if call is not None else None

    def _guarded_apps(self, settings: Settings, credentials_hint: str | None) -> Starlette:
        """/apiserver and /sim/v1 behind one rate limit and one door (api/guard.py): the limit
        first (a flood costs no lookup), then authentication, then a bounded body. The start page
        (/ and /healthz) is public and shows no secret."""
        g = settings.guard
        self.auth_failures = FailureLimiter(self.clock, rate=g.auth_fail_rate,
                                            burst=g.auth_fail_burst)

        async def check(authorization: str | None) -> Account:
            return await authenticate(self.store, authorization)

        def guarded(app: Any, public: tuple[str, ...] = ()) -> RequestGuard:
            return RequestGuard(app, check, self.auth_failures, max_body=g.max_body_bytes,
                                public=public)

        shared = self.cluster.spend if self.cluster and self.cluster.limits else None
        self.rate_limit = RateLimitMiddleware(guarded(self.api), self.clock,
                                              rate=settings.api_rate_per_s, burst=settings.api_burst,
                                              shared=shared)
        sim = self.rate_limit.sharing(guarded(self.sim_api, SIM_PUBLIC_PATHS))
        console = console_routes(self._console_deps(settings, credentials_hint))  # /, /console
        # The API mounts first: Starlette tries routes in order (~5,000 instructions each), and
        # every outbound call's POST /Calls went past the console's and phone's 24 routes first.
        # No path of one group is a path of another, so the order changes nothing else.
        return Starlette(routes=[Mount("/apiserver", self.rate_limit), Mount("/sim/v1", sim),
                                 Mount("/webrtc/v1", routes=webrtc_routes(self.webrtc)),
                                 *console, *phone_routes()])

    def _console_deps(self, settings: Settings, credentials_hint: str | None) -> ConsoleDeps:
        """The web console over this platform: the APIs it calls in process are `self.asgi`."""
        info = HomeInfo(settings.base_url, credentials_hint,
                        self.cluster.worker_id if self.cluster else None)
        replayer = TransportReplayer(self.transport, self.clock,
                                     timeout_s=settings.webhook_timeout_ms / 1000,
                                     max_answer_bytes=settings.caps.max_answer_bytes)
        return ConsoleDeps(store=self.store, sessions=Sessions(self.clock, idle_s=CONSOLE_IDLE_S,
                                                               max_sessions=CONSOLE_MAX_SESSIONS),
                           feed=self.console_feed, replayer=replayer, apis=lambda: self.asgi,
                           info=info, audio=self.media is not MediaFidelity.SYMBOLIC)

    async def __aenter__(self) -> Platform:
        async with AsyncExitStack() as stack:  # a failed start closes what it opened
            await self.store.open()
            stack.push_async_callback(self.store.close)
            # A store that found no database file made a new one (SqliteStore.created).
            self.db_created = getattr(self.store, "created", False) is True
            close = getattr(self.transport, "close", None)
            if close is not None:
                stack.push_async_callback(close)
            self.seed = await ensure_account(self.store, self.clock, self.ids, self.settings.seed)
            if self.cluster is not None:  # before the calls: it closes after them
                await self.cluster.bus.open()
                stack.push_async_callback(self.cluster.bus.close)
                await stack.enter_async_context(self.cluster)
            self.recovered = await self.calls.recover()
            if self.cluster is None or await self.cluster.alone():
                # Not while other workers run: what they hold is live, not left by a crash.
                await self.queues.recover()  # after the calls: members of closed legs go
                await self.conferences.recover()  # likewise for conference participants
                await self.messages.recover()  # messages a crash stopped carrying: failed
                await self.exports.recover()  # exports a stop interrupted: failed
                await self.recordings.recover()  # records and files agree again
            stack.callback(self.export_files.close)
            stack.callback(self.recording_files.close)
            stack.push_async_callback(self.streaming.close)  # after the calls: their streams
            await stack.enter_async_context(self.recordings)
            await stack.enter_async_context(self.exports)
            if self.webrtc is not None:  # before the network: legs ending at its close tell it
                await stack.enter_async_context(self.webrtc)
            await stack.enter_async_context(self.sim)
            if self.sip_line is not None:  # after the network: it closes first
                await stack.enter_async_context(self.sip_line)
                self.sim.add_line(self.sip_line)
            # Before the calls, so it closes after them: an ending leg's Sms still finds it open.
            await stack.enter_async_context(self.messages)
            # Before the calls too: ending legs still leave their conferences.
            await stack.enter_async_context(self.conferences)
            await stack.enter_async_context(self.calls)
            self._stack = stack.pop_all()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._stack is not None:
            await self._stack.__aexit__(exc_type, exc, tb)
            self._stack = None

    @property
    def account(self) -> Account:
        assert self.seed is not None, "Platform not started"
        return self.seed.account


async def ensure_account(
    store: Store, clock: Clock, ids: IdGenerator, seed: SeedAccount
) -> SeedResult:
    """Make sure the seed account exists: the configured one, or a generated one on a fresh DB."""
    now = clock.now()
    if seed.account_id is not None:
        existing = await store.get_account(seed.account_id)
        if existing is not None:
            changes: dict[str, Any] = {}
            if seed.api_key and seed.api_key != existing.api_key:
                changes["api_key"] = seed.api_key
            if seed.signing_secret and seed.signing_secret != existing.signing_secret:
                changes["signing_secret"] = seed.signing_secret
            if changes:
                existing = revised(existing, now, **changes)
                await store.put_account(existing)
            return SeedResult(existing, False)
    else:
        accounts = await store.list_accounts()
        if accounts:
            return SeedResult(accounts[0], False)
    account = Account(
        account_id=seed.account_id or ids.new(idmod.ACCOUNT),
        api_key=seed.api_key or idmod.new_api_key(),
        signing_secret=seed.signing_secret or idmod.new_signing_secret(),
        alias="percl demo account",
        date_created=now,
        date_updated=now,
    )
    await store.put_account(account)
    return SeedResult(account, True)


def sip_config_from(environ: Mapping[str, str]) -> SipConfig | None:
    """The SIP settings (PERCL_SIP_*, the PERCL_SIP_CONFIG file), None when SIP is off; for the
    CLI, which may not import telephony itself. Raises ConfigError."""
    return load_sip_config(environ)


def _cursor_secret(settings: Settings) -> bytes:
    """The key of list cursors: PERCL_CURSOR_SECRET, else random (cursors die with the process)."""
    secret = settings.cursor_secret
    return secrets.token_bytes(32) if secret is None else secret.encode()
