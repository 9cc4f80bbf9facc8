"""The account log: a LogSink that writes LogEntry records to the Store.

Every entry passes `domain.urls` on its way in: credentials in a URL (`https://user:pw@app/voice`)
are masked in the message and all through the metadata, whoever wrote the entry (the webhook
dispatcher, a session, a grammar fetch), so no log reader (GET /Logs, `percl trace`) sees them.
Then each entry is shown to the observers (LogObserver: `percl serve`'s console lines subscribe
here, so the engine needs no knowledge of the terminal).

The sink also keeps the log bounded. Why retention lives here: every line comes through this
sink, so after every `every` lines it asks the store to drop what is too old or too many
(`Store.prune_logs`, a bounded DELETE each time). A log that was over its limits (a lowered
setting, an old database) shrinks by up to `PRUNE_BATCH` lines per prune until it fits, without
one long write on the loop.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from percl.domain.clock import Clock
from percl.domain.enums import LogLevel
from percl.domain.records import LogEntry
from percl.domain.urls import mask_credentials, mask_in
from percl.engine.ports import LogObserver, Store

_log = logging.getLogger(__name__)

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
    """Writes one LogEntry per call, stamped with the clock in integer microseconds. Also a
    LogWatch: observers may join and leave while it runs."""

    def __init__(self, store: Store, clock: Clock, observers: Sequence[LogObserver] = (), *,
                 retention: LogRetention | None = None) -> None:
        self._store = store
        self._clock = clock
        self._observers = tuple(observers)
        self._retention = retention or LogRetention()
        self._since_prune = 0

    def watch(self, observer: LogObserver) -> None:
        """Show the lines logged from now on to `observer` too (LogWatch)."""
        if observer not in self._observers:
            self._observers = (*self._observers, observer)

    def unwatch(self, observer: LogObserver) -> None:
        """Stop showing lines to `observer` (nothing happens when it was not watching)."""
        self._observers = tuple(o for o in self._observers if o is not observer)

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
            message=mask_credentials(message),
            request_id=request_id,
            call_id=call_id,
            metadata=mask_in(metadata) if metadata else {},
        )
        await self._store.add_log(entry)
        for observer in self._observers:
            try:
                observer.observe(entry)
            except Exception:  # a console that cannot print must not end the call
                _log.exception("log observer %r failed", observer)
        self._since_prune += 1
        if self._since_prune >= self._retention.every and self._retention.enabled:
            self._since_prune = 0
            await self.prune(entry.timestamp)

    async def prune(self, now_us: int) -> int:
        """One bounded prune by the retention limits, as of `now_us`; how many lines went."""
        r = self._retention
        # An age past the 64-bit range (inf, 1e12 days) keeps everything; unclamped it was an
        # OverflowError (here, or binding it in SQLite) out of the log line that triggered this.
        age_us = min(r.max_age_days * _DAY_US, float(2**63))
        older_than = max(now_us - round(age_us), -(2**63)) if r.max_age_days > 0 else -(2**63)
        keep = r.max_lines if r.max_lines > 0 else 2**62
        return await self._store.prune_logs(older_than=older_than, keep=keep)
