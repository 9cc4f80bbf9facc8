"""The console's pages: each reads through the REST and sim APIs (ctx.api) and renders HTML;
each action on them is an html.action_form (POST /console/act, app.py) naming the API request
it makes. `?fragment=live` answers only a page's live part (the script fetches it again when
the live feed says a call changed).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from starlette.responses import HTMLResponse, RedirectResponse, Response

from percl.console import timeline
from percl.console.html import Field, action_form, csrf_field, esc, link, pretty, table
from percl.engine.ports.webhooks import ReplayAnswer

if TYPE_CHECKING:  # app.py imports this module
    from percl.console.app import Ctx

#: The alias `percl serve --demo` gives the number it wires to the demo app.
DEMO_ALIAS = "percl demo"
CALL_STATUSES = ("", "queued", "ringing", "inProgress", "canceled", "completed", "failed", "busy",
                 "noAnswer")
APP_FIELDS = (("alias", "Alias"), ("voiceUrl", "Voice URL"), ("voiceFallbackUrl", "Voice fallback URL"),
              ("callConnectUrl", "Call connect URL"), ("statusCallbackUrl", "Status callback URL"),
              ("smsUrl", "SMS URL"), ("smsFallbackUrl", "SMS fallback URL"))


def _live(ctx: Ctx, inner: str, *, call: str = "*") -> str:
    """The part of a page the live feed refreshes (`call`: only for that call id's changes)."""
    return f'<div id="live" data-live="{esc(call)}">{inner}</div>'


def _fragment(ctx: Ctx) -> bool:
    return ctx.request.query_params.get("fragment") == "live"


# ------------------------------------------------------------------ home


async def home(ctx: Ctx) -> Response:
    info = ctx.deps.info
    acc = ctx.account
    demo = await _demo_number(ctx)
    snippet = "\n".join([
        "import freeclimb",
        f'cfg = freeclimb.Configuration(host="{info.base_url}/apiserver",',
        f'                              username="{acc.account_id}", password="{acc.api_key}")',
        "api = freeclimb.DefaultApi(freeclimb.ApiClient(cfg))",
        "print(api.list_calls())",
    ])
    if demo:
        call_it = (f"<p>The demo app answers <strong>{esc(demo)}</strong>. Call it from this browser "
                   "(microphone and speaker), then watch its webhooks arrive under "
                   f'{link("/console/calls", "Calls")}:</p>'
                   f'<form method="post" action="/console/call-it">{csrf_field(ctx.forms)}'
                   '<button type="submit" class="primary">Call it</button></form>'
                   "<p>Or from a terminal: "
                   f"<code>percl sim call +15550100001 {esc(demo)} --press 1</code></p>")
    else:
        call_it = ("<p>No demo number in this account: <code>make run</code> (or <code>percl serve "
                   "--demo</code>) wires one to the demo app.</p>")
    body = f"""
<section><h2>Your account</h2>
<dl><dt>Account id</dt><dd><code>{esc(acc.account_id)}</code></dd>
<dt>API key</dt><dd><details><summary>show</summary><code>{esc(acc.api_key)}</code></details></dd>
<dt>REST API</dt><dd><code>{esc(info.base_url)}/apiserver</code></dd>
<dt>Sim API</dt><dd>{link(f"{info.base_url}/sim/v1/docs", f"{info.base_url}/sim/v1")}</dd></dl></section>
<section><h2>The demo</h2>{call_it}</section>
<section><h2>The official SDK</h2><p><code>pip install freeclimb</code>, then:</p>
<pre><code>{esc(snippet)}</code></pre></section>"""
    return ctx.html("Welcome to percl", body, "/")


async def _demo_number(ctx: Ctx) -> str | None:
    numbers = await ctx.api.items("/IncomingPhoneNumbers", "incomingPhoneNumbers",
                                  {"alias": DEMO_ALIAS})
    return str(numbers[0]["phoneNumber"]) if numbers else None


async def call_it(ctx: Ctx) -> Response:
    """POST /console/call-it: a one-use WebRTC token (REST make-a-webrtc-jwt) from one of the
    account's numbers to the demo number, handed to the browser phone in the URL's fragment
    (never sent to a server by the browser)."""
    demo = await _demo_number(ctx)
    numbers = [str(n["phoneNumber"]) for n in
               await ctx.api.items("/IncomingPhoneNumbers", "incomingPhoneNumbers")]
    if demo is None:
        ctx.session.flash.append(("error", "No demo number to call: run percl serve --demo"))
        return RedirectResponse("/", status_code=303)
    caller = next((n for n in numbers if n != demo), demo)
    answer = await ctx.api.rest("POST", "/Calls/WebRTC/Token",
                                body={"to": demo, "from": caller, "uses": 1})
    if not answer.ok:
        ctx.session.flash.append(("error", f"No token: {answer.error_text()}"))
        return RedirectResponse("/", status_code=303)
    return RedirectResponse(f"/phone#token={answer.content.decode()}", status_code=303)


# ------------------------------------------------------------------ calls


async def calls(ctx: Ctx) -> Response:
    q = ctx.request.query_params
    params = {k: q[k] for k in ("status", "from", "to") if q.get(k)}
    if q.get("active"):
        params["active"] = "true"
    rows = [[link(f"/console/calls/{c['callId']}", c["callId"]), esc(c.get("from")), esc(c.get("to")),
             esc(c.get("direction")), f'<span class="status">{esc(c.get("status"))}</span>',
             esc(c.get("startTimeISO") or c.get("dateCreatedISO")), esc(c.get("duration"))]
            for c in await ctx.api.items("/Calls", "calls", params, limit=100)]
    inner = table(["call", "from", "to", "direction", "status", "started", "seconds"], rows,
                  caption="Newest first (100 at most)", empty="No calls match.")
    if _fragment(ctx):
        return HTMLResponse(inner)
    status = "".join(f'<option value="{s}"{" selected" if s == q.get("status", "") else ""}>'
                     f"{s or 'any'}</option>" for s in CALL_STATUSES)
    filters = f"""<form class="filters" method="get" action="/console/calls">
<label for="f-status">Status</label><select id="f-status" name="status">{status}</select>
<label for="f-from">From</label>
<input id="f-from" name="from" value="{esc(q.get("from"))}" placeholder="+1...">
<label for="f-to">To</label>
<input id="f-to" name="to" value="{esc(q.get("to"))}" placeholder="+1...">
<label><input type="checkbox" name="active" value="1"{" checked" if q.get("active") else ""}>
 live only</label>
<button type="submit">Filter</button></form>"""
    place = action_form(ctx.forms, "sim", "POST", "/calls", "/console/calls", "Place a sim call",
                        [Field("from", "From (a virtual phone)", value="+15550100001"),
                         Field("to", "To (one of your numbers)")])
    body = (f"{filters}<p>The list updates itself as calls change.</p>{_live(ctx, inner)}"
            f"<details><summary>Call one of your numbers from a virtual phone</summary>{place}</details>")
    return ctx.html("Calls", body, "/console/calls")


async def call(ctx: Ctx) -> Response:
    call_id = ctx.request.path_params["call_id"]
    flow = await timeline.fetch_flow(ctx.api, call_id)
    if flow is None:
        return ctx.html("No such call", f"<p>This account has no call {esc(call_id)}.</p>",
                        "/console/calls")
    live = [leg for leg in timeline.walk(flow)
            if leg.call.get("status") in ("queued", "ringing", "inProgress")]
    hangups = "".join(action_form(ctx.forms, "rest", "POST", f"/Calls/{leg.call_id}",
                                  f"/console/calls/{call_id}", f"Hang up {leg.call_id}",
                                  body={"status": "completed"}) for leg in live)
    inner = hangups + timeline.render_flow(flow, ctx.forms, audio=ctx.deps.audio)
    if _fragment(ctx):
        return HTMLResponse(inner)
    note = "" if ctx.deps.audio else (
        "<p>Audio players appear with audio media (PERCL_MEDIA=audio); with symbolic media the "
        "far end's transcript says what was heard.</p>")
    body = (f"<p>Every leg of this call, its webhooks, PerCL and what the far end heard, as "
            f"<code>percl trace {esc(call_id)}</code> prints it. It updates itself while the call "
            f"is live.</p>{note}{_live(ctx, inner, call=call_id)}")
    return ctx.html(f"Call {call_id}", body, "/console/calls")


async def call_audio(ctx: Ctx) -> Response:
    answer = await ctx.api.sim("GET", f"/calls/{ctx.request.path_params['call_id']}/audio")
    return Response(answer.content, status_code=answer.status, media_type=answer.content_type or None,
                    headers={"Cache-Control": "no-store"})


async def recording(ctx: Ctx) -> Response:
    rid = ctx.request.path_params["recording_id"]
    answer = await ctx.api.rest("GET", f"/Recordings/{rid}/Download")
    return Response(answer.content, status_code=answer.status, media_type=answer.content_type or None)


def replay_body(call_id: str, log: dict[str, Any], old: str, new: ReplayAnswer) -> str:
    meta = log.get("metadata") or {}
    new_status = new.status if new.status is not None else (new.error or "no answer")
    return f"""<p>{esc(meta.get("requestType"))} to <code>{esc(meta.get("url"))}</code>, sent again
with a fresh signature (this replay is not logged and changes no call).</p>
<div class="pair">
<section aria-labelledby="old-h"><h2 id="old-h">The answer then</h2>
<p>status {esc(meta.get("responseStatus") or meta.get("error"))}, {esc(meta.get("elapsedMs"))} ms</p>
{pretty(old) if old else "<p>(empty)</p>"}</section>
<section aria-labelledby="new-h" id="replay-new"><h2 id="new-h">The answer now</h2>
<p>status {esc(new_status)}, {esc(new.elapsed_ms)} ms{f", {esc(new.error)}" if new.error else ""}</p>
{pretty(new.body) if new.body else "<p>(empty)</p>"}</section></div>
<h2>The request</h2>{pretty(meta.get("requestBody"))}
<p>{link(f"/console/calls/{call_id}", "Back to the call")}</p>"""


# ------------------------------------------------------------------ conferences and queues


async def conferences(ctx: Ctx) -> Response:
    back = "/console/conferences"
    sections = []
    for conf in await ctx.api.items("/Conferences", "conferences", limit=50):
        cid = str(conf["conferenceId"])
        people = await ctx.api.items(f"/Conferences/{cid}/Participants", "participants")
        rows = []
        for p in people:
            path = f"/Conferences/{cid}/Participants/{p['callId']}"
            toggles = "".join(
                action_form(ctx.forms, "rest", "POST", path, back,
                            f"{'Mute' if p.get(k) else 'Unmute'} {word}", body={k: not p.get(k)},
                            cls="inline")
                for k, word in (("talk", "talk"), ("listen", "listen")))
            remove = action_form(ctx.forms, "rest", "DELETE", path, back, "Remove", cls="inline")
            rows.append([link(f"/console/calls/{p['callId']}", p["callId"]), esc(p.get("talk")),
                         esc(p.get("listen")), toggles + remove])
        live = conf.get("status") not in ("terminated",)
        end = action_form(ctx.forms, "rest", "POST", f"/Conferences/{cid}", back, "Terminate",
                          body={"status": "terminated"}) if live else ""
        sections.append(f'<section><h2>{esc(conf.get("alias") or cid)} <code>{esc(cid)}</code> '
                        f'<span class="status">[{esc(conf.get("status"))}]</span></h2>{end}'
                        + table(["participant", "talk", "listen", "actions"], rows,
                                empty="No participants.") + "</section>")
    inner = "".join(sections) or '<p class="empty">No conferences yet.</p>'
    if _fragment(ctx):
        return HTMLResponse(inner)
    create = action_form(ctx.forms, "rest", "POST", "/Conferences", back, "Create a conference",
                         [Field("alias", "Alias"), Field("statusCallbackUrl", "Status callback URL"),
                          Field("waitUrl", "Wait URL (optional)")])
    return ctx.html("Conferences", _live(ctx, inner) + f"<details><summary>New conference</summary>"
                    f"{create}</details>", back)


async def queues(ctx: Ctx) -> Response:
    back = "/console/queues"
    sections = []
    for queue in await ctx.api.items("/Queues", "queues", limit=50):
        qid = str(queue["queueId"])
        members = await ctx.api.items(f"/Queues/{qid}/Members", "queueMembers")
        rows = [[link(f"/console/calls/{m['callId']}", m["callId"]), esc(m.get("position")),
                 esc(m.get("waitTime")),
                 action_form(ctx.forms, "rest", "POST", f"/Queues/{qid}/Members/{m['callId']}", back,
                             "Dequeue", cls="inline")] for m in members]
        front = action_form(ctx.forms, "rest", "POST", f"/Queues/{qid}/Members/Front", back,
                            "Dequeue the front member") if members else ""
        sections.append(f'<section><h2>{esc(queue.get("alias") or qid)} <code>{esc(qid)}</code> '
                        f'({esc(queue.get("currentSize"))} of {esc(queue.get("maxSize"))})</h2>{front}'
                        + table(["member", "position", "waiting (s)", "actions"], rows,
                                empty="Nobody waiting.") + "</section>")
    inner = "".join(sections) or '<p class="empty">No queues yet.</p>'
    if _fragment(ctx):
        return HTMLResponse(inner)
    create = action_form(ctx.forms, "rest", "POST", "/Queues", back, "Create a queue",
                         [Field("alias", "Alias"), Field("maxSize", "Max size", "i")])
    return ctx.html("Queues", _live(ctx, inner) + f"<details><summary>New queue</summary>{create}"
                    "</details>", back)


# ------------------------------------------------------------------ messages and logs


async def messages(ctx: Ctx) -> Response:
    back = "/console/messages"
    rows = [[esc(m.get("messageId")), esc(m.get("from")), esc(m.get("to")), esc(m.get("direction")),
             esc(m.get("status")), esc(m.get("text"))]
            for m in await ctx.api.items("/Messages", "messages", limit=100)]
    send = action_form(ctx.forms, "rest", "POST", "/Messages", back, "Send",
                       [Field("from", "From (one of your numbers)"), Field("to", "To"),
                        Field("text", "Text")])
    body = (table(["message", "from", "to", "direction", "status", "text"], rows,
                  caption="Newest first", empty="No messages yet.")
            + f"<details><summary>Send an SMS</summary>{send}</details>")
    return ctx.html("Messages", body, back)


async def logs(ctx: Ctx) -> Response:
    pql = ctx.request.query_params.get("pql", "").strip()
    if pql:
        answer = await ctx.api.rest("POST", "/Logs", body={"pql": pql})
        lines = answer.json().get("logs", []) if answer.ok else []
        problem = "" if answer.ok else f'<p class="flash error" role="alert">{esc(answer.error_text())}</p>'
    else:
        lines, problem = await ctx.api.items("/Logs", "logs", limit=200), ""
    rows = [[_time(line.get("timestamp")), esc(line.get("level")),
             link(f"/console/calls/{line['callId']}", line["callId"]) if line.get("callId") else "",
             esc(line.get("message")) + (f"<details><summary>metadata</summary>{pretty(line['metadata'])}"
                                         "</details>" if line.get("metadata") else "")]
            for line in lines[:200]]
    box = f"""<form class="filters" method="get" action="/console/logs">
<label for="pql">PQL</label><input id="pql" name="pql" size="60" value="{esc(pql)}"
 placeholder='level = "error"'>
<button type="submit">Search</button></form>"""
    body = box + problem + table(["time (UTC)", "level", "call", "message"], rows,
                                 caption="Newest first (200 at most)", empty="No log lines match.")
    return ctx.html("Logs", body, "/console/logs")


def _time(micros: object) -> str:
    """A log line's timestamp (integer microseconds) as UTC time, the raw value in its title."""
    if not isinstance(micros, int):
        return esc(micros)
    at = datetime.fromtimestamp(micros / 1e6, UTC).isoformat(timespec="milliseconds")
    shown = at.replace("+00:00", "").replace("T", " ")
    return f'<time datetime="{esc(at)}" title="{micros}">{esc(shown)}</time>'


# ------------------------------------------------------------------ applications and numbers


async def applications(ctx: Ctx) -> Response:
    back = "/console/applications"
    sections = []
    for app in await ctx.api.items("/Applications", "applications"):
        aid = str(app["applicationId"])
        edit = action_form(ctx.forms, "rest", "POST", f"/Applications/{aid}", back, "Save",
                           [Field(k, label, value=str(app.get(k) or "")) for k, label in APP_FIELDS])
        delete = action_form(ctx.forms, "rest", "DELETE", f"/Applications/{aid}", back, "Delete")
        sections.append(f"<section><h2>{esc(app.get('alias') or aid)} <code>{esc(aid)}</code></h2>"
                        f"<details><summary>Edit</summary>{edit}{delete}</details>"
                        f"<p>voice {esc(app.get('voiceUrl'))}</p></section>")
    create = action_form(ctx.forms, "rest", "POST", "/Applications", back, "Create",
                         [Field(k, label) for k, label in APP_FIELDS])
    body = ("".join(sections) or '<p class="empty">No applications yet.</p>') + \
        f"<section><h2>New application</h2>{create}</section>"
    return ctx.html("Applications", body, back)


async def numbers(ctx: Ctx) -> Response:
    back = "/console/numbers"
    apps = await ctx.api.items("/Applications", "applications")
    choices = [("", "(none)")] + [(str(a["applicationId"]), str(a.get("alias") or a["applicationId"]))
                                  for a in apps]
    rows = []
    for n in await ctx.api.items("/IncomingPhoneNumbers", "incomingPhoneNumbers"):
        nid = str(n["phoneNumberId"])
        wire = action_form(ctx.forms, "rest", "POST", f"/IncomingPhoneNumbers/{nid}", back, "Save",
                           [Field("alias", "Alias", value=str(n.get("alias") or "")),
                            Field("applicationId", "Application", value=str(n.get("applicationId") or ""),
                                  options=choices)], cls="inline")
        release = action_form(ctx.forms, "rest", "DELETE", f"/IncomingPhoneNumbers/{nid}", back,
                              "Release", cls="inline")
        rows.append([esc(n.get("phoneNumber")), wire + release])
    available = await ctx.api.rest("GET", "//AvailablePhoneNumbers", params={"pageSize": "10"})
    buy_rows = [[esc(a.get("phoneNumber")), esc(a.get("region")),
                 action_form(ctx.forms, "rest", "POST", "/IncomingPhoneNumbers", back,
                             f"Buy {a.get('phoneNumber')}",
                             [Field("phoneNumber", "", hidden=True, value=str(a.get("phoneNumber")))],
                             cls="inline")]
                for a in (available.json().get("availablePhoneNumbers") or [])[:10]]
    body = (table(["number", "alias and application"], rows, caption="Your numbers",
                  empty="No numbers yet: buy one below.")
            + "<h2>Available numbers</h2>" + table(["number", "region", ""], buy_rows,
                                                   empty="None left in the simulated inventory."))
    return ctx.html("Numbers", body, back)


# ------------------------------------------------------------------ the simulated network


async def sim(ctx: Ctx) -> Response:
    back = "/console/sim"
    number = ctx.request.query_params.get("number", "").strip()
    lookup = f"""<form class="filters" method="get" action="/console/sim">
<label for="number">Phone number</label><input id="number" name="number" value="{esc(number)}"
 placeholder="+15550100001"><button type="submit">Show its program</button></form>"""
    program = ""
    if number:
        answer = await ctx.api.sim("GET", f"/phones/{number}")
        if answer.ok:
            here = f"{back}?{urlencode({'number': number})}"
            program = (action_form(ctx.forms, "sim", "PUT", f"/phones/{number}", here, "Save the program",
                                   [Field("", f"Program of {number} (JSON)", "j", textarea=True,
                                          value=json.dumps(answer.json(), indent=2))])
                       + action_form(ctx.forms, "sim", "DELETE", f"/phones/{number}", here,
                                     "Reset to the default"))
        else:
            program = f'<p class="flash error" role="alert">{esc(answer.error_text())}</p>'
    faults = await ctx.api.sim("GET", "/faults")
    rows = [[esc(f.get("urlPrefix")), esc(f.get("kind")), esc(json.dumps(
        {k: v for k, v in f.items() if k not in ("urlPrefix", "kind")})),
        action_form(ctx.forms, "sim", "DELETE", "/faults?" + urlencode(
            {"urlPrefix": f.get("urlPrefix")}) if f.get("urlPrefix") else "/faults", back,
            "Delete", cls="inline")]
        for f in (faults.json() if faults.ok and isinstance(faults.json(), list) else [])]
    add = action_form(ctx.forms, "sim", "PUT", "/faults", back, "Add the rule",
                      [Field("urlPrefix", "URL prefix"),
                       Field("kind", "Kind", options=[(k, k) for k in (
                           "error", "timeout", "slow", "garbage", "refuse")], value="error"),
                       Field("status", "HTTP status (kind error)", "i"),
                       Field("delayMs", "Delay in ms (kind slow)", "i"),
                       Field("body", "Body (kind garbage)"), Field("times", "Times (blank: always)", "i")])
    body = (f"<section><h2>Phone programs</h2><p>How a virtual phone behaves when your calls "
            f"reach it.</p>{lookup}{program}</section>"
            f"<section><h2>Webhook fault rules</h2>"
            + table(["URL prefix", "kind", "settings", ""], rows, empty="No fault rules.")
            + f"{add}</section>")
    return ctx.html("Simulated phones and faults", body, back)
