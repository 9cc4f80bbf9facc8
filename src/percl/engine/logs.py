"""The account log: a LogSink that writes LogEntry records to the Store, and keeps it bounded.

Why retention lives here: every line comes through this sink, so after every `every` lines it
asks the store to drop what is too old or too many (`Store.prune_logs`, a bounded DELETE each
time). A log that was over its limits (a lowered setting, an old database) shrinks by up to
`PRUNE_BATCH` lines per prune until it fits, without one long write on the loop.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from percl.domain.clock import Clock
from percl.domain.enums import LogLevel
from percl.domain.records import LogEntry
from percl.engine.ports import Store

_DAY_US = 86_400 * 1_000_000


@dataclass(frozen=True, slots=True)
class LogRetention:
    """How much account log to keep: lines younger than `max_age_days` and at most `max_lines`
    lines over all accounts (0 turns either limit off); checked every `every` lines."""

    max_age_days: float = 30.0
    max_lines: int = 1_000_000
    every: int = 250

    @property
    def enabled(self) -> bool:
        return self.max_age_days > 0 or self.max_lines > 0


class StoreLogSink:
    """Writes one LogEntry per call, stamped with the clock in integer microseconds."""

    def __init__(self, store: Store, clock: Clock, retention: LogRetention | None = None) -> None:
        self._store = store
        self._clock = clock
        self._retention = retention or LogRetention()
        self._since_prune = 0

    async def log(
        self,
        level: LogLevel,
        account_id: str,
        message: str,
        *,
        call_id: str | None = None,
        request_id: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        entry = LogEntry(
            timestamp=round(self._clock.now() * 1_000_000),
            level=level,
            account_id=account_id,
            message=message,
            request_id=request_id,
            call_id=call_id,
            metadata=dict(metadata or {}),
        )
        await self._store.add_log(entry)
        self._since_prune += 1
        if self._since_prune >= self._retention.every and self._retention.enabled:
            self._since_prune = 0
            await self.prune(entry.timestamp)

    async def prune(self, now_us: int) -> int:
        """One bounded prune by the retention limits, as of `now_us`; how many lines went."""
        r = self._retention
        older_than = now_us - round(r.max_age_days * _DAY_US) if r.max_age_days > 0 else -(2**63)
        keep = r.max_lines if r.max_lines > 0 else 2**62
        return await self._store.prune_logs(older_than=older_than, keep=keep)
