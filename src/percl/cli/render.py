"""How the terminal commands put calls into words and colours (rich styles).

Green and cyan: what the platform said or played to a phone. Yellow and blue: what the phone
pressed or said. Magenta: call states. Red: hangups, failures and errors. Dim: silence, ringing.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from rich.console import Console

STYLE = {"say": "green", "play": "cyan", "pause": "dim", "ringing": "dim", "answered": "bold",
         "digitsPressed": "yellow", "digitsSent": "magenta", "said": "blue", "hangup": "red",
         "canceled": "red", "rejected": "red", "busy": "red", "noAnswer": "red", "failed": "red",
         "machineDetected": "magenta", "state": "bold magenta", "error": "bold red",
         "warning": "yellow", "webhook": "cyan", "percl": "green", "leg": "bold"}  # fmt: skip
FINAL_ENTRIES = {"hangup", "rejected", "busy", "noAnswer", "failed", "canceled"}
FINAL_STATES = {"completed", "canceled", "failed", "busy", "noAnswer"}

_TEMPLATES = {
    "say": 'heard "{text}"',
    "play": "heard audio {url}",
    "pause": "silence {lengthMs} ms",
    "digitsPressed": "pressed {digits}",
    "digitsSent": "heard tones {digits}",
    "hangup": "hangup by {by}",
    "said": 'said "{text}"',
    "machineDetected": "detected as {machineType}",
}


def live_console() -> Console:
    """The console of the live views: one event a line (the terminal wraps it, so ids stay whole
    for copy and paste) and no guessing colours for numbers in the text."""
    return Console(soft_wrap=True, highlight=False)


def entry_text(entry: dict[str, Any]) -> str:
    """One transcript entry (sim API JSON) as words, without its time."""
    kind = str(entry.get("type", "?"))
    fields = {k: entry.get(k) for k in ("text", "url", "lengthMs", "digits", "by", "machineType")}
    detail = _TEMPLATES.get(kind, kind).format(**fields)
    if kind == "heard":  # another conference participant, by their number
        said = f'"{fields["text"]}"' if fields["text"] is not None else f"tones {fields['digits']}"
        detail = f"heard {said} from {entry.get('speaker') or entry.get('speakerCallId')}"
    if entry.get("interrupted"):
        detail += f" (cut after {entry.get('heardMs')} ms)"
    return detail


def at(seconds: float, text: str) -> str:
    """A line of a live view: the time, right-aligned, then the text."""
    return f"{seconds:7.2f}s  {text}"


def describe(entry: dict[str, Any]) -> str:
    """One transcript entry as a line a person reads, timed from its leg's start."""
    return at(entry.get("atMs", 0) / 1000, entry_text(entry))


def iso_to_ms(value: str | None) -> int | None:
    """Epoch milliseconds of an ISO 8601 time as the REST API writes it (`...T15:05:03.358Z`)."""
    if not value:
        return None
    try:
        return round(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1000)
    except ValueError:
        return None


def summarize_percl(script: Any, limit: int = 200) -> str:
    """A PerCL script on one line: each command's name and its telling argument."""
    if not isinstance(script, list):
        return _clip(json.dumps(script, separators=(",", ":")), limit)
    parts = []
    for command in script:
        if not isinstance(command, dict) or len(command) != 1:
            parts.append(json.dumps(command, separators=(",", ":")))
            continue
        ((name, attrs),) = command.items()
        parts.append(f"{name} {_telling(attrs)}".rstrip())
    return _clip(" | ".join(parts) or "(empty script)", limit)


def _telling(attrs: Any) -> str:
    if not isinstance(attrs, dict):
        return ""
    for key in ("text", "destination", "url", "actionUrl", "digits", "length", "reason"):
        if attrs.get(key) is not None:
            value = attrs[key]
            return json.dumps(value) if key == "text" else f"{key}={value}"
    return ""


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
