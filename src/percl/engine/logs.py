"""The account log: a LogSink that writes LogEntry records to the Store.

Every entry passes `domain.urls` on its way in: credentials in a URL (`https://user:pw@app/voice`)
are masked in the message and all through the metadata, whoever wrote the entry (the webhook
dispatcher, a session, a grammar fetch), so no log reader (GET /Logs, `percl trace`) sees them.
Then each entry is shown to the observers (LogObserver: `percl serve`'s console lines subscribe
here, so the engine needs no knowledge of the terminal).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from percl.domain.clock import Clock
from percl.domain.enums import LogLevel
from percl.domain.records import LogEntry
from percl.domain.urls import mask_credentials, mask_in
from percl.engine.ports import LogObserver, Store

_log = logging.getLogger(__name__)


class StoreLogSink:
    """Writes one LogEntry per call, stamped with the clock in integer microseconds."""

    def __init__(self, store: Store, clock: Clock, observers: Sequence[LogObserver] = ()) -> None:
        self._store = store
        self._clock = clock
        self._observers = tuple(observers)

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
