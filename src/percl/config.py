"""Settings: one frozen tree, built by a pure function from the environment and flag overrides.

Only the CLI reads the real environment; it hands `os.environ` to `from_sources`. A wrong value
raises ConfigError naming the variable, so `percl serve` stops with a message instead of a trace.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from percl.engine.context import EngineSettings
from percl.engine.workers.cluster import WorkerSettings
from percl.errors import ConfigError

ACCOUNT_ID_RE = re.compile(r"^AC[0-9a-fA-F]{40}$")
# PERCL_DB values that keep nothing on disk: SQLite's own in-memory database, and percl's
# MemoryStore (no SQL at all; what the test kit uses). Everything else is an SQLite file path.
SQLITE_MEMORY_DB = ":memory:"
MEMORY_DB = "memory://"
IN_MEMORY_DBS = (SQLITE_MEMORY_DB, MEMORY_DB)
#: PERCL_DB values that name a PostgreSQL server (store/postgres.py; the driver is always asyncpg).
POSTGRES_SCHEMES = ("postgresql://", "postgres://", "postgresql+asyncpg://")


def is_postgres(db: str) -> bool:
    """True when PERCL_DB names a PostgreSQL database rather than an SQLite file."""
    return db.startswith(POSTGRES_SCHEMES)
MAX_RATE = 1_000_000.0


class MediaFidelity(StrEnum):
    """How the simulated network carries media (PERCL_MEDIA): real audio frames (TTS, mixing,
    ASR, AMD) or today's fast text path (words and keys with modelled durations)."""

    AUDIO = "audio"
    SYMBOLIC = "symbolic"


def resolve_media(asked: str | None, time_scale: float,
                  default: MediaFidelity = MediaFidelity.AUDIO) -> MediaFidelity:
    """The fidelity to run: `asked` (PERCL_MEDIA, `--media`, the kit's `media=`), else `default`.

    Audio runs at real time only (20 ms frames of clock time), so a media time scale other than 1
    cannot apply to it: asked for explicitly, the pair is refused; as a default, audio gives way
    to the explicit time scale and the network is symbolic (docs/DECISIONS.md, issue 12).
    Raises ConfigError naming PERCL_MEDIA for an unknown value or the refused pair.
    """
    if asked is None:
        return default if time_scale == 1 else MediaFidelity.SYMBOLIC
    try:
        media = MediaFidelity(asked.strip().lower())
    except ValueError:
        raise ConfigError(f"PERCL_MEDIA={asked!r}: expected audio or symbolic") from None
    if media is MediaFidelity.AUDIO and time_scale != 1:
        raise ConfigError(
            f"PERCL_MEDIA=audio runs at real time only, but PERCL_MEDIA_TIME_SCALE={time_scale:g}: "
            "drop the time scale, or use PERCL_MEDIA=symbolic (modelled durations)")
    return media


@dataclass(frozen=True, slots=True)
class SeedAccount:
    """The first account; anything None is generated on a fresh database and printed."""

    account_id: str | None = None
    api_key: str | None = None
    signing_secret: str | None = None


@dataclass(frozen=True, slots=True)
class GuardSettings:
    """The door of the REST and sim APIs (api/guard.py)."""

    max_body_bytes: int = 1_048_576  # a request body past this is a 413, read no further
    auth_fail_rate: float = 0.2  # failed authentications forgiven per second; 0 = no limit
    auth_fail_burst: int = 20  # failed authentications an address or account id may make at once


@dataclass(frozen=True, slots=True)
class ReadCaps:
    """The most percl reads of what an app serves (webhooks/deadline.py); see docs/DECISIONS.md."""

    max_answer_bytes: int = 256 * 1024  # a webhook's answer (PerCL): PERCL_MAX_ANSWER_BYTES
    max_grammar_bytes: int = 1024 * 1024  # a GetSpeech grammar file: PERCL_MAX_GRAMMAR_BYTES
    max_play_bytes: int = 100 * 1000 * 1000  # a Play file's declared size: PERCL_MAX_PLAY_BYTES


