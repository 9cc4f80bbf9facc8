"""`GET /phone`: the browser softphone (static HTML, phone.js and phone.css; no build step).

The page holds no secret of its own: it takes a WebRTC token (FreeClimb's make-a-webrtc-jwt) from
the URL fragment `#token=...` (a fragment never reaches the server or its logs) or from a paste
box, and speaks to percl over the signalling socket /webrtc/v1/socket (telephony/webrtc). The
files are read once, at start-up, from this package's `static/` folder.
"""

from __future__ import annotations

from importlib.resources import files

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

#: The page's scripts are its own files only; media from the microphone, sockets to this origin.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self' ws: wss:; "
       "media-src 'self' blob: mediastream:; img-src 'self' data:; base-uri 'none'; "
       "frame-ancestors 'none'")


def phone_routes() -> list[BaseRoute]:
    """`/phone`, `/phone/phone.js` and `/phone/phone.css` (mounted by app.py)."""
    static = files("percl.console") / "static"
    page = (static / "phone.html").read_text(encoding="utf-8")
    script = (static / "phone.js").read_text(encoding="utf-8")
    style = (static / "phone.css").read_text(encoding="utf-8")
    headers = {"Content-Security-Policy": CSP, "Cache-Control": "no-cache",
               "X-Content-Type-Options": "nosniff"}

    async def phone(request: Request) -> HTMLResponse:
        return HTMLResponse(page, headers=headers)

    async def phone_js(request: Request) -> Response:
        return Response(script, media_type="text/javascript", headers=headers)

    async def phone_css(request: Request) -> Response:
        return Response(style, media_type="text/css", headers=headers)

    return [Route("/phone", phone, methods=["GET", "HEAD"]),
            Route("/phone/phone.js", phone_js, methods=["GET", "HEAD"]),
            Route("/phone/phone.css", phone_css, methods=["GET", "HEAD"])]
