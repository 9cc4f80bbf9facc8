"""`percl ...` commands. The only place where environment, files and flags become Settings."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.console import Console

from percl.cli.activity import Verbosity
from percl.cli.browse import calls_cmd, logs_cmd
from percl.cli.connection import client_from, connection_options
from percl.cli.credentials import percl_home
from percl.cli.dbcmd import db_cmd
from percl.cli.flags import SERVE_FLAGS, flag_named
from percl.cli.simcmd import sim
from percl.cli.trace import trace_cmd
from percl.config import Settings, from_sources
from percl.errors import ConfigError, PerclError

if TYPE_CHECKING:
    from percl.cli.serve import ServeOptions


@click.group()
@click.version_option(package_name="percl")
def cli() -> None:
    """percl: a self-hosted FreeClimb-compatible voice platform with a simulated phone network."""


@cli.command()
@click.option("--host", help="Listen address [env PERCL_HOST, default 127.0.0.1].")
@click.option("--port", type=str, help="Listen port [env PERCL_PORT, default 8600].")
@click.option("--db", help="SQLite file [env PERCL_DB, default var/percl.db].")
@click.option("--webhook-timeout-ms", type=str, help="[env PERCL_WEBHOOK_TIMEOUT_MS, default 10000]")
@click.option("--media-time-scale", type=str,
              help="1.0 real time, 0 instant [env PERCL_MEDIA_TIME_SCALE, default 1.0].")
@click.option("--media", type=str, metavar="audio|symbolic",
              help="Calls carry real audio, or words and keys with modelled durations (faster, "
                   "for load tests) [env PERCL_MEDIA, default audio; symbolic with a media time "
                   "scale other than 1].")
@click.option("--demo/--no-demo", default=False,
              help="Also serve the bundled example app and wire a number to it.")
@click.option("--demo-app", default="examples/demo_app.py", show_default=True,
              type=click.Path(dir_okay=False), help="The example app file used by --demo.")
@click.option("--quiet", "-q", "verbosity", flag_value=Verbosity.QUIET,
              help="After the banner, print only errors.")
@click.option("--verbose", "-v", "verbosity", flag_value=Verbosity.VERBOSE,
              help="Print every account log line, not only calls and webhooks.")
@click.option("--tls-cert", help="Serve HTTPS with this PEM certificate [env PERCL_TLS_CERT].")
@click.option("--tls-key", help="The certificate's PEM private key [env PERCL_TLS_KEY].")
@click.option("--tls-self-signed", is_flag=True,
              help="Serve HTTPS with a certificate signed by a local CA made in PERCL_HOME/tls.")
@click.option("--workers", type=str,
              help="Worker processes on the port; >1 needs PostgreSQL [env PERCL_WORKERS, default 1].")
def serve(host: str | None, port: str | None, db: str | None, webhook_timeout_ms: str | None,
          media_time_scale: str | None, media: str | None, demo: bool, demo_app: str,
          verbosity: Verbosity | None, tls_cert: str | None, tls_key: str | None,
          tls_self_signed: bool, workers: str | None) -> None:
    """Start percl: REST API at /apiserver, sim control API at /sim/v1, a start page at /."""
    overrides = {"PERCL_HOST": host, "PERCL_PORT": port, "PERCL_DB": db,
                 "PERCL_WEBHOOK_TIMEOUT_MS": webhook_timeout_ms,
                 "PERCL_MEDIA_TIME_SCALE": media_time_scale, "PERCL_MEDIA": media,
                 "PERCL_TLS_CERT": tls_cert, "PERCL_TLS_KEY": tls_key, "PERCL_WORKERS": workers}
    try:
        settings = from_sources(os.environ, overrides)
    except ConfigError as exc:
        raise click.UsageError(f"configuration: {flag_named(str(exc), SERVE_FLAGS, overrides)}") from None
    if tls_self_signed and settings.tls_cert:
        raise click.UsageError("--tls-self-signed makes its own certificate: drop --tls-cert/--tls-key")
    from percl.cli.serve import ServeOptions, run_server

    options = ServeOptions(demo_app=Path(demo_app) if demo else None,
                           verbosity=Verbosity.NORMAL if verbosity is None else Verbosity(verbosity),
                           tls_self_signed=tls_self_signed, home=percl_home(os.environ))
    if settings.workers > 1:
        _serve_workers(settings, options)
        return
    try:
        run_server(settings, options, console=Console())
    except PerclError as exc:  # refused before serving: one line, nothing written
        click.echo(f"percl: {exc}", err=True)
        sys.exit(1)


def _serve_workers(settings: Settings, options: ServeOptions) -> None:
    """`percl serve --workers N` (N > 1): cli/workers.py. SQLite or --tls-self-signed: one line,
    exit code 2."""
    from percl.cli.workers import WorkersRefused, run_workers

    try:
        code = run_workers(settings, options, console=Console())
    except WorkersRefused as exc:
        click.echo(f"percl: {exc}", err=True)
        sys.exit(2)
    except PerclError as exc:
        click.echo(f"percl: {exc}", err=True)
        sys.exit(1)
    sys.exit(code)


@cli.command()
@connection_options
def status(url: str | None, account: str | None, key: str | None) -> None:
    """Say which percl and account the other commands talk to, and whether it answers and
    accepts the credentials (exit 1 when not: /healthz alone needs no login)."""
    with client_from(url, account, key) as client:
        click.echo(client.target.describe())
        health = client.get_json("/healthz")
        client.rest("GET", "")  # GET /Accounts/{id}: raises "credentials refused" on 401/403
        click.echo(f"up: percl {health.get('version', '?')} answers at {client.target.url}")


cli.add_command(sim)
cli.add_command(trace_cmd)
cli.add_command(calls_cmd)
cli.add_command(logs_cmd)
cli.add_command(db_cmd)


def main() -> None:
    try:
        cli(standalone_mode=True)
    except KeyboardInterrupt:
        sys.exit(130)

