"""The FreeClimb REST API as an ASGI app (FastAPI), one module per resource.

`create_api(deps)` builds the app; the composition root mounts it at `/apiserver`, so the
routes here are `/Accounts/...` and `/AvailablePhoneNumbers`. Every route authenticates with
HTTP Basic `accountId:apiKey` (auth.py) and every failure renders as FreeClimb's error body
(errors.py).
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
    webrtc,
)
from percl.api.deps import ApiDeps
from percl.api.errors import install_error_handlers
from percl.api.fast_calls import MakeCallFastPath
from percl.api.middleware import CatchAllMiddleware, RequestIdMiddleware

__all__ = ["ApiDeps", "create_api"]

# Order matters only where paths overlap: /Calls/{id}/Logs is more specific than /Calls/{id}.
_ROUTERS = (accounts.router, applications.router, numbers.router, calls.router, logs.router,
            queues.router, messages.router, conferences.router)


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
    for router in _ROUTERS:
        app.include_router(router)
    app.include_router(webrtc.router)
    app.include_router(blobs.router)
    app.include_router(exports.router)
    app.include_router(knowledge.router)
    app.include_router(campaigns.router)
    install_error_handlers(app)
    # add_middleware wraps outward: the request id is outermost so a 500 carries it too.
    app.add_middleware(MakeCallFastPath, deps=deps)  # innermost: see fast_calls.py
    app.add_middleware(CatchAllMiddleware)
    app.add_middleware(RequestIdMiddleware, ids=deps.ids)
    return app
