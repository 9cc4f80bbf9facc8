"""The console's routes: sign-in, sessions and CSRF, the live feed, and the dispatch of every
page and action (the pages themselves are pages.py; a call's timeline, timeline.py).

Every page and every action reads and writes through the REST and sim APIs, called in process
with the signed-in account's credentials (client.py): one generic action endpoint, POST
/console/act, turns a form into the API request it names (which API, method, path under the
account, JSON body) and comes back to the page with the outcome. A script and the console thus
meet the same validation, errors and rate limit.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp
from starlette.websockets import WebSocket

from percl.console import pages, timeline
from percl.console.client import Answer, ApiClient
from percl.console.home import HomeInfo, healthz_route, signin_page
from percl.console.html import Frame, page
from percl.console.live import CallFeed
from percl.console.session import COOKIE, CSRF_HEADER, Session, Sessions, key_digest
from percl.domain.records import Account
from percl.engine.ports import Store
from percl.engine.ports.webhooks import WebhookReplayer

STATIC = Path(__file__).parent / "static"
#: The methods an action form may ask for, per API.
MAX_FORM_BYTES = 256 * 1024
SAFE_METHODS = frozenset({"GET", "HEAD"})
#: Every console answer: no framing (clickjacking), scripts, styles and sockets of this origin
#: only, and nothing cached (the home page shows the API key).
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; form-action 'self'; "
                               "base-uri 'none'; object-src 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
ACTION_METHODS = {"rest": {"POST", "DELETE"}, "sim": {"POST", "PUT", "DELETE"}}


@dataclass(frozen=True, slots=True)
class ConsoleDeps:
    """What the console needs from the composition root. `apis` returns the ASGI app that
    serves /apiserver and /sim/v1 (it is built after the console's routes)."""

    store: Store
    sessions: Sessions
    feed: CallFeed
    replayer: WebhookReplayer
    apis: Callable[[], ASGIApp]
    info: HomeInfo
    audio: bool  # the sim runs audio media: legs have sound to play


@dataclass(slots=True)
class Ctx:
    """One signed-in request."""

    request: Request
    session: Session
    account: Account
    api: ApiClient
    deps: ConsoleDeps

    @property
    def forms(self) -> Frame:
        """What the forms of a page need (the CSRF token)."""
        return Frame(self.account.account_id, self.session.csrf)

    def html(self, title: str, body: str, active: str) -> HTMLResponse:
        """The whole page, with the outcome of the last action (shown once)."""
        flash, self.session.flash = list(self.session.flash), []
        return HTMLResponse(page(title, body, Frame(self.account.account_id, self.session.csrf, flash),
                                 active=active))


Handler = Callable[[Ctx], Awaitable[Response]]


def console_routes(deps: ConsoleDeps) -> list[BaseRoute]:
    """`/`, `/healthz`, `/console/...` (mounted by app.py after the API mounts)."""

    def signed_in(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            found = await _session(deps, request)
            if found is None:
                if request.method not in SAFE_METHODS:
                    return _refused("Sign in first (your session ended)", 401)
                return RedirectResponse("/", status_code=303)
            session, account = found
            if request.method not in SAFE_METHODS and not await _csrf_ok(request, session):
                return _refused("Missing or wrong CSRF token: reload the page and try again", 403)
            async with ApiClient(deps.apis(), account.account_id, account.api_key,
                                 _address(request)) as api:
                return _secured(await handler(Ctx(request, session, account, api, deps)))
        return endpoint

    async def root(request: Request) -> Response:
        found = await _session(deps, request)
        if found is None:
            return _secured(HTMLResponse(signin_page(deps.info)))
        return await signed_in(pages.home)(request)

    async def signin(request: Request) -> Response:
        return _secured(await _sign_in(deps, request))

    async def live(websocket: WebSocket) -> None:
        found = await _session(deps, websocket)
        if found is None or not _same_origin(websocket.headers.get("origin"), websocket):
            await websocket.close(code=1008)  # policy: signed in, from this origin only
            return
        await deps.feed.serve(websocket, found[1].account_id)

    get = ["GET", "HEAD"]
    return [
        Route("/", root, methods=get),
        healthz_route(deps.info),
        Route("/console/signin", signin, methods=["POST"]),
        Route("/console/signout", signed_in(_sign_out), methods=["POST"]),
        Route("/console/act", signed_in(_act), methods=["POST"]),
        Route("/console/call-it", signed_in(pages.call_it), methods=["POST"]),
        Route("/console/calls", signed_in(pages.calls), methods=get),
        Route("/console/calls/{call_id}", signed_in(pages.call), methods=get),
        Route("/console/calls/{call_id}/audio", signed_in(pages.call_audio), methods=get),
        Route("/console/calls/{call_id}/replay", signed_in(_replay), methods=["POST"]),
        Route("/console/recordings/{recording_id}", signed_in(pages.recording), methods=get),
        Route("/console/conferences", signed_in(pages.conferences), methods=get),
        Route("/console/queues", signed_in(pages.queues), methods=get),
        Route("/console/messages", signed_in(pages.messages), methods=get),
        Route("/console/logs", signed_in(pages.logs), methods=get),
        Route("/console/applications", signed_in(pages.applications), methods=get),
        Route("/console/numbers", signed_in(pages.numbers), methods=get),
        Route("/console/sim", signed_in(pages.sim), methods=get),
        WebSocketRoute("/console/live", live),
        Mount("/console/static", StaticFiles(directory=STATIC), name="console-static"),
    ]


# ------------------------------------------------------------------ sessions


async def _session(deps: ConsoleDeps, conn: Request | WebSocket) -> tuple[Session, Account] | None:
    """The request's live session and its account; None when signed out (or the account's key
    changed since the sign-in: that ends the session)."""
    session = deps.sessions.find(conn.cookies.get(COOKIE))
    if session is None:
        return None
    account = await deps.store.get_account(session.account_id)
    if account is None or not hmac.compare_digest(key_digest(account.api_key), session.key_digest):
        deps.sessions.close(session)
        return None
    return session, account


async def _csrf_ok(request: Request, session: Session) -> bool:
    token = request.headers.get(CSRF_HEADER)
    if token is None:
        token = _text((await form_of(request)).get("csrf"))
    return session.csrf_ok(token)


async def form_of(request: Request) -> FormData:
    """The request's urlencoded form (the console's forms send nothing else), read once and at
    most MAX_FORM_BYTES; empty for any other body."""
    cached = getattr(request.state, "console_form", None)
    if isinstance(cached, FormData):
        return cached
    form = FormData()
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        raw = b""
        async for chunk in request.stream():
            raw += chunk
            if len(raw) > MAX_FORM_BYTES:
                raw = b""
                break
        pairs: list[tuple[str, str | UploadFile]] = list(
            parse_qsl(raw.decode("utf-8", errors="replace"), keep_blank_values=True))
        form = FormData(pairs)
    request.state.console_form = form
    return form


def _same_origin(origin: str | None, conn: Request | WebSocket) -> bool:
    """Whether an Origin header names this server (absent: not a browser's cross-site request)."""
    if origin is None:
        return True
    return urlsplit(origin).netloc == conn.headers.get("host", "")


async def _sign_in(deps: ConsoleDeps, request: Request) -> Response:
    if not _same_origin(request.headers.get("origin"), request):
        return _refused("Sign-in from another site refused", 403)
    form = await form_of(request)
    account_id = _text(form.get("accountId")).strip()
    api_key = _text(form.get("apiKey")).strip()
    # Checked by the REST API itself (GET /Accounts/{id}): its limit on failed authentications
    # applies to the console's sign-in as to a script's guesses.
    answer = None
    if account_id.isalnum() and api_key:
        async with ApiClient(deps.apis(), account_id, api_key, _address(request)) as api:
            answer = await api.rest("GET", "")
    account = await deps.store.get_account(account_id) if answer and answer.ok else None
    if account is None:
        limited = answer is not None and answer.status == 429
        error = answer.error_text() if answer and limited else "Wrong account id or API key."
        return HTMLResponse(signin_page(deps.info, error=error, account_id=account_id),
                            status_code=429 if limited else 401)
    _, cookie = deps.sessions.open(account.account_id, account.api_key)
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(COOKIE, cookie, httponly=True, samesite="strict", path="/",
                        secure=deps.info.base_url.startswith("https:"))
    return response


async def _sign_out(ctx: Ctx) -> Response:
    ctx.deps.sessions.close(ctx.session)
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


def _secured(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def _address(conn: Request | WebSocket) -> tuple[str, int] | None:
    return (conn.client.host, conn.client.port) if conn.client else None


def _refused(text: str, status: int) -> Response:
    return HTMLResponse(page("Refused", f"<p>{text}</p><p><a href=\"/\">Back to the console</a></p>",
                             Frame()), status_code=status)


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


# ------------------------------------------------------------------ actions


async def _act(ctx: Ctx) -> Response:
    """POST /console/act: one REST or sim API request made of a form (html.action_form), then
    back to the page with the outcome. JSON in, JSON out when the browser's script asks."""
    form = await form_of(ctx.request)
    back = _local(_text(form.get("back")))
    try:
        api, method, path, body = _action_of(form)
    except ValueError as exc:
        return _done(ctx, back, Answer(400, json.dumps({"message": str(exc)}).encode(), ""), "")
    call = ctx.api.rest if api == "rest" else ctx.api.sim
    answer = await call(method, path, body=body)
    return _done(ctx, back, answer, f"{method} {path}")


def _action_of(form: FormData) -> tuple[str, str, str, Any]:
    """(api, method, path, JSON body) of an action form. Raises ValueError saying what is wrong."""
    api, method, path = _text(form.get("api")), _text(form.get("method")).upper(), _text(form.get("path"))
    if method not in ACTION_METHODS.get(api, set()):
        raise ValueError(f"unknown action {api} {method}")
    if not path.startswith("/") or ".." in path or "#" in path:
        raise ValueError(f"bad action path {path!r}")
    body: dict[str, Any] = {}
    for key, raw in form.multi_items():
        kind, _, name = key.partition(":")
        value = _text(raw)
        if kind == "j" and value.strip():
            parsed = _json(value, name or "body")
            if not name:  # the whole body
                if not isinstance(parsed, dict):
                    return api, method, path, parsed
                body.update(parsed)
            else:
                body[name] = parsed
        elif kind == "s" and value.strip():
            body[name] = value.strip()
        elif kind == "i" and value.strip():
            try:
                body[name] = int(value)
            except ValueError:
                raise ValueError(f"{name} must be a whole number, got {value!r}") from None
        elif kind == "b" and value:
            body[name] = value == "true"
    return api, method, path, body if body or method != "DELETE" else None


def _json(text: str, name: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ValueError(f"{name} is not valid JSON: {exc}") from None


def _done(ctx: Ctx, back: str, answer: Answer, what: str) -> Response:
    if "application/json" in ctx.request.headers.get("accept", ""):
        return JSONResponse({"status": answer.status, "body": answer.json()},
                            status_code=200 if answer.ok else 400)
    if answer.ok:
        ctx.session.flash.append(("ok", f"Done: {what} → {answer.status}"))
    else:
        ctx.session.flash.append(("error", f"Refused ({answer.status}): {answer.error_text()}"))
    return RedirectResponse(back, status_code=303)


def _local(url: str) -> str:
    """`url` when it is a path of this site, else the console's home (no open redirect)."""
    parts = urlsplit(url)
    if url.startswith("/") and not url.startswith("//") and not parts.scheme and not parts.netloc:
        return url
    return "/"


# ------------------------------------------------------------------ replay


async def _replay(ctx: Ctx) -> Response:
    """POST /console/calls/{id}/replay: send a logged webhook again; old and new answers side
    by side."""
    call_id = ctx.request.path_params["call_id"]
    form = await form_of(ctx.request)
    flow = await timeline.fetch_flow(ctx.api, call_id)
    found = None if flow is None else timeline.find_webhook(
        flow, call_id, _text(form.get("requestId")), _text(form.get("fallback")) == "1")
    if flow is None or found is None:
        ctx.session.flash.append(("error", "No such webhook in this call's logs"))
        return RedirectResponse(f"/console/calls/{call_id}", status_code=303)
    leg, log = found
    meta = log["metadata"]
    new = await ctx.deps.replayer.replay(ctx.account, str(meta["url"]), meta.get("requestBody") or {})
    old_answer = timeline.answer_of(leg, log)
    return ctx.html("Webhook replayed", pages.replay_body(call_id, log, old_answer, new), "/console/calls")
