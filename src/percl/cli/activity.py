"""`percl serve`'s console lines: one coloured line per call event and webhook, as they happen.

    22:14:03 CA1f...  +15550100001 -> +12015550100  inboundCall 200 12 ms
    22:14:03 CA1f...  +15550100001 -> +12015550100  ringing -> inProgress
    22:14:04 CA1f...  +15550100001 -> +12015550100  getDigits POST http://app/menu failed: ...

The printer is a LogObserver (engine/ports/logs.py): it reads the account log lines the engine writes
anyway, so the engine knows nothing of the terminal and `percl trace` and the console tell the
same story. Each line is decoded once, at this edge, into a `ConsoleLine`.

How much is shown (`Verbosity`): QUIET only errors; NORMAL webhooks, call state changes, warnings
and errors; VERBOSE every account log line.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass
from enum import IntEnum

from rich.console import Console
from rich.text import Text

from percl.domain.enums import LogLevel
from percl.domain.records import LogEntry

#: Calls whose numbers are remembered for their later lines (the oldest are forgotten first).
MAX_REMEMBERED_CALLS = 10_000


class Verbosity(IntEnum):
    QUIET = 0
    NORMAL = 1
    VERBOSE = 2


@dataclass(frozen=True, slots=True)
class ConsoleLine:
    """One decoded log line: what happened (`text`), to which call, how bad, and whether it is a
    webhook or state change (`event`, shown at NORMAL) or a detail (VERBOSE only)."""

    at: float  # epoch seconds
    call_id: str | None
    text: str
    style: str
    level: LogLevel
    event: bool


def decode(entry: LogEntry) -> ConsoleLine:
    """The console line of an account log entry."""
    meta = entry.metadata
    at = entry.timestamp / 1_000_000
    if "requestType" in meta and "elapsedMs" in meta:
        return ConsoleLine(at, entry.call_id, _webhook_text(meta), _webhook_style(entry), entry.level,
                           True)
    # A call's state lines carry `previous` (a change) or `callEndedReason` (its end) beside
    # `status`; other lines may have a `status` of their own (a waitUrl fetch's HTTP status).
    if "status" in meta and ("previous" in meta or "callEndedReason" in meta):
        status = str(meta["status"])
        if "previous" in meta:
            text = f"{meta['previous']} -> {status}"
        else:
            text = f"ended {status} ({meta['callEndedReason']})"
        return ConsoleLine(at, entry.call_id, text, "magenta", entry.level, True)
    return ConsoleLine(at, entry.call_id, entry.message, _LEVEL_STYLE[entry.level], entry.level, False)


_QUIET = Verbosity.QUIET
_ERROR = LogLevel.ERROR
_LEVEL_STYLE = {LogLevel.INFO: "dim", LogLevel.WARNING: "yellow", LogLevel.ERROR: "bold red"}


def _webhook_text(meta: dict[str, object]) -> str:
    kind = str(meta["requestType"])
    if meta.get("fallback"):
        kind += " (fallback)"
    if meta.get("cause") is None:
        return f"{kind} {meta.get('responseStatus')} {round(float(str(meta['elapsedMs'])))} ms"
    why = meta.get("error") or meta.get("cause")
    return f"{kind} POST {meta.get('url')} failed: {why}"


def _webhook_style(entry: LogEntry) -> str:
    if entry.metadata.get("cause") is None:
        return "green"
    return "yellow" if entry.level is LogLevel.WARNING else "bold red"


class ActivityPrinter:
    """A LogObserver printing `ConsoleLine`s to a rich Console at a Verbosity."""

    def __init__(self, console: Console, verbosity: Verbosity = Verbosity.NORMAL) -> None:
        self._console = console
        self._verbosity = verbosity
        self._numbers: OrderedDict[str, str] = OrderedDict()  # callId -> "from -> to"
        #: False until the banner is out: start-up's own lines (crash recovery) are summed up
        #: in the banner, not listed before it.
        self.active = False

    def observe(self, entry: LogEntry) -> None:
        if entry.call_id is not None and entry.call_id not in self._numbers:  # not known yet
            self._remember(entry)
        # Nothing to show (a line's level is its entry's): skip decoding it. Module constants
        # rather than enum lookups: this runs for every log line (bench/instructions.py).
        if not self.active or (self._verbosity is _QUIET and entry.level is not _ERROR):
            return
        line = decode(entry)
        if self._shown(line):
            self._console.print(self._render(line), soft_wrap=True, highlight=False)

    def _shown(self, line: ConsoleLine) -> bool:
        if self._verbosity is Verbosity.VERBOSE:
            return True
        if self._verbosity is Verbosity.QUIET:
            return line.level is LogLevel.ERROR
        return line.event or line.level is not LogLevel.INFO

    def _render(self, line: ConsoleLine) -> Text:
        out = Text()
        out.append(time.strftime("%H:%M:%S ", time.localtime(line.at)), style="dim")
        if line.call_id is not None:
            out.append(line.call_id, style="cyan")
            numbers = self._numbers.get(line.call_id)
            if numbers:
                out.append(f"  {numbers}")
            out.append("  ")
        out.append(line.text, style=line.style)
        return out

    def _remember(self, entry: LogEntry) -> None:
        """Learn a call's numbers from the first webhook body that carries them."""
        if entry.call_id is None or entry.call_id in self._numbers:
            return
        body = entry.metadata.get("requestBody")
        if isinstance(body, dict) and body.get("from") and body.get("to"):
            self._numbers[entry.call_id] = f"{body['from']} -> {body['to']}"
            if len(self._numbers) > MAX_REMEMBERED_CALLS:
                self._numbers.popitem(last=False)
