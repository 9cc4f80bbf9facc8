"""`percl serve`: run the Platform under uvicorn (uvloop + httptools), optionally with the demo app.

Start-up order (why: a start that fails must write nothing): claim the port and the database lock
(cli/startup.py), make the TLS files if asked, open the platform (store, seeding, crash
recovery), wire the demo, write the credentials file, print the banner, then serve on the socket
claimed first.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import importlib.util
import os
import sys
import time
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from starlette.routing import Mount

from percl.app import Platform, sip_config_from
from percl.cli import startup, tls
from percl.cli.activity import ActivityPrinter, Verbosity
from percl.cli.credentials import CREDENTIALS_NAME, ServerEntry, write_entry
from percl.cli.dbcmd import shown
from percl.config import IN_MEMORY_DBS, Settings, is_postgres

DEMO_ALIAS = "percl demo"
DEMO_CALLER = "+15550100001"
#: Allocations between generation-0 collections (CPython's default is 700). A live call makes a
#: few thousand short-lived objects per second; a higher threshold means fewer young passes, each
#: still small (docs/BENCHMARKS.md, fix 8).
GEN0_THRESHOLD = 20_000


@dataclass(frozen=True, slots=True)
class ServeOptions:
    """What `percl serve` was asked for besides Settings."""

    home: Path  # PERCL_HOME: the credentials file and the local TLS files
    demo_app: Path | None = None
    verbosity: Verbosity = Verbosity.NORMAL
    tls_self_signed: bool = False


def run_server(settings: Settings, options: ServeOptions, console: Console, *,
               worker_index: int | None = None) -> None:
    """Claim the port and the database, then serve until interrupted.

    Raises PerclError (StartRefused, ConfigError...) before writing anything when the port or the
    database is taken or a setting is wrong; the caller prints it as one line. `worker_index`:
    this process is that worker of `percl serve --workers N` (cli/workers.py): the port is
    shared (SO_REUSEPORT) and only worker 0 prints the banner and writes the credentials file.
    """
    _check_tls_files(settings)
    claim = startup.claim(settings.host, settings.port, settings.db,
                          reuse_port=worker_index is not None)
    files: tls.TlsFiles | None = None
    try:
        if options.tls_self_signed:
            files = tls.self_signed(options.home / "tls", settings.host)
        settings, ca_file = _with_tls(dataclasses.replace(settings, port=claim.port), files)
        try:
            import uvloop

            runner: Any = uvloop.run
        except ImportError:  # pragma: no cover - uvloop ships with uvicorn[standard]
            runner = asyncio.run
        with contextlib.suppress(KeyboardInterrupt):
            runner(_serve(settings, options, console, claim, ca_file, worker_index))
    finally:
        claim.release()
        if files is not None:
            files.remove_server_pair()


def _check_tls_files(settings: Settings) -> None:
    """Refuse unusable certificate files before anything is claimed or written."""
    if settings.tls_cert and settings.tls_key:
        tls.check(settings.tls_cert, settings.tls_key)
    if settings.webhook_ca_file:
        tls.check_ca(settings.webhook_ca_file)


def _with_tls(settings: Settings, files: tls.TlsFiles | None) -> tuple[Settings, str | None]:
    """Settings with the certificate --tls-self-signed made under PERCL_HOME/tls (`files`), and
    the CA file clients must trust for it (None when not asked)."""
    if files is None:
        return settings, None
    # percl trusts its own CA too: the demo app it serves is reached over https.
    settings = dataclasses.replace(settings, tls_cert=str(files.cert), tls_key=str(files.key),
                                   webhook_ca_file=settings.webhook_ca_file or str(files.ca))
    return settings, str(files.ca)


async def _serve(settings: Settings, options: ServeOptions, console: Console,
                 claim: startup.Claim, ca_file: str | None, worker_index: int | None = None) -> None:
    printer = ActivityPrinter(console, options.verbosity)
    path = options.home / CREDENTIALS_NAME
    # SIP (PERCL_SIP_*) listens in the first worker only: one socket per SIP port.
    sip = None if worker_index else sip_config_from(os.environ)
    async with Platform(settings, log_observers=[printer],
                        credentials_hint=str(path), sip=sip) as platform:
        if platform.cluster is not None:
            platform.cluster.on_fenced(_fail_stop)
        if platform.db_created:
            console.print(f"percl: no database at PERCL_DB={shown(settings.db)}: created a new one")
        demo_number = None
        if options.demo_app is not None:
            # With --workers N each worker serves /demo; worker 0 alone wires the number.
            demo_number = await _wire_demo(platform, options.demo_app, wire=not worker_index)
        if worker_index:  # another worker of `--workers N`: worker 0 has said it all
            _worker_line(console, platform, worker_index)
        else:
            _write_credentials(path, platform, ca_file)
            _banner(console, platform, demo_number, path, ca_file)
        printer.active = True
        tune_gc()
        config = uvicorn.Config(platform.asgi, lifespan="off", log_level="warning",
                                http="httptools", access_log=False,
                                ssl_certfile=settings.tls_cert, ssl_keyfile=settings.tls_key)
        await _Server(config).serve(sockets=[claim.sock])
        console.print("percl: shutting down, ending live calls")


class _Server(uvicorn.Server):
    """uvicorn, without its re-raise of the signal it stopped on. uvicorn raises it again once
    it has shut down, for the default handler to run; under asyncio.run that handler cancels
    the main task, which cut percl's own shutdown short: live calls were cancelled while
    writing their final records and webhooks (and with workers the exit code was 1). percl
    ends after its shutdown anyway; a second Ctrl-C meanwhile still cancels it."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        with super().capture_signals():
            try:
                yield
            finally:
                self._captured_signals.clear()


