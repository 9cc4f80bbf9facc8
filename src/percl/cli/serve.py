"""`percl serve`: run the Platform under uvicorn (uvloop + httptools), optionally with the demo app."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import importlib.util
import json
import os
import sys
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from rich.console import Console
from rich.panel import Panel
from starlette.routing import Mount

from percl.app import Platform
from percl.config import IN_MEMORY_DBS, Settings
from percl.errors import DatabaseUnusable

DEMO_ALIAS = "percl demo"
DEMO_CALLER = "+15550100001"
#: Allocations between generation-0 collections (CPython's default is 700). A live call makes a
#: few thousand short-lived objects per second; a higher threshold means fewer young passes, each
#: still small (docs/BENCHMARKS.md, fix 8).
GEN0_THRESHOLD = 20_000


def run_server(settings: Settings, *, demo_app: Path | None, console: Console) -> None:
    try:
        import uvloop

        runner: Any = uvloop.run
    except ImportError:  # pragma: no cover - uvloop ships with uvicorn[standard]
        runner = asyncio.run
    with contextlib.suppress(KeyboardInterrupt):
        try:
            runner(_serve(settings, demo_app, console))
        except DatabaseUnusable as exc:  # one line, no traceback: it names PERCL_DB
            print(f"percl: {exc}", file=sys.stderr)
            raise SystemExit(1) from None


async def _serve(settings: Settings, demo_app: Path | None, console: Console) -> None:
    async with Platform(settings) as platform:
        if platform.db_created:
            console.print(f"percl: no database at PERCL_DB={settings.db}: created a new one")
        demo_number = None
        if demo_app is not None:
            demo_number = await _wire_demo(platform, demo_app)
        _write_credentials(platform)
        _banner(console, platform, demo_number)
        tune_gc()
        config = uvicorn.Config(platform.asgi, host=settings.host, port=settings.port,
                                lifespan="off", log_level="warning", http="httptools",
                                access_log=False)
        await uvicorn.Server(config).serve()
        console.print("percl: shutting down, ending live calls")


def tune_gc() -> None:
    """Call once, when start-up is done (modules imported, platform built), never in library code.

    Why: percl's heap after start-up is mostly modules, classes and the platform, which live until
    exit; a generation-2 pass walked all of it (88-169 ms with the event loop standing still).
    `gc.freeze()` moves them to the permanent generation, so later passes walk only what calls
    allocate. Collecting first keeps start-up garbage out of the frozen set.
    """
    gc.collect()
    gc.freeze()
    _, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(GEN0_THRESHOLD, gen1, gen2)


def _load_demo(path: Path) -> Any:
    if not path.exists():
        raise SystemExit(f"--demo: {path} not found (run from the percl repository)")
    spec = importlib.util.spec_from_file_location("percl_demo_app", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def _wire_demo(platform: Platform, path: Path) -> str:
    """Serve the demo app at /demo and wire a number to it through the REST API (idempotent)."""
    base = f"http://{platform.settings.host}:{platform.settings.port}/demo"
    module = _load_demo(path)
    platform.asgi.routes.append(Mount("/demo", module.create_app(base)))
    acc = platform.account
    fields = {"alias": DEMO_ALIAS, **module.application_urls(base)}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=platform.asgi),
                                 base_url="http://percl/apiserver",
                                 auth=(acc.account_id, acc.api_key)) as api:
        apps_url = f"/Accounts/{acc.account_id}/Applications"
        found = _ok(await api.get(apps_url, params={"alias": DEMO_ALIAS}))["applications"]
        if found:
            app_id = found[0]["applicationId"]
            _ok(await api.post(f"{apps_url}/{app_id}", json=fields))
        else:
            app_id = _ok(await api.post(apps_url, json=fields))["applicationId"]
        numbers_url = f"/Accounts/{acc.account_id}/IncomingPhoneNumbers"
        wired = _ok(await api.get(numbers_url, params={"applicationId": app_id}))
        if wired["incomingPhoneNumbers"]:
            return str(wired["incomingPhoneNumbers"][0]["phoneNumber"])
        available = _ok(await api.get("/AvailablePhoneNumbers"))["availablePhoneNumbers"]
        if not available:
            raise SystemExit("--demo: no number left in the simulated inventory")
        bought = _ok(await api.post(numbers_url, json={
            "phoneNumber": available[0]["phoneNumber"], "alias": DEMO_ALIAS,
            "applicationId": app_id}))
        return str(bought["phoneNumber"])


def _ok(response: httpx.Response) -> Any:
    if response.status_code >= 400:
        raise SystemExit(f"--demo: wiring failed: HTTP {response.status_code} {response.text}")
    return response.json()


def _write_credentials(platform: Platform) -> None:
    db = platform.settings.db
    folder = Path(db).parent if db not in IN_MEMORY_DBS else Path("var")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "percl-credentials.json"
    acc = platform.account
    path.write_text(json.dumps({"accountId": acc.account_id, "apiKey": acc.api_key,
                                "url": platform.settings.base_url}))
    os.chmod(path, 0o600)


def _banner(console: Console, platform: Platform, demo_number: str | None) -> None:
    s, acc = platform.settings, platform.account
    seed = platform.seed
    state = "created" if seed is not None and seed.created else "existing"
    lines = [
        f"[bold]percl[/] on {s.base_url}  (REST {s.base_url}/apiserver, sim {s.base_url}/sim/v1)",
        f"database {s.db}, simulated phone network, media time scale {s.media_time_scale}",
        "",
        f"account ({state}):",
        f"  accountId      {acc.account_id}",
        f"  apiKey         {acc.api_key}",
        f"  signingSecret  {acc.signing_secret}",
    ]
    if platform.recovered:
        lines.append(f"[yellow]{platform.recovered} call(s) left live by a previous run were "
                     "closed with internalError[/]")
    console.print(Panel("\n".join(lines), title="percl", expand=False))
    # Printed outside the panel so that it can be copied and pasted as it is.
    console.print("official SDK (pip install freeclimb):", style="bold")
    snippet = (
        "import freeclimb\n"
        f'cfg = freeclimb.Configuration(host="{s.base_url}/apiserver", '
        f'username="{acc.account_id}", password="{acc.api_key}")\n'
        "api = freeclimb.DefaultApi(freeclimb.ApiClient(cfg))\n"
        "print(api.list_calls())"
    )
    console.print(snippet, soft_wrap=True, highlight=False, markup=False)
    if demo_number:
        console.print(f"demo app at {s.base_url}/demo is wired to {demo_number}; call it with:",
                      style="bold")
        console.print(f"  .venv/bin/percl sim call {DEMO_CALLER} {demo_number} --press 1",
                      soft_wrap=True, highlight=False)
