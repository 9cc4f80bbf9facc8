"""The public part of `/`: the sign-in page (with where the APIs and the credentials are), and
`GET /healthz`, a liveness check for scripts and load balancers.

Neither needs authentication, so neither shows anything of an account: the page says where
the credentials are, never what they are. Signed in, `/` is the console's home (pages.home).
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from percl.console.html import Frame, page


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


def healthz_route(info: HomeInfo) -> Route:
    async def healthz(request: Request) -> JSONResponse:
        body = {"status": "ok", "version": percl_version()}
        if info.worker_id is not None:
            body["worker"] = info.worker_id
        return JSONResponse(body)

    return Route("/healthz", healthz, methods=["GET", "HEAD"])


def signin_page(info: HomeInfo, *, error: str | None = None, account_id: str = "") -> str:
    base = html.escape(info.base_url)
    where = html.escape(info.credentials_hint or "the credentials file `percl serve` writes")
    links = [
        (f"{base}/apiserver", "FreeClimb REST API base URL (give it to the SDK as its host)"),
        (f"{base}/sim/v1/docs", "simulated phone network API: interactive docs"),
        (f"{base}/healthz", "health check"),
    ]
    items = "\n".join(f'    <li><a href="{url}">{url}</a>: {text}</li>' for url, text in links)
    problem = f'<p class="flash error" role="alert">{html.escape(error)}</p>' if error else ""
    body = f"""<p>A self-hosted FreeClimb-compatible voice platform with a simulated phone network
  (percl {html.escape(percl_version())}).</p>
  <h2>Sign in to the console</h2>{problem}
  <form class="signin" method="post" action="/console/signin">
    <label for="accountId">Account id</label>
    <input id="accountId" name="accountId" autocomplete="username" required value="{html.escape(account_id)}">
    <label for="apiKey">API key</label>
    <input id="apiKey" name="apiKey" type="password" autocomplete="current-password" required>
    <button type="submit">Sign in</button>
  </form>
  <h2>Credentials</h2>
  <p>The account id and API key (HTTP basic auth for the REST API) are in {where}.
  From a terminal, <code>percl status</code> shows which server and account the commands use.</p>
  <h2>Links</h2>
  <ul>
{items}
  </ul>"""
    return page("percl", body, Frame())