#: The exit code of a worker that another declared dead (EX_TEMPFAIL): `percl serve --workers N`
#: starts it again; a lone `percl serve` leaves that to its service manager.
EXIT_FENCED = 75


def _fail_stop() -> None:
    """Another worker took this one's calls over (Cluster.on_fenced): stop at once, as if
    killed, rather than run those legs a second time or end them gracefully (which would write
    their records and send their webhooks again). What this worker still owns expires and is
    taken over like a killed worker's."""
    sys.stderr.write("percl: another worker declared this one dead (it stalled for longer than "
                     "PERCL_LEASE_SECONDS) and took its calls over; exiting\n")
    sys.stderr.flush()
    sys.stdout.flush()
    os._exit(EXIT_FENCED)


def _worker_line(console: Console, platform: Platform, index: int) -> None:
    worker = platform.cluster.worker_id if platform.cluster is not None else "?"
    console.print(f"percl worker {index} ({worker}, pid {os.getpid()}) serving "
                  f"{platform.settings.base_url}", highlight=False, markup=False)


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


async def _wire_demo(platform: Platform, path: Path, *, wire: bool = True) -> str | None:
    """Serve the demo app at /demo and wire a number to it through the REST API (idempotent);
    `wire=False`: serve it only (None)."""
    base = f"{platform.settings.base_url}/demo"
    module = _load_demo(path)
    platform.asgi.routes.append(Mount("/demo", module.create_app(base)))
    if not wire:
        return None
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


def _write_credentials(path: Path, platform: Platform, ca_file: str | None) -> None:
    db = platform.settings.db
    acc = platform.account
    try:
        write_entry(path, ServerEntry(
            url=platform.settings.base_url, account_id=acc.account_id, api_key=acc.api_key,
            db=shown(db) if db in IN_MEMORY_DBS or is_postgres(db)
            else str(Path(db).expanduser().resolve()),
            pid=os.getpid(), started_at=time.time(), ca_file=ca_file))
    except OSError as exc:
        raise startup.StartRefused(f"cannot write the credentials file {path}: {exc.strerror} "
                                   "(PERCL_HOME names its folder)") from None


def _banner(console: Console, platform: Platform, demo_number: str | None, path: Path,
            ca_file: str | None) -> None:
    s, acc = platform.settings, platform.account
    created = platform.seed is not None and platform.seed.created
    lines = [
        f"[bold]percl[/] on {s.base_url}  (REST {s.base_url}/apiserver, sim {s.base_url}/sim/v1)",
        f"database {shown(s.db)}, simulated phone network, "
        f"{_media_line(platform.media, s.media_time_scale)}",
        "",
        f"account ({'created' if created else 'existing'}):",
        f"  accountId      {acc.account_id}",
    ]
    if created:  # the only time the secrets are printed
        lines += [f"  apiKey         {acc.api_key}", f"  signingSecret  {acc.signing_secret}"]
    if platform.sip_line is not None:  # never a password: SipLine.describe() leaves it out
        lines += ["", *(escape(line) for line in platform.sip_line.describe())]
    if platform.recovered:
        lines.append(f"[yellow]{platform.recovered} call(s) left live by a previous run were "
                     "closed with internalError[/]")
    console.print(Panel("\n".join(lines), title="percl", expand=False))
    # Printed outside the panel so that paths and code can be copied and pasted as they are.
    console.print(f"credentials file (0600): {path}", soft_wrap=True, highlight=False,
                  markup=False)
    if ca_file:
        console.print(f"local TLS CA (trust it in clients, docs/TLS.md): {ca_file}",
                      soft_wrap=True, highlight=False, markup=False)
    console.print(f"web console: {s.base_url}/ (sign in with the account id and API key)",
                  soft_wrap=True, highlight=False, markup=False)
    console.print("official SDK (pip install freeclimb):", style="bold")
    console.print(_snippet(s.base_url, acc.account_id, acc.api_key if created else None, path,
                           ca_file), soft_wrap=True, highlight=False, markup=False)
    if demo_number:
        console.print(f"demo app at {s.base_url}/demo is wired to {demo_number}; call it with:",
                      style="bold")
        console.print(f"  .venv/bin/percl sim call {DEMO_CALLER} {demo_number} --press 1",
                      soft_wrap=True, highlight=False)
    console.print("calls and webhooks appear below (percl serve --quiet / --verbose)", style="dim")


def _media_line(media: str, time_scale: float) -> str:
    """The banner's media words: the fidelity running, and why it is not audio."""
    if media == "audio":
        return "audio media (real frames: TTS, mixing, ASR, AMD)"
    if time_scale != 1:
        return (f"symbolic media, time scale {time_scale:g} (audio runs at real time "
                "only: PERCL_MEDIA_TIME_SCALE=1 for audio)")
    return "symbolic media (modelled durations, no audio frames)"


def _snippet(base_url: str, account_id: str, api_key: str | None, path: Path,
             ca_file: str | None) -> str:
    """Python that talks to this server: with the key itself when it was just created, else
    reading it from the credentials file (secrets are printed once)."""
    lines = ["import freeclimb"]
    if api_key is None:
        lines += ["import json, pathlib",
                  f'api_key = json.loads(pathlib.Path("{path}").read_text())'
                  f'["servers"]["{base_url}"]["apiKey"]']
        password = "api_key"
    else:
        password = f'"{api_key}"'
    ca = f', ssl_ca_cert="{ca_file}"' if ca_file else ""
    lines += [f'cfg = freeclimb.Configuration(host="{base_url}/apiserver", '
              f'username="{account_id}", password={password}{ca})',
              "api = freeclimb.DefaultApi(freeclimb.ApiClient(cfg))",
              "print(api.list_calls())"]
    return "\n".join(lines)
