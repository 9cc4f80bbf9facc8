"""How the terminal commands reach a running `percl serve`: where, as whom, and through what.

Where and as whom (`Target`): `--url` / `--account` / `--key` flags win; then the environment
(PERCL_ACCOUNT_ID, PERCL_API_KEY); then the per-user credentials file `percl serve` writes
(cli/credentials.py: $PERCL_HOME/credentials.json, default ~/.config/percl), the same from any
folder, which also names each server's URL; the URL defaults to http://127.0.0.1:8600.
`Target.source` says where the credentials came from, for messages.

Through what (`Runtime`, click's `ctx.obj`): production uses real HTTP and the real terminal.
Tests hand in an httpx transport into an in-process platform and a scripted keyboard, the way
click's own runner injects its output stream: nothing is patched.

`PerclClient` turns every failure a person can fix into a ClickException that says how (exit
code 1): server not reachable, credentials refused. Other HTTP errors raise `HttpError`.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import click
import httpx

from percl.cli.credentials import CREDENTIALS_NAME, credentials_path, find_entry
from percl.cli.flags import normal_url
from percl.cli.keyboard import Keyboard, for_terminal
from percl.cli.speaker import Speaker, open_speaker

DEFAULT_URL = "http://127.0.0.1:8600"
CREDENTIALS_FILE = CREDENTIALS_NAME
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True, slots=True)
class Target:
    """A running percl and the account to act as."""

    url: str
    account_id: str
    api_key: str
    source: str = field(default="", compare=False)  # "flags", "environment" or the file
    ca_file: str | None = field(default=None, compare=False)  # extra CA for a local https server

    def describe(self) -> str:
        """One line naming the server and the account, e.g. for `percl status` and errors."""
        return f"percl at {self.url} as {self.account_id} (credentials from {self.source})"


@dataclass(frozen=True, slots=True)
class Runtime:
    """What the commands talk through; `ctx.obj` when set (tests), else the real thing."""

    transport: httpx.BaseTransport | None = None
    keyboard: Callable[[bool], Keyboard] = for_terminal
    speaker: Callable[[], Speaker | str] = open_speaker  # `sim call --play`


class HttpError(click.ClickException):
    """An HTTP error answer from percl, with its status (FreeClimb's error message shown)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status


def credentials_file(environ: Mapping[str, str]) -> Path:
    """Where `percl serve` writes its credentials: $PERCL_HOME/credentials.json (any folder)."""
    return credentials_path(environ)


def resolve_target(url: str | None, account: str | None, key: str | None,
                   environ: Mapping[str, str]) -> Target:
    """Flags, then environment, then the credentials file (the entry for `url`, else the newest
    running server). Raises ClickException when no credentials are found anywhere."""
    path = credentials_file(environ)
    saved = find_entry(path, url)
    sources = [("flags", account, key),
               ("environment", environ.get("PERCL_ACCOUNT_ID"), environ.get("PERCL_API_KEY")),
               (str(path), saved.account_id if saved else None, saved.api_key if saved else None)]
    account = next((a for _, a, _k in sources if a), None)
    key = next((k for _, _a, k in sources if k), None)
    if not account or not key:
        raise click.ClickException(
            "no credentials: pass --account and --key, set PERCL_ACCOUNT_ID and PERCL_API_KEY, "
            f"or start `percl serve` first (it writes {path}; PERCL_HOME moves it)"
        )
    source = next(name for name, a, _k in sources if a)
    base = normal_url(str(url or (saved.url if saved else None) or DEFAULT_URL))
    ca_file = saved.ca_file if saved is not None and saved.url == base else None
    return Target(url=base, account_id=str(account), api_key=str(key),
                  source=source, ca_file=ca_file)


def connection_options(command: F) -> F:
    """Add --url, --account and --key to a command (read back with `client_from`)."""
    command = click.option("--key", help="API key [env PERCL_API_KEY].")(command)
    command = click.option("--account", help="Account id [env PERCL_ACCOUNT_ID].")(command)
    return click.option(
        "--url", help=f"percl base URL [default from {CREDENTIALS_FILE}, else {DEFAULT_URL}]."
    )(command)


def runtime() -> Runtime:
    """The Runtime of the running command (tests put one in ctx.obj)."""
    obj = click.get_current_context().find_object(Runtime)
    return obj if obj is not None else Runtime()


def client_from(url: str | None, account: str | None, key: str | None) -> PerclClient:
    """A client for the command's connection flags."""
    return PerclClient(resolve_target(url, account, key, os.environ), runtime().transport)


class PerclClient:
    """Blocking client of one percl: its sim API (/sim/v1) and its REST API (/apiserver)."""

    def __init__(self, target: Target, transport: httpx.BaseTransport | None = None,
                 timeout_s: float = 10.0) -> None:
        self.target = target
        ca = target.ca_file
        verify = ssl.create_default_context(cafile=ca) if ca and os.path.exists(ca) else True
        self._http = httpx.Client(base_url=target.url, transport=transport, timeout=timeout_s,
                                  auth=(target.account_id, target.api_key), verify=verify)

    def __enter__(self) -> PerclClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.close()

    def sim(self, method: str, path: str, **kwargs: Any) -> Any:
        """A sim API request (`path` under /sim/v1); the decoded JSON answer, None when empty."""
        return self._request(method, f"/sim/v1{path}", **kwargs)

    def sim_bytes(self, path: str, **kwargs: Any) -> bytes:
        """A GET of the sim API whose answer is not JSON (a WAV): its raw body."""
        return self._send("GET", f"/sim/v1{path}", **kwargs).content

    def rest(self, method: str, path: str, **kwargs: Any) -> Any:
        """A REST request, `path` under /apiserver/Accounts/{accountId}."""
        return self._request(method, f"/apiserver/Accounts/{self.target.account_id}{path}",
                             **kwargs)

    def get_json(self, path: str) -> Any:
        """A GET of one of percl's own pages (e.g. /healthz), authenticated like the rest."""
        return self._request("GET", path)

    def rest_list(self, path: str, key: str, params: Mapping[str, str] | None = None,
                  limit: int = 1000) -> list[dict[str, Any]]:
        """Every item of a REST list (following nextPageUri), at most `limit`."""
        page = self.rest("GET", path, params=dict(params or {}))
        items: list[dict[str, Any]] = list(page.get(key) or [])
        while page.get("nextPageUri") and len(items) < limit:
            page = self._request("GET", f"/apiserver{page['nextPageUri']}")
            items += page.get(key) or []
        return items[:limit]

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._send(method, path, **kwargs)
        return response.json() if response.content else None

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """The answer to one request. Raises ClickException when percl cannot be reached or
        refuses the credentials, HttpError for any other error status."""
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise click.ClickException(
                f"cannot reach percl at {self.target.url} ({exc.__class__.__name__}: {exc}). "
                "Is `percl serve` running? Point at it with --url "
                f"(credentials from {self.target.source or 'flags'})."
            ) from None
        if response.status_code in (401, 403):
            raise click.ClickException(
                f"credentials refused: percl at {self.target.url} refused account "
                f"{self.target.account_id} (credentials from {self.target.source or 'flags'}): "
                "check --account/--key, PERCL_ACCOUNT_ID/PERCL_API_KEY or the credentials file."
            )
        if response.status_code >= 400:
            raise HttpError(response.status_code, _message(response))
        return response


def _message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text
    return str(body.get("message", response.text)) if isinstance(body, dict) else response.text