def _caps(values: Mapping[str, str]) -> ReadCaps:
    """PERCL_MAX_ANSWER_BYTES (1 KiB..64 MiB), PERCL_MAX_GRAMMAR_BYTES (1 KiB..1 MiB, the grammar
    parser's own limit), PERCL_MAX_PLAY_BYTES (1 KiB..1 GB)."""
    c = ReadCaps()
    bounds = {"max_answer_bytes": ("PERCL_MAX_ANSWER_BYTES", 64 * 1024 * 1024),
              "max_grammar_bytes": ("PERCL_MAX_GRAMMAR_BYTES", 1024 * 1024),
              "max_play_bytes": ("PERCL_MAX_PLAY_BYTES", 1000 * 1000 * 1000)}
    changes = {attr: _int(name, values[name], 1024, hi)
               for attr, (name, hi) in bounds.items() if name in values}
    return dataclasses.replace(c, **changes)


@dataclass(frozen=True, slots=True)
class AudioStreamSettings:
    """AudioStream's limits (issue 14; docs/AUDIOSTREAM.md, docs/DECISIONS.md)."""

    stall_s: float = 30.0  # PERCL_AUDIOSTREAM_STALL_S: agent silent this long ends it; 0 = never
    connect_timeout_s: float = 10.0  # PERCL_AUDIOSTREAM_CONNECT_TIMEOUT_S
    buffer_ms: int = 10_000  # PERCL_AUDIOSTREAM_BUFFER_MS: audio held each way per stream
    ca_file: str | None = None  # PERCL_AUDIOSTREAM_CA_FILE: a PEM CA trusted for grpcs/wss


def _audiostream(values: Mapping[str, str]) -> AudioStreamSettings:
    d = AudioStreamSettings()
    stall = values.get("PERCL_AUDIOSTREAM_STALL_S")
    connect = values.get("PERCL_AUDIOSTREAM_CONNECT_TIMEOUT_S")
    buffer = values.get("PERCL_AUDIOSTREAM_BUFFER_MS")
    return AudioStreamSettings(
        stall_s=d.stall_s if stall is None else _float("PERCL_AUDIOSTREAM_STALL_S", stall, 0.0),
        connect_timeout_s=(d.connect_timeout_s if connect is None else
                           _float("PERCL_AUDIOSTREAM_CONNECT_TIMEOUT_S", connect, 0.1)),
        buffer_ms=(d.buffer_ms if buffer is None else
                   _int("PERCL_AUDIOSTREAM_BUFFER_MS", buffer, 100, 600_000)),
        ca_file=values.get("PERCL_AUDIOSTREAM_CA_FILE", "").strip() or None,
    )


