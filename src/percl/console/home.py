"""`GET /`: a small start page (where the APIs are, where the credentials are), and
`GET /healthz`: a liveness check for scripts and load balancers.

Neither needs authentication, so neither shows anything of an account: the page says where
the credentials are, never what they are.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import BaseRoute, Route


@dataclass(frozen=True, slots=True)
class HomeInfo:
    """What the start page links to. `credentials_hint` says where the credentials are (a file
    path or a sentence); None when the server was not told."""

    base_url: str
    credentials_hint: str | None = None
    worker_id: str | None = None  # this worker's id when several share the database


def percl_version() -> str:
    try:
        return version("percl")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "unknown"


def home_routes(info: HomeInfo) -> list[BaseRoute]:
    """The routes of `/` and `/healthz` (mounted by app.py before the API mounts)."""
    page = _page(info)

    async def home(request: Request) -> HTMLResponse:
        return HTMLResponse(page)

    async def healthz(request: Request) -> JSONResponse:
        body = {"status": "ok", "version": percl_version()}
        if info.worker_id is not None:
            body["worker"] = info.worker_id
        return JSONResponse(body)

    return [Route("/", home, methods=["GET", "HEAD"]),
            Route("/healthz", healthz, methods=["GET", "HEAD"])]


def _page(info: HomeInfo) -> str:
    base = html.escape(info.base_url)
    where = html.escape(info.credentials_hint or "the credentials file `percl serve` writes")
    links = [
        (f"{base}/apiserver", "FreeClimb REST API base URL (give it to the SDK as its host)"),
        (f"{base}/sim/v1/docs", "simulated phone network API: interactive docs"),
        (f"{base}/healthz", "health check"),
    ]
    items = "\n".join(f'    <li><a href="{url}">{url}</a>: {text}</li>' for url, text in links)
    return f"""<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>percl</title></head>
<body>
  <h1>percl {html.escape(percl_version())}</h1>
  <p>A self-hosted FreeClimb-compatible voice platform with a simulated phone network.</p>
  <ul>
{items}
  </ul>
  <h2>Credentials</h2>
  <p>The account id and API key (HTTP basic auth for the REST API) are in {where}.
  From a terminal, <code>percl status</code> shows which server and account the commands use.</p>
</body>
</html>
"""
