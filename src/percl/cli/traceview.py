"""A call's whole flow as events in time order, as a rich Tree or as JSON (`percl trace`).

Sources, per leg: the REST call record (its states: ringing at startTime, inProgress at
connectTime, the final status at endTime), the call's logs (every webhook attempt with its
requestType, URL, status and latency; every PerCL script received; "Call ended" with its reason;
errors), and, when the simulated network still has it, the leg's transcript (what its far end
heard, pressed and said), and the leg's recordings (id, duration, download URL; placed at the end
of the second they were saved in, as a RecordingResult's dateCreated has whole seconds). Legs a
leg dialled become branches at the time they started.

Ordering at equal times (the FakeClock makes many) follows cause and effect: "ringing"; what the
phone did (keys, speech, hangups: they cause webhooks); the log lines in the order they were
written (webhook, then the PerCL it returned); then what the platform played. The answer of an
inbound leg follows its first PerCL; an outbound leg is answered by the phone, before the
webhooks it causes. A dialled leg starts before the webhooks about it. A
webhook is placed when it was sent, not when it was answered (its log entry is written at the
answer, with the latency).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

from rich.text import Text
from rich.tree import Tree

from percl.cli.render import STYLE, entry_text, iso_to_ms, summarize_percl

ENDED = re.compile(r"^Call ended: (?P<status>\w+) \((?P<reason>\w+)\)$")
RINGING, PHONE, LOGS, PLATFORM = 0, 1, 2, 3  # ranks at equal times, see above
_STATE_FIELDS = (("ringing", "startTimeISO", RINGING), ("inProgress", "connectTimeISO", PLATFORM))
_PLATFORM_MEDIA = {"say", "play", "pause", "digitsSent"}


@dataclass(frozen=True, slots=True)
class Event:
    at_us: int
    rank: int  # order at equal times: RINGING, PHONE, LOGS, PLATFORM
    seq: int
    kind: str  # state | webhook | percl | log | media
    level: str  # info | warning | error
    text: str
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class LegTrace:
    """One leg: its record, its events and the legs it dialled (filled by the fetcher)."""

    call: dict[str, Any]
    logs: list[dict[str, Any]] = field(default_factory=list)  # oldest first
    transcript: dict[str, Any] | None = None
    legs: list[LegTrace] = field(default_factory=list)
    recordings: list[dict[str, Any]] = field(default_factory=list)  # RecordingResults + downloadUrl

    @property
    def call_id(self) -> str:
        return str(self.call["callId"])

    def start_us(self) -> int:
        times = [e.at_us for e in events(self)]
        ms = iso_to_ms(self.call.get("startTimeISO"))
        return ms * 1000 if ms is not None else min(times, default=0)


def events(leg: LegTrace) -> list[Event]:
    """Everything that happened to this leg (not its dialled legs), in time order."""
    out: list[Event] = []
    ended_logged = False
    for seq, log in enumerate(leg.logs):
        event = _from_log(log, seq)
        ended_logged = ended_logged or event.kind == "state"
        out.append(event)
    changes = [log for log in leg.logs if "previous" in (log.get("metadata") or {})]
    if changes:  # the leg's first status is the one its first logged change left
        first_us = min(int(log.get("timestamp", 0)) for log in leg.logs)
        out.append(Event(first_us, PHONE, -1, "state", "info",
                         f"state {changes[0]['metadata']['previous']}"))
    for status, key, rank in () if changes else _STATE_FIELDS:
        if status == "inProgress" and leg.call.get("direction") != "inbound":
            rank = PHONE
        ms = iso_to_ms(leg.call.get(key))
        if ms is not None:
            extra = f" (answered by {leg.call['answeredBy']})" if status == "inProgress" and \
                leg.call.get("answeredBy") else ""  # fmt: skip
            out.append(Event(ms * 1000, rank, -1, "state", "info", f"state {status}{extra}"))
    end_ms = iso_to_ms(leg.call.get("endTimeISO"))
    if end_ms is not None and not ended_logged:
        out.append(Event(end_ms * 1000, LOGS, len(leg.logs), "state", "info",
                         f"state {leg.call.get('status')}"))
    out += _media(leg.transcript)
    out += _recordings(leg.recordings, len(leg.logs))
    return sorted(out, key=lambda e: (e.at_us, e.rank, e.seq))


def _from_log(log: dict[str, Any], seq: int) -> Event:
    meta: dict[str, Any] = log.get("metadata") or {}
    level = str(log.get("level", "info"))
    at_us = int(log.get("timestamp", 0))
    message = str(log.get("message", ""))
    if "requestType" in meta:
        sent_us = at_us - round(float(meta.get("elapsedMs") or 0) * 1000)
        status = meta.get("responseStatus")
        outcome = f"{status}" if status is not None else str(meta.get("error") or "no answer")
        text = (f"{'fallback ' if meta.get('fallback') else ''}webhook {meta['requestType']} "
                f"POST {meta.get('url')} -> {outcome} in {round(float(meta.get('elapsedMs') or 0))} ms")
        detail = {k: meta.get(k) for k in ("requestType", "url", "responseStatus", "elapsedMs",
                                           "error", "fallback", "requestBody", "responseBody")}
        return Event(sent_us, LOGS, seq, "webhook", level, text, detail)
    if "percl" in meta:
        text = f"PerCL {summarize_percl(meta['percl'])}"
        return Event(at_us, LOGS, seq, "percl", level, text, {"percl": meta["percl"]})
    if "status" in meta and "previous" in meta:  # the engine logs every non-final status change
        return Event(at_us, LOGS, seq, "state", level, f"state {meta['status']}", dict(meta))
    if "dialCallId" in meta:
        return Event(at_us, LOGS, seq, "dial", level, message, dict(meta))
    ended = ENDED.match(message)
    if ended:
        text = f"state {ended['status']} (callEndedReason {ended['reason']})"
        return Event(at_us, LOGS, seq, "state", level, text, dict(ended.groupdict()))
    return Event(at_us, LOGS, seq, "log", level, message, dict(meta))


def _media(transcript: dict[str, Any] | None) -> list[Event]:
    if not transcript:
        return []
    created_us = int(transcript.get("createdMs") or 0) * 1000
    out = []
    for seq, entry in enumerate(transcript.get("entries", [])):
        if entry.get("type") in ("ringing", "answered"):
            continue  # the states say it already
        rank = PLATFORM if entry.get("type") in _PLATFORM_MEDIA else PHONE
        out.append(Event(created_us + int(entry.get("atMs", 0)) * 1000, rank, seq, "media",
                         "info", f"far end {entry_text(entry)}", {"type": entry.get("type")}))
    return out


def _recordings(recordings: list[dict[str, Any]], first_seq: int) -> list[Event]:
    out = []
    for seq, rec in enumerate(recordings, first_seq):
        try:
            saved_s = parsedate_to_datetime(str(rec.get("dateCreated"))).timestamp()
        except (TypeError, ValueError):
            continue
        text = (f"recording {rec.get('recordingId')} {rec.get('durationSec')} s "
                f"{rec.get('downloadUrl', '')}").rstrip()
        detail = {k: rec.get(k) for k in ("recordingId", "durationSec", "downloadUrl")}
        out.append(Event(int(saved_s) * 1_000_000 + 999_999, LOGS, seq, "recording", "info",
                         text, detail))
    return out


def leg_title(leg: LegTrace) -> str:
    c = leg.call
    return (f"{c.get('direction')} call {leg.call_id}  {c.get('from')} -> {c.get('to')}  "
            f"[{c.get('status')}]")


def to_tree(root: LegTrace) -> Tree:
    """The flow as a rich Tree; times are seconds from the first leg's start."""
    origin = root.start_us()
    tree = Tree(Text(leg_title(root), style="bold"))
    _fill(tree, root, origin)
    return tree


