"""`percl serve`: run the Platform under uvicorn (uvloop + httptools), optionally with the demo app."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import importlib.util
import json
import os
from pathlib import Path
from typing import Any

import uvicorn
from rich.console import Console
from rich.panel import Panel
from starlette.routing import Mount

from percl.app import Platform
from percl.config import Settings
from percl.domain import ids as idmod
from percl.domain.records import Application, IncomingNumber

DEMO_ALIAS = "percl demo"
DEMO_CALLER = "+15550100001"


def run_server(settings: Settings, *, demo_app: Path | None, console: Console) -> None:
    try:
        import uvloop

        runner: Any = uvloop.run
    except ImportError:  # pragma: no cover - uvloop ships with uvicorn[standard]
        runner = asyncio.run
    with contextlib.suppress(KeyboardInterrupt):
        runner(_serve(settings, demo_app, console))


async def _serve(settings: Settings, demo_app: Path | None, console: Console) -> None:
    async with Platform(settings) as platform:
        demo_number = None
        if demo_app is not None:
            demo_number = await _wire_demo(platform, demo_app)
        _write_credentials(platform)
        _banner(console, platform, demo_number)
        config = uvicorn.Config(platform.asgi, host=settings.host, port=settings.port,
                                lifespan="off", log_level="warning", http="httptools",
                                access_log=False)
        await uvicorn.Server(config).serve()
        console.print("percl: shutting down, ending live calls")


def _load_demo(path: Path) -> Any:
    if not path.exists():
        raise SystemExit(f"--demo: {path} not found (run from the percl repository)")
    spec = importlib.util.spec_from_file_location("percl_demo_app", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def _wire_demo(platform: Platform, path: Path) -> str:
    """Serve the demo app at /demo and make sure a number routes to it (idempotent)."""
    base = f"http://{platform.settings.host}:{platform.settings.port}/demo"
    module = _load_demo(path)
    platform.asgi.routes.append(Mount("/demo", module.create_app(base)))
    store, clock, account = platform.store, platform.clock, platform.account
    now = clock.now()
    apps = await store.list_applications(account.account_id, alias=DEMO_ALIAS)
    urls = module.application_urls(base)
    if apps:
        app = dataclasses.replace(apps[0], date_updated=now, **urls)
    else:
        app = Application(application_id=platform.ids.new(idmod.APPLICATION),
                          account_id=account.account_id, alias=DEMO_ALIAS,
                          date_created=now, date_updated=now, **urls)
    await store.put_application(app)
    for number in await store.list_numbers(account.account_id):
        if number.application_id == app.application_id:
            return number.phone_number
    owned = {n.phone_number for n in await store.list_numbers(account.account_id)}
    for candidate in platform.sim.available_numbers():
        if candidate.phone_number not in owned and await store.find_number(
                candidate.phone_number) is None:
            await store.put_number(IncomingNumber(
                phone_number_id=platform.ids.new(idmod.PHONE_NUMBER),
                account_id=account.account_id, phone_number=candidate.phone_number,
                application_id=app.application_id, alias=DEMO_ALIAS, region=candidate.region,
                country=candidate.country, date_created=now, date_updated=now))
            return candidate.phone_number
    raise SystemExit("--demo: no number left in the simulated inventory")


def _write_credentials(platform: Platform) -> None:
    db = platform.settings.db
    folder = Path(db).parent if db != ":memory:" else Path("var")
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
