"""Settings: one frozen tree, built by a pure function from the environment and flag overrides.

Only the CLI reads the real environment; it hands `os.environ` to `from_sources`. A wrong value
raises ConfigError naming the variable, so `percl serve` stops with a message instead of a trace.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from percl.engine.context import EngineSettings
from percl.errors import ConfigError

ACCOUNT_ID_RE = re.compile(r"^AC[0-9a-fA-F]{40}$")


@dataclass(frozen=True, slots=True)
class SeedAccount:
    """The first account; anything None is generated on a fresh database and printed."""

    account_id: str | None = None
    api_key: str | None = None
    signing_secret: str | None = None


@dataclass(frozen=True, slots=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8600
    db: str = "var/percl.db"
    webhook_timeout_ms: int = 10_000
    media_time_scale: float = 1.0
    seed: SeedAccount = field(default_factory=SeedAccount)
    engine: EngineSettings = field(default_factory=EngineSettings)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"


def _int(name: str, raw: str, lo: int, hi: int) -> int:
    try:
        value = int(raw.strip())
    except ValueError:
        raise ConfigError(f"{name}={raw!r}: expected a whole number") from None
    if not lo <= value <= hi:
        raise ConfigError(f"{name}={raw!r}: must be between {lo} and {hi}")
    return value


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
    if account_id is not None and not ACCOUNT_ID_RE.match(account_id):
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
        raise ConfigError("PERCL_DB: must not be empty (a file path, or :memory:)")
    timeout = s.webhook_timeout_ms
    if "PERCL_WEBHOOK_TIMEOUT_MS" in values:
        timeout = _int("PERCL_WEBHOOK_TIMEOUT_MS", values["PERCL_WEBHOOK_TIMEOUT_MS"], 1, 600_000)
    scale = s.media_time_scale
    if "PERCL_MEDIA_TIME_SCALE" in values:
        scale = _float("PERCL_MEDIA_TIME_SCALE", values["PERCL_MEDIA_TIME_SCALE"], 0.0)
    return Settings(
        host=host,
        port=port,
        db=db,
        webhook_timeout_ms=timeout,
        media_time_scale=scale,
        seed=_seed(values),
    )
