"""A call's page: the flow `percl trace` prints, as HTML. The call's family (from its first
ancestor down through every leg dialled), each leg with its webhooks (request and response
bodies, status, latency, signature), the PerCL it received, its state changes and what its far
end heard and did (the sim's transcript), all read through the REST and sim APIs.

Order: by clock time; at equal times (the FakeClock makes many) what the phone did comes before
the log lines it caused, and what the platform played after them, as in `percl trace`. A
webhook is placed when it was sent (its log line is written at the answer, with the latency).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from percl.console.client import ApiClient
from percl.console.html import Frame, esc, pretty

MAX_DEPTH = 16
MAX_LEGS = 100
MAX_LOGS = 2000
PHONE, LOGS, PLATFORM = 1, 2, 3
_PLATFORM_MEDIA = {"say", "play", "pause", "digitsSent"}
_ENTRY_WORDS = {
    "say": 'heard "{text}"', "play": "heard audio {url}", "pause": "silence {lengthMs} ms",
    "digitsPressed": "pressed {digits}", "digitsSent": "heard tones {digits}",
    "hangup": "hangup by {by}", "said": 'said "{text}"', "machineDetected": "detected as {machineType}",
}


@dataclass
class Leg:
    call: dict[str, Any]
    logs: list[dict[str, Any]] = field(default_factory=list)  # oldest first
    transcript: dict[str, Any] | None = None
    recordings: list[dict[str, Any]] = field(default_factory=list)
    legs: list[Leg] = field(default_factory=list)

    @property
    def call_id(self) -> str:
        return str(self.call["callId"])


@dataclass(frozen=True, slots=True)
class Event:
    at_us: int
    rank: int
    seq: int
    kind: str  # state | webhook | percl | log | media
    level: str
    text: str
    log: dict[str, Any] | None = None  # the log line (webhooks, PerCL)


async def fetch_flow(api: ApiClient, call_id: str) -> Leg | None:
    """The family of `call_id` rooted at its oldest ancestor the account sees; None when the
    account has no such call."""
    answer = await api.rest("GET", f"/Calls/{call_id}")
    if not answer.ok:
        return None
    call = answer.json()
    for _ in range(MAX_DEPTH):
        parent = call.get("parentCallId")
        up = await api.rest("GET", f"/Calls/{parent}") if parent else None
        if up is None or not up.ok:
            break
        call = up.json()
    root = await _leg(api, call)
    todo, count = [root], 1
    while todo and count < MAX_LEGS:
        leg = todo.pop(0)
        children = await api.items("/Calls", "calls", {"parentCallId": leg.call_id})
        for child in sorted(children, key=lambda c: str(c.get("startTimeISO") or "")):
            leg.legs.append(await _leg(api, child))
            count += 1
        todo += leg.legs
    return root


async def _leg(api: ApiClient, call: dict[str, Any]) -> Leg:
    call_id = str(call["callId"])
    logs = await api.items(f"/Calls/{call_id}/Logs", "logs", limit=MAX_LOGS)
    transcript = await api.sim("GET", f"/calls/{call_id}/transcript")
    recordings = await api.items(f"/Calls/{call_id}/Recordings", "recordings")
    return Leg(call, list(reversed(logs)), transcript.json() if transcript.ok else None, recordings)


def events(leg: Leg) -> list[Event]:
    out = [_from_log(log, seq) for seq, log in enumerate(leg.logs)]
    transcript = leg.transcript or {}
    created_us = int(transcript.get("createdMs") or 0) * 1000
    for seq, entry in enumerate(transcript.get("entries") or []):
        kind = str(entry.get("type"))
        if kind in ("ringing", "answered"):
            continue  # the state lines say it
        rank = PLATFORM if kind in _PLATFORM_MEDIA else PHONE
        out.append(Event(created_us + int(entry.get("atMs") or 0) * 1000, rank, seq, "media", "info",
                         "far end " + _entry_words(entry)))
    return sorted(out, key=lambda e: (e.at_us, e.rank, e.seq))


def _entry_words(entry: dict[str, Any]) -> str:
    kind = str(entry.get("type"))
    values = {k: entry.get(k) for k in ("text", "url", "lengthMs", "digits", "by", "machineType")}
    words = _ENTRY_WORDS.get(kind, kind).format(**values)
    if entry.get("interrupted"):
        words += f" (cut after {entry.get('heardMs')} ms)"
    return words


def _from_log(log: dict[str, Any], seq: int) -> Event:
    meta: dict[str, Any] = log.get("metadata") or {}
    at_us = int(log.get("timestamp") or 0)
    level = str(log.get("level") or "info")
    if "requestType" in meta and "elapsedMs" in meta:
        sent = at_us - round(float(meta.get("elapsedMs") or 0) * 1000)
        return Event(sent, LOGS, seq, "webhook", level, str(log.get("message")), log)
    if "percl" in meta:
        return Event(at_us, LOGS, seq, "percl", level, str(log.get("message")), log)
    if "status" in meta and ("previous" in meta or "callEndedReason" in meta):
        text = (f"{meta['previous']} → {meta['status']}" if "previous" in meta
                else f"ended {meta['status']} ({meta['callEndedReason']})")
        return Event(at_us, LOGS, seq, "state", level, text)
    return Event(at_us, LOGS, seq, "log", level, str(log.get("message")))


def answer_of(leg: Leg, webhook: dict[str, Any]) -> str:
    """What the app answered a logged webhook: its logged body, or the PerCL logged after it."""
    meta = webhook.get("metadata") or {}
    if meta.get("responseBody") is not None or not meta.get("responseLoggedAs"):
        return str(meta.get("responseBody") or "")
    after = leg.logs[leg.logs.index(webhook) + 1:] if webhook in leg.logs else []
    for log in after:
        if "percl" in (log.get("metadata") or {}):
            return json.dumps(log["metadata"]["percl"])
    return ""


def find_webhook(root: Leg, call_id: str, request_id: str,
                 fallback: bool) -> tuple[Leg, dict[str, Any]] | None:
    """The logged webhook attempt of leg `call_id` with that Request-Id (and fallback flag)."""
    for leg in walk(root):
        if leg.call_id != call_id:
            continue
        for log in leg.logs:
            meta = log.get("metadata") or {}
            if ("requestType" in meta and log.get("requestId") == request_id
                    and bool(meta.get("fallback")) == fallback):
                return leg, log
    return None


def walk(leg: Leg) -> list[Leg]:
    out = [leg]
    for child in leg.legs:
        out += walk(child)
    return out


# ------------------------------------------------------------------ rendering


def render_flow(root: Leg, frame: Frame, *, audio: bool) -> str:
    origin = _start_us(root)
    return "".join(_render_leg(leg, frame, origin, audio, depth) for leg, depth in _with_depth(root, 0))


def _with_depth(leg: Leg, depth: int) -> list[tuple[Leg, int]]:
    out = [(leg, depth)]
    for child in leg.legs:
        out += _with_depth(child, depth + 1)
    return out


def _start_us(leg: Leg) -> int:
    times = [e.at_us for e in events(leg)]
    iso = leg.call.get("startTimeISO")
    if iso:
        try:
            return int(datetime.fromisoformat(str(iso).replace("Z", "+00:00")).timestamp() * 1_000_000)
        except ValueError:
            pass
    return min(times, default=0)


def _render_leg(leg: Leg, frame: Frame, origin: int, audio: bool, depth: int) -> str:
    c = leg.call
    heading = "h2" if depth == 0 else "h3"
    title = (f"{'dialled: ' if depth else ''}{esc(c.get('direction'))} call "
             f"<code>{esc(leg.call_id)}</code> {esc(c.get('from'))} → {esc(c.get('to'))} "
             f'<span class="status">[{esc(c.get("status"))}]</span>')
    rows = "".join(_event_row(e, leg, frame, origin) for e in events(leg))
    players = ""
    if audio:
        players = (f'<p><label>What this leg heard and sent: <audio controls preload="none" '
                   f'src="/console/calls/{esc(leg.call_id)}/audio"></audio></label></p>')
    for rec in leg.recordings:
        rid = esc(rec.get("recordingId"))
        players += (f'<p><label>Recording <code>{rid}</code> ({esc(rec.get("durationSec"))} s): '
                    f'<audio controls preload="none" src="/console/recordings/{rid}"></audio></label></p>')
    table = ('<table class="timeline"><thead><tr><th scope="col">time</th><th scope="col">kind</th>'
             f'<th scope="col">what happened</th></tr></thead><tbody>{rows}</tbody></table>')
    return (f'<section class="leg depth-{min(depth, 6)}" '
            f'data-call="{esc(leg.call_id)}"><{heading}>{title}</{heading}>{players}{table}</section>')


def _event_row(event: Event, leg: Leg, frame: Frame, origin: int) -> str:
    offset = f"+{(event.at_us - origin) / 1e6:.3f}s"
    what = esc(event.text)
    # The key keeps a <details> open across the live refreshes (console.js): a log line's place
    # in its leg's log never changes.
    key = f'data-key="{esc(leg.call_id)}:{event.seq}"'
    if event.kind == "webhook" and event.log is not None:
        what += _webhook_detail(event.log, leg, frame, key)
    elif event.kind == "percl" and event.log is not None:
        what += (f"<details {key}><summary>PerCL</summary>{pretty(event.log['metadata']['percl'])}"
                 "</details>")
    return (f'<tr class="{esc(event.kind)} {esc(event.level)}"><td>{offset}</td>'
            f"<td>{esc(event.kind)}</td><td>{what}</td></tr>")


def _webhook_detail(log: dict[str, Any], leg: Leg, frame: Frame, key: str) -> str:
    meta = log.get("metadata") or {}
    headers = meta.get("requestHeaders") or {}
    answer = answer_of(leg, log)
    facts = (f"<dl><dt>URL</dt><dd><code>{esc(meta.get('url'))}</code></dd>"
             f"<dt>status</dt><dd>{esc(meta.get('responseStatus') or meta.get('error') or 'no answer')}</dd>"
             f"<dt>latency</dt><dd>{esc(meta.get('elapsedMs'))} ms</dd>"
             f"<dt>signature</dt><dd><code>{esc(headers.get('FreeClimb-Signature'))}</code></dd>"
             f"<dt>Request-Id</dt><dd><code>{esc(log.get('requestId'))}</code></dd></dl>")
    replay = (f'<form class="replay" method="post" action="/console/calls/{esc(leg.call_id)}/replay">'
              f'<input type="hidden" name="csrf" value="{esc(frame.csrf)}">'
              f'<input type="hidden" name="requestId" value="{esc(log.get("requestId"))}">'
              f'<input type="hidden" name="fallback" value="{"1" if meta.get("fallback") else "0"}">'
              '<button type="submit">Replay this webhook</button></form>')
    return (f"<details {key}><summary>{esc(meta.get('requestType'))}: request and answer</summary>"
            f"{facts}"
            f'<div class="pair"><div><h4>request</h4>{pretty(meta.get("requestBody"))}</div>'
            f"<div><h4>answer</h4>{pretty(answer) if answer else '<p>(empty)</p>'}</div></div>"
            f"{replay}</details>")