@dataclass(frozen=True, slots=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8600
    db: str = "var/percl.db"
    webhook_timeout_ms: int = 10_000
    media_time_scale: float = 1.0
    media: MediaFidelity = MediaFidelity.AUDIO  # PERCL_MEDIA; the test kit's default is symbolic
    api_rate_per_s: float = 100.0  # REST requests per second per account; 0 = no limit
    api_burst: int = 200  # requests an account may send at once before the rate applies
    exports_dir: str = ""  # export CSVs; "" = `exports` beside the database file (app.py)
    knowledge_dir: str = ""  # knowledge bases, one folder each; "" = none
    sms_require_campaign: bool = False  # SMS only from numbers with a campaign, as FreeClimb
    campaigns_file: str = ""  # JSON registry of 10DLC brands/campaigns, toll-free campaigns; "" = none
    seed: SeedAccount = field(default_factory=SeedAccount)
    engine: EngineSettings = field(default_factory=EngineSettings)
    guard: GuardSettings = field(default_factory=GuardSettings)
    caps: ReadCaps = field(default_factory=ReadCaps)
    tls_cert: str | None = None  # PEM certificate (chain) file: serve HTTPS instead of HTTP
    tls_key: str | None = None  # its PEM private key file
    webhook_ca_file: str | None = None  # a PEM CA trusted for webhooks besides the system's
    log_max_age_days: float = 30.0  # account log lines older than this are deleted; 0 = keep
    log_max_lines: int = 1_000_000  # at most this many log lines (all accounts); 0 = no cap
    cursor_secret: str | None = None  # keys list cursors; None: random per start
    workers: int = 1  # processes `percl serve` runs on its port (PERCL_WORKERS, --workers)
    cluster: WorkerSettings = field(default_factory=WorkerSettings)  # leases, forwarding
    bus: str = ""  # PERCL_BUS: "" = PostgreSQL LISTEN/NOTIFY; nats://host:4222 = NATS
    recordings_dir: str = ""  # recordings' WAV files; "" = `recordings` beside the database file
    recording_retention_days: float = 0.0  # recordings older than this are deleted; 0 = keep
    webrtc_addresses: tuple[str, ...] = ()  # ICE host addresses offered to browsers; () = aioice's
    # TranscribeUtterance's engine: "" = pocketsphinx offline; else an OpenAI-compatible
    # /v1/audio/transcriptions URL (a local Whisper server), its model and optional API key.
    transcribe_url: str = ""
    transcribe_model: str = "whisper-1"
    transcribe_api_key: str = field(default="", repr=False)
    privacy_recording_minutes: float = 2.0  # privacyForRecording recordings live this long
    audiostream: AudioStreamSettings = field(default_factory=AudioStreamSettings)

    @property
    def base_url(self) -> str:
        scheme = "https" if self.tls_cert else "http"
        return f"{scheme}://{self.host}:{self.port}"


def _int(name: str, raw: str, lo: int, hi: int) -> int:
    try:
        value = int(raw.strip())
    except ValueError:
        raise ConfigError(f"{name}={raw!r}: expected a whole number") from None
    if not lo <= value <= hi:
        raise ConfigError(f"{name}={raw!r}: must be between {lo} and {hi}")
    return value


def _flag(name: str, raw: str) -> bool:
    """A yes/no setting: 1/true/yes/on or 0/false/no/off (empty: no)."""
    value = raw.strip().lower()
    if value in ("", "0", "false", "no", "off"):
        return False
    if value in ("1", "true", "yes", "on"):
        return True
    raise ConfigError(f"{name}={raw!r}: expected 1 or 0 (true or false)")


def _float(name: str, raw: str, lo: float) -> float:
    try:
        value = float(raw.strip())
    except ValueError:
        raise ConfigError(f"{name}={raw!r}: expected a number") from None
    if value != value or value < lo:  # NaN or below range
        raise ConfigError(f"{name}={raw!r}: must be a number >= {lo}")
    return value


def _seed(values: Mapping[str, str]) -> SeedAccount:
    account_id = values.get("PERCL_ACCOUNT_ID") or None
    if account_id is not None and not ACCOUNT_ID_RE.fullmatch(account_id):
        raise ConfigError(
            f"PERCL_ACCOUNT_ID={account_id!r}: expected AC followed by 40 hex digits"
        )
    api_key = values.get("PERCL_API_KEY") or None
    if api_key is not None and (len(api_key) < 8 or not api_key.isprintable() or " " in api_key):
        raise ConfigError("PERCL_API_KEY: expected at least 8 printable characters without spaces")
    secret = values.get("PERCL_SIGNING_SECRET") or None
    if secret is not None and len(secret) < 8:
        raise ConfigError("PERCL_SIGNING_SECRET: expected at least 8 characters")
    return SeedAccount(account_id, api_key, secret)


def from_sources(
    environ: Mapping[str, str],
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Build Settings from environment variables, then flag overrides (flags win).

    `overrides` uses the environment variable names too (e.g. {"PERCL_PORT": "9000"}), so a flag and
    its variable are validated by the same code and named the same way in errors.
    """
    values: dict[str, str] = {k: v for k, v in environ.items() if k.startswith("PERCL_")}
    for key, value in (overrides or {}).items():
        if value is not None:
            values[key] = str(value)
    s = Settings()
    host = values.get("PERCL_HOST", s.host).strip()
    if not host:
        raise ConfigError("PERCL_HOST: must not be empty")
    port = _int("PERCL_PORT", values["PERCL_PORT"], 0, 65535) if "PERCL_PORT" in values else s.port
    db = values.get("PERCL_DB", s.db).strip()
    if not db:
        raise ConfigError(f"PERCL_DB: must not be empty (a file path, {SQLITE_MEMORY_DB} or {MEMORY_DB})")
    timeout = s.webhook_timeout_ms
    if "PERCL_WEBHOOK_TIMEOUT_MS" in values:
        timeout = _int("PERCL_WEBHOOK_TIMEOUT_MS", values["PERCL_WEBHOOK_TIMEOUT_MS"], 1, 600_000)
    scale = s.media_time_scale
    if "PERCL_MEDIA_TIME_SCALE" in values:
        scale = _float("PERCL_MEDIA_TIME_SCALE", values["PERCL_MEDIA_TIME_SCALE"], 0.0)
    rate, burst = _api_limit(values, s)
    tls_cert, tls_key = _tls(values)
    return Settings(
        host=host,
        port=port,
        db=db,
        webhook_timeout_ms=timeout,
        media_time_scale=scale,
        media=resolve_media(values.get("PERCL_MEDIA") or None, scale),
        api_rate_per_s=rate,
        api_burst=burst,
        seed=_seed(values),
        engine=_engine(values, s.engine),
        guard=_guard(values, s.guard),
        caps=_caps(values),
        tls_cert=tls_cert,
        tls_key=tls_key,
        webhook_ca_file=values.get("PERCL_WEBHOOK_CA_FILE", "").strip() or None,
        **_lists(values, s),
        **_workers(values, s),
        exports_dir=values.get("PERCL_EXPORTS_DIR", s.exports_dir).strip(),
        knowledge_dir=values.get("PERCL_KNOWLEDGE_DIR", s.knowledge_dir).strip(),
        campaigns_file=values.get("PERCL_CAMPAIGNS_FILE", s.campaigns_file).strip(),
        **_recordings(values, s),
        **_transcription(values, s),
        sms_require_campaign=_flag("PERCL_SMS_REQUIRE_CAMPAIGN",
                                   values.get("PERCL_SMS_REQUIRE_CAMPAIGN", "")),
        webrtc_addresses=_addresses("PERCL_WEBRTC_ADDRESSES", values.get("PERCL_WEBRTC_ADDRESSES", "")),
        audiostream=_audiostream(values),
    )


def _addresses(name: str, raw: str) -> tuple[str, ...]:
    """A comma-separated list of IP addresses (empty: none)."""
    found = tuple(part.strip() for part in raw.split(",") if part.strip())
    for address in found:
        try:
            ipaddress.ip_address(address)
        except ValueError:
            raise ConfigError(f"{name}={raw!r}: {address!r} is not an IP address") from None
    return found


def _guard(values: Mapping[str, str], g: GuardSettings) -> GuardSettings:
    body = g.max_body_bytes
    if "PERCL_MAX_BODY_BYTES" in values:
        body = _int("PERCL_MAX_BODY_BYTES", values["PERCL_MAX_BODY_BYTES"], 1024, 1 << 30)
    rate = g.auth_fail_rate
    if "PERCL_AUTH_FAIL_RATE" in values:
        rate = _rate("PERCL_AUTH_FAIL_RATE", values["PERCL_AUTH_FAIL_RATE"])
    burst = g.auth_fail_burst
    if "PERCL_AUTH_FAIL_BURST" in values:
        burst = _int("PERCL_AUTH_FAIL_BURST", values["PERCL_AUTH_FAIL_BURST"], 1, 1_000_000)
    return GuardSettings(body, rate, burst)


def _tls(values: Mapping[str, str]) -> tuple[str | None, str | None]:
    """PERCL_TLS_CERT and PERCL_TLS_KEY: both (HTTPS) or neither (HTTP)."""
    cert = values.get("PERCL_TLS_CERT", "").strip() or None
    key = values.get("PERCL_TLS_KEY", "").strip() or None
    if (cert is None) != (key is None):
        raise ConfigError("PERCL_TLS_CERT and PERCL_TLS_KEY: set both (HTTPS) or neither (HTTP)")
    return cert, key


def _lists(values: Mapping[str, str], s: Settings) -> dict[str, Any]:
    """Account log retention and the list cursors' secret."""
    age = s.log_max_age_days
    if "PERCL_LOG_MAX_AGE_DAYS" in values:
        age = _float("PERCL_LOG_MAX_AGE_DAYS", values["PERCL_LOG_MAX_AGE_DAYS"], 0.0)
    lines = s.log_max_lines
    if "PERCL_LOG_MAX_LINES" in values:
        lines = _int("PERCL_LOG_MAX_LINES", values["PERCL_LOG_MAX_LINES"], 0, 10**12)
    secret = values.get("PERCL_CURSOR_SECRET") or None
    if secret is not None and len(secret) < 16:
        raise ConfigError("PERCL_CURSOR_SECRET: expected at least 16 characters")
    return {"log_max_age_days": age, "log_max_lines": lines, "cursor_secret": secret}


def _rate(name: str, raw: str) -> float:
    """A per-second rate: 0 (no limit) up to a million."""
    value = _float(name, raw, 0.0)
    if value > MAX_RATE:
        raise ConfigError(f"{name}={raw!r}: must be at most {MAX_RATE:g} (0 turns the limit off)")
    return value


def _api_limit(values: Mapping[str, str], s: Settings) -> tuple[float, int]:
    rate = s.api_rate_per_s
    if "PERCL_API_RATE" in values:
        rate = _rate("PERCL_API_RATE", values["PERCL_API_RATE"])
    burst = s.api_burst
    if "PERCL_API_BURST" in values:
        burst = _int("PERCL_API_BURST", values["PERCL_API_BURST"], 1, 1_000_000)
    return rate, burst


def _engine(values: Mapping[str, str], e: EngineSettings) -> EngineSettings:
    """The call admission limits (engine/admission.py) and the longest call; the rest keeps its
    defaults."""
    live = e.max_live_calls_per_account
    if "PERCL_MAX_LIVE_CALLS" in values:
        live = _int("PERCL_MAX_LIVE_CALLS", values["PERCL_MAX_LIVE_CALLS"], 0, 10_000_000)
    cps = e.calls_per_second
    if "PERCL_CALLS_PER_SECOND" in values:
        cps = _rate("PERCL_CALLS_PER_SECOND", values["PERCL_CALLS_PER_SECOND"])
    longest = e.max_call_duration_s  # engine/session/session.py: a leg then ends with maxDuration
    if "PERCL_MAX_CALL_DURATION_S" in values:
        longest = _float("PERCL_MAX_CALL_DURATION_S", values["PERCL_MAX_CALL_DURATION_S"], 0.0)
    return dataclasses.replace(e, max_live_calls_per_account=live, calls_per_second=cps,
                               max_call_duration_s=longest)


#: The most worker processes one `percl serve` runs.
MAX_WORKERS = 64


def _workers(values: Mapping[str, str], s: Settings) -> dict[str, Any]:
    """PERCL_WORKERS (1..64), PERCL_LEASE_SECONDS (1..3600, default 15),
    PERCL_FORWARD_TIMEOUT_MS (100..60000, default 5000), PERCL_FAILOVER_CONCURRENCY (1..256,
    default 32) and PERCL_BUS: docs/WORKERS.md."""
    workers = s.workers
    if "PERCL_WORKERS" in values:
        workers = _int("PERCL_WORKERS", values["PERCL_WORKERS"], 1, MAX_WORKERS)
    lease = s.cluster.lease_s
    if "PERCL_LEASE_SECONDS" in values:
        lease = _float("PERCL_LEASE_SECONDS", values["PERCL_LEASE_SECONDS"], 1.0)
        if lease > 3600:
            raise ConfigError(f"PERCL_LEASE_SECONDS={values['PERCL_LEASE_SECONDS']!r}: "
                              "must be at most 3600")
    forward = s.cluster.forward_timeout_s
    if "PERCL_FORWARD_TIMEOUT_MS" in values:
        forward = _int("PERCL_FORWARD_TIMEOUT_MS", values["PERCL_FORWARD_TIMEOUT_MS"],
                       100, 60_000) / 1000
    failover = s.cluster.failover_concurrency
    if "PERCL_FAILOVER_CONCURRENCY" in values:
        failover = _int("PERCL_FAILOVER_CONCURRENCY", values["PERCL_FAILOVER_CONCURRENCY"], 1, 256)
    bus = values.get("PERCL_BUS", s.bus).strip()
    if bus and not bus.startswith(("nats://", "tls://")):
        raise ConfigError(f"PERCL_BUS={bus!r}: leave it empty (PostgreSQL LISTEN/NOTIFY) or give "
                          "a NATS server, nats://host:4222")
    return {"workers": workers, "bus": bus,
            "cluster": WorkerSettings(lease_s=lease, forward_timeout_s=forward,
                                      failover_concurrency=failover)}


def _recordings(values: Mapping[str, str], s: Settings) -> dict[str, Any]:
    """PERCL_RECORDINGS_DIR, PERCL_RECORDING_RETENTION_DAYS (>= 0; 0 keeps recordings)."""
    days = s.recording_retention_days
    if "PERCL_RECORDING_RETENTION_DAYS" in values:
        days = _float("PERCL_RECORDING_RETENTION_DAYS", values["PERCL_RECORDING_RETENTION_DAYS"], 0.0)
    return {"recordings_dir": values.get("PERCL_RECORDINGS_DIR", s.recordings_dir).strip(),
            "recording_retention_days": days}


def _transcription(values: Mapping[str, str], s: Settings) -> dict[str, Any]:
    """PERCL_TRANSCRIBE_URL (http(s) URL or ""), PERCL_TRANSCRIBE_MODEL, PERCL_TRANSCRIBE_API_KEY,
    PERCL_PRIVACY_RECORDING_MINUTES (> 0)."""
    url = values.get("PERCL_TRANSCRIBE_URL", s.transcribe_url).strip()
    if url and not url.startswith(("http://", "https://")):
        raise ConfigError(f"PERCL_TRANSCRIBE_URL={url!r}: expected an http:// or https:// URL "
                          "of an OpenAI-compatible /v1/audio/transcriptions endpoint")
    minutes = s.privacy_recording_minutes
    if "PERCL_PRIVACY_RECORDING_MINUTES" in values:
        minutes = _float("PERCL_PRIVACY_RECORDING_MINUTES",
                         values["PERCL_PRIVACY_RECORDING_MINUTES"], 0.0)
        if minutes <= 0:
            raise ConfigError("PERCL_PRIVACY_RECORDING_MINUTES must be more than 0")
    return {"transcribe_url": url,
            "transcribe_model": values.get("PERCL_TRANSCRIBE_MODEL", s.transcribe_model).strip()
            or "whisper-1",
            "transcribe_api_key": values.get("PERCL_TRANSCRIBE_API_KEY", s.transcribe_api_key),
            "privacy_recording_minutes": minutes}
