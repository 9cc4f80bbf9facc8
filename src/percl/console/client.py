"""The console's way to the REST and sim APIs: the very ASGI apps a script talks to, called in
process with the signed-in account's credentials (HTTP basic), so every console action passes
the same authentication, rate limit, validation and error bodies as a script's request.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from starlette.types import ASGIApp

REST = "/apiserver"
SIM = "/sim/v1"


@dataclass(frozen=True, slots=True)
class Answer:
    """One API response: its status, its body, and the body as JSON when it is JSON."""

    status: int
    content: bytes
    content_type: str

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def json(self) -> Any:
        """The body as JSON ({} when empty or not JSON)."""
        try:
            return json.loads(self.content) if self.content else {}
        except ValueError:
            return {}

    def error_text(self) -> str:
        """FreeClimb's error message (and its `info`), or the status alone."""
        body = self.json()
        if isinstance(body, dict) and body.get("message"):
            details = body.get("info") or body.get("details")
            return f"{body['message']}" + (f" ({json.dumps(details)})" if details else "")
        return f"HTTP {self.status}"


class ApiClient:
    """Calls `/apiserver` and `/sim/v1` of `app` as `account_id`:`api_key`. Use `async with`."""

    def __init__(self, app: ASGIApp, account_id: str, api_key: str,
                 address: tuple[str, int] | None = None) -> None:
        """`address`: the browser's, so that the API's limits (failed sign-ins, rate) count
        its requests as its own."""
        self.account_id = account_id
        transport = httpx.ASGITransport(app=app, client=address or ("127.0.0.1", 0))
        self._http = httpx.AsyncClient(transport=transport,
                                       base_url="http://percl.console", auth=(account_id, api_key),
                                       timeout=None)

    async def __aenter__(self) -> ApiClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._http.aclose()

    async def rest(self, method: str, path: str, *, params: Mapping[str, str] | None = None,
                   body: Any = None) -> Answer:
        """`path` under the account (`/Calls` -> /apiserver/Accounts/{id}/Calls); a path that
        starts with `//` is taken from /apiserver itself (`//AvailablePhoneNumbers`)."""
        full = path[1:] if path.startswith("//") else f"/Accounts/{self.account_id}{path}"
        return await self.request(method, REST + full, params=params, body=body)

    async def sim(self, method: str, path: str, *, params: Mapping[str, str] | None = None,
                  body: Any = None) -> Answer:
        return await self.request(method, SIM + path, params=params, body=body)

    async def request(self, method: str, path: str, *, params: Mapping[str, str] | None = None,
                      body: Any = None) -> Answer:
        response = await self._http.request(method, path, params=params,
                                            json=body if body is not None else None)
        return Answer(response.status_code, response.content,
                      response.headers.get("content-type", ""))

    async def items(self, path: str, key: str, params: Mapping[str, str] | None = None,
                    *, limit: int = 200) -> list[dict[str, Any]]:
        """Up to `limit` items of a REST list (following nextPageUri); [] when it fails."""
        out: list[dict[str, Any]] = []
        answer = await self.rest("GET", path, params=params)
        while answer.ok:
            page = answer.json()
            out += page.get(key) or []
            nxt = page.get("nextPageUri")
            if not nxt or len(out) >= limit:
                break
            answer = await self.request("GET", REST + str(nxt).removeprefix(REST))
        return out[:limit]