def _fill(branch: Tree, leg: LegTrace, origin: int) -> None:
    items: list[tuple[int, int, int, Event | LegTrace]] = [
        (e.at_us, e.rank, e.seq, e) for e in events(leg)
    ]
    items += [(child.start_us(), RINGING, n, child) for n, child in enumerate(leg.legs)]
    for *_, item in sorted(items, key=lambda i: (i[0], i[1], i[2])):
        if isinstance(item, LegTrace):
            sub = branch.add(Text(f"+{(item.start_us() - origin) / 1e6:.3f}s  dialled: "
                                  f"{leg_title(item)}", style=STYLE["leg"]))
            _fill(sub, item, origin)
        else:
            branch.add(Text(f"+{(item.at_us - origin) / 1e6:.3f}s  {item.text}", style=_style(item)))


def _style(event: Event) -> str:
    if event.level == "error":
        return STYLE["error"]
    if event.level == "warning":
        return STYLE["warning"]
    if event.kind == "media":
        return STYLE.get(str(event.detail.get("type")), "")
    return STYLE.get(event.kind, "")


def to_json(root: LegTrace) -> dict[str, Any]:
    """The same flow as data: each leg's record, its events (times in epoch microseconds and
    seconds from the first leg's start) and its dialled legs."""
    return _leg_json(root, root.start_us())


def _leg_json(leg: LegTrace, origin: int) -> dict[str, Any]:
    listed = [{"atUs": e.at_us, "offsetS": round((e.at_us - origin) / 1e6, 6), "kind": e.kind,
               "level": e.level, "text": e.text, "detail": e.detail} for e in events(leg)]
    return {"call": leg.call, "events": listed, "legs": [_leg_json(c, origin) for c in leg.legs]}
