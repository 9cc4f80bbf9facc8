"""The account log: a LogSink that writes LogEntry records to the Store."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from percl.domain.clock import Clock
from percl.domain.enums import LogLevel
from percl.domain.records import LogEntry
from percl.engine.ports import Store


class StoreLogSink:
    """Writes one LogEntry per call, stamped with the clock in integer microseconds."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock

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
