"""The FreeClimb REST API as an ASGI app (FastAPI), one module per resource.

`create_api(deps)` builds the app; the composition root mounts it at `/apiserver`, so the
routes here are `/Accounts/...` and `/AvailablePhoneNumbers`. Every route authenticates with
HTTP Basic `accountId:apiKey` (auth.py) and every failure renders as FreeClimb's error body
(errors.py). In `percl serve` the app sits behind guard.py (credentials checked from the headers
before a bounded body is read) and ratelimit.py; app.py puts them there.
"""

from __future__ import annotations

from fastapi import FastAPI

from percl.api import (
    accounts,
    applications,
    blobs,
    calls,
    campaigns,
    conferences,
    exports,
    knowledge,
    logs,
    messages,
    numbers,
    queues,
    recordings,
    webrtc,
)
from percl.api.deps import ApiDeps
from percl.api.errors import install_error_handlers
from percl.api.middleware import CatchAllMiddleware, RequestIdMiddleware, TrailingSlashMiddleware
from percl.api.pagination import CursorCodec, CursorMiddleware

__all__ = ["ApiDeps", "create_api"]

# Order matters only where paths overlap: /Calls/{id}/Logs is more specific than /Calls/{id}.
# Calls come first: FastAPI tries routes one by one, and POST /Calls (and GET /Calls/{id}) are
# the busiest requests; no other router's paths overlap theirs (each path is anchored).
_ROUTERS = (calls.router, accounts.router, applications.router, numbers.router, logs.router,
            queues.router, messages.router, conferences.router, recordings.router)


def create_api(deps: ApiDeps) -> FastAPI:
    """Build the REST app over `deps`. Call once per process (or per test)."""
    app = FastAPI(
        title="percl FreeClimb-compatible REST API",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        # FreeClimb clients send JSON; one that forgets the Content-Type still means JSON, and
        # Basic auth (not cookies) already keeps cross-site form posts out.
        strict_content_type=False,
    )
    app.state.deps = deps
    app.state.cursor_codec = CursorCodec(deps.cursor_secret)
    # First of all routes: POST /Calls, the busiest request, is a plain route (calls.make_call).
    app.router.add_route(calls.MAKE_CALL_PATH, calls.make_call, methods=["POST"],
                         include_in_schema=False)
    for router in _ROUTERS:
        app.include_router(router)
    app.include_router(webrtc.router)
    app.include_router(blobs.router)
    app.include_router(exports.router)
    app.include_router(knowledge.router)
    app.include_router(campaigns.router)
    install_error_handlers(app)
    # add_middleware wraps outward: the request id is outermost so a 500 carries it too.
    # Innermost: a GET's cursor puts its list's filters back into the query string before routing.
    app.add_middleware(CursorMiddleware, secret=deps.cursor_secret)
    app.add_middleware(TrailingSlashMiddleware)  # `.../Calls/` is `.../Calls`, no 307
    app.add_middleware(CatchAllMiddleware)
    app.add_middleware(RequestIdMiddleware, ids=deps.ids)
    return app
