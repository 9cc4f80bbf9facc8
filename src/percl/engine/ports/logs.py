"""The account log port: where the engine writes log lines, and who watches them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from percl.domain.enums import LogLevel
from percl.domain.records import LogEntry
from percl.engine.ports.json import JsonValue


class LogSink(Protocol):
    async def log(
        self,
        level: LogLevel,
        account_id: str,
        message: str,
        *,
        call_id: str | None = None,
        request_id: str | None = None,
        metadata: Mapping[str, JsonValue] | None = None,
    ) -> None: ...


class LogObserver(Protocol):
    """Sees every account log line after it is stored (e.g. `percl serve`'s console lines).

    Runs on the event loop, inside the call that logged: return quickly. An observer's error is
    reported and dropped by the sink; it never reaches the call.
    """

    def observe(self, entry: LogEntry) -> None: ...


class LogWatch(Protocol):
    """Where an observer that is only sometimes needed joins and leaves the log's observers
    (the console's live pages, while a page is open): nothing runs per line for it otherwise."""

    def watch(self, observer: LogObserver) -> None: ...

    def unwatch(self, observer: LogObserver) -> None: ...
